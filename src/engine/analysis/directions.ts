// Steering-vector methods on hidden states at one layer (see shared/notes/METHOD.md). Inputs are matrices
// [n, d] of pooled (or token) states; "target" is the language to steer toward (English by default),
// "source" the language to steer away from. All directions point from source toward target.

import { AnalysisInputError } from './errors.js';
import { cholesky, choleskySolve, principalComponents } from './linalg.js';
import { assertCompatible, columnMean, dot, matrix, meanRowNorm, norm, normalize, row, type Matrix } from './matrix.js';
import { cosineSimilarity } from './similarity.js';

/** A direction with the statistics a vector file records. */
export interface DirectionResult {
  /** Direction [d] (float32). */
  direction: Float32Array;
  /** L2 norm of `direction`. */
  norm: number;
  /** Mean L2 norm of all input rows (target and source): the layer's mean activation norm. */
  meanActivationNorm: number;
  targetCount: number;
  sourceCount: number;
}

function requireRows(m: Matrix, what: string): void {
  if (m.rows === 0) throw new AnalysisInputError(`${what}: no states; extract at least one sentence per language.`);
}

function meanActivationNorm(a: Matrix, b: Matrix): number {
  return (meanRowNorm(a) * a.rows + meanRowNorm(b) * b.rows) / (a.rows + b.rows);
}

/** DiffMean toward the target: mean(target rows) − mean(source rows), unnormalised (add α·v at the layer). */
export function diffMean(target: Matrix, source: Matrix): DirectionResult {
  requireRows(target, 'diffMean (target)');
  requireRows(source, 'diffMean (source)');
  assertCompatible(target, source, 'diffMean');
  const mt = columnMean(target);
  const ms = columnMean(source);
  const direction = new Float32Array(target.cols);
  for (let j = 0; j < direction.length; j++) direction[j] = (mt[j] as number) - (ms[j] as number);
  return { direction, norm: norm(direction), meanActivationNorm: meanActivationNorm(target, source), targetCount: target.rows, sourceCount: source.rows };
}

/** DiffMean from monolingual means (CLaS-Bench): (μ_target − μ_source) normalised to unit length; scale by α·mean activation norm. */
export function diffMeanMonolingual(targetTokens: Matrix, sourceTokens: Matrix): DirectionResult & { rawNorm: number } {
  const r = diffMean(targetTokens, sourceTokens);
  if (r.norm === 0) throw new AnalysisInputError('diffMeanMonolingual: the two languages have identical means; there is no direction to steer along.');
  const direction = normalize(r.direction);
  return { ...r, direction, norm: 1, rawNorm: r.norm };
}

/** Result of PCA on paired differences. */
export interface PcaDirectionResult extends DirectionResult {
  /** Share of the (centred or raw) variance of the differences along the direction, in [0, 1]. */
  explainedVarianceRatio: number;
  /** Mean projection of the differences on the unit direction (a natural scale: direction·meanProjection ≈ DiffMean's component). */
  meanProjection: number;
}

/** Options for `pcaOfPairedDifferences`. */
export interface PcaDirectionOptions {
  /** Centre the differences first (repeng's `pca_diff` does); default false keeps the mean offset, which is the language signal. */
  centre?: boolean;
  seed?: number;
}

/** First principal direction (unit) of the paired differences target_i − source_i, oriented toward the target. */
export function pcaOfPairedDifferences(target: Matrix, source: Matrix, options: PcaDirectionOptions = {}): PcaDirectionResult {
  requireRows(target, 'pcaOfPairedDifferences');
  assertCompatible(target, source, 'pcaOfPairedDifferences', true);
  const d = target.cols;
  const diffs = new Float32Array(target.rows * d);
  for (let i = 0; i < diffs.length; i++) diffs[i] = (target.data[i] as number) - (source.data[i] as number);
  const dm = matrix(diffs, d);
  const pc = principalComponents(dm, 1, { centre: options.centre ?? false, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  const v = pc.components[0]!;
  const meanDiff = columnMean(dm);
  let proj = dot(meanDiff, v);
  const direction = new Float32Array(d);
  const sign = proj < 0 ? -1 : 1;
  for (let j = 0; j < d; j++) direction[j] = sign * (v[j] as number);
  proj *= sign;
  return {
    direction,
    norm: norm(direction),
    meanActivationNorm: meanActivationNorm(target, source),
    targetCount: target.rows,
    sourceCount: source.rows,
    explainedVarianceRatio: pc.totalVariance > 0 ? (pc.variances[0] ?? 0) / pc.totalVariance : 0,
    meanProjection: proj,
  };
}

/** Options for `logisticProbe`. */
export interface ProbeOptions {
  /** Full-batch gradient steps; default 300. */
  epochs?: number;
  /** L2 penalty on the weights (standardised features); default 1e-3. */
  l2?: number;
}

/** A trained linear probe and its direction. */
export interface ProbeResult extends DirectionResult {
  /** Weights in the original feature space ([d]); logit = weights·x + bias. */
  weights: Float32Array;
  bias: number;
  /** Accuracy on the training states, in [0, 1]. */
  trainAccuracy: number;
  /** Final mean class-balanced logistic loss. */
  loss: number;
}

/**
 * Logistic-regression probe separating target (label 1) from source (label 0) states; the unit weight vector
 * is the direction. Features are centred and scaled to unit RMS; full-batch gradient descent with step
 * 1/L (L = the loss's gradient Lipschitz bound from the top eigenvalue), classes weighted equally.
 */
export function logisticProbe(target: Matrix, source: Matrix, options: ProbeOptions = {}): ProbeResult {
  requireRows(target, 'logisticProbe (target)');
  requireRows(source, 'logisticProbe (source)');
  assertCompatible(target, source, 'logisticProbe');
  const d = target.cols;
  const n = target.rows + source.rows;
  const mu = new Float64Array(d);
  for (const m of [target, source]) for (let i = 0; i < m.rows; i++) for (let j = 0; j < d; j++) mu[j] = (mu[j] as number) + (m.data[i * d + j] as number);
  for (let j = 0; j < d; j++) mu[j] = (mu[j] as number) / n;
  const x = new Float32Array(n * d);
  const y = new Float64Array(n);
  const weight = new Float64Array(n);
  let sq = 0;
  let r = 0;
  for (const [m, label] of [[target, 1], [source, 0]] as const) {
    for (let i = 0; i < m.rows; i++, r++) {
      for (let j = 0; j < d; j++) {
        const v = (m.data[i * d + j] as number) - (mu[j] as number);
        x[r * d + j] = v;
        sq += v * v;
      }
      y[r] = label;
      weight[r] = n / (2 * m.rows);
    }
  }
  const scale = Math.sqrt(sq / (n * d)) || 1;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) / scale;
  const xm = matrix(x, d);
  const l2 = options.l2 ?? 1e-3;
  // Lipschitz bound of the gradient: max class weight · λ_max(XᵀX/n) / 4 + l2 (+ the bias column, ≤ 1).
  const top = principalComponents(xm, 1, { centre: false, maxIterations: 100, tolerance: 1e-6 }).variances[0] ?? 1;
  let maxWeight = 0;
  for (const wgt of weight) maxWeight = Math.max(maxWeight, wgt);
  const step = 1 / ((maxWeight * (top + 1)) / 4 + l2);
  const w = new Float64Array(d);
  let b = 0;
  const epochs = options.epochs ?? 300;
  const grad = new Float64Array(d);
  const logits = new Float64Array(n);
  const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
  let loss = 0;
  for (let e = 0; e <= epochs; e++) {
    grad.fill(0);
    let gb = 0;
    loss = 0;
    for (let i = 0; i < n; i++) {
      let z = b;
      const o = i * d;
      for (let j = 0; j < d; j++) z += (x[o + j] as number) * (w[j] as number);
      logits[i] = z;
      const p = sigmoid(z);
      const yi = y[i] as number;
      const wi = weight[i] as number;
      // log(1 + e^{-|z|}) form keeps the loss finite for large |z|.
      loss += wi * (Math.max(z, 0) - z * yi + Math.log1p(Math.exp(-Math.abs(z))));
      const g = wi * (p - yi);
      gb += g;
      for (let j = 0; j < d; j++) grad[j] = (grad[j] as number) + g * (x[o + j] as number);
    }
    let wsq = 0;
    for (let j = 0; j < d; j++) wsq += (w[j] as number) ** 2;
    loss = loss / n + (l2 / 2) * wsq;
    if (e === epochs) break;
    for (let j = 0; j < d; j++) w[j] = (w[j] as number) - step * ((grad[j] as number) / n + l2 * (w[j] as number));
    b -= step * (gb / n);
  }
  let correct = 0;
  for (let i = 0; i < n; i++) if (((logits[i] as number) >= 0 ? 1 : 0) === y[i]) correct++;
  const weights = new Float32Array(d);
  for (let j = 0; j < d; j++) weights[j] = (w[j] as number) / scale;
  const bias = b - dot(weights, mu);
  const direction = normalize(weights);
  return {
    direction,
    norm: norm(direction),
    meanActivationNorm: meanActivationNorm(target, source),
    targetCount: target.rows,
    sourceCount: source.rows,
    weights,
    bias,
    trainAccuracy: correct / n,
    loss,
  };
}

/** Options for `fitProjectionMap`. */
export interface ProjectionFitOptions {
  /** Absolute ridge λ. Default: 0.01 · trace(XᵀX)/d, i.e. 1 % of the mean eigenvalue, which keeps N < d well posed. */
  lambda?: number;
}

/** A fitted INCLINE-style projection W [d, d] (row-major) with the λ used and the fit's relative residual. */
export interface ProjectionMap {
  w: Float32Array;
  hiddenSize: number;
  lambda: number;
  /** ‖XW − Y‖_F / ‖Y‖_F on the training pairs. */
  relativeResidual: number;
}

/**
 * Ridge least squares W = argmin ‖X W − Y‖² + λ‖W‖² for paired rows X (source language) and Y (target):
 * primal (XᵀX + λI) W = XᵀY when n ≥ d, and the equivalent dual W = Xᵀ (XXᵀ + λI)⁻¹ Y when n < d (cheaper).
 */
export function fitProjectionMap(source: Matrix, target: Matrix, options: ProjectionFitOptions = {}): ProjectionMap {
  requireRows(source, 'fitProjectionMap');
  assertCompatible(source, target, 'fitProjectionMap', true);
  const n = source.rows;
  const d = source.cols;
  const X = source.data;
  const Y = target.data;
  let trace = 0;
  for (let i = 0; i < X.length; i++) trace += (X[i] as number) ** 2;
  const lambda = options.lambda ?? (0.01 * trace) / d;
  if (!(lambda > 0) && n < d) throw new AnalysisInputError(`fitProjectionMap: with ${n} pairs and hidden size ${d} the problem needs a ridge λ > 0.`);
  if (!(lambda >= 0)) throw new AnalysisInputError(`fitProjectionMap: λ must be ≥ 0, got ${lambda}.`);
  const W = new Float64Array(d * d);
  if (n >= d) {
    const A = new Float64Array(d * d);
    const B = new Float64Array(d * d);
    // XᵀX and XᵀY in blocks of rows so the blocks stay in cache while the data streams by.
    const BLOCK = 32;
    for (let i0 = 0; i0 < d; i0 += BLOCK) {
      const i1 = Math.min(d, i0 + BLOCK);
      for (let r = 0; r < n; r++) {
        const o = r * d;
        for (let i = i0; i < i1; i++) {
          const xi = X[o + i] as number;
          if (xi === 0) continue;
          const oi = i * d;
          for (let j = 0; j < d; j++) {
            A[oi + j] = (A[oi + j] as number) + xi * (X[o + j] as number);
            B[oi + j] = (B[oi + j] as number) + xi * (Y[o + j] as number);
          }
        }
      }
    }
    for (let i = 0; i < d; i++) A[i * d + i] = (A[i * d + i] as number) + lambda;
    W.set(choleskySolve(cholesky(A, d), d, B, d));
  } else {
    // Dual form: K = XXᵀ + λI (n×n), Z = K⁻¹Y, W = XᵀZ. Costs O(n²d + nd²) instead of O(d³).
    const G = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      const oa = a * d;
      for (let b = 0; b <= a; b++) {
        let s = 0;
        const ob = b * d;
        for (let j = 0; j < d; j++) s += (X[oa + j] as number) * (X[ob + j] as number);
        G[a * n + b] = s;
        G[b * n + a] = s;
      }
    }
    const K = Float64Array.from(G);
    for (let a = 0; a < n; a++) K[a * n + a] = (K[a * n + a] as number) + lambda;
    const Z = choleskySolve(cholesky(K, n), n, Float64Array.from(Y), d);
    // W = XᵀZ in blocks of W's rows so the block stays in cache while Z streams by.
    const BLOCK = 32;
    for (let i0 = 0; i0 < d; i0 += BLOCK) {
      const i1 = Math.min(d, i0 + BLOCK);
      for (let r = 0; r < n; r++) {
        const zo = r * d;
        for (let i = i0; i < i1; i++) {
          const xi = X[r * d + i] as number;
          if (xi === 0) continue;
          const o = i * d;
          for (let j = 0; j < d; j++) W[o + j] = (W[o + j] as number) + xi * (Z[zo + j] as number);
        }
      }
    }
    // Residual from XW = (XXᵀ)Z, O(n²d).
    let res = 0;
    let ynorm = 0;
    const xw = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      xw.fill(0);
      for (let p = 0; p < n; p++) {
        const g = G[r * n + p] as number;
        const zo = p * d;
        for (let j = 0; j < d; j++) xw[j] = (xw[j] as number) + g * (Z[zo + j] as number);
      }
      for (let j = 0; j < d; j++) {
        const yv = Y[r * d + j] as number;
        res += ((xw[j] as number) - yv) ** 2;
        ynorm += yv * yv;
      }
    }
    return { w: Float32Array.from(W), hiddenSize: d, lambda, relativeResidual: ynorm > 0 ? Math.sqrt(res / ynorm) : 0 };
  }
  let res = 0;
  let ynorm = 0;
  const xw = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    xw.fill(0);
    for (let i = 0; i < d; i++) {
      const xi = X[r * d + i] as number;
      if (xi === 0) continue;
      const o = i * d;
      for (let j = 0; j < d; j++) xw[j] = (xw[j] as number) + xi * (W[o + j] as number);
    }
    for (let j = 0; j < d; j++) {
      const yv = Y[r * d + j] as number;
      res += ((xw[j] as number) - yv) ** 2;
      ynorm += yv * yv;
    }
  }
  return { w: Float32Array.from(W), hiddenSize: d, lambda, relativeResidual: ynorm > 0 ? Math.sqrt(res / ynorm) : 0 };
}

/** Applies a projection to states [n, d] (or one state [d]): a' = a + σ·(aW − a); returns new float32 data. */
export function applyProjection(states: Matrix | Float32Array, w: Float32Array, sigma: number): Float32Array {
  const m = states instanceof Float32Array ? matrix(states, states.length) : states;
  const d = m.cols;
  if (w.length !== d * d) throw new AnalysisInputError(`applyProjection: W has ${w.length} values but the states need ${d}×${d}.`);
  const out = new Float32Array(m.rows * d);
  const aw = new Float64Array(d);
  for (let r = 0; r < m.rows; r++) {
    const a = row(m, r);
    aw.fill(0);
    for (let i = 0; i < d; i++) {
      const ai = a[i] as number;
      if (ai === 0) continue;
      const o = i * d;
      for (let j = 0; j < d; j++) aw[j] = (aw[j] as number) + ai * (w[o + j] as number);
    }
    for (let j = 0; j < d; j++) out[r * d + j] = (a[j] as number) + sigma * ((aw[j] as number) - (a[j] as number));
  }
  return out;
}

/** Square table of cosines between named vectors (e.g. each language's xx→en vector at one layer). */
export function vectorCosineTable(vectors: ReadonlyMap<string, ArrayLike<number>>): { labels: string[]; values: number[][] } {
  const labels = [...vectors.keys()];
  const vs = labels.map((l) => vectors.get(l)!);
  return { labels, values: vs.map((a) => vs.map((b) => cosineSimilarity(a, b))) };
}
