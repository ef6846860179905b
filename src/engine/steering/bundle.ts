// The bundled-vector workflow for a model with multi-way parallel steer/dev splits: pooled states of every
// language on the steer split -> per-layer language centroids (stored keyed by the model hash) -> xx→en and
// en→xx DiffMean vectors at every layer -> a layer × strength sweep on dev per pair -> the vectors (one
// safetensors file per pair, default layer and strength set) and `vectors/index.json`.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CentroidAccumulator, saveCentroids, type LanguageCentroids } from '../analysis/centroids.js';
import { extractPooledStates, selectRows, type PooledStates, type ProgressCallback } from '../analysis/extract.js';
import type { EvaluationModel, GenerationSettings, TranslationItem } from '../analysis/evaluate.js';
import type { LanguageIdentifier } from '../analysis/metrics.js';
import { sweepLayerStrength, type SweepResult } from '../analysis/sweep.js';
import type { ParallelCorpus } from '../corpus/parallel.js';
import { singleLayer, vectorFromStates, type ExtractionMethod } from './methods.js';
import { VECTOR_FOLDER, writeVectorIndex, type VectorIndex } from './library.js';
import { saveSteeringVector } from './vectorFile.js';
import type { SteeringVector } from './vector.js';

/** Budget and grid of a bundle build. */
export interface BundleOptions {
  pivot: string; // 'en'
  languages: string[]; // non-pivot languages
  steerSentences: number; // pairs per language from the steer split
  devPrompts: number; // prompts per sweep cell
  layers: number[]; // sweep layers
  naturalMultiples: number[]; // sweep strengths as multiples of ‖v_k‖/m_k
  gen: GenerationSettings;
  method: ExtractionMethod;
  batchSize: number;
}

/** Per-language pooled states on the steer split, rows aligned with `rowIds` (rows that have the language and the pivot). */
export interface SteerStates {
  pivot: PooledStates; // pivot states of the union of rows
  pivotRowIds: string[];
  byLanguage: Map<string, { states: PooledStates; rowIds: string[] }>;
}

/** Extracts pooled states (mean over content tokens, every layer) for the pivot and each language on the steer split. */
export async function extractSteerStates(model: EvaluationModel, steer: ParallelCorpus, opts: Pick<BundleOptions, 'pivot' | 'languages' | 'steerSentences' | 'batchSize'> & { pooling?: 'mean' | 'last' }, onProgress?: ProgressCallback, signal?: AbortSignal): Promise<SteerStates> {
  const pivotRows = steer.rows.filter((r) => r.texts[opts.pivot] !== undefined);
  const chosen = new Map<string, string[]>();
  const needed = new Set<string>();
  for (const l of opts.languages) {
    const ids = pivotRows.filter((r) => r.texts[l] !== undefined).slice(0, opts.steerSentences).map((r) => r.id);
    chosen.set(l, ids);
    ids.forEach((id) => needed.add(id));
  }
  const byId = new Map(steer.rows.map((r) => [r.id, r]));
  const pivotRowIds = pivotRows.filter((r) => needed.has(r.id)).map((r) => r.id);
  const total = pivotRowIds.length + [...chosen.values()].reduce((a, b) => a + b.length, 0);
  let base = 0;
  const prog = (done: number): void => onProgress?.(base + done, total, 'sentences extracted');
  const pivot = await extractPooledStates(model, pivotRowIds.map((id) => byId.get(id)!.texts[opts.pivot] as string), { batchSize: opts.batchSize, pooling: opts.pooling ?? 'mean', onProgress: prog, ...(signal ? { signal } : {}) });
  base += pivotRowIds.length;
  const byLanguage = new Map<string, { states: PooledStates; rowIds: string[] }>();
  for (const l of opts.languages) {
    const ids = chosen.get(l)!;
    const states = await extractPooledStates(model, ids.map((id) => byId.get(id)!.texts[l] as string), { batchSize: opts.batchSize, pooling: opts.pooling ?? 'mean', onProgress: prog, ...(signal ? { signal } : {}) });
    base += ids.length;
    byLanguage.set(l, { states, rowIds: ids });
  }
  return { pivot, pivotRowIds, byLanguage };
}

/** Pivot states restricted to the given row ids, in that order. */
export function pivotStatesFor(s: SteerStates, rowIds: readonly string[]): PooledStates {
  const pos = new Map(s.pivotRowIds.map((id, i) => [id, i]));
  const idx = rowIds.map((id) => pos.get(id) as number);
  const states = new Map([...s.pivot.states].map(([k, m]) => [k, selectRows(m, idx)]));
  return { layers: s.pivot.layers, pooling: s.pivot.pooling, states, tokenCounts: idx.map((i) => s.pivot.tokenCounts[i] as number) };
}

/** Per-layer centroids of every language (sentence means, mean pooling), tagged with the model hash. */
export function centroidsFromSteerStates(s: SteerStates, pivot: string, hiddenSize: number, modelHash: string): LanguageCentroids {
  const acc = new CentroidAccumulator(hiddenSize, s.pivot.pooling, modelHash);
  const add = (lang: string, p: PooledStates): void => {
    for (const [k, m] of p.states) for (let i = 0; i < m.rows; i++) acc.addPooled(lang, k, m.data.subarray(i * m.cols, (i + 1) * m.cols));
  };
  add(pivot, s.pivot);
  for (const [l, { states }] of s.byLanguage) add(l, states);
  return acc.finish();
}

/** Dev items of a direction: rows that have both languages. */
export function itemsFor(corpus: ParallelCorpus, source: string, target: string, limit = Infinity): TranslationItem[] {
  const out: TranslationItem[] = [];
  for (const r of corpus.rows) {
    const s = r.texts[source];
    const t = r.texts[target];
    if (s !== undefined && t !== undefined) out.push({ id: r.id, source: s, reference: t });
    if (out.length >= limit) break;
  }
  return out;
}

/** One built pair: the all-layer vector, the sweep, the chosen setting. */
export interface BuiltPair {
  name: string; // e.g. fr-en
  source: string;
  target: string;
  vector: SteeringVector; // all layers, default layer/strength = the chosen cell
  sweep: SweepResult;
}

/** Builds both directions for every language, sweeps on dev, writes files + index under `<modelDir>/vectors/`. */
export async function buildBundle(
  model: EvaluationModel,
  modelDir: string,
  modelHash: string,
  corpora: { steer: ParallelCorpus; dev: ParallelCorpus },
  lid: LanguageIdentifier,
  opts: BundleOptions,
  log: (line: string) => void = () => undefined,
  signal?: AbortSignal,
): Promise<{ pairs: BuiltPair[]; centroids: LanguageCentroids; index: VectorIndex }> {
  const t0 = Date.now();
  const states = await extractSteerStates(model, corpora.steer, opts, (d, n) => (d === n || d % 200 < opts.batchSize) && log(`extract ${d}/${n}`), signal);
  log(`extracted in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const centroids = centroidsFromSteerStates(states, opts.pivot, model.hiddenSize, modelHash);
  const dir = path.join(modelDir, VECTOR_FOLDER);
  await fs.mkdir(dir, { recursive: true });
  await saveCentroids(path.join(dir, 'centroids.safetensors'), centroids);
  const hint = model.folder.config.modelType ?? '';
  const pairs: BuiltPair[] = [];
  for (const l of opts.languages) {
    const { states: xs, rowIds } = states.byLanguage.get(l)!;
    const en = pivotStatesFor(states, rowIds);
    for (const [source, target, src, tgt] of [
      [l, opts.pivot, xs, en],
      [opts.pivot, l, en, xs],
    ] as const) {
      const name = `${source}-${target}`;
      const v = vectorFromStates(opts.method, src, tgt, { sourceLanguage: source, targetLanguage: target, modelHash, modelHint: hint, notes: `${opts.method} on the steer split (${rowIds.length} pairs).` });
      const ts = Date.now();
      const sweep = await sweepLayerStrength(model, v, itemsFor(corpora.dev, source, target), target, lid, { layers: opts.layers, strengths: [], naturalMultiples: opts.naturalMultiples, promptsPerCell: opts.devPrompts, gen: opts.gen }, signal ? { signal } : {});
      const best = sweep.best;
      const chosen = withDefaults(v, best.layer, best.strength);
      await saveSteeringVector(path.join(dir, `${name}.safetensors`), chosen);
      pairs.push({ name, source, target, vector: chosen, sweep });
      log(`${name}: layer ${best.layer}, strength ${best.strength.toFixed(3)} → dev language control ${best.languageControl.toFixed(0)} % (${((Date.now() - ts) / 1000).toFixed(0)} s)`);
    }
  }
  const index: VectorIndex = {
    format: 'polyglot-lens/vector-index',
    version: 1,
    modelHash,
    createdAt: new Date().toISOString(),
    centroids: 'centroids.safetensors',
    vectors: Object.fromEntries(
      pairs.map((p) => [
        p.name,
        {
          file: `${p.name}.safetensors`,
          source: p.source,
          target: p.target,
          method: opts.method,
          layer: p.sweep.best.layer,
          strength: Number(p.sweep.best.strength.toFixed(4)),
          positions: 'all' as const,
          dev: { languageControl: p.sweep.best.languageControl, chrF: Number(p.sweep.best.chrF.toFixed(2)), prompts: p.sweep.prompts },
        },
      ]),
    ),
  };
  await writeVectorIndex(modelDir, index);
  return { pairs, centroids, index };
}

/** The vector with its default layer and strength (activation-norm units) set. */
export function withDefaults(v: SteeringVector, layer: number, strength: number): SteeringVector {
  const k = singleLayer(v, layer, strength);
  void k; // validates the layer
  return { ...v, metadata: { ...v.metadata, defaultLayer: layer, defaultStrength: Number(strength.toFixed(4)), defaultStrengthUnit: 'activationNorm', defaultPositions: 'all' } };
}
