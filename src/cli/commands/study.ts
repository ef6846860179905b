/**
 * `analyze --corpus`, `evaluate` and `sweep`: the language × layer analysis of a parallel corpus, the
 * evaluation of one vector setting against the unsteered model, and a layer × strength sweep.
 */
import * as path from 'node:path';
import { loadCentroids } from '../../engine/analysis/centroids';
import { DEFAULT_GENERATION, type TranslationItem } from '../../engine/analysis/evaluate';
import { analyzeLanguages, tokenLanguageTable } from '../../engine/analysis/languages';
import { extractLastNumber, multipleChoiceAccuracy, pairedBootstrap } from '../../engine/analysis/metrics';
import { englishRegressionItems, evaluatePair } from '../../engine/analysis/pairEvaluation';
import { sweepLayerStrength } from '../../engine/analysis/sweep';
import { readParallelCorpus } from '../../engine/corpus/parallel';
import { defaultCacheDir, generate, type OpenedModel, type SteeringPlan } from '../../engine/model/index';
import { forwardBatch } from '../../engine/model/batch';
import { encodePrompt, padTokenId } from '../../engine/analysis/extract';
import { itemsFor } from '../../engine/steering/bundle';
import { parsePositionMode, resolveVector, steeringPlanFor, VECTOR_FOLDER, type ResolvedVector } from '../../engine/steering/library';
import { existsSync, promises as fs } from 'node:fs';
import { bundledModelDir, CommandUsageError, numberList, numberOption, parseCommand, progressPrinter, required, runCommand, type Command, languageIdentifier, openModelWithExtractor } from './common';
import { multiWayRows } from './bundle';
import { checkAgainstModel } from './vectors';

/** The options `evaluate` and `sweep` share: the model, the vector, the corpus and language pair, and the sampling. */
const VECTOR_STUDY_OPTIONS = {
  model: { type: 'string', short: 'm' },
  vector: { type: 'string' },
  corpus: { type: 'string' },
  source: { type: 'string' },
  target: { type: 'string' },
  positions: { type: 'string' },
  prompts: { type: 'string' },
  tokens: { type: 'string' },
  'allow-other-model': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

interface VectorStudy {
  dir: string;
  model: Awaited<ReturnType<typeof openModelWithExtractor>>;
  r: ResolvedVector;
  source: string;
  target: string;
}

/**
 * Opens --model (default the bundled one), resolves --vector against it (refusing a vector made for another model
 * unless --allow-other-model), settles the language pair (--source/--target, else the vector's own) and runs
 * `study`, disposing of the model however it ends.
 */
async function withVectorStudy(values: Record<string, unknown>, command: string, study: (s: VectorStudy) => Promise<number>): Promise<number> {
  const vector = required(values, 'vector', command); // a usage error before the model is loaded
  const dir = path.resolve((values.model as string | undefined) ?? bundledModelDir());
  const model = await openModelWithExtractor(dir);
  try {
    const r = await resolveVector(dir, vector);
    checkAgainstModel(model, r, values['allow-other-model'] === true);
    const source = (values.source as string | undefined) ?? r.vector.metadata.sourceLanguage;
    const target = (values.target as string | undefined) ?? r.vector.metadata.targetLanguage;
    if (!source || !target) throw new CommandUsageError('the vector names no languages: pass --source and --target');
    return await study({ dir, model, r, source, target });
  } finally {
    await model.dispose();
  }
}

const ANALYZE_USAGE = `Usage: polyglot-lens analyze --model DIR --corpus FILE [--languages fr,de,...] [--pivot en] [--sentences N] [--json]
  (Without --corpus, \`analyze --prompt TEXT\` analyses one prompt: see polyglot-lens --help.)
  How the model represents languages layer by layer on the corpus rows that have every language: cosine to the
  pivot (raw and mean-centred: the language × layer matrix), retrieval P@1, each token's nearest language
  (against the model's stored centroids, if any), logit-lens language mass, and the cosine between the
  languages' xx→pivot vectors.`;

const analyze: Command = {
  name: 'analyze',
  summary: 'language × layer analysis of a parallel corpus (with --corpus)',
  usage: ANALYZE_USAGE,
  run: (argv, io) =>
    runCommand(io, ANALYZE_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        model: { type: 'string', short: 'm' },
        corpus: { type: 'string' },
        languages: { type: 'string' },
        pivot: { type: 'string' },
        sentences: { type: 'string' },
        'batch-size': { type: 'string' },
        json: { type: 'boolean' },
      });
      if (help) return (io.out(ANALYZE_USAGE), 0);
      const corpus = await readParallelCorpus(required(values, 'corpus', 'analyze'));
      const pivot = (values.pivot as string | undefined) ?? 'en';
      const languages = values.languages ? String(values.languages).split(',') : corpus.languages.filter((l) => l !== pivot);
      const rows = multiWayRows(corpus, [pivot, ...languages], numberOption(values, 'sentences', 100, 2, 1e5, true));
      const dir = path.resolve((values.model as string | undefined) ?? bundledModelDir());
      const model = await openModelWithExtractor(dir);
      try {
        const hash = model.prepared.modelSha256;
        const candidates = [path.join(defaultCacheDir(), 'centroids', `${hash}.safetensors`), path.join(dir, VECTOR_FOLDER, 'centroids.safetensors')];
        let centroids = null;
        for (const c of candidates) {
          if (!existsSync(c)) continue;
          const loaded = await loadCentroids(c);
          if (loaded.modelHash === hash) {
            centroids = loaded;
            break;
          }
        }
        if (!centroids) io.err('note: no centroids stored for this model (run `polyglot-lens extract`); the nearest-language view is skipped.');
        const lid = await languageIdentifier();
        const table = await tokenLanguageTable(model.folder.tokenizer, lid, hash, path.join(defaultCacheDir(), 'token-languages', `${hash}.json`));
        const a = await analyzeLanguages(model, rows.map((r) => r.texts), languages, { pivot, centroids, lens: model.lens, tokenTable: table, batchSize: numberOption(values, 'batch-size', 16, 1, 256, true), onProgress: progressPrinter(io) });
        if (values.json === true) io.out(JSON.stringify(a, null, 2));
        else {
          io.out(`${a.sentences} multi-way rows; cosine to ${pivot} per layer (raw | centred) and retrieval P@1`);
          io.out(`lang  ${a.layers.map((k) => `k=${k}`.padStart(17)).join('')}`);
          a.languages.forEach((l, i) => io.out(`${l.padEnd(5)} ${a.layers.map((_k, j) => `${(a.similarity.values[i]?.[j] ?? 0).toFixed(2)}|${(a.similarityCentred.values[i]?.[j] ?? 0).toFixed(2)}|${(a.retrieval[l]?.[j] ?? 0).toFixed(2)}`.padStart(17)).join('')}`));
        }
        return 0;
      } finally {
        await model.dispose();
      }
    }),
};

const EVALUATE_USAGE = `Usage: polyglot-lens evaluate [--model DIR] --vector NAME|FILE [--corpus FILE] [--source xx] [--target en]
                              [--layer K] [--strength A] [--positions MODE] [--prompts N] [--tokens N] [--english N]
                              [--task FILE.jsonl] [--json]
  Unsteered vs steered on a parallel corpus (default the model's corpus/test.jsonl): language control (lid.176,
  degeneration rule, T=0.7 top-p 0.9, seed = item), reference NLL, chrF, steering score, alignment before/after,
  English regression (for →en vectors), paired bootstrap intervals. --task: a JSONL of multiple-choice items
  {"prompt", "choices": [...], "answer": index} (scored by log-likelihood) or {"prompt", "answer": "42"} (the last
  number of the continuation must equal the answer); accuracy unsteered vs steered.`;

/** Summed log-probability of `continuation` tokens after `prompt` (batch of one, optional steering). */
async function continuationLogProb(model: OpenedModel, prompt: string, continuation: string, plan: SteeringPlan | null): Promise<{ logProb: number; tokens: number }> {
  const p = encodePrompt(model.folder, prompt, 256);
  const c = model.folder.tokenizer.encode(continuation, { addSpecialTokens: false }).ids;
  const { batchSteeringFromPlan } = await import('../../engine/model/batch');
  const seq = [...p, ...c];
  const res = await forwardBatch(model.generator, [seq], { wantLogits: true, layers: [], padTokenId: padTokenId(model.folder), steering: batchSteeringFromPlan(plan, model.numLayers, model.hiddenSize, [p.length], seq.length) });
  const V = res.vocabSize;
  const logits = res.logits as Float32Array;
  let lp = 0;
  c.forEach((id, j) => {
    const o = (p.length - 1 + j) * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[o + v] as number);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp((logits[o + v] as number) - max);
    lp += (logits[o + id] as number) - max - Math.log(z);
  });
  return { logProb: lp, tokens: c.length };
}

const evaluate: Command = {
  name: 'evaluate',
  summary: 'evaluate a vector setting against the unsteered model (language control, relevance, alignment, task)',
  usage: EVALUATE_USAGE,
  run: (argv, io) =>
    runCommand(io, EVALUATE_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        ...VECTOR_STUDY_OPTIONS,
        layer: { type: 'string' },
        strength: { type: 'string' },
        english: { type: 'string' },
        task: { type: 'string' },
      });
      if (help) return (io.out(EVALUATE_USAGE), 0);
      return withVectorStudy(values, 'evaluate', async ({ dir, model, r, source, target }) => {
        const v = r.vector;
        const layer = values.layer !== undefined ? numberOption(values, 'layer', 0, 0, model.numLayers, true) : (r.entry?.layer ?? v.metadata.defaultLayer);
        if (layer === null || layer === undefined) throw new CommandUsageError('the vector has no chosen layer: pass --layer K');
        const strength = numberOption(values, 'strength', r.entry?.strength ?? v.metadata.defaultStrength ?? 1, -100, 100);
        const positions = parsePositionMode((values.positions as string | undefined) ?? 'all');
        const corpus = await readParallelCorpus((values.corpus as string | undefined) ?? path.join(dir, 'corpus', 'test.jsonl'));
        const items: TranslationItem[] = itemsFor(corpus, source, target, numberOption(values, 'prompts', 40, 1, 1e5, true));
        const english = target === 'en' ? englishRegressionItems(corpus.rows.map((x) => x.texts['en'] ?? '').filter(Boolean)).slice(0, numberOption(values, 'english', 20, 0, 1e5, true)) : null;
        const lid = await languageIdentifier();
        const gen = { ...DEFAULT_GENERATION, maxNewTokens: numberOption(values, 'tokens', 32, 1, 512, true) };
        io.err(`evaluating ${r.name} at layer ${layer}, strength ${strength}, positions ${positions} on ${items.length} items…`);
        const e = await evaluatePair({ model, lid, gen, work: { onProgress: progressPrinter(io) } }, v, r.name, items, { layer, strength, positions }, english);
        let task: Record<string, unknown> | null = null;
        if (values.task !== undefined) {
          const { plan } = steeringPlanFor([{ vector: v, layer, strength, unit: 'activationNorm', positions }]);
          const lines = (await fs.readFile(String(values.task), 'utf8')).split(/\r?\n/).filter((l) => l.trim());
          const parsed = lines.map((l, i) => {
            try {
              return JSON.parse(l) as { prompt?: string; choices?: string[]; answer?: number | string };
            } catch {
              throw new CommandUsageError(`${String(values.task)}:${i + 1} is not valid JSON`);
            }
          });
          const base: boolean[] = [];
          const steered: boolean[] = [];
          for (const [i, t] of parsed.entries()) {
            if (typeof t.prompt !== 'string') throw new CommandUsageError(`${String(values.task)}:${i + 1} has no "prompt"`);
            if (Array.isArray(t.choices)) {
              if (typeof t.answer !== 'number') throw new CommandUsageError(`${String(values.task)}:${i + 1}: "answer" must be the index of the right choice`);
              for (const [plan2, acc] of [[null, base], [plan, steered]] as const) {
                const scores = [];
                for (const c of t.choices) scores.push(await continuationLogProb(model, t.prompt, ' ' + c, plan2));
                acc.push(multipleChoiceAccuracy([{ choiceLogLikelihoods: scores.map((s) => s.logProb), choiceLengths: scores.map((s) => s.tokens), answerIndex: t.answer }]).correct[0] === true);
              }
            } else {
              const ids = model.folder.tokenizer.encode(t.prompt).ids;
              for (const [plan2, acc] of [[null, base], [plan, steered]] as const) {
                const g = await generate(model.generator, ids, { maxNewTokens: gen.maxNewTokens, sampling: { temperature: 0, seed: 0 }, stopTokenIds: model.folder.stopTokenIds, steering: plan2 });
                acc.push(extractLastNumber((g.tokenIds.length ? model.folder.tokenizer.decode(g.tokenIds, { skipSpecialTokens: true }) : '')) === Number(t.answer));
              }
            }
          }
          const to = (xs: boolean[]): number[] => xs.map((x) => (x ? 100 : 0));
          task = { items: parsed.length, accuracyBase: to(base).reduce((a, b) => a + b, 0) / Math.max(1, base.length), accuracySteered: to(steered).reduce((a, b) => a + b, 0) / Math.max(1, steered.length), bootstrap: parsed.length > 0 ? pairedBootstrap(to(base), to(steered)) : null };
        }
        const result = { ...e, task };
        if (values.json === true) io.out(JSON.stringify(result, null, 2));
        else {
          io.out(`${r.name} at layer ${layer}, strength ${strength} (${positions}), ${items.length} items`);
          io.out(`language control  ${e.base.languageControl.toFixed(0)} % → ${e.steered.languageControl.toFixed(0)} %  (Δ ${e.comparison.languageControl.delta.toFixed(0)} [${e.comparison.languageControl.low.toFixed(0)}, ${e.comparison.languageControl.high.toFixed(0)}])`);
          io.out(`reference NLL     ${e.base.nll.toFixed(3)} → ${e.steered.nll.toFixed(3)}  (Δ ${e.comparison.nll.delta.toFixed(3)} [${e.comparison.nll.low.toFixed(3)}, ${e.comparison.nll.high.toFixed(3)}])`);
          io.out(`chrF              ${e.base.chrF.toFixed(2)} → ${e.steered.chrF.toFixed(2)}  (Δ ${e.comparison.chrF.delta.toFixed(2)} [${e.comparison.chrF.low.toFixed(2)}, ${e.comparison.chrF.high.toFixed(2)}])`);
          io.out(`steering score    ${e.base.steeringScore.toFixed(2)} → ${e.steered.steeringScore.toFixed(2)}`);
          io.out(`alignment         ${e.alignment.baseMean.toFixed(3)} → ${e.alignment.steeredMean.toFixed(3)} (layers ${e.alignment.layers.join(',')})`);
          if (e.englishRegression) io.out(`English regression: language control ${e.englishRegression.base.languageControl.toFixed(0)} % → ${e.englishRegression.steered.languageControl.toFixed(0)} %, NLL ${e.englishRegression.base.nll.toFixed(3)} → ${e.englishRegression.steered.nll.toFixed(3)}`);
          if (task) io.out(`task accuracy     ${String(task.accuracyBase)} % → ${String(task.accuracySteered)} %`);
        }
        return 0;
      });
    }),
};

const SWEEP_USAGE = `Usage: polyglot-lens sweep [--model DIR] --vector NAME|FILE [--corpus FILE] [--source xx] [--target en]
                           [--layers a,b] [--strengths a,b | --multiples a,b] [--positions MODE] [--prompts N] [--tokens N] [--json]
  Layer × strength grid on a dev corpus (default the model's corpus/dev.jsonl): language control (lid.176,
  degeneration rule) and chrF per cell; the chosen cell is the weakest whose language control is within one prompt of the best.
  Strengths in units of the layer's mean activation norm, or --multiples of each layer's natural DiffMean strength.`;

const sweep: Command = {
  name: 'sweep',
  summary: 'layer × strength sweep of a vector on a dev corpus',
  usage: SWEEP_USAGE,
  run: (argv, io) =>
    runCommand(io, SWEEP_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        ...VECTOR_STUDY_OPTIONS,
        layers: { type: 'string' },
        strengths: { type: 'string' },
        multiples: { type: 'string' },
      });
      if (help) return (io.out(SWEEP_USAGE), 0);
      return withVectorStudy(values, 'sweep', async ({ dir, model, r, source, target }) => {
        const corpus = await readParallelCorpus((values.corpus as string | undefined) ?? path.join(dir, 'corpus', 'dev.jsonl'));
        const layers = numberList(values, 'layers', [...r.vector.directions.keys()].filter((k) => k > 0));
        const lid = await languageIdentifier();
        const res = await sweepLayerStrength(
          model,
          r.vector,
          itemsFor(corpus, source, target),
          target,
          lid,
          {
            layers,
            strengths: numberList(values, 'strengths', [0.25, 0.5, 1]),
            ...(values.multiples !== undefined ? { naturalMultiples: numberList(values, 'multiples', [1, 2, 3]) } : {}),
            positions: parsePositionMode((values.positions as string | undefined) ?? 'all'),
            promptsPerCell: numberOption(values, 'prompts', 16, 1, 1e5, true),
            gen: { ...DEFAULT_GENERATION, maxNewTokens: numberOption(values, 'tokens', 24, 1, 512, true) },
          },
          { onProgress: progressPrinter(io) },
        );
        if (values.json === true) io.out(JSON.stringify(res, null, 2));
        else {
          for (const c of res.cells) io.out(`layer ${c.layer}  strength ${c.strength.toFixed(3)}  language control ${c.languageControl.toFixed(0).padStart(3)} %  chrF ${c.chrF.toFixed(1)}  degenerate ${c.degenerate}`);
          io.out(`best: layer ${res.best.layer}, strength ${res.best.strength.toFixed(3)} (${res.best.languageControl.toFixed(0)} % on ${res.prompts} prompts)`);
        }
        return 0;
      });
    }),
};

/** The study commands. */
export const STUDY_COMMANDS: readonly Command[] = [analyze, evaluate, sweep];
