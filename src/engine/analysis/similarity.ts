// How similar are languages inside the model? Cosine similarities between parallel pooled states (raw and
// mean-centred), the language × layer matrix, each token's nearest language centroid, and retrieval P@1.
//
// Mean-centring: hidden states share a large common component (anisotropy), which makes every raw cosine
// high. Subtracting the mean over all languages' states at that layer removes it, so the centred cosine
// shows language-specific structure.

import { AnalysisInputError } from './errors.js';
import { assertCompatible, dot, norm, row, type Matrix } from './matrix.js';

/** Cosine similarity of two vectors in [-1, 1] (float64); 0 when either is the zero vector. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new AnalysisInputError(`cosineSimilarity: lengths differ (${a.length} vs ${b.length}).`);
  const na = norm(a);
  const nb = norm(b);
  return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb);
}

/** Cosine similarity of a − mean and b − mean. */
export function centredCosine(a: ArrayLike<number>, b: ArrayLike<number>, mean: ArrayLike<number>): number {
  if (a.length !== b.length || a.length !== mean.length) throw new AnalysisInputError('centredCosine: vector and mean lengths differ.');
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - (mean[i] as number);
    const y = (b[i] as number) - (mean[i] as number);
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Cosine of row i of A with row i of B for every i, optionally after subtracting `mean` [d]; returns [n]. */
export function pairedCosines(a: Matrix, b: Matrix, mean?: ArrayLike<number>): Float64Array {
  assertCompatible(a, b, 'pairedCosines', true);
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) out[i] = mean ? centredCosine(row(a, i), row(b, i), mean) : cosineSimilarity(row(a, i), row(b, i));
  return out;
}

/** Mean over several matrices' rows together ([d], float64): the common mean used for centring. */
export function pooledMean(ms: readonly Matrix[]): Float64Array {
  if (ms.length === 0) throw new AnalysisInputError('pooledMean: no matrices.');
  const d = ms[0]!.cols;
  const out = new Float64Array(d);
  let n = 0;
  for (const m of ms) {
    if (m.cols !== d) throw new AnalysisInputError(`pooledMean: hidden sizes differ (${m.cols} vs ${d}).`);
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < d; j++) out[j] = (out[j] as number) + (m.data[i * d + j] as number);
    n += m.rows;
  }
  if (n === 0) throw new AnalysisInputError('pooledMean: the matrices have no rows.');
  for (let j = 0; j < d; j++) out[j] = (out[j] as number) / n;
  return out;
}

function mean(xs: Float64Array): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length ? s / xs.length : NaN;
}

/** Options shared by the similarity tables. */
export interface SimilarityOptions {
  /** Subtract the mean of all languages' states at the layer before the cosine. Default false. */
  meanCentred?: boolean;
}

/** Language × language table of mean paired cosine at one layer; pooled states per language are row-aligned [n, d]. */
export interface LanguageSimilarityMatrix {
  languages: string[];
  /** values[i][j] = mean over pairs of cos(state_i, state_j); 1 on the diagonal. */
  values: number[][];
}

/** Mean paired cosine between every two languages at one layer (rows of each language's matrix are translations). */
export function languageSimilarityMatrix(pooledByLanguage: ReadonlyMap<string, Matrix>, options: SimilarityOptions = {}): LanguageSimilarityMatrix {
  const languages = [...pooledByLanguage.keys()];
  const ms = languages.map((l) => pooledByLanguage.get(l)!);
  if (ms.length === 0) throw new AnalysisInputError('languageSimilarityMatrix: no languages.');
  for (let i = 1; i < ms.length; i++) assertCompatible(ms[0]!, ms[i]!, `languageSimilarityMatrix (${languages[0]} vs ${languages[i]})`, true);
  const centre = options.meanCentred ? pooledMean(ms) : undefined;
  const values = languages.map(() => languages.map(() => 0));
  for (let i = 0; i < languages.length; i++) {
    values[i]![i] = 1;
    for (let j = i + 1; j < languages.length; j++) {
      const v = mean(pairedCosines(ms[i]!, ms[j]!, centre));
      values[i]![j] = v;
      values[j]![i] = v;
    }
  }
  return { languages, values };
}

/** Language × layer table: mean paired cosine of each language with the reference language, at every layer. */
export interface LanguageByLayerSimilarity {
  reference: string;
  layers: number[];
  /** Non-reference languages, in input order. */
  languages: string[];
  /** values[languageIndex][layerIndex]. */
  values: number[][];
  meanCentred: boolean;
}

/** The heatmap of the UI: for each layer k and language, mean cos(pooled state in that language, in the reference language). */
export function languageSimilarityByLayer(
  pooled: ReadonlyMap<number, ReadonlyMap<string, Matrix>>,
  reference = 'en',
  options: SimilarityOptions = {},
): LanguageByLayerSimilarity {
  const layers = [...pooled.keys()].sort((a, b) => a - b);
  if (layers.length === 0) throw new AnalysisInputError('languageSimilarityByLayer: no layers.');
  const firstLayer = pooled.get(layers[0]!)!;
  if (!firstLayer.has(reference)) {
    throw new AnalysisInputError(`languageSimilarityByLayer: no ${reference} states (languages: ${[...firstLayer.keys()].join(', ')}). Include the reference language.`);
  }
  const languages = [...firstLayer.keys()].filter((l) => l !== reference);
  const values = languages.map(() => [] as number[]);
  for (const k of layers) {
    const byLang = pooled.get(k)!;
    const ref = byLang.get(reference);
    if (!ref) throw new AnalysisInputError(`languageSimilarityByLayer: layer ${k} has no ${reference} states.`);
    const centre = options.meanCentred ? pooledMean([...byLang.values()]) : undefined;
    languages.forEach((l, li) => {
      const m = byLang.get(l);
      if (!m) throw new AnalysisInputError(`languageSimilarityByLayer: layer ${k} has no ${l} states.`);
      assertCompatible(ref, m, `languageSimilarityByLayer (layer ${k}, ${l} vs ${reference})`, true);
      values[li]!.push(mean(pairedCosines(m, ref, centre)));
    });
  }
  return { reference, layers, languages, values, meanCentred: options.meanCentred ?? false };
}

/** Which language a token looks like: the best centroid and every language's cosine. */
export interface TokenLanguage {
  language: string;
  cosine: number;
  scores: Record<string, number>;
}

/** For each row (token) of `states` [T, d], the language whose centroid [d] is most similar (cosine; centred if `centre` given). */
export function nearestLanguagePerToken(states: Matrix, centroids: ReadonlyMap<string, ArrayLike<number>>, centre?: ArrayLike<number>): TokenLanguage[] {
  if (centroids.size === 0) throw new AnalysisInputError('nearestLanguagePerToken: no language centroids.');
  for (const [l, c] of centroids) {
    if (c.length !== states.cols) throw new AnalysisInputError(`nearestLanguagePerToken: centroid ${l} has length ${c.length} but states have ${states.cols} columns.`);
  }
  const out: TokenLanguage[] = [];
  for (let t = 0; t < states.rows; t++) {
    const h = row(states, t);
    let best = '';
    let bestCos = -Infinity;
    const scores: Record<string, number> = {};
    for (const [l, c] of centroids) {
      const cos = centre ? centredCosine(h, c, centre) : cosineSimilarity(h, c);
      scores[l] = cos;
      if (cos > bestCos) {
        bestCos = cos;
        best = l;
      }
    }
    out.push({ language: best, cosine: bestCos, scores });
  }
  return out;
}

/** Mean of several centroids ([d], float64): the centre used for mean-centred nearest-language lookups. */
export function centroidMean(centroids: ReadonlyMap<string, ArrayLike<number>>): Float64Array {
  const vs = [...centroids.values()];
  if (vs.length === 0) throw new AnalysisInputError('centroidMean: no centroids.');
  const out = new Float64Array(vs[0]!.length);
  for (const v of vs) for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + (v[j] as number);
  for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) / vs.length;
  return out;
}

/** Per layer k, each token's nearest language (states[k] is [T, d], centroids[k] maps language → [d]). */
export function nearestLanguageByLayer(
  states: ReadonlyMap<number, Matrix>,
  centroids: ReadonlyMap<number, ReadonlyMap<string, ArrayLike<number>>>,
  options: SimilarityOptions = {},
): Map<number, TokenLanguage[]> {
  const out = new Map<number, TokenLanguage[]>();
  for (const [k, m] of states) {
    const c = centroids.get(k);
    if (!c) throw new AnalysisInputError(`nearestLanguageByLayer: no centroids for layer ${k}; compute centroids at every layer you analyse.`);
    out.set(k, nearestLanguagePerToken(m, c, options.meanCentred ? centroidMean(c) : undefined));
  }
  return out;
}

/** Retrieval result: how often query i's most similar candidate is candidate i. */
export interface RetrievalResult {
  /** Precision at 1 in [0, 1]. */
  precisionAt1: number;
  hits: number;
  n: number;
  /** Index of the nearest candidate for each query. */
  nearest: Int32Array;
}

/** Retrieval P@1: queries [n, d] (e.g. French) vs candidates [n, d] (their English translations, same order), by cosine. */
export function retrievalPrecisionAt1(queries: Matrix, candidates: Matrix, centre?: ArrayLike<number>): RetrievalResult {
  assertCompatible(queries, candidates, 'retrievalPrecisionAt1', true);
  const n = queries.rows;
  if (n === 0) throw new AnalysisInputError('retrievalPrecisionAt1: no pairs.');
  const d = queries.cols;
  // Normalise (centred) rows once so every comparison is one dot product.
  const unit = (m: Matrix): Float64Array => {
    const out = new Float64Array(m.rows * d);
    for (let i = 0; i < m.rows; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = (m.data[i * d + j] as number) - (centre ? (centre[j] as number) : 0);
        out[i * d + j] = v;
        s += v * v;
      }
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = 0; j < d; j++) out[i * d + j] = (out[i * d + j] as number) * inv;
    }
    return out;
  };
  const q = unit(queries);
  const c = unit(candidates);
  const nearest = new Int32Array(n);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestCos = -Infinity;
    const qi = q.subarray(i * d, (i + 1) * d);
    for (let r = 0; r < n; r++) {
      let s = 0;
      const o = r * d;
      for (let j = 0; j < d; j++) s += (qi[j] as number) * (c[o + j] as number);
      if (s > bestCos) {
        bestCos = s;
        best = r;
      }
    }
    nearest[i] = best;
    if (best === i) hits++;
  }
  return { precisionAt1: hits / n, hits, n, nearest };
}
