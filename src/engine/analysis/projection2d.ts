// 2-D PCA view for the UI: fit the plane on one set of states (usually the language centroids, or all
// pooled sentences) and project any other states onto it, so centroids and points share coordinates.

import { AnalysisInputError } from './errors.js';
import { principalComponents } from './linalg.js';
import { type Matrix } from './matrix.js';

/** A fitted 2-D PCA plane. */
export interface Pca2d {
  /** Mean subtracted before projecting [d]. */
  mean: Float64Array;
  /** Two orthonormal axes [d] each. */
  axes: [Float64Array, Float64Array];
  /** Share of the fitted data's variance on each axis, in [0, 1]. */
  explainedVarianceRatio: [number, number];
}

/** Fits a 2-D PCA plane to the rows of `fit` [n, d] (n ≥ 1, d ≥ 2). */
export function fitPca2d(fit: Matrix, seed = 7): Pca2d {
  if (fit.cols < 2) throw new AnalysisInputError(`fitPca2d: a 2-D view needs a hidden size of at least 2, got ${fit.cols}.`);
  const pc = principalComponents(fit, 2, { centre: true, seed });
  const t = pc.totalVariance;
  return {
    mean: pc.mean,
    axes: [pc.components[0]!, pc.components[1]!],
    explainedVarianceRatio: [t > 0 ? pc.variances[0]! / t : 0, t > 0 ? pc.variances[1]! / t : 0],
  };
}

/** Projects rows [n, d] onto the plane: returns [n, 2] row-major (x, y) coordinates. */
export function projectPca2d(p: Pca2d, m: Matrix): Float32Array {
  const d = p.mean.length;
  if (m.cols !== d) throw new AnalysisInputError(`projectPca2d: states have ${m.cols} columns but the plane was fitted on ${d}.`);
  const out = new Float32Array(m.rows * 2);
  for (let i = 0; i < m.rows; i++) {
    let x = 0;
    let y = 0;
    for (let j = 0; j < d; j++) {
      const v = (m.data[i * d + j] as number) - (p.mean[j] as number);
      x += v * (p.axes[0][j] as number);
      y += v * (p.axes[1][j] as number);
    }
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return out;
}

/** Convenience: fit on `fit` and project it and every matrix in `others`; returns the plane and one [n, 2] array per input. */
export function pca2d(fit: Matrix, others: readonly Matrix[] = []): { plane: Pca2d; fitted: Float32Array; others: Float32Array[] } {
  const plane = fitPca2d(fit);
  return { plane, fitted: projectPca2d(plane, fit), others: others.map((m) => projectPca2d(plane, m)) };
}
