/**
 * `build-vectors` and `report`: the demo model's bundled vectors and their evaluation report.
 * `npm run build-vectors` = build-vectors on models/tiny-polyglot (centroids, xx→en and en→xx DiffMean at every
 * layer, dev sweep, vectors/index.json); `npm run evaluate-vectors` = report (docs/EVALUATION.md + SVG heatmaps).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadCentroids, saveCentroids } from '../../engine/analysis/centroids';
import { DEFAULT_GENERATION, type TranslationItem } from '../../engine/analysis/evaluate';
import { heatmapSvg } from '../../engine/analysis/heatmapSvg';
import { analyzeLanguages, tokenLanguageTable, type LanguageAnalysis } from '../../engine/analysis/languages';
import { englishRegressionItems, evaluatePair, type PairEvaluation, type PairEvaluationContext } from '../../engine/analysis/pairEvaluation';
import { readParallelCorpus, type ParallelCorpus } from '../../engine/corpus/parallel';
import { defaultCacheDir } from '../../engine/model/index';
import { writeFileAtomic } from '../../engine/steering/atomicWrite';
import { buildBundle } from '../../engine/steering/bundle';
import { readVectorIndex, resolveVector, VECTOR_FOLDER } from '../../engine/steering/library';
import { COMPARED_METHODS, compareMethods, renderMethodComparison, type ComparedMethod, type MethodResult } from './methodComparison';
import { bundledModelDir, CommandUsageError, numberList, numberOption, parseCommand, progressPrinter, runCommand, type Command, languageIdentifier, openModelWithExtractor } from './common';

const LANGS = ['fr', 'de', 'es', 'it', 'pt', 'ru', 'zh', 'ja', 'tr', 'cs'];

const BUILD_USAGE = `Usage: polyglot-lens build-vectors [--model DIR] [--languages fr,de,...] [--steer N] [--dev N] [--tokens N]
                                   [--layers a,b,...] [--multiples a,b,...] [--batch-size N]
  For a model folder with corpus/steer.jsonl and corpus/dev.jsonl (multi-way, {"en": ..., "fr": ...}): pooled
  states of N steer pairs per language (default 200) -> per-layer language centroids (vectors/centroids.safetensors
  and <cache>/centroids/<sha256>.safetensors) -> xx→en and en→xx DiffMean vectors at every layer -> a layer ×
  strength sweep on dev per pair (N prompts per cell, default 16, 20 tokens, sampling T=0.7 top-p 0.9, fixed
  seeds; strengths = multiples of the layer's natural DiffMean strength ‖v‖/m, default 1,2,3; layers default the
  upper half) -> vectors/<pair>.safetensors with the chosen layer and strength, and vectors/index.json.`;

const buildVectors: Command = {
  name: 'build-vectors',
  summary: "build a model's bundled vectors: centroids, xx→en / en→xx DiffMean, dev sweep, index",
  usage: BUILD_USAGE,
  run: (argv, io) =>
    runCommand(io, BUILD_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        model: { type: 'string', short: 'm' },
        languages: { type: 'string' },
        steer: { type: 'string' },
        dev: { type: 'string' },
        tokens: { type: 'string' },
        layers: { type: 'string' },
        multiples: { type: 'string' },
        'batch-size': { type: 'string' },
        json: { type: 'boolean' },
      });
      if (help) return (io.out(BUILD_USAGE), 0);
      const t0 = Date.now();
      const log = (s: string): void => io.err(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}`);
      const dir = path.resolve((values.model as string | undefined) ?? bundledModelDir());
      const model = await openModelWithExtractor(dir);
      try {
        const L = model.numLayers;
        const steer = await readParallelCorpus(path.join(dir, 'corpus', 'steer.jsonl'));
        const dev = await readParallelCorpus(path.join(dir, 'corpus', 'dev.jsonl'));
        const lid = await languageIdentifier();
        const batchSize = numberOption(values, 'batch-size', 24, 1, 256, true);
        const hash = model.prepared.modelSha256;
        log(`model ${dir} (sha256 ${hash.slice(0, 12)}…, ${L} layers, hidden ${model.hiddenSize})`);
        const half = Math.ceil(L / 2);
        const { centroids, index } = await buildBundle(
          model,
          dir,
          hash,
          { steer, dev },
          lid,
          {
            pivot: 'en',
            languages: values.languages ? String(values.languages).split(',') : LANGS,
            steerSentences: numberOption(values, 'steer', 200, 2, 1e6, true),
            devPrompts: numberOption(values, 'dev', 16, 1, 1000, true),
            layers: numberList(values, 'layers', Array.from({ length: half + 1 }, (_, i) => L - half + i)),
            naturalMultiples: numberList(values, 'multiples', [1, 2, 3]),
            gen: { ...DEFAULT_GENERATION, maxNewTokens: numberOption(values, 'tokens', 20, 1, 256, true), batchSize },
            method: 'diffmean',
            batchSize,
          },
          log,
        );
        const cache = path.join(defaultCacheDir(), 'centroids');
        await fs.mkdir(cache, { recursive: true });
        await saveCentroids(path.join(cache, `${hash}.safetensors`), centroids);
        log(`wrote ${Object.keys(index.vectors).length} vectors + centroids to ${path.join(dir, VECTOR_FOLDER)}`);
        if (values.json === true) io.out(JSON.stringify(index, null, 2));
        return 0;
      } finally {
        await model.dispose();
      }
    }),
};

/** Multi-way rows of a corpus that have every language, as language → text. */
export function multiWayRows(corpus: ParallelCorpus, languages: readonly string[], limit: number): { id: string; texts: Record<string, string> }[] {
  return corpus.rows.filter((r) => languages.every((l) => r.texts[l] !== undefined)).slice(0, limit).map((r) => ({ id: r.id, texts: r.texts }));
}

const REPORT_USAGE = `Usage: polyglot-lens report [--model DIR] [--out FILE] [--prompts N] [--tokens N] [--english N]
                            [--analysis-sentences N] [--batch-size N]
                            [--methods a,b] [--method-languages all|none|fr,zh] [--method-prompts N] [--method-sweep on|off]
                            [--method-dev N] [--method-dev-tokens N] [--method-layers a,b] [--method-multiples a,b]
                            [--method-steer N] [--projection-sigmas a,b] [--learned-steps N] [--render-only]
  Evaluates the model's bundled vectors (vectors/index.json) on corpus/test.jsonl at their chosen layer and
  strength and writes a Markdown report (default docs/EVALUATION.md) with SVG heatmaps beside it (images/) and the
  raw numbers (evaluation.json): per pair unsteered vs steered language control, reference NLL and chrF (paired
  bootstrap), steering score, alignment before/after, English regression; the language × layer analysis; and
  the vector methods compared on every xx→en pair. N prompts per pair (default 32), 32 tokens, T=0.7, top-p 0.9,
  seed = item.
  Methods (default all): ${COMPARED_METHODS.join(', ')}, for --method-languages (default all).
  Each method's layer and strength come from its own dev sweep, the one build-vectors runs for DiffMean
  (--method-dev 16 prompts, --method-dev-tokens 20, --method-layers the upper half, --method-multiples 1,2,3 of
  the layer's natural DiffMean strength; projection: --projection-sigmas 0.5,1 at each layer); --method-sweep off
  puts every method at DiffMean's bundled setting instead. Test prompts per method: --method-prompts (default
  --prompts). Vectors from --method-steer steer pairs (default: as many as the bundled vectors used); the learned
  vector runs --learned-steps SPSA steps (default 12).
  --render-only writes the Markdown again from the evaluation.json of the last run (no model runs).`;

const report: Command = {
  name: 'report',
  summary: "evaluate a model's bundled vectors on its test split and write docs/EVALUATION.md",
  usage: REPORT_USAGE,
  run: (argv, io) =>
    runCommand(io, REPORT_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        model: { type: 'string', short: 'm' },
        out: { type: 'string', short: 'o' },
        prompts: { type: 'string' },
        tokens: { type: 'string' },
        english: { type: 'string' },
        'analysis-sentences': { type: 'string' },
        methods: { type: 'string' },
        'method-languages': { type: 'string' },
        'method-prompts': { type: 'string' },
        'method-sweep': { type: 'string' },
        'method-dev': { type: 'string' },
        'method-dev-tokens': { type: 'string' },
        'method-layers': { type: 'string' },
        'method-multiples': { type: 'string' },
        'method-steer': { type: 'string' },
        'projection-sigmas': { type: 'string' },
        'learned-steps': { type: 'string' },
        'batch-size': { type: 'string' },
        'render-only': { type: 'boolean' },
      });
      if (help) return (io.out(REPORT_USAGE), 0);
      const t0 = Date.now();
      const log = (s: string): void => io.err(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}`);
      const dir = path.resolve((values.model as string | undefined) ?? bundledModelDir());
      const out = path.resolve((values.out as string | undefined) ?? path.join(dir, '..', '..', 'docs', 'EVALUATION.md'));
      if (values['render-only'] === true) {
        // The Markdown again from the numbers of the last run (after a change to the report's wording).
        const json = path.join(path.dirname(out), 'evaluation.json');
        const results = JSON.parse(await fs.readFile(json, 'utf8').catch(() => { throw new CommandUsageError(`--render-only needs ${json} from an earlier report run`); })) as Parameters<typeof renderReport>[0];
        const rawConfig = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
        await writeFileAtomic(out, renderReport(results, rawConfig));
        log(`wrote ${out} from ${json}`);
        return 0;
      }
      const index = await readVectorIndex(dir);
      if (!index) throw new CommandUsageError(`${dir} has no vectors/index.json; run build-vectors first`);
      const model = await openModelWithExtractor(dir);
      try {
        const hash = model.prepared.modelSha256;
        if (index.modelHash !== hash) throw new CommandUsageError(`the bundled vectors were built for model ${index.modelHash.slice(0, 12)}… but model.onnx is ${hash.slice(0, 12)}…: run build-vectors again`);
        const lid = await languageIdentifier();
        const test = await readParallelCorpus(path.join(dir, 'corpus', 'test.jsonl'));
        const languages = [...new Set(Object.values(index.vectors).flatMap((e) => [e.source, e.target]))].filter((l) => l !== 'en');
        const nPrompts = numberOption(values, 'prompts', 32, 1, 1000, true);
        const batchSize = numberOption(values, 'batch-size', 24, 1, 256, true);
        const gen = { ...DEFAULT_GENERATION, maxNewTokens: numberOption(values, 'tokens', 32, 1, 256, true), batchSize };
        const rows = multiWayRows(test, ['en', ...languages], Math.max(nPrompts, numberOption(values, 'analysis-sentences', 100, 2, 1000, true)));
        if (rows.length < 2) throw new CommandUsageError('the test split has fewer than 2 rows with every language');
        // 1. Language analysis.
        const centroids = await loadCentroids(path.join(dir, VECTOR_FOLDER, index.centroids ?? 'centroids.safetensors')).catch(() => null);
        const table = await tokenLanguageTable(model.folder.tokenizer, lid, hash, path.join(defaultCacheDir(), 'token-languages', `${hash}.json`));
        log('token → language table ready');
        const analysisRows = rows.slice(0, numberOption(values, 'analysis-sentences', 100, 2, 1000, true)).map((r) => r.texts);
        const analysis = await analyzeLanguages(model, analysisRows, languages, { centroids, lens: model.lens, tokenTable: table, batchSize, onProgress: progressPrinter(io) });
        log('language analysis done');
        const imgDir = path.join(path.dirname(out), 'images');
        await fs.mkdir(imgDir, { recursive: true });
        const cols = analysis.layers.map((k) => `k=${k}`);
        await writeFileAtomic(path.join(imgDir, 'similarity-heatmap.svg'), heatmapSvg({ title: 'cosine(pooled xx, pooled en) per layer (raw)', rowLabels: analysis.languages, columnLabels: cols, values: analysis.similarity.values }));
        await writeFileAtomic(path.join(imgDir, 'similarity-heatmap-centred.svg'), heatmapSvg({ title: 'cosine(pooled xx, pooled en) per layer (mean-centred)', rowLabels: analysis.languages, columnLabels: cols, values: analysis.similarityCentred.values }));
        // 2. Pairs.
        const items = (s: string, t: string): TranslationItem[] => rows.slice(0, nPrompts).map((r) => ({ id: r.id, source: r.texts[s] as string, reference: r.texts[t] as string }));
        const english = englishRegressionItems(test.rows.map((r) => r.texts['en'] ?? '').filter(Boolean)).slice(0, numberOption(values, 'english', 20, 0, 1000, true));
        const ctx: PairEvaluationContext = { model, lid, gen, baseCache: new Map(), referenceCache: new Map() };
        const pairs: PairEvaluation[] = [];
        for (const [name, entry] of Object.entries(index.vectors).sort(([a], [b]) => a.localeCompare(b))) {
          const r = await resolveVector(dir, name);
          const e = await evaluatePair(ctx, r.vector, name, items(entry.source, entry.target), { layer: entry.layer, strength: entry.strength, positions: entry.positions }, entry.target === 'en' ? english : null);
          pairs.push(e);
          log(`${name}: language control ${e.base.languageControl.toFixed(0)} % → ${e.steered.languageControl.toFixed(0)} %, alignment ${e.alignment.baseMean.toFixed(3)} → ${e.alignment.steeredMean.toFixed(3)}`);
        }
        // 3. Every vector method on every xx→en pair, each at the setting its own dev sweep picks.
        const methods = (values.methods ? String(values.methods).split(',') : [...COMPARED_METHODS]) as ComparedMethod[];
        for (const m of methods) if (!(COMPARED_METHODS as readonly string[]).includes(m)) throw new CommandUsageError(`unknown method ${JSON.stringify(m)} in --methods; expected some of ${COMPARED_METHODS.join(', ')}`);
        const methodLangsRaw = values['method-languages'] === undefined ? 'all' : String(values['method-languages']);
        const methodLangs = methodLangsRaw === 'none' ? [] : methodLangsRaw === 'all' ? languages.filter((l) => index.vectors[`${l}-en`]) : methodLangsRaw.split(',').filter((l) => languages.includes(l));
        const sweepFlag = String(values['method-sweep'] ?? 'on');
        if (sweepFlag !== 'on' && sweepFlag !== 'off') throw new CommandUsageError(`--method-sweep takes on or off, got ${JSON.stringify(sweepFlag)}`);
        const methodPrompts = numberOption(values, 'method-prompts', nPrompts, 1, 1000, true);
        const L = model.numLayers;
        const half = Math.ceil(L / 2);
        const comparisonInfo = {
          testPrompts: Math.min(methodPrompts, nPrompts),
          sweep: sweepFlag === 'on',
          devPrompts: numberOption(values, 'method-dev', 16, 1, 1000, true),
          devTokens: numberOption(values, 'method-dev-tokens', 20, 1, 256, true),
          sweepLayers: numberList(values, 'method-layers', Array.from({ length: half + 1 }, (_, i) => L - half + i)),
          naturalMultiples: numberList(values, 'method-multiples', [1, 2, 3]),
          projectionSigmas: numberList(values, 'projection-sigmas', [0.5, 1]),
          steerSentences: 0,
          learned: { steps: numberOption(values, 'learned-steps', 12, 0, 1000, true), trainItems: 12, devItems: 16 },
          seconds: 0,
        };
        let methodResults: MethodResult[] = [];
        let notes: string[] = [];
        if (methods.length > 0 && methodLangs.length > 0) {
          const tm = Date.now();
          const steerSentences = values['method-steer'] === undefined ? undefined : numberOption(values, 'method-steer', 200, 2, 1e6, true);
          const r = await compareMethods(model, dir, index, lid, ctx, { ...comparisonInfo, languages: methodLangs, methods, testItems: (l) => items(l, 'en').slice(0, methodPrompts), gen, batchSize, bundledEvaluations: new Map(pairs.map((p) => [p.name, p])), ...(steerSentences !== undefined ? { steerSentences } : {}) }, log);
          methodResults = r.results;
          notes = r.notes;
          comparisonInfo.steerSentences = r.steerSentences;
          comparisonInfo.seconds = (Date.now() - tm) / 1000;
        }
        const results = { modelHash: hash, createdAt: new Date().toISOString(), generation: gen, prompts: nPrompts, index, analysis, pairs, methods: methodResults, methodComparison: comparisonInfo, notes, seconds: (Date.now() - t0) / 1000 };
        await writeFileAtomic(path.join(path.dirname(out), 'evaluation.json'), JSON.stringify(results, null, 1) + '\n');
        await writeFileAtomic(out, renderReport(results, model.folder.rawConfig));
        log(`wrote ${out}`);
        return 0;
      } finally {
        await model.dispose();
      }
    }),
};

const pct = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(0)} %` : '–');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const ci = (r: { delta: number; low: number; high: number }, f: (x: number) => string): string => `${f(r.delta)} [${f(r.low)}, ${f(r.high)}]`;

/** The Markdown of the report. */
export function renderReport(
  r: { modelHash: string; createdAt: string; generation: typeof DEFAULT_GENERATION; prompts: number; analysis: LanguageAnalysis; pairs: PairEvaluation[]; methods: MethodResult[]; methodComparison?: Parameters<typeof renderMethodComparison>[2]; notes: string[]; seconds: number },
  rawConfig: Record<string, unknown>,
): string {
  const toEn = r.pairs.filter((p) => p.target === 'en');
  const fromEn = r.pairs.filter((p) => p.source === 'en');
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const lines: string[] = [];
  const trained = (rawConfig['polyglot_lens'] as { trained_steps?: number } | undefined)?.trained_steps;
  lines.push('# Steering evaluation: tiny-polyglot', '');
  lines.push(`Model \`models/tiny-polyglot/model.onnx\` sha256 \`${r.modelHash.slice(0, 16)}…\`${trained !== undefined ? ` (${trained} training steps)` : ''}; report written ${r.createdAt} in ${r.seconds.toFixed(0)} s.`);
  lines.push('These numbers belong to the checkpoint named above: after `model.onnx` changes, `npm run build-vectors && npm run evaluate-vectors` rebuilds the vectors and this page.', '');
  lines.push(`Held-out test split (\`corpus/test.jsonl\`), the first ${r.prompts} rows that have all eleven languages. Decoding: ${r.generation.maxNewTokens} tokens sampled at temperature ${r.generation.temperature}, top-p ${r.generation.topP}, seed = item index (the same seed steered and unsteered). Prompt = the whole source sentence (BOS + text).`);
  lines.push('Language control = share of continuations that fastText lid.176 labels as the target language and that are not mostly repetitive (distinct-2 ≥ 0.5). Relevance: NLL (nats/token) of the reference translation appended to the prompt, and sentence chrF of the continuation against the reference. Steering score = harmonic mean of language control and chrF. Alignment = mean cosine between the source sentence\'s pooled (content-token mean) hidden states and its reference translation\'s, averaged over the layers from the steering layer to the last; "steered" adds the vector to the source. Intervals: paired bootstrap (1000 resamples, 95 %) of steered − unsteered.', '');
  lines.push('## Summary', '');
  lines.push(`| direction | unsteered language control (mean) | steered (mean) | steered (min) | alignment improved |`);
  lines.push('|---|---|---|---|---|');
  for (const [label, ps] of [['xx→en', toEn], ['en→xx', fromEn]] as const) {
    if (ps.length === 0) continue;
    const mins = Math.min(...ps.map((p) => p.steered.languageControl));
    lines.push(`| ${label} | ${pct(avg(ps.map((p) => p.base.languageControl)))} | ${pct(avg(ps.map((p) => p.steered.languageControl)))} | ${pct(mins)} | ${ps.filter((p) => p.alignment.steeredMean > p.alignment.baseMean).length} / ${ps.length} |`);
  }
  lines.push('', 'Targets (issue 5): xx→en ≥ 80 % mean and ≥ 60 % each with unsteered ≤ 10 %; en→xx ≥ 80 % mean / ≥ 60 % each; alignment improves for every language.', '');
  for (const [label, ps] of [['xx→en', toEn], ['en→xx', fromEn]] as const) {
    if (ps.length === 0) continue;
    lines.push(`## ${label} per pair`, '');
    lines.push('| pair | layer k | strength (× mean act. norm) | language control unsteered → steered | Δ [95 % CI] | degenerate (steered) | NLL unsteered → steered | ΔNLL [CI] | chrF unsteered → steered | ΔchrF [CI] | steering score | alignment unsteered → steered |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const p of ps) {
      lines.push(
        `| ${p.name} | ${p.layer} | ${p.strength.toFixed(3)} | ${pct(p.base.languageControl)} → ${pct(p.steered.languageControl)} | ${ci(p.comparison.languageControl, (x) => x.toFixed(0))} | ${p.steered.degenerate}/${p.items} | ${f2(p.base.nll)} → ${f2(p.steered.nll)} | ${ci(p.comparison.nll, f2)} | ${f2(p.base.chrF)} → ${f2(p.steered.chrF)} | ${ci(p.comparison.chrF, f2)} | ${f2(p.base.steeringScore)} → ${f2(p.steered.steeringScore)} | ${f3(p.alignment.baseMean)} → ${f3(p.alignment.steeredMean)} |`,
      );
    }
    lines.push('');
  }
  const reg = toEn.filter((p) => p.englishRegression);
  if (reg.length > 0) {
    lines.push('## English regression', '', 'Each xx→en vector at its chosen setting applied to English prompts (first half of English test sentences; reference = the second half).', '');
    lines.push('| vector | English language control off → on | NLL of the rest of the sentence off → on | degenerate on |');
    lines.push('|---|---|---|---|');
    for (const p of reg) {
      const e = p.englishRegression!;
      lines.push(`| ${p.name} | ${pct(e.base.languageControl)} → ${pct(e.steered.languageControl)} | ${f2(e.base.nll)} → ${f2(e.steered.nll)} | ${e.steered.degenerate}/${e.items} |`);
    }
    lines.push('');
  }
  if (r.methods.length > 0 && r.methodComparison) lines.push(renderMethodComparison(r.methods, r.notes, r.methodComparison));
  const a = r.analysis;
  lines.push('## How the model represents the languages', '');
  lines.push(`${a.sentences} multi-way test rows; mean-pooled content tokens; k = 0 embeddings … k = ${a.layers[a.layers.length - 1]} last block output.`, '');
  lines.push('![language × layer similarity](images/similarity-heatmap.svg)', '', '![mean-centred](images/similarity-heatmap-centred.svg)', '');
  const table = (title: string, get: (l: string) => number[] | undefined, f: (x: number) => string): void => {
    lines.push(`### ${title}`, '', `| language | ${a.layers.map((k) => `k=${k}`).join(' | ')} |`, `|---|${a.layers.map(() => '---').join('|')}|`);
    for (const l of a.languages) lines.push(`| ${l} | ${(get(l) ?? []).map(f).join(' | ')} |`);
    lines.push('');
  };
  table('Cosine to English (raw)', (l) => a.similarity.values[a.languages.indexOf(l)], f3);
  table('Cosine to English (mean-centred)', (l) => a.similarityCentred.values[a.languages.indexOf(l)], f3);
  table('Retrieval P@1 (xx sentence → its English translation among all, centred cosine)', (l) => a.retrieval[l], (x) => x.toFixed(2));
  if (a.tokenNearest) table("Tokens whose nearest language centroid is their own language (centroids from the steer split)", (l) => a.tokenNearest?.[l], (x) => x.toFixed(2));
  if (a.lensMass) table('Logit-lens probability mass on own-language tokens (top-100 next tokens, last 4 content positions)', (l) => a.lensMass?.[l]?.map((m) => m[l] ?? 0), (x) => x.toFixed(3));
  if (a.lensMass) table('Logit-lens probability mass on English tokens', (l) => a.lensMass?.[l]?.map((m) => m['en'] ?? 0), (x) => x.toFixed(3));
  const kMid = a.layers[Math.max(1, Math.round(a.layers.length * 0.66))] ?? a.layers[a.layers.length - 1]!;
  const vc = a.vectorCosines[kMid];
  if (vc) {
    lines.push(`### Cosine between the languages' xx→en DiffMean vectors at layer ${kMid}`, '', `| | ${vc.labels.join(' | ')} |`, `|---|${vc.labels.map(() => '---').join('|')}|`);
    vc.labels.forEach((l, i) => lines.push(`| ${l} | ${(vc.values[i] ?? []).map((x) => x.toFixed(2)).join(' | ')} |`));
    lines.push('');
  }
  lines.push('## Examples', '');
  for (const p of r.pairs.filter((x) => ['fr-en', 'en-fr', 'zh-en', 'ru-en'].includes(x.name))) {
    const e = p.examples[0];
    if (e) lines.push(`- **${p.name}** prompt: ${JSON.stringify(e.source)}`, `  - unsteered: ${JSON.stringify(e.base)}`, `  - steered: ${JSON.stringify(e.steered)}`);
  }
  lines.push('', '## How to reproduce', '');
  lines.push('```sh', 'npm run build-vectors      # centroids, xx→en / en→xx DiffMean vectors, dev sweep → models/tiny-polyglot/vectors/', 'npm run evaluate-vectors   # this report (docs/EVALUATION.md, docs/evaluation.json, docs/images/*.svg)', 'node dist/cli.js steer --prompt "Le roi est mort." --vector fr-en --json', '```', '');
  lines.push(`Both run on 2 CPU cores; budgets are flags (\`--steer\`, \`--dev\`, \`--prompts\`, \`--tokens\`, \`--method-*\`; see \`--help\`). This report took ${(r.seconds / 60).toFixed(0)} min${r.methodComparison ? `, ${(r.methodComparison.seconds / 60).toFixed(0)} of them the method comparison (\`--method-languages none\` skips it)` : ''}. Raw numbers: \`docs/evaluation.json\`; after a change to the wording only, \`npm run evaluate-vectors -- --render-only\` writes this page again from them.`, '');
  return lines.join('\n');
}

/** The bundle commands. */
export const BUNDLE_COMMANDS: readonly Command[] = [buildVectors, report];
