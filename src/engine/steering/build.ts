// Glue from the analysis methods to the vector data type: per-layer directions with their mean activation
// norms become one SteeringVector with its metadata.

import { createSteeringVector, type SteeringVector, type SteeringVectorInit } from './vector.js';

/** One layer's result of a vector method: direction [d] and the layer's mean activation norm (hidden-state units). */
export interface LayerDirection {
  direction: Float32Array;
  meanActivationNorm: number;
  /** Tokens or sentences pooled per language at this layer, if known (e.g. {en: 500, fr: 500}). */
  counts?: Readonly<Record<string, number>>;
}

/** Builds a SteeringVector from per-layer method results keyed by k; metadata fields as in `createSteeringVector`. */
export function steeringVectorFromLayers(
  layers: ReadonlyMap<number, LayerDirection>,
  metadata: Omit<SteeringVectorInit, 'directions' | 'meanActivationNorms' | 'hiddenSize'>,
): SteeringVector {
  const directions = new Map<number, Float32Array>();
  const meanActivationNorms = new Map<number, number>();
  let tokenCounts = metadata.tokenCounts;
  for (const [k, l] of layers) {
    directions.set(k, l.direction);
    meanActivationNorms.set(k, l.meanActivationNorm);
    if (!tokenCounts && l.counts) tokenCounts = l.counts;
  }
  return createSteeringVector({ ...metadata, ...(tokenCounts ? { tokenCounts } : {}), directions, meanActivationNorms });
}
