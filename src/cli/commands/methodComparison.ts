/**
 * The report's comparison of vector methods (xx→en, every language of the bundle): each method the engine
 * has — DiffMean toward English (the bundled vector), DiffMean from monolingual means, PCA of paired
 * differences, the logistic probe, DiffMean at other position modes, INCLINE projection, the learned vector —
 * gets its own layer and strength from the same dev sweep build-vectors runs for DiffMean (same dev prompts,
 * seeds, decoding, grid and choice rule), then one evaluation on the test prompts beside the unsteered model.
 */
import * as path from 'node:path';
import { DEFAULT_GENERATION, type EvaluationModel, type GenerationSettings, type TranslationItem } from '../../engine/analysis/evaluate';
import { encodePrompt, extractPooledStates, specialTokenIds, type PooledStates } from '../../engine/analysis/extract';
import { chrF, languageControl, type LanguageIdentifier } from '../../engine/analysis/metrics';
import { evaluatePair, type PairEvaluation, type PairEvaluationContext } from '../../engine/analysis/pairEvaluation';
import { cosineSimilarity } from '../../engine/analysis/similarity';
import { chooseCell, sweepLayerStrength, type SweepCell } from '../../engine/analysis/sweep';
import { readParallelCorpus } from '../../engine/corpus/parallel';
import { extractSteerStates, itemsFor, pivotStatesFor } from '../../engine/steering/bundle';
import { learnVector } from '../../engine/steering/learned';
import type { VectorIndex } from '../../engine/steering/library';
import { resolveVector } from '../../engine/steering/library';
import { vectorFromStates, type ExtractionMethod } from '../../engine/steering/methods';
import { forwardWithProjection, generateWithProjection, type ProjectionSteer } from '../../engine/steering/projection';
import type { PositionMode, SteeringVector } from '../../engine/steering/vector';

/** Every method label the comparison knows, in table order. */
export const COMPARED_METHODS = ['diffmean', 'diffmean-monolingual', 'pca', 'probe', 'diffmean@prompt', 'diffmean@generated', 'diffmean@lastPrompt', 'projection', 'learned'] as const;
export type ComparedMethod = (typeof COMPARED_METHODS)[number];

/** How a method's (layer, strength) was chosen. */
export type SettingSource = 'bundled sweep' | 'dev sweep' | 'DiffMean setting' | 'learned';

/** One method on one language: its chosen setting, its dev score there, and its test numbers. */
export interface MethodResult {
  language: string;
  method: ComparedMethod | 'unsteered';
  setting: SettingSource | null;
  layer: number;
  /** Activation-norm units; σ for projection. */
  strength: number;
  positions: PositionMode;
  /** Dev language control of the chosen cell (null when not swept). */
  devLanguageControl: number | null;
  languageControl: number; // test, 0–100
  degenerate: number;
  chrF: number;
  alignmentBase: number;
  alignmentSteered: number;
  seconds: number;
  note?: string;
}

/** Budgets of the comparison. */
export interface MethodComparisonOptions {
  languages: string[];
  methods: ComparedMethod[];
  /** Test prompts per method (the first rows of the test items). */
  testItems: (language: string) => TranslationItem[];
  gen: GenerationSettings;
  /** Per-method dev sweep (same grid as build-vectors); false = every method at DiffMean's bundled setting. */
  sweep: boolean;
  devPrompts: number;
  devTokens: number;
  sweepLayers: number[];
  naturalMultiples: number[];
  projectionSigmas: number[];
  /** Steer pairs the vectors come from; default (absent or 0): as many as the bundled vectors used. */
  steerSentences?: number;
  learned: { steps: number; trainItems: number; devItems: number };
  batchSize: number;
  /** The report's own evaluations of the bundled xx→en vectors on the same test items (reused, not rerun). */
  bundledEvaluations?: ReadonlyMap<string, PairEvaluation>;
}

/** Runs the comparison for every language (see the module comment). */
export async function compareMethods(
  model: EvaluationModel,
  dir: string,
  index: VectorIndex,
  lid: LanguageIdentifier,
  ctx: PairEvaluationContext,
  opts: MethodComparisonOptions,
  log: (s: string) => void,
): Promise<{ results: MethodResult[]; notes: string[]; steerSentences: number }> {
  const results: MethodResult[] = [];
  const notes: string[] = [];
  const hash = index.modelHash;
  const hint = model.folder.config.modelType ?? '';
  const steerCorpus = await readParallelCorpus(path.join(dir, 'corpus', 'steer.jsonl'));
  const devCorpus = await readParallelCorpus(path.join(dir, 'corpus', 'dev.jsonl'));
  const bundled = new Map<string, SteeringVector>();
  for (const l of opts.languages) if (index.vectors[`${l}-en`]) bundled.set(l, (await resolveVector(dir, `${l}-en`)).vector);
  const languages = opts.languages.filter((l) => bundled.has(l));
  const steerSentences = opts.steerSentences !== undefined && opts.steerSentences > 0 ? opts.steerSentences : Math.max(...[...bundled.values()].map((v) => v.metadata.numPairs));
  const t0 = Date.now();
  const states = await extractSteerStates(model, steerCorpus, { pivot: 'en', languages, steerSentences, batchSize: opts.batchSize });
  log(`methods: steer states of ${languages.length} languages (${steerSentences} pairs each) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const devGen: GenerationSettings = { ...opts.gen, maxNewTokens: opts.devTokens };
  for (const l of languages) {
    const entry = index.vectors[`${l}-en`]!;
    const dm = bundled.get(l)!;
    const { states: xs, rowIds } = states.byLanguage.get(l)!;
    const en = pivotStatesFor(states, rowIds);
    const test = opts.testItems(l);
    const dev = itemsFor(devCorpus, l, 'en', opts.devPrompts);
    const id = { sourceLanguage: l, targetLanguage: 'en', modelHash: hash, modelHint: hint };
    const at = (m: ComparedMethod, setting: SettingSource, layer: number, strength: number, positions: PositionMode, devLc: number | null) => ({ method: m, setting, layer, strength, positions, devLanguageControl: devLc });
    // Vector methods evaluated through evaluatePair (additive offsets).
    const additive: { method: ComparedMethod; vector: SteeringVector; positions: PositionMode }[] = [];
    for (const m of opts.methods) {
      if (m === 'projection' || m === 'learned') continue;
      const [base, pos] = m.split('@') as [string, PositionMode | undefined];
      const vector = base === 'diffmean' ? dm : vectorFromStates(base as ExtractionMethod, xs, en, id, { layers: [...new Set([...opts.sweepLayers, entry.layer])] });
      additive.push({ method: m, vector, positions: pos ?? 'all' });
    }
    let first = true;
    for (const a of additive) {
      const ts = Date.now();
      let chosen = at(a.method, 'DiffMean setting', entry.layer, entry.strength, a.positions, entry.dev?.languageControl ?? null);
      if (a.method === 'diffmean') chosen = at(a.method, 'bundled sweep', entry.layer, entry.strength, 'all', entry.dev?.languageControl ?? null);
      else if (opts.sweep) {
        const sw = await sweepLayerStrength(model, a.vector, dev, 'en', lid, { layers: opts.sweepLayers, strengths: [], naturalMultiples: opts.naturalMultiples, naturalFrom: dm, positions: a.positions, promptsPerCell: opts.devPrompts, gen: devGen });
        chosen = at(a.method, 'dev sweep', sw.best.layer, sw.best.strength, a.positions, sw.best.languageControl);
      }
      const known = a.method === 'diffmean' ? opts.bundledEvaluations?.get(`${l}-en`) : undefined;
      const e = known && known.items === test.length ? known : await evaluatePair(ctx, a.vector, `${l}-en:${a.method}`, test, { layer: chosen.layer, strength: chosen.strength, positions: a.positions }, null);
      if (first) {
        results.push({ language: l, method: 'unsteered', setting: null, layer: 0, strength: 0, positions: 'all', devLanguageControl: null, languageControl: e.base.languageControl, degenerate: e.base.degenerate, chrF: e.base.chrF, alignmentBase: e.alignment.baseMean, alignmentSteered: e.alignment.baseMean, seconds: 0 });
        first = false;
      }
      results.push({ language: l, ...chosen, languageControl: e.steered.languageControl, degenerate: e.steered.degenerate, chrF: e.steered.chrF, alignmentBase: e.alignment.baseMean, alignmentSteered: e.alignment.steeredMean, seconds: (Date.now() - ts) / 1000 });
    }
    if (opts.methods.includes('projection')) {
      const ts = Date.now();
      const layers = opts.sweep ? opts.sweepLayers : [entry.layer];
      const pv = vectorFromStates('projection', xs, en, id, { layers });
      let best: SweepCell & { layer: number } = { layer: entry.layer, strength: 1, languageControl: NaN, degenerate: 0, chrF: NaN };
      if (opts.sweep || opts.projectionSigmas.length > 1) {
        const cells: SweepCell[] = [];
        for (const k of layers) {
          for (const sigma of opts.projectionSigmas) {
            const texts = await projectionContinuations(model, dev, { layer: k, w: pv.projections.get(k)!, sigma }, devGen);
            const lc = await languageControl(texts, 'en', lid);
            cells.push({ layer: k, strength: sigma, languageControl: 100 * lc.rate, degenerate: lc.degenerate, chrF: meanOf(texts.map((t, i) => chrF(t, dev[i]!.reference))) });
          }
        }
        best = chooseCell(cells, dev.length);
      } else best = { ...best, strength: opts.projectionSigmas[0] ?? 1 };
      const proj: ProjectionSteer = { layer: best.layer, w: pv.projections.get(best.layer)!, sigma: best.strength };
      const texts = await projectionContinuations(model, test, proj, opts.gen);
      const lc = await languageControl(texts, 'en', lid);
      const align = await projectionAlignment(model, test, proj);
      results.push({ language: l, method: 'projection', setting: opts.sweep ? 'dev sweep' : 'DiffMean setting', layer: best.layer, strength: best.strength, positions: 'all', devLanguageControl: Number.isFinite(best.languageControl) ? best.languageControl : null, languageControl: 100 * lc.rate, degenerate: lc.degenerate, chrF: meanOf(texts.map((t, i) => chrF(t, test[i]!.reference))), alignmentBase: align.base, alignmentSteered: align.steered, seconds: (Date.now() - ts) / 1000 });
    }
    if (opts.methods.includes('learned')) {
      const ts = Date.now();
      const learned = await learnVector(model, xs, en, itemsFor(steerCorpus, l, 'en', opts.learned.trainItems), itemsFor(devCorpus, l, 'en', opts.learned.devItems), dm, { layer: entry.layer, initialStrength: entry.strength, iterations: opts.learned.steps });
      const e = await evaluatePair(ctx, learned.vector, `${l}-en:learned`, test, { layer: entry.layer, strength: learned.strength, positions: 'all' }, null);
      const note = `${learned.beatsDiffMean ? 'kept' : 'rejected'}: dev reference NLL ${learned.devLoss.learned.toFixed(3)} vs DiffMean ${learned.devLoss.diffMean.toFixed(3)}`;
      notes.push(`learned ${l}-en: ${note}; learned strength ${learned.strength.toFixed(3)} (DiffMean ${entry.strength.toFixed(3)})`);
      results.push({ language: l, method: 'learned', setting: 'learned', layer: entry.layer, strength: learned.strength, positions: 'all', devLanguageControl: null, languageControl: e.steered.languageControl, degenerate: e.steered.degenerate, chrF: e.steered.chrF, alignmentBase: e.alignment.baseMean, alignmentSteered: e.alignment.steeredMean, seconds: (Date.now() - ts) / 1000, note });
    }
    const row = results.filter((r) => r.language === l && r.method !== 'unsteered');
    log(`methods ${l}-en: ${row.map((r) => `${r.method} ${r.languageControl.toFixed(0)} % (k${r.layer}, ${r.seconds.toFixed(0)} s)`).join(', ')}`);
  }
  return { results, notes, steerSentences };
}

function meanOf(xs: readonly number[]): number {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length === 0 ? NaN : f.reduce((a, b) => a + b, 0) / f.length;
}

/** Continuations under exact projection steering, one prompt at a time, seed = gen.seed + item index. */
async function projectionContinuations(model: EvaluationModel, items: readonly TranslationItem[], p: ProjectionSteer, gen: GenerationSettings = DEFAULT_GENERATION): Promise<string[]> {
  const out: string[] = [];
  for (const [i, it] of items.entries()) {
    const ids = encodePrompt(model.folder, it.source, gen.promptTokens);
    const toks = await generateWithProjection(model, ids, p, { maxNewTokens: gen.maxNewTokens, sampling: { temperature: gen.temperature, topP: gen.topP, seed: gen.seed + i }, stopTokenIds: model.folder.stopTokenIds });
    out.push(toks.length ? model.folder.tokenizer.decode(toks, { skipSpecialTokens: true }) : '');
  }
  return out;
}

/** Alignment (as evaluatePair measures it) with the projection applied exactly to the source sentence. */
async function projectionAlignment(model: EvaluationModel, items: readonly TranslationItem[], p: ProjectionSteer): Promise<{ base: number; steered: number }> {
  const after = Array.from({ length: model.numLayers - p.layer + 1 }, (_, i) => p.layer + i);
  const refs: PooledStates = await extractPooledStates(model, items.map((i) => i.reference), { layers: after });
  const srcBase = await extractPooledStates(model, items.map((i) => i.source), { layers: after });
  const special = specialTokenIds(model.folder);
  const H = model.hiddenSize;
  let base = 0;
  let steered = 0;
  for (const [i, it] of items.entries()) {
    const full = encodePrompt(model.folder, it.source, 96);
    const { hiddenStates } = await forwardWithProjection(model, full, p, after);
    const content = full.map((id, q) => (special.has(id) ? -1 : q)).filter((q) => q >= 0);
    for (const k of after) {
      const h = hiddenStates.get(k)!;
      const pooled = new Float32Array(H);
      for (const q of content) for (let j = 0; j < H; j++) pooled[j] = (pooled[j] as number) + (h[q * H + j] as number) / content.length;
      const rm = refs.states.get(k)!;
      const bm = srcBase.states.get(k)!;
      steered += cosineSimilarity(pooled, rm.data.subarray(i * H, (i + 1) * H)) / after.length / items.length;
      base += cosineSimilarity(bm.data.subarray(i * H, (i + 1) * H), rm.data.subarray(i * H, (i + 1) * H)) / after.length / items.length;
    }
  }
  return { base, steered };
}

/** Short labels for the table header. */
const LABELS: Record<ComparedMethod | 'unsteered', string> = {
  unsteered: 'unsteered',
  diffmean: 'DiffMean (bundled)',
  'diffmean-monolingual': 'DiffMean monolingual',
  pca: 'PCA',
  probe: 'probe',
  'diffmean@prompt': 'DiffMean @prompt',
  'diffmean@generated': 'DiffMean @generated',
  'diffmean@lastPrompt': 'DiffMean @last prompt token',
  projection: 'projection (INCLINE)',
  learned: 'learned',
};

/** The Markdown section of the comparison (tables, means, and what was settled on). */
export function renderMethodComparison(results: readonly MethodResult[], notes: readonly string[], info: { testPrompts: number; sweep: boolean; devPrompts: number; devTokens: number; sweepLayers: number[]; naturalMultiples: number[]; projectionSigmas: number[]; steerSentences: number; learned: { steps: number; trainItems: number; devItems: number }; seconds: number }): string {
  const pct = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(0)} %` : '–');
  const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
  const methods = [...new Set(results.map((r) => r.method))].sort((a, b) => order(a) - order(b));
  const languages = [...new Set(results.map((r) => r.language))];
  const get = (l: string, m: string): MethodResult | undefined => results.find((r) => r.language === l && r.method === m);
  const lines: string[] = [];
  lines.push("## Vector methods compared (xx→en, every pair)", '');
  lines.push(
    `Every vector comes from the same ${info.steerSentences} steer pairs per language as the bundled DiffMean. ` +
      (info.sweep
        ? `Each method gets its own layer and strength from the dev sweep build-vectors runs for DiffMean (the first ${info.devPrompts} dev prompts, ${info.devTokens} tokens, the same seeds and decoding; layers ${info.sweepLayers.join(', ')}; strengths ${info.naturalMultiples.join(', ')} × the layer's natural DiffMean strength ‖v_k‖/m_k, in mean-activation-norm units, so a unit direction gets the offset norm DiffMean would; projection: σ ∈ {${info.projectionSigmas.join(', ')}} at each layer; the choice rule is the same: the weakest cell within one prompt of the best dev language control). DiffMean itself uses its bundled setting, which is that sweep's choice. `
        : `Every method uses DiffMean's bundled layer and strength (no per-method sweep; projection σ = ${info.projectionSigmas[0] ?? 1}). `) +
      `The learned vector starts from DiffMean at DiffMean's layer and strength and learns its own strength and a rank-4 correction (SPSA, ${info.learned.steps} steps on the reference NLL of ${info.learned.trainItems} steer pairs, kept only if its NLL on ${info.learned.devItems} dev pairs beats DiffMean's); it is not swept over layers. ` +
      `Test: the first ${info.testPrompts} test prompts, decoding and the degeneration rule as above (the unsteered column is the same prompts and seeds without a vector). ` +
      `Written by \`npm run evaluate-vectors\` (\`polyglot-lens report\`, whose defaults are this comparison on every pair; \`--method-languages fr,zh --method-sweep off\` is a quick look); this part took ${(info.seconds / 60).toFixed(0)} min on 2 shared cores.`,
    '',
  );
  lines.push('### Language control on test (chosen layer k, strength)', '');
  lines.push(`| language | ${methods.map((m) => LABELS[m]).join(' | ')} |`);
  lines.push(`|---|${methods.map(() => '---').join('|')}|`);
  for (const l of languages) {
    lines.push(`| ${l}-en | ${methods.map((m) => { const r = get(l, m); return r ? (m === 'unsteered' ? pct(r.languageControl) : `${pct(r.languageControl)} (k${r.layer}, ${m === 'projection' ? `σ ${r.strength}` : r.strength.toFixed(2)})`) : '–'; }).join(' | ')} |`);
  }
  const stat = (m: string, f: (xs: number[]) => number, key: (r: MethodResult) => number): number => f(languages.map((l) => get(l, m)).filter((r): r is MethodResult => !!r).map(key));
  const avg = (xs: number[]): number => meanOf(xs);
  const min = (xs: number[]): number => (xs.length ? Math.min(...xs) : NaN);
  lines.push(`| **mean** | ${methods.map((m) => `**${pct(stat(m, avg, (r) => r.languageControl))}**`).join(' | ')} |`);
  lines.push(`| min | ${methods.map((m) => pct(stat(m, min, (r) => r.languageControl))).join(' | ')} |`);
  lines.push(`| degenerate (all pairs) | ${methods.map((m) => `${stat(m, (xs) => xs.reduce((a, b) => a + b, 0), (r) => r.degenerate)}`).join(' | ')} |`);
  lines.push(`| chrF (mean) | ${methods.map((m) => stat(m, avg, (r) => r.chrF).toFixed(1)).join(' | ')} |`);
  if (info.sweep) lines.push(`| dev LC of the chosen cell (mean) | ${methods.map((m) => pct(stat(m, avg, (r) => r.devLanguageControl ?? NaN))).join(' | ')} |`);
  lines.push('');
  lines.push('### Alignment after the steering layer (unsteered → steered)', '');
  const aMethods = methods.filter((m) => m !== 'unsteered');
  lines.push(`| language | ${aMethods.map((m) => LABELS[m]).join(' | ')} |`);
  lines.push(`|---|${aMethods.map(() => '---').join('|')}|`);
  for (const l of languages) lines.push(`| ${l}-en | ${aMethods.map((m) => { const r = get(l, m); return r ? `${f3(r.alignmentBase)} → ${f3(r.alignmentSteered)}` : '–'; }).join(' | ')} |`);
  lines.push(`| improved | ${aMethods.map((m) => `${languages.filter((l) => { const r = get(l, m); return r && r.alignmentSteered > r.alignmentBase; }).length} / ${languages.filter((l) => get(l, m)).length}`).join(' | ')} |`);
  lines.push('', '@generated and @last prompt token leave the source sentence unsteered (or change one token), so their alignment is the unsteered one. Alignment is measured per steering layer, so columns with different layers start from different unsteered values.', '');
  for (const n of notes) lines.push(`- ${n}`);
  if (notes.length) lines.push('');
  lines.push('### What we settled on and why', '');
  lines.push(...settledOn(results, languages, methods));
  lines.push('');
  return lines.join('\n');
}

function order(m: string): number {
  return m === 'unsteered' ? -1 : (COMPARED_METHODS as readonly string[]).indexOf(m);
}

/** The conclusion, from the numbers: DiffMean stays unless another method is better on test by more than noise. */
function settledOn(results: readonly MethodResult[], languages: string[], methods: string[]): string[] {
  const by = (m: string): MethodResult[] => languages.map((l) => results.find((r) => r.language === l && r.method === m)).filter((r): r is MethodResult => !!r);
  const mean = (m: string): number => meanOf(by(m).map((r) => r.languageControl));
  const minOf = (m: string): number => Math.min(...by(m).map((r) => r.languageControl));
  const dm = mean('diffmean');
  const others = methods.filter((m) => m !== 'diffmean' && m !== 'unsteered' && by(m).length === languages.length);
  const ranked = [...others].sort((a, b) => mean(b) - mean(a));
  const label = (m: string): string => LABELS[m as ComparedMethod] ?? m;
  const out: string[] = [];
  const tied = ranked.filter((m) => Math.abs(mean(m) - dm) <= 5);
  const better = ranked.filter((m) => mean(m) - dm > 5 && minOf(m) >= minOf('diffmean'));
  const worse = ranked.filter((m) => dm - mean(m) > 5);
  out.push(`- Measured: DiffMean (bundled) ${dm.toFixed(0)} % mean / ${minOf('diffmean').toFixed(0)} % min language control over the ${languages.length} pairs; ${ranked.map((m) => `${label(m)} ${mean(m).toFixed(0)} % / ${minOf(m).toFixed(0)} %`).join('; ')}.`);
  if (better.length > 0) {
    out.push(`- ${better.map(label).join(', ')} beat${better.length === 1 ? 's' : ''} DiffMean by more than 5 points on the mean without a worse minimum: worth making the default (\`build-vectors\` builds DiffMean today).`);
  } else {
    out.push(`- We keep **DiffMean toward English, every position, at the per-pair layer and strength of the dev sweep** (the bundled vectors). No method beats it by more than 5 points on the mean language control (${tied.length > 0 ? `${tied.map(label).join(', ')} within 5 points` : 'none within 5 points'}${worse.length > 0 ? `; ${worse.map(label).join(', ')} lower` : ''}), and it is the cheapest and most transparent: one mean difference of pooled states, one offset added through the KV cache, no second pass per token (projection) and no optimisation loop (learned).`);
  }
  const pos = ['diffmean@prompt', 'diffmean@generated', 'diffmean@lastPrompt'].filter((m) => by(m).length > 0);
  if (pos.length > 0) {
    const prompt = by('diffmean@prompt').length ? mean('diffmean@prompt') : NaN;
    const generated = by('diffmean@generated').length ? mean('diffmean@generated') : NaN;
    const why =
      prompt < 50 && generated >= dm - 10
        ? ': steering the prompt alone (or its last token) leaves the continuation in the source language, so the offset has to be there while generating; generated positions alone come close, and steering the prompt as well adds the rest and the alignment of the source sentence itself, so "all" stays the default'
        : pos.every((m) => mean(m) < dm - 5)
          ? ': every position does best, so "all" stays the default'
          : '';
    out.push(`- Position modes (DiffMean, each with its own sweep): ${pos.map((m) => `${label(m).replace('DiffMean ', '')} ${mean(m).toFixed(0)} %`).join(', ')} against ${dm.toFixed(0)} % at every position${why}.`);
  }
  // Where DiffMean is weakest, which method did better on that pair, at which layer.
  const weak = by('diffmean').filter((r) => r.languageControl < 90);
  if (weak.length > 0) {
    let beat = 0;
    let otherLayer = 0;
    const notes = weak.map((r) => {
      const better = results.filter((x) => x.language === r.language && x.method !== 'diffmean' && x.method !== 'unsteered' && x.languageControl > r.languageControl).sort((a, b) => b.languageControl - a.languageControl);
      beat += better.length;
      otherLayer += better.filter((x) => x.layer !== r.layer).length;
      const alt = better[0];
      return `${r.language}-en ${r.languageControl.toFixed(0)} % at k${r.layer}${alt ? ` (best there: ${label(alt.method)} ${alt.languageControl.toFixed(0)} % at k${alt.layer})` : ''}`;
    });
    const swept = ['diffmean', 'diffmean-monolingual', 'pca', 'probe'].filter((m) => by(m).length === languages.length && by(m).every((r) => r.devLanguageControl !== null));
    const devMeans = swept.map((m) => meanOf(by(m).map((r) => r.devLanguageControl as number)));
    out.push(
      `- DiffMean's weakest pairs: ${notes.join('; ')}. ${beat > 0 ? `Of the ${beat} method results that beat it on ${weak.length === 1 ? 'that pair' : 'those pairs'}, ${otherLayer} sit at another layer than DiffMean's, so much of the spread is the layer (and strength) each sweep picked from a few dev prompts rather than the direction. ` : ''}` +
        (devMeans.length > 1 ? `On dev the chosen cells of ${swept.map(label).join(', ')} score ${Math.min(...devMeans).toFixed(0)}–${Math.max(...devMeans).toFixed(0)} % on average: dev does not separate them, and picking a method by these test numbers would be choosing on test. ` : '') +
        `A larger dev split for the sweeps (\`build-vectors --dev N\`, \`report --method-dev N\`) is the next thing to try.`,
    );
  }
  const learned = by('learned');
  if (learned.length > 0) {
    const kept = learned.filter((r) => r.note?.startsWith('kept')).length;
    out.push(`- The learned vector lowers the dev reference NLL for ${kept} of ${learned.length} pairs (kept there) and reaches ${mean('learned').toFixed(0)} % mean language control; its objective is the NLL of references, not the language of free continuations${better.includes('learned') ? '' : ', and it costs an optimisation loop per pair for no gain in language control here, so it stays an option, not the default'}.`);
  }
  const layers = new Set(by('diffmean').map((r) => r.layer));
  if (layers.size > 1) out.push(`- Per-language layers: the sweep picks k ∈ {${[...layers].sort().join(', ')}} for DiffMean across the pairs, so each bundled vector keeps its own layer rather than one layer for all.`);
  return out;
}
