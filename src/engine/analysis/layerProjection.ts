// The layer inspector's 2-D picture of one layer: the language centroids and the prompt's token states on
// the same two axes.
//
// Why the axes are fitted on the centroids (not on the tokens, nor on both): the picture is about where
// the languages sit relative to each other and which of them a token is drawn towards; the tokens of one
// prompt would mostly span their own position/word variation. PCA centres the fitted rows on their mean,
// which for centroids is exactly the centre of the mean-centred similarities (similarity.ts
// `centroidMean`), so "near a centroid in the picture" and "high centred cosine" agree as far as two
// dimensions can show it. The tokens are centred on that same mean before projecting.

import { AnalysisInputError } from './errors.js';
import { matrixFromRows, type Matrix } from './matrix.js';
import { fitPca2d, projectPca2d, type Pca2d } from './projection2d.js';

/** A layer's centroids and tokens in PCA coordinates. */
export interface LayerPicture {
  /** Percent (0..100) of the centroids' variance along axis 1 and axis 2. */
  explained: [number, number];
  centroids: { language: string; x: number; y: number }[];
  tokens: { x: number; y: number }[];
}

/**
 * Flips each axis so that the fitted row farthest from the origin along it has a positive coordinate
 * (PCA signs are arbitrary; without a rule the picture could mirror between runs or versions).
 * `fitted` is the [n, 2] projection of the rows the plane was fitted on; both are changed in place.
 */
export function orientPca2d(plane: Pca2d, fitted: Float32Array): void {
  for (let a = 0; a < 2; a++) {
    let extreme = 0;
    for (let i = a; i < fitted.length; i += 2) if (Math.abs(fitted[i] as number) > Math.abs(extreme)) extreme = fitted[i] as number;
    if (extreme >= 0) continue;
    const axis = plane.axes[a as 0 | 1];
    for (let j = 0; j < axis.length; j++) axis[j] = -(axis[j] as number);
    for (let i = a; i < fitted.length; i += 2) fitted[i] = -(fitted[i] as number);
  }
}

/** A layer's fitted plane: the centroids' axes (prompt-independent, so it can be reused for every prompt). */
export interface LayerPlane {
  plane: Pca2d;
  /** Percent (0..100) of the centroids' variance along axis 1 and axis 2. */
  explained: [number, number];
  centroids: { language: string; x: number; y: number }[];
}

/** Fits the 2-D PCA plane of one layer's `centroids` (language → [d], at least one), oriented; centroids keep the map's order. */
export function fitLayerPlane(centroids: ReadonlyMap<string, ArrayLike<number>>): LayerPlane {
  if (centroids.size === 0) throw new AnalysisInputError('fitLayerPlane: no language centroids at this layer.');
  const languages = [...centroids.keys()];
  const fit = matrixFromRows([...centroids.values()]);
  const plane = fitPca2d(fit);
  const fitted = projectPca2d(plane, fit);
  orientPca2d(plane, fitted);
  const percent = (r: number): number => Math.min(100, Math.max(0, r * 100));
  return {
    plane,
    explained: [percent(plane.explainedVarianceRatio[0]), percent(plane.explainedVarianceRatio[1])],
    centroids: languages.map((language, i) => ({ language, x: fitted[2 * i] as number, y: fitted[2 * i + 1] as number })),
  };
}

/** Token states [T, d] on a fitted layer plane: T points (x, y). */
export function projectOnLayerPlane(layer: LayerPlane, states: Matrix): { x: number; y: number }[] {
  const xy = projectPca2d(layer.plane, states);
  return Array.from({ length: states.rows }, (_, t) => ({ x: xy[2 * t] as number, y: xy[2 * t + 1] as number }));
}

/**
 * One layer's picture: a 2-D PCA of `centroids` (language → [d], at least one) with `states` [T, d] (the
 * prompt's hidden states at that layer) projected on the same axes. Centroids keep the map's order.
 */
export function layerPicture(centroids: ReadonlyMap<string, ArrayLike<number>>, states: Matrix): LayerPicture {
  const layer = fitLayerPlane(centroids);
  return { explained: layer.explained, centroids: layer.centroids, tokens: projectOnLayerPlane(layer, states) };
}
