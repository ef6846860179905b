/**
 * Logit lens: what the model would predict if its residual stream at layer k were the last one — the
 * model's own final norm and unembedding applied to hidden_states.{k}, then top-k.
 *
 * The lens is a small ONNX graph cut out of the model itself: the nodes between the last residual value
 * (k = L) and `logits`, with that residual replaced by a graph input. Whatever the model does there —
 * RMSNorm or LayerNorm, decomposed or fused, Gemma's (1 + w) scale, a tied unembedding read through a
 * Transpose of the embedding table, logit soft-capping — the lens does too, with the model's weights
 * (copied by reference: external-data weights stay in their files). A fused final
 * Skip*LayerNormalization node is rebuilt with a zero skip input, so it normalises the input alone.
 */
import { InvalidArgumentError, OnnxFormatError, ResidualStreamError } from './errors';
import { GraphIndex } from './graphIndex';
import { graphAt, type ResidualStreamLayout } from './locator';
import {
  DataType,
  defaultOpsetVersion,
  intAttribute,
  intsAttribute,
  int64Tensor,
  makeNode,
  tensorAttribute,
  tensorValueInfo,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './onnxProto';
import * as ort from 'onnxruntime-node';
import { createSession, type ModelSource, type SessionSettings } from './session';

/** Bumped whenever the lens graph changes (part of the cache key). */
export const LENS_VERSION = 1;

export const LENS_INPUT = 'polyglot_lens.hidden'; // float32 [1, n, H]
export const LENS_K_INPUT = 'polyglot_lens.k'; // int64 [1]
export const LENS_TOP_LOGITS = 'top_logits'; // float32 [1, n, k]
export const LENS_TOP_IDS = 'top_ids'; // int64 [1, n, k]
export const LENS_LOG_Z = 'log_z'; // float32 [1, n, 1]: log-sum-exp of the logits

/** Builds the logit-lens model: input hidden [1, n, H] (+ k) -> top-k logits, ids and log Z per row. */
export function buildLogitLensModel(model: ModelProto, layout: ResidualStreamLayout, logitsName = 'logits'): ModelProto {
  const stream = layout.graphs.find((g) => g.path.length === 0) ?? layout.graphs[0];
  if (!stream) throw new ResidualStreamError('The layout names no graph; locate the residual stream first.');
  const g = graphAt(model, stream.path);
  const point = stream.points[layout.numLayers];
  if (!point) throw new ResidualStreamError(`The layout has no point for layer ${layout.numLayers}.`);

  // The value the logits are computed from, in the graph that holds the located residual stream.
  let target: string;
  if (stream.path.length === 0) {
    if (!model.graph.output.some((o) => o.name === logitsName)) {
      throw new OnnxFormatError(`The model has no "${logitsName}" output; the logit lens needs it.`);
    }
    target = logitsName;
  } else {
    const ifNode = model.graph.node[stream.path[0]?.node ?? -1];
    const slot = ifNode?.output.indexOf(logitsName) ?? -1;
    const branchOut = slot >= 0 ? g.output[slot]?.name : undefined;
    if (!branchOut) throw new OnnxFormatError(`The merged decoder's If node does not produce "${logitsName}".`);
    target = branchOut;
  }

  const index = new GraphIndex(g);
  const outerInits = new Map(model.graph.initializer.map((t) => [t.name, t] as const));
  const outerConstNodes = new Map<string, NodeProto>();
  if (stream.path.length > 0) for (const n of model.graph.node) if (n.op_type === 'Constant') for (const o of n.output) outerConstNodes.set(o, n);
  const ownInits = new Map(g.initializer.map((t) => [t.name, t] as const));

  const elem = layout.elemType;
  const hidden = elem === DataType.FLOAT ? LENS_INPUT : 'polyglot_lens.hidden_cast';
  const prelude: NodeProto[] = [];
  if (elem !== DataType.FLOAT) prelude.push(makeNode('Cast', [LENS_INPUT], [hidden], 'polyglot_lens/cast_in', [intAttribute('to', elem)]));

  const rename = new Map<string, string>();
  let fusedIndex = -1;
  let fusedReplacement: NodeProto | null = null;
  if (point.kind === 'tensor') {
    rename.set(point.tensor, hidden);
  } else {
    fusedIndex = point.nodeIndex;
    const f = index.node(point.nodeIndex);
    const zeros = 'polyglot_lens/zero_skip';
    const shape = 'polyglot_lens/hidden_shape';
    prelude.push(makeNode('Shape', [hidden], [shape], 'polyglot_lens/shape'));
    const zero: TensorProto = { name: 'zero', dims: [1], data_type: elem, raw_data: new Uint8Array(elem === DataType.FLOAT ? 4 : elem === DataType.DOUBLE ? 8 : 2) };
    prelude.push(makeNode('ConstantOfShape', [shape], [zeros], 'polyglot_lens/zeros', [tensorAttribute('value', zero)]));
    // input, skip, gamma (+ beta for SkipLayerNormalization); the bias input is dropped: the hidden state
    // already is the sum input + skip + bias.
    const keep = f.op_type === 'SkipLayerNormalization' ? 4 : 3;
    const inputs = [hidden, zeros, ...f.input.slice(2, keep)];
    fusedReplacement = { ...f, input: inputs, output: [f.output[0] ?? ''], attribute: f.attribute.slice(), name: f.name, op_type: f.op_type, domain: f.domain };
    if (!f.output[0]) throw new ResidualStreamError(`The final fused norm "${f.name}" has no normalised output.`);
  }

  const included = new Set<number>();
  const inits = new Map<string, TensorProto>();
  const outerNodes: NodeProto[] = [];
  const stack = [target];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const t = stack.pop() as string;
    if (seen.has(t) || t === '' || rename.has(t)) continue;
    seen.add(t);
    const own = ownInits.get(t);
    if (own) {
      inits.set(t, own);
      continue;
    }
    const use = index.producer.get(t);
    if (use) {
      if (included.has(use.node)) continue;
      included.add(use.node);
      if (use.node === fusedIndex && fusedReplacement) {
        for (const x of fusedReplacement.input.slice(2)) stack.push(x);
        continue;
      }
      for (const x of index.node(use.node).input) stack.push(x);
      continue;
    }
    const outer = outerInits.get(t);
    if (outer && stream.path.length > 0) {
      inits.set(t, outer);
      continue;
    }
    const outerNode = outerConstNodes.get(t);
    if (outerNode) {
      outerNodes.push(outerNode);
      continue;
    }
    throw new ResidualStreamError(
      `The logit lens cannot be built: the computation from the last residual value to "${logitsName}" also reads "${t}", ` +
        'which is a graph input (e.g. an export that selects positions before the unembedding). Export the model with ' +
        'logits for every position.',
    );
  }
  if (point.kind === 'fused-sum' && !included.has(fusedIndex)) {
    throw new ResidualStreamError('The logits do not depend on the final fused norm; the logit lens cannot be built.');
  }

  const body: NodeProto[] = [...outerNodes];
  g.node.forEach((n, i) => {
    if (!included.has(i)) return;
    if (i === fusedIndex && fusedReplacement) body.push(fusedReplacement);
    else body.push({ ...n, input: n.input.map((x) => rename.get(x) ?? x), output: n.output.slice(), attribute: n.attribute.slice(), name: n.name, op_type: n.op_type, domain: n.domain });
  });

  let logitsF = target;
  const post: NodeProto[] = [];
  if (elem !== DataType.FLOAT) {
    logitsF = 'polyglot_lens/logits_f32';
    post.push(makeNode('Cast', [target], [logitsF], 'polyglot_lens/cast_out', [intAttribute('to', DataType.FLOAT)]));
  }
  post.push(
    makeNode('TopK', [logitsF, LENS_K_INPUT], [LENS_TOP_LOGITS, 'polyglot_lens/top_ids'], 'polyglot_lens/topk', [
      intAttribute('axis', -1),
      intAttribute('largest', 1),
      intAttribute('sorted', 1),
    ]),
  );
  post.push(makeNode('Identity', ['polyglot_lens/top_ids'], [LENS_TOP_IDS], 'polyglot_lens/ids'));
  if (defaultOpsetVersion(model) >= 18) {
    inits.set('polyglot_lens/last_axis', int64Tensor('polyglot_lens/last_axis', [1], [-1]));
    post.push(makeNode('ReduceLogSumExp', [logitsF, 'polyglot_lens/last_axis'], [LENS_LOG_Z], 'polyglot_lens/logz', [intAttribute('keepdims', 1)]));
  } else {
    post.push(makeNode('ReduceLogSumExp', [logitsF], [LENS_LOG_Z], 'polyglot_lens/logz', [intsAttribute('axes', [-1]), intAttribute('keepdims', 1)]));
  }

  const graph: GraphProto = {
    name: 'polyglot_lens_logit_lens',
    node: [...prelude, ...body, ...post],
    initializer: [...inits.values()],
    input: [
      tensorValueInfo(LENS_INPUT, DataType.FLOAT, [1, 'rows', layout.hiddenSize]),
      tensorValueInfo(LENS_K_INPUT, DataType.INT64, [1]),
    ],
    output: [
      tensorValueInfo(LENS_TOP_LOGITS, DataType.FLOAT, [1, 'rows', 'k']),
      tensorValueInfo(LENS_TOP_IDS, DataType.INT64, [1, 'rows', 'k']),
      tensorValueInfo(LENS_LOG_Z, DataType.FLOAT, [1, 'rows', 1]),
    ],
    value_info: [],
  };
  return {
    ir_version: model.ir_version,
    opset_import: model.opset_import,
    producer_name: 'polyglot-lens logit lens',
    graph,
  };
}

/** One row of logit-lens output: the k most likely next tokens, best first. */
export interface LensTopK {
  ids: number[];
  logits: number[];
  logProbs: number[]; // natural log of the softmax probability over the whole vocabulary
}

/** A session over the logit-lens graph. */
export class LogitLens {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly hiddenSize: number,
  ) {}

  /** Opens the lens model (built by buildLogitLensModel) with the engine's session settings. */
  static async create(source: ModelSource, hiddenSize: number, settings: SessionSettings = {}): Promise<LogitLens> {
    return new LogitLens(await createSession(source, settings), hiddenSize);
  }

  /** Top-k next tokens for each of n rows of hidden states (rows: float32 [n * H]). */
  async topK(rows: Float32Array, k: number): Promise<LensTopK[]> {
    const H = this.hiddenSize;
    if (rows.length === 0 || rows.length % H !== 0) {
      throw new InvalidArgumentError(`Logit lens rows hold ${rows.length} values; a multiple of the hidden size ${H} was expected.`);
    }
    if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`Logit lens k must be a positive integer, got ${k}.`);
    const n = rows.length / H;
    const out = await this.session.run({
      [LENS_INPUT]: new ort.Tensor('float32', rows, [1, n, H]),
      [LENS_K_INPUT]: new ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]),
    });
    const vals = out[LENS_TOP_LOGITS]?.data as Float32Array;
    const ids = out[LENS_TOP_IDS]?.data as BigInt64Array;
    const logz = out[LENS_LOG_Z]?.data as Float32Array;
    const kk = vals.length / n; // k is capped at the vocabulary size by TopK
    const result: LensTopK[] = [];
    for (let r = 0; r < n; r++) {
      const z = logz[r] ?? 0;
      const rowVals = Array.from(vals.subarray(r * kk, (r + 1) * kk));
      result.push({
        ids: Array.from(ids.subarray(r * kk, (r + 1) * kk), (x) => Number(x)),
        logits: rowVals,
        logProbs: rowVals.map((v) => v - z),
      });
    }
    return result;
  }

  /** Top-k per layer at one position: hiddenStates[k] is float32 [seq * H] for layer k = 0..L. */
  async atPosition(hiddenStates: readonly Float32Array[], position: number, k: number): Promise<LensTopK[]> {
    const H = this.hiddenSize;
    const rows = new Float32Array(hiddenStates.length * H);
    hiddenStates.forEach((h, layer) => {
      const seq = h.length / H;
      if (!Number.isInteger(position) || position < 0 || position >= seq) {
        throw new InvalidArgumentError(`Logit lens position ${position} is outside the ${seq} tokens.`);
      }
      rows.set(h.subarray(position * H, (position + 1) * H), layer * H);
    });
    return this.topK(rows, k);
  }

  /**
   * Top-k at every layer and position: result[layer][position]. hiddenStates[k] is float32 [seq * H]. The
   * rows go through the lens in runs of at most `maxRowsPerRun` (the lens materialises [rows, vocab]
   * logits before its TopK, so a long prompt on a large vocabulary must not go in one run).
   */
  async everyPosition(hiddenStates: readonly Float32Array[], k: number, maxRowsPerRun = 1024): Promise<LensTopK[][]> {
    const H = this.hiddenSize;
    const seq = (hiddenStates[0]?.length ?? 0) / H;
    if (hiddenStates.some((h) => h.length !== seq * H) || !Number.isInteger(seq)) {
      throw new InvalidArgumentError(`Logit lens: every layer's hidden states must hold the same whole number of rows of ${H}.`);
    }
    const all = new Float32Array(hiddenStates.length * seq * H);
    hiddenStates.forEach((h, layer) => all.set(h, layer * seq * H));
    const total = hiddenStates.length * seq;
    const step = Math.max(1, Math.floor(maxRowsPerRun));
    const rows: LensTopK[] = [];
    for (let start = 0; start < total; start += step) {
      const end = Math.min(total, start + step);
      rows.push(...(await this.topK(all.slice(start * H, end * H), k)));
    }
    return hiddenStates.map((_, layer) => rows.slice(layer * seq, (layer + 1) * seq));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
