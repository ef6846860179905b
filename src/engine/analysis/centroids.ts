// Pooling token states into sentence vectors, and per-layer language centroids accumulated over a corpus.
// Pooling `mean` averages content tokens only (the caller's mask excludes BOS, padding, special and
// template tokens); `last` takes the last content token. Sums accumulate in float64; results are float32.

import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../steering/atomicWrite.js';
import { float32LeBytes, parseSafetensors, serializeSafetensors, tensorToFloat32, type SafetensorsTensorInput } from '../steering/safetensors.js';
import { VectorFileError } from '../steering/errors.js';
import { AnalysisInputError } from './errors.js';
import { norm, row, type Matrix } from './matrix.js';

/** Sentence pooling: mean over content tokens, or the last content token. */
export type SentencePooling = 'mean' | 'last';

/** 1 for content tokens, 0 for token ids in `specialIds` (BOS, EOS, padding, template tokens). */
export function contentTokenMask(tokenIds: ArrayLike<number>, specialIds: ReadonlySet<number>): Uint8Array {
  const out = new Uint8Array(tokenIds.length);
  for (let i = 0; i < tokenIds.length; i++) out[i] = specialIds.has(tokenIds[i] as number) ? 0 : 1;
  return out;
}

/** Pools token states [T, d] into one vector [d] over positions where mask is non-zero (all positions if no mask). */
export function poolStates(states: Matrix, pooling: SentencePooling, mask?: ArrayLike<number | boolean>): Float32Array {
  if (mask && mask.length !== states.rows) throw new AnalysisInputError(`poolStates: mask has ${mask.length} entries for ${states.rows} tokens.`);
  const isContent = (t: number): boolean => !mask || Boolean(mask[t]);
  const d = states.cols;
  if (pooling === 'last') {
    for (let t = states.rows - 1; t >= 0; t--) if (isContent(t)) return Float32Array.from(row(states, t));
    throw new AnalysisInputError('poolStates: no content tokens to pool (every token is masked out); the text may be empty after removing special tokens.');
  }
  const acc = new Float64Array(d);
  let count = 0;
  for (let t = 0; t < states.rows; t++) {
    if (!isContent(t)) continue;
    const o = t * d;
    for (let j = 0; j < d; j++) acc[j] = (acc[j] as number) + (states.data[o + j] as number);
    count++;
  }
  if (count === 0) throw new AnalysisInputError('poolStates: no content tokens to pool (every token is masked out); the text may be empty after removing special tokens.');
  const out = new Float32Array(d);
  for (let j = 0; j < d; j++) out[j] = (acc[j] as number) / count;
  return out;
}

/** Per-layer language centroids with the statistics needed to scale vectors and to report. */
export interface LanguageCentroids {
  hiddenSize: number;
  /** How sentence vectors were pooled (`all-tokens` when whole token sets were added). */
  pooling: SentencePooling | 'all-tokens';
  /** Model the states came from (hex hash) — centroids are stored per model. */
  modelHash: string;
  layers: number[];
  languages: string[];
  /** k → language → centroid [d]. */
  centroids: Map<number, Map<string, Float32Array>>;
  /** k → language → number of vectors averaged. */
  counts: Map<number, Map<string, number>>;
  /** k → language → mean L2 norm of the vectors averaged (the layer's mean activation norm for that language). */
  meanNorms: Map<number, Map<string, number>>;
}

interface Acc {
  sum: Float64Array;
  count: number;
  normSum: number;
}

/** Accumulates vectors per (language, layer) in float64 and produces LanguageCentroids. */
export class CentroidAccumulator {
  private readonly acc = new Map<number, Map<string, Acc>>();
  private mode: SentencePooling | 'all-tokens' | null = null;

  /** @param hiddenSize residual width d; @param pooling how sentence vectors added with `addPooled` were made. */
  constructor(readonly hiddenSize: number, private readonly pooling: SentencePooling = 'mean', private readonly modelHash = '') {}

  private slot(language: string, layer: number): Acc {
    let byLang = this.acc.get(layer);
    if (!byLang) {
      byLang = new Map();
      this.acc.set(layer, byLang);
    }
    let a = byLang.get(language);
    if (!a) {
      a = { sum: new Float64Array(this.hiddenSize), count: 0, normSum: 0 };
      byLang.set(language, a);
    }
    return a;
  }

  private add(a: Acc, v: ArrayLike<number>): void {
    for (let j = 0; j < this.hiddenSize; j++) a.sum[j] = (a.sum[j] as number) + (v[j] as number);
    a.count++;
    a.normSum += norm(v);
  }

  /** Adds one pooled sentence vector [d] for `language` at layer k. */
  addPooled(language: string, layer: number, vector: ArrayLike<number>): void {
    if (vector.length !== this.hiddenSize) throw new AnalysisInputError(`CentroidAccumulator: vector has length ${vector.length}, expected ${this.hiddenSize}.`);
    if (this.mode === 'all-tokens') throw new AnalysisInputError('CentroidAccumulator: do not mix pooled sentences and all-token states in one set of centroids.');
    this.mode = this.pooling;
    this.add(this.slot(language, layer), vector);
  }

  /** Adds every content token of states [T, d] (all-token means, as DiffMean-from-monolingual uses). */
  addTokens(language: string, layer: number, states: Matrix, mask?: ArrayLike<number | boolean>): void {
    if (states.cols !== this.hiddenSize) throw new AnalysisInputError(`CentroidAccumulator: states have ${states.cols} columns, expected ${this.hiddenSize}.`);
    if (mask && mask.length !== states.rows) throw new AnalysisInputError(`CentroidAccumulator: mask has ${mask.length} entries for ${states.rows} tokens.`);
    if (this.mode !== null && this.mode !== 'all-tokens') throw new AnalysisInputError('CentroidAccumulator: do not mix pooled sentences and all-token states in one set of centroids.');
    this.mode = 'all-tokens';
    const a = this.slot(language, layer);
    for (let t = 0; t < states.rows; t++) if (!mask || mask[t]) this.add(a, row(states, t));
  }

  /** The centroids so far (float32), with counts and mean norms. */
  finish(): LanguageCentroids {
    const layers = [...this.acc.keys()].sort((a, b) => a - b);
    const languages: string[] = [];
    const centroids = new Map<number, Map<string, Float32Array>>();
    const counts = new Map<number, Map<string, number>>();
    const meanNorms = new Map<number, Map<string, number>>();
    for (const k of layers) {
      const c = new Map<string, Float32Array>();
      const n = new Map<string, number>();
      const mn = new Map<string, number>();
      for (const [lang, a] of this.acc.get(k)!) {
        if (!languages.includes(lang)) languages.push(lang);
        if (a.count === 0) continue;
        const v = new Float32Array(this.hiddenSize);
        for (let j = 0; j < this.hiddenSize; j++) v[j] = (a.sum[j] as number) / a.count;
        c.set(lang, v);
        n.set(lang, a.count);
        mn.set(lang, a.normSum / a.count);
      }
      centroids.set(k, c);
      counts.set(k, n);
      meanNorms.set(k, mn);
    }
    return { hiddenSize: this.hiddenSize, pooling: this.mode ?? this.pooling, modelHash: this.modelHash, layers, languages, centroids, counts, meanNorms };
  }
}

const CENTROID_RE = /^centroid\.([a-z]{2,3})\.(\d+)$/;

/** Serialises centroids as safetensors: tensors `centroid.{lang}.{k}` F32 [d]; counts and norms in metadata (JSON). */
export function encodeCentroids(c: LanguageCentroids): Uint8Array {
  const tensors: SafetensorsTensorInput[] = [];
  const counts: Record<string, Record<string, number>> = {};
  const norms: Record<string, Record<string, number>> = {};
  for (const k of c.layers) {
    counts[k] = {};
    norms[k] = {};
    for (const [lang, v] of c.centroids.get(k) ?? []) {
      if (!/^[a-z]{2,3}$/.test(lang)) throw new AnalysisInputError(`encodeCentroids: language ${JSON.stringify(lang)} is not a 2–3 letter code.`);
      tensors.push({ name: `centroid.${lang}.${k}`, dtype: 'F32', shape: [c.hiddenSize], data: float32LeBytes(v) });
      counts[k][lang] = c.counts.get(k)?.get(lang) ?? 0;
      norms[k][lang] = c.meanNorms.get(k)?.get(lang) ?? 0;
    }
  }
  return serializeSafetensors(tensors, {
    format: 'polyglot-lens/language-centroids',
    format_version: '1',
    hidden_size: String(c.hiddenSize),
    pooling: c.pooling,
    model_hash: c.modelHash,
    counts: JSON.stringify(counts),
    mean_norms: JSON.stringify(norms),
  });
}

/** Parses centroids written by `encodeCentroids`; throws VectorFileError naming the file on problems. */
export function decodeCentroids(bytes: Uint8Array, file = '<buffer>'): LanguageCentroids {
  const st = parseSafetensors(bytes, file);
  const md = st.metadata;
  if (md['format'] !== 'polyglot-lens/language-centroids') {
    throw new VectorFileError(file, `is not a language-centroids file (format ${JSON.stringify(md['format'] ?? null)}).`, 'Recompute the centroids for this model.');
  }
  const hiddenSize = Number(md['hidden_size']);
  const pooling = md['pooling'];
  if (pooling !== 'mean' && pooling !== 'last' && pooling !== 'all-tokens') throw new VectorFileError(file, `has unknown pooling ${JSON.stringify(pooling)}.`);
  let counts: Record<string, Record<string, number>>;
  let norms: Record<string, Record<string, number>>;
  try {
    counts = JSON.parse(md['counts'] ?? '{}') as Record<string, Record<string, number>>;
    norms = JSON.parse(md['mean_norms'] ?? '{}') as Record<string, Record<string, number>>;
  } catch {
    throw new VectorFileError(file, 'has invalid counts/mean_norms metadata JSON.', 'Recompute the centroids for this model.');
  }
  const centroids = new Map<number, Map<string, Float32Array>>();
  const countMap = new Map<number, Map<string, number>>();
  const normMap = new Map<number, Map<string, number>>();
  const languages: string[] = [];
  for (const t of st.tensors) {
    const m = CENTROID_RE.exec(t.name);
    if (!m) continue;
    const lang = m[1]!;
    const k = Number(m[2]);
    const v = tensorToFloat32(t, file);
    if (v.length !== hiddenSize) throw new VectorFileError(file, `centroid ${t.name} has ${v.length} values, expected hidden size ${hiddenSize}.`);
    if (!centroids.has(k)) {
      centroids.set(k, new Map());
      countMap.set(k, new Map());
      normMap.set(k, new Map());
    }
    centroids.get(k)!.set(lang, v);
    countMap.get(k)!.set(lang, counts[k]?.[lang] ?? 0);
    normMap.get(k)!.set(lang, norms[k]?.[lang] ?? 0);
    if (!languages.includes(lang)) languages.push(lang);
  }
  return { hiddenSize, pooling, modelHash: md['model_hash'] ?? '', layers: [...centroids.keys()].sort((a, b) => a - b), languages, centroids, counts: countMap, meanNorms: normMap };
}

/** Writes centroids to disk atomically. */
export async function saveCentroids(filePath: string, c: LanguageCentroids): Promise<void> {
  await writeFileAtomic(filePath, encodeCentroids(c));
}

/** Reads centroids from disk. */
export async function loadCentroids(filePath: string): Promise<LanguageCentroids> {
  const b = await fs.readFile(filePath);
  return decodeCentroids(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), filePath);
}
