/**
 * DecoderSession: one ORT session over a (surgered) decoder in the Optimum "with past" layout — inputs
 * input_ids, attention_mask, position_ids, past_key_values.{i}.key/value (past length 0 allowed), optional
 * use_cache_branch (If-merged decoders), steer.{k}; outputs logits, present.{i}.key/value, hidden_states.{k}.
 * Batch size is 1 throughout.
 */
import * as ort from 'onnxruntime-node';
import { f16ToNumber } from '../float16';
import { InferenceError, InvalidArgumentError } from './errors';
import { errorText } from './onnxProto';
import { createSession, type ModelSource, type SessionSettings } from './session';
import { buildSteerFeeds, type SteeringPlan } from './steering';
import { hiddenStateName, steerInputName } from './surgery';

/** One layer's KV-cache inputs and outputs. */
export interface KvSpec {
  key: string;
  value: string;
  presentKey: string;
  presentValue: string;
  type: 'float32' | 'float16';
  numHeads: number;
  headDim: number;
}

/** The decoder's input/output names, found from the session's metadata. */
export interface DecoderIo {
  inputIds: string;
  attentionMask: string | null;
  positionIds: string | null;
  useCacheBranch: string | null;
  past: KvSpec[]; // empty for a model without KV cache
  logits: string;
  hiddenStates: string[]; // hidden_states.0..L when the model exposes them
  steer: string[]; // steer.0..L when the model takes them
}

/** Shapes the metadata may leave symbolic; from config.json. */
export interface DecoderShapeHints {
  numKeyValueHeads?: number | null;
  headDim?: number | null;
}

/** Reads the session's inputs/outputs into a DecoderIo; unknown required inputs are an error. */
export function describeDecoderIo(session: ort.InferenceSession, hints: DecoderShapeHints = {}): DecoderIo {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m] as const));
  const outputs = new Set(session.outputNames);
  const known = new Set<string>();
  const take = (name: string): string | null => {
    if (!inputs.has(name)) return null;
    known.add(name);
    return name;
  };
  const inputIds = take('input_ids');
  if (!inputIds) throw new InferenceError(`The model has no input_ids input (inputs: ${session.inputNames.join(', ')}); it is not a decoder in the Optimum layout.`);
  const logits = outputs.has('logits') ? 'logits' : null;
  if (!logits) throw new InferenceError(`The model has no logits output (outputs: ${session.outputNames.slice(0, 8).join(', ')}).`);
  const past: KvSpec[] = [];
  for (let i = 0; ; i++) {
    const key = `past_key_values.${i}.key`;
    const value = `past_key_values.${i}.value`;
    const km = inputs.get(key);
    if (!km || !inputs.has(value)) break;
    known.add(key).add(value);
    const presentKey = `present.${i}.key`;
    const presentValue = `present.${i}.value`;
    if (!outputs.has(presentKey) || !outputs.has(presentValue)) {
      throw new InferenceError(`The model takes ${key} but does not output ${presentKey}/${presentValue}.`);
    }
    const shape = km.isTensor ? km.shape : [];
    const type = km.isTensor ? km.type : 'float32';
    if (type !== 'float32' && type !== 'float16') throw new InferenceError(`${key} has type ${type}; float32 or float16 KV caches are supported.`);
    const dim = (d: unknown, hint: number | null | undefined, what: string): number => {
      if (typeof d === 'number' && d > 0) return d;
      if (hint) return hint;
      throw new InferenceError(`The ${what} of ${key} is symbolic; add it to config.json (num_key_value_heads / head_dim).`);
    };
    past.push({ key, value, presentKey, presentValue, type, numHeads: dim(shape[1], hints.numKeyValueHeads, 'head count'), headDim: dim(shape[3], hints.headDim, 'head size') });
  }
  const steer: string[] = [];
  for (let k = 0; inputs.has(steerInputName(k)); k++) steer.push(take(steerInputName(k)) as string);
  const hiddenStates: string[] = [];
  for (let k = 0; outputs.has(hiddenStateName(k)); k++) hiddenStates.push(hiddenStateName(k));
  const io: DecoderIo = {
    inputIds,
    attentionMask: take('attention_mask'),
    positionIds: take('position_ids'),
    useCacheBranch: take('use_cache_branch'),
    past,
    logits,
    hiddenStates,
    steer,
  };
  const unknown = session.inputNames.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new InferenceError(
      `The model needs inputs the engine does not know how to fill: ${unknown.join(', ')}. ` +
        'Supported: input_ids, attention_mask, position_ids, past_key_values.{i}.key/value, use_cache_branch.',
    );
  }
  return io;
}

/** The KV cache between steps: the present tensors of the last run, fed back as past. */
export interface PastState {
  length: number; // cached positions
  tensors: Record<string, ort.Tensor>; // keyed by past input name
}

/** What one run returns. */
export interface StepOutput {
  logits: Float32Array; // [rows * vocab], rows = positions the model returned logits for
  rows: number;
  vocabSize: number;
  hiddenStates: Float32Array[] | null; // L + 1 arrays of [seq * H] when requested and available
  present: PastState | null; // null for a model without KV cache
}

/** Result of a full forward pass over a token sequence. */
export interface ForwardResult {
  logits: Float32Array; // [seq * vocab]
  vocabSize: number;
  hiddenStates: Float32Array[] | null; // hidden_states.{k}, k = 0..L, each [seq * H] (after steering)
}

/** A decoder session: runs steps with or without KV cache, with steering feeds. */
export class DecoderSession {
  /** Number of ORT runs so far (tests use it to check that cancellation stops within one step). */
  runCount = 0;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly io: DecoderIo,
    readonly hiddenSize: number,
  ) {}

  /** Opens a decoder model; `hiddenSize` is H (for steering feeds and hidden-state shapes). */
  static async create(
    source: ModelSource,
    hiddenSize: number,
    settings: SessionSettings = {},
    hints: DecoderShapeHints = {},
  ): Promise<DecoderSession> {
    const session = await createSession(source, settings);
    return new DecoderSession(session, describeDecoderIo(session, hints), hiddenSize);
  }

  /** L: decoder blocks, from the steering inputs or hidden-state outputs (null for an unsurgered model). */
  get numLayers(): number | null {
    const n = Math.max(this.io.steer.length, this.io.hiddenStates.length);
    return n > 0 ? n - 1 : null;
  }

  /** Runs positions [past.length, past.length + ids.length) of a sequence whose prompt is promptLength long. */
  async step(
    ids: readonly number[],
    past: PastState | null,
    options: {
      steering?: SteeringPlan | null;
      promptLength: number;
      wantHiddenStates?: boolean;
      /** Per-position offsets added at layer k on top of the plan: k → float32 [ids.length * H] (e.g. projection steering). */
      offsets?: ReadonlyMap<number, Float32Array>;
    },
  ): Promise<StepOutput> {
    const pastLength = past?.length ?? 0;
    const seq = ids.length;
    if (seq === 0) throw new InvalidArgumentError('A model run needs at least one token.');
    const io = this.io;
    const feeds: Record<string, ort.Tensor> = {
      [io.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, seq]),
    };
    if (io.attentionMask) feeds[io.attentionMask] = new ort.Tensor('int64', new BigInt64Array(pastLength + seq).fill(1n), [1, pastLength + seq]);
    if (io.positionIds) {
      feeds[io.positionIds] = new ort.Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt(pastLength + i)), [1, seq]);
    }
    // Optimum's merged decoder takes the with-past branch only when there is a past.
    if (io.useCacheBranch) feeds[io.useCacheBranch] = new ort.Tensor('bool', [pastLength > 0], [1]);
    for (const kv of io.past) {
      for (const name of [kv.key, kv.value]) {
        const cached = past?.tensors[name];
        feeds[name] = cached ?? emptyPast(kv);
      }
    }
    if (io.steer.length > 0) {
      Object.assign(
        feeds,
        buildSteerFeeds(options.steering, io.steer.length - 1, this.hiddenSize, { start: pastLength, length: seq, promptLength: options.promptLength }),
      );
      const H = this.hiddenSize;
      for (const [k, v] of options.offsets ?? []) {
        const name = steerInputName(k);
        if (!(k >= 0 && k < io.steer.length)) throw new InvalidArgumentError(`Offsets at layer ${k}: the model has steering inputs at 0..${io.steer.length - 1}.`);
        if (v.length !== seq * H) throw new InvalidArgumentError(`Offsets at layer ${k} have ${v.length} values; expected ${seq}×${H} (one per position of this run).`);
        const plan = feeds[name] as ort.Tensor;
        const p = plan.data as Float32Array;
        const sum = Float32Array.from(v);
        // The plan's feed is [1, 1, H] (broadcast) or [1, seq, H].
        for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (p[p.length === H ? i % H : i] as number);
        feeds[name] = new ort.Tensor('float32', sum, [1, seq, H]);
      }
    } else if (options.offsets && options.offsets.size > 0) {
      throw new InvalidArgumentError('This model session has no steering inputs; open the surgered model to steer.');
    } else if (options.steering && options.steering.vectors.length > 0) {
      throw new InvalidArgumentError('This model session has no steering inputs; open the surgered model to steer.');
    }
    const wantHidden = (options.wantHiddenStates ?? false) && io.hiddenStates.length > 0;
    const fetches = [io.logits, ...io.past.flatMap((kv) => [kv.presentKey, kv.presentValue]), ...(wantHidden ? io.hiddenStates : [])];
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      this.runCount++;
      out = await this.session.run(feeds, fetches);
    } catch (err) {
      throw new InferenceError(`The model run failed: ${errorText(err)}`, { cause: err });
    }
    const logitsTensor = out[io.logits] as ort.Tensor;
    const vocabSize = logitsTensor.dims[logitsTensor.dims.length - 1] ?? 0;
    const logits = toFloat32(logitsTensor);
    let present: PastState | null = null;
    if (io.past.length > 0) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const kv of io.past) {
        tensors[kv.key] = out[kv.presentKey] as ort.Tensor;
        tensors[kv.value] = out[kv.presentValue] as ort.Tensor;
      }
      present = { length: pastLength + seq, tensors };
    }
    const hiddenStates = wantHidden ? io.hiddenStates.map((n) => toFloat32(out[n] as ort.Tensor)) : null;
    return { logits, rows: logits.length / Math.max(1, vocabSize), vocabSize, hiddenStates, present };
  }

  /** One full pass over `ids` (no cache): logits for every position and, if the model has them, hidden states. */
  async forward(ids: readonly number[], options: { steering?: SteeringPlan | null; promptLength?: number } = {}): Promise<ForwardResult> {
    const out = await this.step(ids, null, {
      steering: options.steering ?? null,
      promptLength: options.promptLength ?? ids.length,
      wantHiddenStates: true,
    });
    return { logits: out.logits, vocabSize: out.vocabSize, hiddenStates: out.hiddenStates };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function emptyPast(kv: KvSpec): ort.Tensor {
  const dims = [1, kv.numHeads, 0, kv.headDim];
  return kv.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
}

/** A float32 copy (or view) of a float32/float16 tensor's data. */
export function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const data = t.data as ArrayLike<number>;
    // Node 20 has no Float16Array: ORT hands float16 as raw uint16 bits.
    if (data instanceof Uint16Array) return Float32Array.from(data, f16ToNumber);
    return Float32Array.from(data);
  }
  throw new InferenceError(`Expected a float tensor, got ${t.type}.`);
}

