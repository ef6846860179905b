// INCLINE projection steering applied exactly: a' = a + σ(aW − a) at layer k for every position. The surgered
// graph can only ADD a tensor to the residual stream, so the per-position offset σ(aW − a) is computed from
// a first pass: the state a at layer k does not depend on anything added at k or later (hidden_states.{k} with
// a zero steer at k is the pre-add value), so pass 1 (unsteered) gives exactly the a that pass 2 receives, and
// pass 2 adds the offsets through steer.{k} as a [1, seq, H] tensor. Generation does the same one token at a
// time on a KV cache (two single-token runs per token, batch 1; see generateWithProjection).

import { applyProjection } from '../analysis/directions.js';
import type { EvaluationModel } from '../analysis/evaluate.js';
import { padTokenId } from '../analysis/extract.js';
import { forwardBatch } from '../model/batch.js';
import { argmax, createRng, sampleFromLogits, type SamplingOptions } from '../model/sampling.js';
import { SteeringInputError } from './errors.js';

/** A projection at one layer: W row-major [H, H], strength σ (0 = off, 1 = the full map). */
export interface ProjectionSteer {
  layer: number;
  w: Float32Array;
  sigma: number;
}

/** Offsets σ(aW − a) for states [T*H] (float32 [T*H]). */
export function projectionOffsets(states: Float32Array, p: ProjectionSteer, hiddenSize: number): Float32Array {
  if (p.w.length !== hiddenSize * hiddenSize) throw new SteeringInputError(`The projection at layer ${p.layer} is ${p.w.length} values; the model needs ${hiddenSize}×${hiddenSize}. Was it made for another model?`);
  const moved = applyProjection({ rows: states.length / hiddenSize, cols: hiddenSize, data: states }, p.w, p.sigma);
  for (let i = 0; i < moved.length; i++) moved[i] = (moved[i] as number) - (states[i] as number);
  return moved;
}

/** One exact projected pass over ids: hidden states at `layers` (after the projection at p.layer) and the last row of logits. */
export async function forwardWithProjection(model: EvaluationModel, ids: readonly number[], p: ProjectionSteer, layers: readonly number[] = [], wantLogits = false): Promise<{ hiddenStates: Map<number, Float32Array>; lastLogits: Float32Array | null }> {
  const H = model.hiddenSize;
  const pad = padTokenId(model.folder);
  const first = await forwardBatch(model.inspect, [ids], { layers: [p.layer], padTokenId: pad });
  const offsets = projectionOffsets(first.hiddenStates.get(p.layer) as Float32Array, p, H);
  const second = await forwardBatch(model.inspect, [ids], { layers, padTokenId: pad, wantLogits, steering: new Map([[p.layer, offsets]]) });
  const V = second.vocabSize;
  const lastLogits = second.logits ? second.logits.slice((ids.length - 1) * V, ids.length * V) : null;
  return { hiddenStates: second.hiddenStates, lastLogits };
}

/**
 * Generates after promptIds with the projection applied exactly at every position (prompt and generated).
 * With a KV cache (default when the model has one) each new token costs two single-token runs on the steered
 * cache: one with nothing added at its position, whose state at k is the token's a (the blocks below k see
 * the same cache steered or not), and one that adds σ(aW − a) there and yields the logits and the cache.
 * `useKvCache: false` recomputes the whole sequence twice per token instead (the reference it is tested against).
 */
export async function generateWithProjection(model: EvaluationModel, promptIds: readonly number[], p: ProjectionSteer, options: { maxNewTokens: number; sampling?: SamplingOptions | null; stopTokenIds?: readonly number[]; signal?: AbortSignal; useKvCache?: boolean }): Promise<number[]> {
  const sampling = options.sampling && options.sampling.temperature > 0 ? options.sampling : null;
  const rng = sampling ? createRng(sampling.seed) : null;
  const stops = new Set(options.stopTokenIds ?? []);
  const out: number[] = [];
  const pick = (row: Float32Array): number => (sampling && rng ? sampleFromLogits(row, sampling, rng()) : argmax(row));
  const inspect = model.inspect;
  if (!(options.useKvCache ?? true) || inspect.io.past.length === 0) {
    while (out.length < options.maxNewTokens) {
      if (options.signal?.aborted) break;
      const { lastLogits } = await forwardWithProjection(model, [...promptIds, ...out], p, [], true);
      const next = pick(lastLogits as Float32Array);
      if (stops.has(next)) break;
      out.push(next);
    }
    return out;
  }
  if (options.maxNewTokens <= 0 || options.signal?.aborted) return out;
  const H = model.hiddenSize;
  const P = promptIds.length;
  const first = await forwardBatch(inspect, [promptIds], { layers: [p.layer], padTokenId: padTokenId(model.folder) });
  let run = await inspect.step(promptIds, null, { promptLength: P, offsets: new Map([[p.layer, projectionOffsets(first.hiddenStates.get(p.layer) as Float32Array, p, H)]]) });
  for (;;) {
    const V = run.vocabSize;
    const next = pick(run.logits.subarray((run.rows - 1) * V, run.rows * V));
    if (stops.has(next)) break;
    out.push(next);
    if (out.length >= options.maxNewTokens || options.signal?.aborted) break;
    const probe = await inspect.step([next], run.present, { promptLength: P, wantHiddenStates: true });
    const a = (probe.hiddenStates as Float32Array[])[p.layer] as Float32Array;
    run = await inspect.step([next], run.present, { promptLength: P, offsets: new Map([[p.layer, projectionOffsets(a, p, H)]]) });
  }
  return out;
}
