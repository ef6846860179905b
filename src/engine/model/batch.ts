/**
 * Batched full passes (no KV cache) over several token sequences at once, for hidden-state extraction and
 * scoring: right padding, attention_mask 1 on real tokens and 0 on padding, position_ids 0..len−1 per row.
 * With causal attention and right padding, a real token never attends to padding, so each row's states
 * equal a one-at-a-time pass up to float rounding (tested within 1e-5).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeFileAtomic } from './cache';
import type { DecoderSession } from './decoder';
import { toFloat32 } from './decoder';
import { InferenceError, InvalidArgumentError } from './errors';
import { decodeModel, encodeModel, errorText, type ModelProto } from './onnxProto';
import { createSession, type SessionSettings } from './session';
import type { GenerateResult } from './generate';
import { argmax, createRng, sampleFromLogits, validateSampling, type SamplingOptions } from './sampling';
import { buildSteerFeeds, isSteeredPosition, vectorsByLayer, type SteeringPlan } from './steering';
import { steerInputName } from './surgery';

/** Per-row steering of a batched pass: k → offsets, either [H] for every position or [B*T*H] per position. */
export type BatchSteering = ReadonlyMap<number, Float32Array>;

/** Options of one batched pass. */
export interface BatchForwardOptions {
  /** Token id written into padded slots (never attended to); default 0. */
  padTokenId?: number;
  /** Whether to fetch logits [B*T*V] too; default false (hidden states only). */
  wantLogits?: boolean;
  /** Layers k whose hidden states to fetch; default all 0..L. */
  layers?: readonly number[];
  /** Additive steering per layer k: [H] (all positions of all rows) or [B*T*H] (T = padded length). */
  steering?: BatchSteering | null;
}

/** Result of a batched pass: row-major [B, T, H] per fetched layer, T = longest row. */
export interface BatchForwardResult {
  batchSize: number; // B
  paddedLength: number; // T
  lengths: number[]; // real tokens per row
  hiddenSize: number; // H
  /** k → float32 [B*T*H] (after steering at k); only the requested layers. */
  hiddenStates: Map<number, Float32Array>;
  /** float32 [B*T*V] when wantLogits, else null. */
  logits: Float32Array | null;
  vocabSize: number;
}

/** Runs one padded batch through a surgered decoder (an `inspect` session with hidden-state outputs). */
export async function forwardBatch(decoder: BatchRunner, sequences: readonly (readonly number[])[], options: BatchForwardOptions = {}): Promise<BatchForwardResult> {
  const io = decoder.io;
  const B = sequences.length;
  if (B === 0) throw new InvalidArgumentError('forwardBatch needs at least one sequence.');
  const lengths = sequences.map((s) => s.length);
  if (lengths.some((n) => n === 0)) throw new InvalidArgumentError('forwardBatch: every sequence needs at least one token (usually the BOS token).');
  if (B > 1 && !io.attentionMask) {
    throw new InvalidArgumentError('This model has no attention_mask input, so padded batches would attend to padding: use a batch size of 1.');
  }
  const T = Math.max(...lengths);
  const H = decoder.hiddenSize;
  const L = decoder.numLayers;
  if (L === null) throw new InvalidArgumentError('forwardBatch needs a surgered model (steering inputs or hidden-state outputs).');
  const layers = options.layers ?? (io.hiddenStates.length > 0 ? Array.from({ length: L + 1 }, (_, k) => k) : []);
  if (layers.length > 0 && io.hiddenStates.length === 0) throw new InvalidArgumentError('Hidden states were requested from a session without hidden-state outputs; use the inspect session.');
  for (const k of layers) if (!Number.isInteger(k) || k < 0 || k > L) throw new InvalidArgumentError(`Layer ${k} is outside 0..${L}.`);
  const pad = BigInt(options.padTokenId ?? 0);
  const ids = new BigInt64Array(B * T).fill(pad);
  const mask = new BigInt64Array(B * T);
  const pos = new BigInt64Array(B * T);
  sequences.forEach((s, b) => {
    for (let t = 0; t < T; t++) {
      if (t < s.length) {
        ids[b * T + t] = BigInt(s[t] as number);
        mask[b * T + t] = 1n;
      }
      // Padding positions keep counting so position embeddings stay in range; they are masked anyway.
      pos[b * T + t] = BigInt(t);
    }
  });
  const feeds: Record<string, ort.Tensor> = { [io.inputIds]: new ort.Tensor('int64', ids, [B, T]) };
  if (io.attentionMask) feeds[io.attentionMask] = new ort.Tensor('int64', mask, [B, T]);
  if (io.positionIds) feeds[io.positionIds] = new ort.Tensor('int64', pos, [B, T]);
  if (io.useCacheBranch) feeds[io.useCacheBranch] = new ort.Tensor('bool', [false], [1]);
  for (const kv of io.past) {
    const dims = [B, kv.numHeads, 0, kv.headDim];
    for (const name of [kv.key, kv.value]) {
      feeds[name] = kv.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    }
  }
  const zero = new ort.Tensor('float32', new Float32Array(H), [1, 1, H]);
  for (let k = 0; k < io.steer.length; k++) {
    const v = options.steering?.get(k);
    if (!v) feeds[steerInputName(k)] = zero;
    else if (v.length === H) feeds[steerInputName(k)] = new ort.Tensor('float32', v, [1, 1, H]);
    else if (v.length === B * T * H) feeds[steerInputName(k)] = new ort.Tensor('float32', v, [B, T, H]);
    else throw new InvalidArgumentError(`Steering at layer ${k} has ${v.length} values; expected ${H} (one vector) or ${B}×${T}×${H} (per position). Was it made for another model?`);
  }
  if (options.steering && io.steer.length === 0 && options.steering.size > 0) throw new InvalidArgumentError('This session has no steering inputs; open the surgered model to steer.');
  const fetches = [...(options.wantLogits ? [io.logits] : []), ...layers.map((k) => io.hiddenStates[k] as string)];
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    decoder.runCount++;
    out = await decoder.session.run(feeds, fetches);
  } catch (err) {
    throw new InferenceError(`The batched model run failed (batch ${B}, length ${T}): ${errorText(err)}. Try a smaller --batch-size.`, { cause: err });
  }
  const hiddenStates = new Map<number, Float32Array>();
  for (const k of layers) hiddenStates.set(k, toFloat32(out[io.hiddenStates[k] as string] as ort.Tensor));
  let logits: Float32Array | null = null;
  let vocabSize = 0;
  if (options.wantLogits) {
    const t = out[io.logits] as ort.Tensor;
    vocabSize = t.dims[t.dims.length - 1] ?? 0;
    logits = toFloat32(t);
  }
  return { batchSize: B, paddedLength: T, lengths, hiddenSize: H, hiddenStates, logits, vocabSize };
}

/** Splits indices 0..n−1 into batches of similar length (sorted by length, longest first) of at most maxBatch rows and maxTokens padded tokens. */
export function lengthSortedBatches(lengths: readonly number[], maxBatch: number, maxTokens = 4096): number[][] {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new InvalidArgumentError(`Batch size must be a positive integer, got ${maxBatch}.`);
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[b] as number) - (lengths[a] as number) || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  for (const i of order) {
    const longest = cur.length > 0 ? (lengths[cur[0] as number] as number) : (lengths[i] as number);
    if (cur.length > 0 && (cur.length >= maxBatch || longest * (cur.length + 1) > maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/** Options of a batched generation (one sampling seed per row: seeds[i], else sampling.seed + i). */
export interface BatchGenerateOptions {
  maxNewTokens: number;
  stopTokenIds?: readonly number[];
  /** Absent or temperature 0: greedy. */
  sampling?: SamplingOptions | null;
  /** Per-row seeds (overrides sampling.seed + row index). */
  seeds?: readonly number[];
  /** Additive steering; the same plan for every row. */
  steering?: SteeringPlan | null;
  /** Per-row plans instead (e.g. several sweep cells in one batch); overrides `steering`. */
  rowSteering?: readonly (SteeringPlan | null)[];
  padTokenId?: number;
  signal?: AbortSignal;
  /** Called after every step with the number of steps done. */
  onStep?: (step: number, maxSteps: number) => void;
}

/**
 * Generates continuations for several prompts at once with a KV cache: prompts are LEFT-padded so that
 * they all end in the same column (attention_mask 0 on padding, position_ids counting real tokens only),
 * which makes the position modes column-wise (prompt = the first run, generated = later runs). A row
 * that hits a stop token keeps running (masked) until every row is done. Each row consumes its own
 * random stream exactly as `generate` does with the same seed.
 */
export async function generateBatch(decoder: DecoderSession, prompts: readonly (readonly number[])[], options: BatchGenerateOptions): Promise<GenerateResult[]> {
  const io = decoder.io;
  const B = prompts.length;
  if (B === 0) return [];
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) throw new InvalidArgumentError(`maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}.`);
  if (prompts.some((p) => p.length === 0)) throw new InvalidArgumentError('Generation needs prompts of at least one token (usually the BOS token).');
  if (io.past.length === 0 || !io.attentionMask) throw new InvalidArgumentError('Batched generation needs a model with a KV cache and an attention_mask input; generate one prompt at a time instead.');
  const sampling = options.sampling && options.sampling.temperature > 0 ? options.sampling : null;
  if (options.sampling) validateSampling(options.sampling);
  const rngs = prompts.map((_, i) => (sampling ? createRng(options.seeds?.[i] ?? sampling.seed + i) : null));
  const stops = new Set(options.stopTokenIds ?? []);
  const P = Math.max(...prompts.map((p) => p.length));
  const H = decoder.hiddenSize;
  const L = decoder.numLayers ?? 0;
  const pad = BigInt(options.padTokenId ?? 0);
  const results: GenerateResult[] = prompts.map(() => ({ tokenIds: [], stopReason: 'max-tokens', stopTokenId: null }));
  const active = new Array<boolean>(B).fill(true);
  const maskRows: number[][] = prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
  const realCount = prompts.map((p) => p.length);
  let pendingIds = new BigInt64Array(B * P).fill(pad);
  const pos0 = new BigInt64Array(B * P);
  prompts.forEach((p, b) => {
    p.forEach((id, t) => {
      pendingIds[b * P + (P - p.length) + t] = BigInt(id);
      pos0[b * P + (P - p.length) + t] = BigInt(t);
    });
  });
  let pendingPos = pos0;
  let width = P;
  let pastLength = 0;
  let past: Record<string, ort.Tensor> | null = null;
  for (let step = 0; step < options.maxNewTokens; step++) {
    if (options.signal?.aborted) {
      for (const r of results) if (r.stopReason === 'max-tokens' && active[results.indexOf(r)]) r.stopReason = 'aborted';
      return results;
    }
    const feeds: Record<string, ort.Tensor> = { [io.inputIds]: new ort.Tensor('int64', pendingIds, [B, width]) };
    const total = pastLength + width;
    const mask = new BigInt64Array(B * total);
    maskRows.forEach((m, b) => m.forEach((x, t) => (mask[b * total + t] = BigInt(x))));
    feeds[io.attentionMask] = new ort.Tensor('int64', mask, [B, total]);
    if (io.positionIds) feeds[io.positionIds] = new ort.Tensor('int64', pendingPos, [B, width]);
    if (io.useCacheBranch) feeds[io.useCacheBranch] = new ort.Tensor('bool', [pastLength > 0], [1]);
    for (const kv of io.past) {
      for (const name of [kv.key, kv.value]) {
        const dims = [B, kv.numHeads, 0, kv.headDim];
        feeds[name] = past?.[name] ?? (kv.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims));
      }
    }
    // Columns of this run: [pastLength, total); the prompt ends at column P − 1 in every row, so the
    // single-row feeds ([1, width|1, H]) broadcast over the batch.
    const window = { start: pastLength, length: width, promptLength: P };
    if (io.steer.length > 0 && options.rowSteering) {
      if (options.rowSteering.length !== B) throw new InvalidArgumentError(`rowSteering has ${options.rowSteering.length} plans for ${B} prompts.`);
      const perRow = options.rowSteering.map((plan) => buildSteerFeeds(plan, L, H, window));
      for (let k = 0; k < io.steer.length; k++) {
        const name = steerInputName(k);
        if (perRow.every((f) => isZero(f[name] as ort.Tensor))) {
          feeds[name] = perRow[0]?.[name] as ort.Tensor;
          continue;
        }
        const data = new Float32Array(B * width * H);
        perRow.forEach((f, b) => {
          const t = f[name] as ort.Tensor;
          const src = t.data as Float32Array;
          if (t.dims[1] === 1) for (let i = 0; i < width; i++) data.set(src, (b * width + i) * H);
          else data.set(src, b * width * H);
        });
        feeds[name] = new ort.Tensor('float32', data, [B, width, H]);
      }
    } else if (io.steer.length > 0) Object.assign(feeds, buildSteerFeeds(options.steering, L, H, window));
    const fetches = [io.logits, ...io.past.flatMap((kv) => [kv.presentKey, kv.presentValue])];
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      decoder.runCount++;
      out = await decoder.session.run(feeds, fetches);
    } catch (err) {
      throw new InferenceError(`The batched generation step failed (batch ${B}): ${errorText(err)}`, { cause: err });
    }
    const lt = out[io.logits] as ort.Tensor;
    const V = lt.dims[lt.dims.length - 1] ?? 0;
    const rowsOut = lt.dims.length === 3 ? (lt.dims[1] ?? 1) : 1;
    const logits = toFloat32(lt);
    past = {};
    for (const kv of io.past) {
      past[kv.key] = out[kv.presentKey] as ort.Tensor;
      past[kv.value] = out[kv.presentValue] as ort.Tensor;
    }
    pastLength = total;
    const nextIds = new BigInt64Array(B).fill(pad);
    const nextPos = new BigInt64Array(B);
    for (let b = 0; b < B; b++) {
      const rng = rngs[b];
      const row = logits.subarray((b * rowsOut + rowsOut - 1) * V, (b * rowsOut + rowsOut) * V);
      // Every row draws one uniform per step while active, as `generate` does.
      const next = sampling && rng ? sampleFromLogits(row, sampling, rng()) : argmax(row);
      nextPos[b] = BigInt(realCount[b] as number);
      if (!active[b]) {
        (maskRows[b] as number[]).push(0);
        continue;
      }
      const r = results[b] as GenerateResult;
      if (stops.has(next)) {
        active[b] = false;
        r.stopReason = 'stop-token';
        r.stopTokenId = next;
        (maskRows[b] as number[]).push(0);
        continue;
      }
      r.tokenIds.push(next);
      nextIds[b] = BigInt(next);
      (maskRows[b] as number[]).push(1);
      realCount[b] = (realCount[b] as number) + 1;
    }
    options.onStep?.(step + 1, options.maxNewTokens);
    if (!active.some((a) => a)) break;
    pendingIds = nextIds;
    pendingPos = nextPos;
    width = 1;
  }
  return results;
}

/** Per-position steering for a right-padded batch: k → [B*T*H] from a plan, row b's prompt being promptLengths[b] long. */
export function batchSteeringFromPlan(plan: SteeringPlan | null | undefined, numLayers: number, hiddenSize: number, promptLengths: readonly number[], paddedLength: number): BatchSteering | null {
  if (!plan || plan.vectors.length === 0) return null;
  const modeOf = (v: { mode?: SteeringPlan['mode'] }): SteeringPlan['mode'] => v.mode ?? plan.mode;
  if (plan.vectors.every((v) => modeOf(v) === 'all')) return vectorsByLayer(plan, numLayers, hiddenSize);
  const B = promptLengths.length;
  const T = paddedLength;
  const H = hiddenSize;
  const out = new Map<number, Float32Array>();
  for (const mode of new Set(plan.vectors.map(modeOf))) {
    const byLayer = vectorsByLayer({ mode, vectors: plan.vectors.filter((v) => modeOf(v) === mode) }, numLayers, hiddenSize);
    for (const [k, v] of byLayer) {
      let data = out.get(k);
      if (!data) {
        data = new Float32Array(B * T * H);
        out.set(k, data);
      }
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          if (!isSteeredPosition(mode, t, promptLengths[b] as number)) continue;
          const o = (b * T + t) * H;
          for (let j = 0; j < H; j++) data[o + j] = (data[o + j] as number) + (v[j] as number);
        }
      }
    }
  }
  return out;
}

function isZero(t: ort.Tensor): boolean {
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) return false;
  return true;
}

/** What a batched pass needs of a session (a DecoderSession fits, and so does an extraction session). */
export type BatchRunner = Pick<DecoderSession, 'session' | 'io' | 'hiddenSize' | 'numLayers' | 'runCount'>;

/**
 * The inspect graph with everything that only feeds logits or the KV-cache outputs removed: hidden-state
 * extraction then skips the LM head (vocab × hidden multiply-adds per token, ~40 % of a small model's work).
 * Nodes are kept when they feed a hidden_states.{k} output; graphs with subgraphs (If-merged decoders) are
 * returned unpruned. Inputs are unchanged, so the same feeds work.
 */
export function pruneToHiddenStates(model: ModelProto): ModelProto {
  const graph = model.graph;
  if (!graph) throw new InvalidArgumentError('The model has no graph.');
  const nodes = graph.node ?? [];
  if (nodes.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0)))) return model;
  const outputs = (graph.output ?? []).filter((o) => (o.name ?? '').startsWith('hidden_states.'));
  if (outputs.length === 0) throw new InvalidArgumentError('The model has no hidden_states outputs to keep.');
  const needed = new Set(outputs.map((o) => o.name));
  const keep = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if ((n.output ?? []).some((o) => needed.has(o))) {
      keep[i] = true;
      for (const inp of n.input ?? []) if (inp) needed.add(inp);
    }
  }
  const keptNodes = nodes.filter((_, i) => keep[i]);
  const initializers = (graph.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
  return { ...model, graph: { ...graph, node: keptNodes, output: outputs, initializer: initializers } };
}

/** Opens (and caches as extract.onnx beside inspect.onnx) the pruned extraction session of an opened model. */
export async function openExtractionSession(model: { prepared: { inspectPath: string; externalDataDir: string | null }; inspect: DecoderSession; hiddenSize: number }, settings: SessionSettings = {}): Promise<BatchRunner> {
  const file = path.join(path.dirname(model.prepared.inspectPath), 'extract.onnx');
  if (!fs.existsSync(file)) writeFileAtomic(file, encodeModel(pruneToHiddenStates(decodeModel(fs.readFileSync(model.prepared.inspectPath), 'inspect.onnx'))));
  // Extraction runs alone (the other sessions wait for it), so it may use every core; threads still sleep
  // rather than spin between operators.
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const session = await createSession({ path: file, externalDataDir: model.prepared.externalDataDir }, { coexisting: true, intraOpNumThreads: cores, ...settings });
  const io = { ...model.inspect.io };
  return { session, io, hiddenSize: model.hiddenSize, numLayers: model.inspect.numLayers, runCount: 0 };
}
