// Vector methods end to end from pooled states (see shared/notes/METHOD.md): DiffMean toward the target on
// parallel pairs (default), DiffMean from monolingual (all-token) means, PCA of paired differences, the
// logistic-probe direction, and the INCLINE projection map. Each gives one direction per layer plus the
// layer's mean activation norm, packed into a SteeringVector with its metadata.

import type { PooledStates } from '../analysis/extract.js';
import { diffMean, diffMeanMonolingual, fitProjectionMap, logisticProbe, pcaOfPairedDifferences } from '../analysis/directions.js';
import type { Matrix } from '../analysis/matrix.js';
import { steeringVectorFromLayers, type LayerDirection } from './build.js';
import { SteeringInputError } from './errors.js';
import { createSteeringVector, type SteeringVector } from './vector.js';

/** Methods that can be computed from pooled states. */
export const EXTRACTION_METHODS = ['diffmean', 'diffmean-monolingual', 'pca', 'probe', 'projection'] as const;
export type ExtractionMethod = (typeof EXTRACTION_METHODS)[number];

/** Identity of the vector being built. */
export interface VectorIdentity {
  sourceLanguage: string;
  targetLanguage: string;
  modelHash: string;
  modelHint: string;
  notes?: string;
}

/** Token-weighted mean of mean-pooled rows = the all-token mean over content tokens: [1, d]. */
function allTokenMean(m: Matrix, counts: readonly number[]): Matrix {
  const d = m.cols;
  const acc = new Float64Array(d);
  let total = 0;
  for (let i = 0; i < m.rows; i++) {
    const c = counts[i] ?? 0;
    total += c;
    for (let j = 0; j < d; j++) acc[j] = (acc[j] as number) + c * (m.data[i * d + j] as number);
  }
  return { rows: 1, cols: d, data: Float32Array.from(acc, (x) => x / Math.max(1, total)) };
}

/**
 * Builds a vector from source-language and target-language pooled states (rows paired by index for the
 * paired methods). Every layer present in both is included; `projection` adds projection.{k} and keeps the
 * DiffMean direction too (so the vector can also be added).
 */
export function vectorFromStates(method: ExtractionMethod, source: PooledStates, target: PooledStates, id: VectorIdentity, options: { layers?: readonly number[]; ridgeLambda?: number } = {}): SteeringVector {
  if (!(EXTRACTION_METHODS as readonly string[]).includes(method)) throw new SteeringInputError(`Unknown method '${method}'; expected one of ${EXTRACTION_METHODS.join(', ')}.`);
  const layers = (options.layers ?? source.layers).filter((k) => target.states.has(k) && source.states.has(k));
  if (layers.length === 0) throw new SteeringInputError('No layer has states for both languages; extract them at the same layers.');
  const paired = method !== 'diffmean-monolingual';
  const n = source.states.get(layers[0] as number)!.rows;
  if (paired && target.states.get(layers[0] as number)!.rows !== n) {
    throw new SteeringInputError(`Method ${method} needs parallel pairs: ${n} source rows but ${target.states.get(layers[0] as number)!.rows} target rows.`);
  }
  const dirs = new Map<number, LayerDirection>();
  const projections = new Map<number, Float32Array>();
  const srcTokens = source.tokenCounts.reduce((a, b) => a + b, 0);
  const tgtTokens = target.tokenCounts.reduce((a, b) => a + b, 0);
  for (const k of layers) {
    const s = source.states.get(k)!;
    const t = target.states.get(k)!;
    const base = diffMean(t, s); // mean activation norm and counts for every method
    let direction: Float32Array;
    switch (method) {
      case 'diffmean':
        direction = base.direction;
        break;
      case 'diffmean-monolingual':
        direction = diffMeanMonolingual(allTokenMean(t, target.tokenCounts), allTokenMean(s, source.tokenCounts)).direction;
        break;
      case 'pca':
        direction = pcaOfPairedDifferences(t, s).direction;
        break;
      case 'probe':
        direction = logisticProbe(t, s, { epochs: 200 }).direction;
        break;
      case 'projection': {
        const p = fitProjectionMap(s, t, options.ridgeLambda !== undefined ? { lambda: options.ridgeLambda } : {});
        projections.set(k, p.w);
        direction = base.direction;
        break;
      }
    }
    dirs.set(k, {
      direction,
      meanActivationNorm: base.meanActivationNorm,
      counts: method === 'diffmean-monolingual' ? { [id.sourceLanguage]: srcTokens, [id.targetLanguage]: tgtTokens } : { [id.sourceLanguage]: base.sourceCount, [id.targetLanguage]: base.targetCount },
    });
  }
  const v = steeringVectorFromLayers(dirs, {
    method,
    sourceLanguage: id.sourceLanguage,
    targetLanguage: id.targetLanguage,
    modelHash: id.modelHash,
    modelHint: id.modelHint,
    numPairs: paired ? n : Math.min(n, target.states.get(layers[0] as number)!.rows),
    pooling: method === 'diffmean-monolingual' ? 'all-tokens' : source.pooling,
    ...(id.notes ? { notes: id.notes } : {}),
  });
  if (projections.size === 0) return v;
  return createSteeringVector({ ...v.metadata, directions: v.directions, projections, meanActivationNorms: v.metadata.meanActivationNorms });
}

/** The single-layer vector of one layer k of a multi-layer vector, with a chosen default strength. */
export function singleLayer(v: SteeringVector, k: number, strength: number | null, extraNotes = ''): SteeringVector {
  const d = v.directions.get(k);
  if (!d) throw new SteeringInputError(`The vector has no direction at layer ${k}.`);
  const p = v.projections.get(k);
  return createSteeringVector({
    ...v.metadata,
    directions: new Map([[k, d]]),
    ...(p ? { projections: new Map([[k, p]]) } : {}),
    meanActivationNorms: { [k]: v.metadata.meanActivationNorms[k] ?? 0 },
    defaultLayer: k,
    defaultStrength: strength,
    notes: [v.metadata.notes, extraNotes].filter(Boolean).join(' '),
  });
}
