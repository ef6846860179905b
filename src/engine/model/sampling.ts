/**
 * Next-token choice: greedy argmax, or sampling with temperature, top-k and top-p from a seeded PRNG.
 *
 * Every sampling step draws exactly one uniform number, whatever the distribution looks like, so two runs
 * with the same seed (say steered and unsteered) consume the same random stream and differ only where
 * the model's probabilities differ.
 */
import { InvalidArgumentError } from './errors';

/** Sampling settings; temperature 0 means greedy. */
export interface SamplingOptions {
  temperature: number; // > 0 samples; 0 = greedy
  topK?: number; // keep the k most likely tokens (0 or absent: all)
  topP?: number; // keep the smallest set whose probability reaches p (1 or absent: all)
  seed: number; // any integer; the same seed gives the same draws
}

/** A seeded PRNG returning uniforms in [0, 1) (mulberry32: tiny, fast, good enough for sampling). */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest logit (the lowest index on ties). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** Checks sampling options; throws InvalidArgumentError with the offending field. */
export function validateSampling(o: SamplingOptions): void {
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new InvalidArgumentError(`temperature must be >= 0, got ${o.temperature}.`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new InvalidArgumentError(`topK must be a non-negative integer, got ${o.topK}.`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new InvalidArgumentError(`topP must be in (0, 1], got ${o.topP}.`);
  if (!Number.isFinite(o.seed)) throw new InvalidArgumentError(`seed must be a finite number, got ${o.seed}.`);
}

/** Chooses the next token from one row of logits [vocab]; `uniform` is one draw in [0, 1). */
export function sampleFromLogits(logits: ArrayLike<number>, o: SamplingOptions, uniform: number): number {
  if (o.temperature === 0) return argmax(logits);
  const n = logits.length;
  if (!o.topK) return sampleNucleus(logits, o.temperature, o.topP ?? 1, uniform);
  // Candidates sorted by logit, best first, ties by index so the order is deterministic.
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, n) : n;
  const top = order.slice(0, k);
  const max = logits[top[0] as number] as number;
  const weights = top.map((i) => Math.exp(((logits[i] as number) - max) / o.temperature));
  let total = weights.reduce((s, w) => s + w, 0);
  let keep = weights.length;
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0;
    for (let j = 0; j < weights.length; j++) {
      cum += weights[j] as number;
      if (cum / total >= o.topP) {
        keep = j + 1;
        break;
      }
    }
    total = weights.slice(0, keep).reduce((s, w) => s + w, 0);
  }
  let target = uniform * total;
  for (let j = 0; j < keep; j++) {
    target -= weights[j] as number;
    if (target < 0) return top[j] as number;
  }
  return top[keep - 1] as number;
}

/**
 * The same draw as the general path above without sorting the whole vocabulary with a comparator: the
 * weights are sorted natively as numbers (equal weights are interchangeable in every sum, so the totals
 * and the nucleus cut are bit-identical), and only the kept nucleus is ordered by (logit desc, index asc).
 */
function sampleNucleus(logits: ArrayLike<number>, temperature: number, topP: number, uniform: number): number {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if ((logits[i] as number) > max) max = logits[i] as number;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = Math.exp(((logits[i] as number) - max) / temperature);
  const sorted = Float64Array.from(w).sort().reverse();
  let total = 0;
  for (let j = 0; j < n; j++) total += sorted[j] as number;
  let keep = n;
  if (topP < 1) {
    let cum = 0;
    for (let j = 0; j < n; j++) {
      cum += sorted[j] as number;
      if (cum / total >= topP) {
        keep = j + 1;
        break;
      }
    }
    total = 0;
    for (let j = 0; j < keep; j++) total += sorted[j] as number;
  }
  const cut = sorted[keep - 1] as number;
  const cand: number[] = [];
  for (let i = 0; i < n; i++) if ((w[i] as number) >= cut) cand.push(i);
  cand.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  let target = uniform * total;
  for (let j = 0; j < keep; j++) {
    target -= w[cand[j] as number] as number;
    if (target < 0) return cand[j] as number;
  }
  return cand[keep - 1] as number;
}
