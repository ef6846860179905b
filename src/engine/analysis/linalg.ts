// Dense linear algebra the vector methods need: top principal components by block power iteration and a
// Cholesky solver. Hand-written on purpose: it works matrix-free on float32 [n, d] data (never forming a
// d×d covariance when n ≪ d), accumulates in float64, and adds nothing to the worker bundle; the maintained
// JS numeric packages store matrices as arrays of JS arrays (several times the memory for d = 4096) and
// bring far more than these two routines.

import { AnalysisInputError } from './errors.js';
import { seededRandom, type Matrix } from './matrix.js';

/** Principal components: unit vectors [d] (float64), their variances, and the total variance. */
export interface PrincipalComponents {
  components: Float64Array[];
  /** Variance along each component (eigenvalues of the covariance, divided by n). */
  variances: number[];
  /** Sum of all variances (trace of the covariance). */
  totalVariance: number;
  /** Mean subtracted before the decomposition (zeros when not centred). */
  mean: Float64Array;
}

/** Options for `principalComponents`. */
export interface PcaOptions {
  /** Subtract the column mean first (standard PCA); false = top singular directions of the raw rows. Default true. */
  centre?: boolean;
  /** Maximum block power iterations; default 500. */
  maxIterations?: number;
  /**
   * Stop when one iteration moves the vector less than this (1 − |cos|); default 1e-14 (an angle of ~1.4e-7 rad).
   * The distance to the true eigenvector is that step times λ₂/(λ₁ − λ₂), so a loose tolerance shows up as a
   * rotated basis when two variances are close (1e-10 left 5e-4 of error in the demo model's layer-3 PCA, where
   * λ₂/λ₁ = 0.85).
   */
  tolerance?: number;
  seed?: number;
}

/** Top-k principal components of the rows of X [n, d] by block power iteration with Gram–Schmidt. */
export function principalComponents(x: Matrix, k: number, options: PcaOptions = {}): PrincipalComponents {
  const { rows: n, cols: d } = x;
  if (n === 0) throw new AnalysisInputError('principalComponents: no rows.');
  if (!Number.isSafeInteger(k) || k < 1 || k > d) throw new AnalysisInputError(`principalComponents: k = ${k} must be between 1 and the hidden size ${d}.`);
  const centre = options.centre ?? true;
  const mean = new Float64Array(d);
  if (centre) {
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x.data[i * d + j] as number);
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  }
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
    const v = (x.data[i * d + j] as number) - (mean[j] as number);
    total += v * v;
  }
  total /= n;
  // C·v = Xcᵀ (Xc v) / n, computed without forming C.
  const xv = new Float64Array(n);
  const applyCov = (v: Float64Array, out: Float64Array): void => {
    let mv = 0;
    for (let j = 0; j < d; j++) mv += (mean[j] as number) * (v[j] as number);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * d;
      for (let j = 0; j < d; j++) s += (x.data[o + j] as number) * (v[j] as number);
      xv[i] = s - mv;
    }
    out.fill(0);
    let sx = 0;
    for (let i = 0; i < n; i++) {
      const c = xv[i] as number;
      sx += c;
      const o = i * d;
      for (let j = 0; j < d; j++) out[j] = (out[j] as number) + c * (x.data[o + j] as number);
    }
    for (let j = 0; j < d; j++) out[j] = ((out[j] as number) - sx * (mean[j] as number)) / n;
  };
  // One component at a time: power iteration on C restricted to the complement of the components found so far.
  const rnd = seededRandom(options.seed ?? 12345);
  const maxIt = options.maxIterations ?? 500;
  const tol = options.tolerance ?? 1e-14;
  const components: Float64Array[] = [];
  const variances: number[] = [];
  const w = new Float64Array(d);
  for (let c = 0; c < k; c++) {
    const v = Float64Array.from({ length: d }, () => rnd() - 0.5);
    orthonormalize([...components, v], true);
    for (let it = 0; it < maxIt; it++) {
      applyCov(v, w);
      const wn = Float64Array.from(w);
      const residual = orthonormalize([...components, wn], true);
      let cosine = 0;
      for (let j = 0; j < d; j++) cosine += (v[j] as number) * (wn[j] as number);
      if (residual <= 1e-12 * Math.max(total, 1e-300)) break; // no variance left in the complement
      v.set(wn);
      if (1 - Math.abs(cosine) < tol) break;
    }
    applyCov(v, w);
    let r = 0;
    for (let j = 0; j < d; j++) r += (v[j] as number) * (w[j] as number);
    components.push(v);
    variances.push(r);
  }
  return { components, variances, totalVariance: total, mean };
}

/** In-place modified Gram–Schmidt; a (numerically) dependent vector is replaced by a unit basis vector orthogonal to the rest. */
function orthonormalize(vs: Float64Array[], onlyLast = false): number {
  const project = (v: Float64Array, upto: number): number => {
    for (let p = 0; p < upto; p++) {
      const u = vs[p]!;
      let s = 0;
      for (let j = 0; j < v.length; j++) s += (v[j] as number) * (u[j] as number);
      for (let j = 0; j < v.length; j++) v[j] = (v[j] as number) - s * (u[j] as number);
    }
    let n = 0;
    for (let j = 0; j < v.length; j++) n += (v[j] as number) ** 2;
    return Math.sqrt(n);
  };
  let last = 0;
  for (let c = onlyLast ? vs.length - 1 : 0; c < vs.length; c++) {
    const v = vs[c]!;
    let n = project(v, c);
    last = n;
    for (let e = 0; n < 1e-12 && e < v.length; e++) {
      v.fill(0);
      v[e] = 1;
      n = project(v, c);
    }
    for (let j = 0; j < v.length; j++) v[j] = (v[j] as number) / n;
  }
  return last;
}

/** Cholesky factor L (lower, row-major [n, n]) of a symmetric positive-definite A; throws if A is not SPD. */
export function cholesky(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new AnalysisInputError(`cholesky: expected ${n}×${n} = ${n * n} values, got ${a.length}.`);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let p = 0; p < j; p++) s -= (l[i * n + p] as number) * (l[j * n + p] as number);
      if (i === j) {
        if (!(s > 0)) throw new AnalysisInputError(`cholesky: matrix is not positive definite (pivot ${i} is ${s}); increase the ridge λ.`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / (l[j * n + j] as number);
      }
    }
  }
  return l;
}

/** Solves A X = B for X [n, m] given A's Cholesky factor L [n, n]; B is row-major [n, m] and is not modified. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  if (b.length !== n * m) throw new AnalysisInputError(`choleskySolve: right-hand side has ${b.length} values, expected ${n}×${m}.`);
  const y = Float64Array.from(b);
  // Row operations over all m right-hand sides at once keep the inner loops contiguous.
  // Forward substitution: L Y = B.
  for (let i = 0; i < n; i++) {
    const oi = i * m;
    for (let p = 0; p < i; p++) {
      const lip = l[i * n + p] as number;
      if (lip === 0) continue;
      const op = p * m;
      for (let c = 0; c < m; c++) y[oi + c] = (y[oi + c] as number) - lip * (y[op + c] as number);
    }
    const inv = 1 / (l[i * n + i] as number);
    for (let c = 0; c < m; c++) y[oi + c] = (y[oi + c] as number) * inv;
  }
  // Back substitution: Lᵀ X = Y.
  for (let i = n - 1; i >= 0; i--) {
    const oi = i * m;
    for (let p = i + 1; p < n; p++) {
      const lpi = l[p * n + i] as number;
      if (lpi === 0) continue;
      const op = p * m;
      for (let c = 0; c < m; c++) y[oi + c] = (y[oi + c] as number) - lpi * (y[op + c] as number);
    }
    const inv = 1 / (l[i * n + i] as number);
    for (let c = 0; c < m; c++) y[oi + c] = (y[oi + c] as number) * inv;
  }
  return y;
}
