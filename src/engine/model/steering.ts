/**
 * Steering feeds: the per-layer `steer.{k}` tensors a surgered model takes, built from vectors and a
 * position mode.
 *
 * Layer index k follows the hidden-state convention (k = 0 embeddings output .. L last block's output):
 * a GGUF control vector's direction.{j} is layer k = j + 1 here.
 *
 * Position modes decide which token positions get the vector:
 * - all: every position, prompt and generated;
 * - prompt: positions of prompt tokens only;
 * - generated: positions whose input token was generated (index >= prompt length);
 * - last-prompt-token: only the prompt's last position (the one that predicts the first new token).
 * With a KV cache each run covers a window of positions [start, start + length); a window wholly steered
 * gets one broadcast [1, 1, H] tensor, a partly steered one a [1, length, H] tensor.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from './errors';
import { steerInputName } from './surgery';

/** Which token positions a steering vector is added at (see the module comment). */
export type SteerPositionMode = 'all' | 'prompt' | 'generated' | 'last-prompt-token';

/** One vector added to the residual stream at layer k (k = 0..L), length = hidden size. */
export interface LayerSteer {
  layer: number;
  vector: Float32Array;
  /** Positions for this vector alone (composition of vectors with different modes); default: the plan's mode. */
  mode?: SteerPositionMode;
}

/** Vectors plus the positions they apply to. */
export interface SteeringPlan {
  vectors: readonly LayerSteer[];
  mode: SteerPositionMode;
}

/** The positions one model run covers: absolute [start, start + length) of a sequence whose prompt is promptLength long. */
export interface PositionWindow {
  start: number;
  length: number;
  promptLength: number;
}

/** Whether absolute position p is steered under a mode. */
export function isSteeredPosition(mode: SteerPositionMode, p: number, promptLength: number): boolean {
  switch (mode) {
    case 'all':
      return true;
    case 'prompt':
      return p < promptLength;
    case 'generated':
      return p >= promptLength;
    case 'last-prompt-token':
      return p === promptLength - 1;
  }
}

/** Sums the plan's vectors per layer, checking sizes and layer indices. */
export function vectorsByLayer(plan: SteeringPlan, numLayers: number, hiddenSize: number): Map<number, Float32Array> {
  const byLayer = new Map<number, Float32Array>();
  for (const s of plan.vectors) {
    if (!Number.isInteger(s.layer) || s.layer < 0 || s.layer > numLayers) {
      throw new InvalidArgumentError(`Steering layer ${s.layer} is outside 0..${numLayers} (k = 0 is the embeddings output).`);
    }
    if (s.vector.length !== hiddenSize) {
      throw new InvalidArgumentError(
        `A steering vector for layer ${s.layer} has ${s.vector.length} values but the model's hidden size is ${hiddenSize}; ` +
          'was it extracted from another model?',
      );
    }
    const acc = byLayer.get(s.layer) ?? new Float32Array(hiddenSize);
    for (let i = 0; i < hiddenSize; i++) acc[i] = (acc[i] as number) + (s.vector[i] as number);
    byLayer.set(s.layer, acc);
  }
  return byLayer;
}

/** The steer.{k} feeds for one run: every layer 0..L gets a tensor (zeros where unsteered). */
export function buildSteerFeeds(
  plan: SteeringPlan | null | undefined,
  numLayers: number,
  hiddenSize: number,
  window: PositionWindow,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const zero = new ort.Tensor('float32', new Float32Array(hiddenSize), [1, 1, hiddenSize]);
  if (plan && plan.vectors.some((v) => v.mode !== undefined && v.mode !== plan.mode)) {
    // Vectors with their own position modes: one group per mode, summed per position.
    const modes = [...new Set(plan.vectors.map((v) => v.mode ?? plan.mode))];
    const groups = modes.map((mode) => ({ mode, byLayer: vectorsByLayer({ mode, vectors: plan.vectors.filter((v) => (v.mode ?? plan.mode) === mode) }, numLayers, hiddenSize) }));
    for (let k = 0; k <= numLayers; k++) {
      const data = new Float32Array(window.length * hiddenSize);
      let any = false;
      for (const g of groups) {
        const v = g.byLayer.get(k);
        if (!v) continue;
        for (let i = 0; i < window.length; i++) {
          if (!isSteeredPosition(g.mode, window.start + i, window.promptLength)) continue;
          any = true;
          for (let j = 0; j < hiddenSize; j++) data[i * hiddenSize + j] = (data[i * hiddenSize + j] as number) + (v[j] as number);
        }
      }
      feeds[steerInputName(k)] = any ? new ort.Tensor('float32', data, [1, window.length, hiddenSize]) : zero;
    }
    return feeds;
  }
  const byLayer = plan ? vectorsByLayer(plan, numLayers, hiddenSize) : new Map<number, Float32Array>();
  const mask = Array.from({ length: window.length }, (_, i) =>
    plan ? isSteeredPosition(plan.mode, window.start + i, window.promptLength) : false,
  );
  const all = mask.every((m) => m);
  const none = !mask.some((m) => m);
  for (let k = 0; k <= numLayers; k++) {
    const v = byLayer.get(k);
    if (!v || none) {
      feeds[steerInputName(k)] = zero;
    } else if (all) {
      feeds[steerInputName(k)] = new ort.Tensor('float32', v.slice(), [1, 1, hiddenSize]);
    } else {
      const data = new Float32Array(window.length * hiddenSize);
      mask.forEach((m, i) => {
        if (m) data.set(v, i * hiddenSize);
      });
      feeds[steerInputName(k)] = new ort.Tensor('float32', data, [1, window.length, hiddenSize]);
    }
  }
  return feeds;
}
