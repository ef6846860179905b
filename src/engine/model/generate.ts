/**
 * Text generation with a KV cache: greedy or seeded sampling, stop tokens, max tokens, a per-token
 * callback for streaming, and AbortSignal cancellation that takes effect within one step (the signal is
 * checked before every model run and before every emitted token).
 */
import { InvalidArgumentError } from './errors';
import type { DecoderSession, PastState } from './decoder';
import { argmax, createRng, sampleFromLogits, validateSampling, type SamplingOptions } from './sampling';
import type { SteeringPlan } from './steering';

/** Options of one generation: length, stopping, sampling, steering, streaming, cancellation. */
export interface GenerateOptions {
  maxNewTokens: number;
  /** Token ids that end generation (not included in the result); usually ModelFolder.stopTokenIds. */
  stopTokenIds?: readonly number[];
  /** Absent or temperature 0: greedy. */
  sampling?: SamplingOptions | null;
  steering?: SteeringPlan | null;
  /** Called once per generated token, in order; a stop token is not reported. */
  onToken?: (token: { id: number; index: number }) => void;
  signal?: AbortSignal;
  /** Default true when the model has past_key_values inputs; false recomputes the whole sequence each step. */
  useKvCache?: boolean;
}

/** Why generation ended. */
export type StopReason = 'stop-token' | 'max-tokens' | 'aborted';

/** Generated token ids (batch 1) and why generation ended. */
export interface GenerateResult {
  tokenIds: number[]; // generated tokens, stop token excluded
  stopReason: StopReason;
  stopTokenId: number | null; // the stop token that ended generation, if any
}

/** Generates up to maxNewTokens tokens after promptIds (batch 1). */
export async function generate(decoder: DecoderSession, promptIds: readonly number[], options: GenerateOptions): Promise<GenerateResult> {
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) {
    throw new InvalidArgumentError(`maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}.`);
  }
  if (promptIds.length === 0) throw new InvalidArgumentError('Generation needs a prompt of at least one token (usually the BOS token).');
  const sampling = options.sampling && options.sampling.temperature > 0 ? options.sampling : null;
  if (options.sampling) validateSampling(options.sampling);
  const rng = sampling ? createRng(sampling.seed) : null;
  const stops = new Set(options.stopTokenIds ?? []);
  const useCache = (options.useKvCache ?? true) && decoder.io.past.length > 0;
  const promptLength = promptIds.length;

  const generated: number[] = [];
  let past: PastState | null = null;
  let pending: readonly number[] = promptIds;
  const aborted = (): GenerateResult => ({ tokenIds: generated, stopReason: 'aborted', stopTokenId: null });

  while (generated.length < options.maxNewTokens) {
    if (options.signal?.aborted) return aborted();
    const ids = useCache ? pending : [...promptIds, ...generated];
    const out = await decoder.step(ids, useCache ? past : null, { steering: options.steering ?? null, promptLength });
    if (options.signal?.aborted) return aborted();
    const V = out.vocabSize;
    const row = out.logits.subarray((out.rows - 1) * V, out.rows * V);
    // One uniform per step whether or not it is needed, so equal seeds give equal random streams.
    const next = sampling && rng ? sampleFromLogits(row, sampling, rng()) : argmax(row);
    if (stops.has(next)) return { tokenIds: generated, stopReason: 'stop-token', stopTokenId: next };
    generated.push(next);
    options.onToken?.({ id: next, index: generated.length - 1 });
    past = out.present;
    pending = [next];
  }
  return { tokenIds: generated, stopReason: 'max-tokens', stopTokenId: null };
}
