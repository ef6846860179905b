// Row-major dense matrices over plain typed arrays, and the small vector helpers the analysis code shares.
// Inputs are Float32Array (what ONNX Runtime returns); sums and dot products accumulate in float64.

import { AnalysisInputError } from './errors.js';

/** A row-major matrix [rows, cols]; row i is data[i·cols, (i+1)·cols). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** Wraps a Float32Array [n·d] as a Matrix with d columns; throws if the length is not a multiple of d. */
export function matrix(data: Float32Array, cols: number): Matrix {
  if (!Number.isSafeInteger(cols) || cols <= 0) throw new AnalysisInputError(`matrix: column count must be a positive integer, got ${String(cols)}.`);
  if (data.length % cols !== 0) throw new AnalysisInputError(`matrix: ${data.length} values are not a whole number of rows of ${cols}.`);
  return { rows: data.length / cols, cols, data };
}

/** Stacks equal-length vectors into a Matrix [vectors.length, d]. */
export function matrixFromRows(rows: readonly ArrayLike<number>[], cols?: number): Matrix {
  const d = cols ?? rows[0]?.length;
  if (d === undefined || d === 0) throw new AnalysisInputError('matrixFromRows: no rows and no column count given.');
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new AnalysisInputError(`matrixFromRows: row ${i} has length ${r.length}, expected ${d}.`);
    for (let j = 0; j < d; j++) out[i * d + j] = r[j] as number;
  });
  return { rows: rows.length, cols: d, data: out };
}

/** Row i as a subarray view (no copy). */
export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** Throws unless a and b have the same number of columns (and rows, when `sameRows`). */
export function assertCompatible(a: Matrix, b: Matrix, what: string, sameRows = false): void {
  if (a.cols !== b.cols) throw new AnalysisInputError(`${what}: hidden sizes differ (${a.cols} vs ${b.cols}); states must come from the same model and layer.`);
  if (sameRows && a.rows !== b.rows) throw new AnalysisInputError(`${what}: ${a.rows} vs ${b.rows} rows; paired inputs need one row per pair in the same order.`);
}

/** Dot product accumulated in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** L2 norm accumulated in float64. */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** Column means [cols] of a matrix (float64); throws on an empty matrix. */
export function columnMean(m: Matrix): Float64Array {
  if (m.rows === 0) throw new AnalysisInputError('columnMean: the matrix has no rows.');
  const out = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) out[j] = (out[j] as number) + (m.data[o + j] as number);
  }
  for (let j = 0; j < m.cols; j++) out[j] = (out[j] as number) / m.rows;
  return out;
}

/** Mean of the row L2 norms (the "mean activation norm" when rows are hidden states). */
export function meanRowNorm(m: Matrix): number {
  if (m.rows === 0) return 0;
  let s = 0;
  for (let i = 0; i < m.rows; i++) s += norm(row(m, i));
  return s / m.rows;
}

/** A unit-length Float32Array copy of v (zeros stay zeros). */
export function normalize(v: ArrayLike<number>): Float32Array {
  const n = norm(v);
  const out = new Float32Array(v.length);
  if (n > 0) for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) / n;
  return out;
}

/** Seeded PRNG returning floats in [0, 1): the engine's one generator (mulberry32), shared with sampling. */
export { createRng as seededRandom } from '../model/sampling.js';
