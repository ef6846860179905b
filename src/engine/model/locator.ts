/**
 * ResidualStreamLocator: finds each decoder block's residual-stream value in an ONNX graph, structurally.
 *
 * Start at the embedding Gather on `input_ids` (optionally followed by a scale Mul, a positional-embedding
 * Add, an embedding norm or an input projection), then follow the residual additions: at each step the next residual is the Add
 * that consumes the current residual together with a value computed from it (the attention or MLP branch),
 * or a fused Skip(Simplified)LayerNormalization that takes the current residual as input or skip — its
 * output 3 is the sum. A pre-norm block adds twice (attention, MLP), so the chain has 2L additions for L
 * blocks; a parallel-residual block adds once. The count is checked against config.json.
 *
 * Layer convention: k = 0 is the embeddings output, k = L the last block's output (before the final norm);
 * hidden_states.{k+1} is the output of block k, which is llama.cpp's direction.{k}.
 *
 * Optimum's If-merged decoders (`decoder_model_merged.onnx`) hold the decoder twice, in the then and else
 * branches of an If node: each branch is located separately and both are patched.
 */
import { ResidualStreamError, LOCATOR_OVERRIDE_FILE } from './errors';
import { GraphIndex } from './graphIndex';
import { DataType, int64ToNumber, valueInfoElemType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './onnxProto';

/** Fused ops whose output 3 is the residual sum input + skip (+ bias). */
export const SKIP_NORM_OPS: ReadonlySet<string> = new Set(['SkipLayerNormalization', 'SkipSimplifiedLayerNormalization']);
/** Index of the residual sum among a fused Skip*Normalization node's outputs. */
export const SKIP_SUM_OUTPUT = 3;

/** One residual-stream value: a named tensor, or output 3 of a fused Skip*Normalization node (maybe unnamed). */
export type ResidualPoint =
  | { kind: 'tensor'; tensor: string }
  | { kind: 'fused-sum'; nodeIndex: number; nodeName: string; opType: string; sumOutput: string | null };

/** A step from a graph into a subgraph: node index in the parent graph and the attribute holding the subgraph. */
export interface GraphPathStep {
  node: number;
  attribute: string;
}

/** The residual stream of one graph (the main graph, or one branch of an If-merged decoder). */
export interface GraphResidualStream {
  path: GraphPathStep[]; // [] = main graph
  label: string; // for messages: "main graph" or 'If "name" then_branch'
  points: ResidualPoint[]; // L + 1 entries: k = 0 (embeddings output) .. L (last block's output)
  chain: ResidualPoint[]; // every residual sum found, including the mid-block (after-attention) ones
}

/** Where the residual stream is, for every graph that holds a copy of the decoder. */
export interface ResidualStreamLayout {
  numLayers: number; // L (decoder blocks)
  hiddenSize: number; // H
  elemType: number; // ONNX data type of the residual (FLOAT for fp32 models)
  sumsPerBlock: 1 | 2;
  source: 'structure' | 'override';
  graphs: GraphResidualStream[];
}

/** Override naming the residual tensors, read from polyglot-lens.json (`residualStream.tensors`). */
export interface LocatorOverride {
  /** L + 1 entries, k = 0 .. L: a tensor name, or {node} for output 3 of a fused Skip*Normalization node. */
  tensors: Array<string | { node: string }>;
}

/** What the locator knows besides the graph (from config.json and the model folder). */
export interface LocateOptions {
  numLayers?: number; // from config.json; checked against the graph
  hiddenSize?: number; // from config.json; used when the embedding table is not an initializer
  override?: LocatorOverride | null;
  inputIdsName?: string; // default "input_ids"
  modelLabel?: string; // shown in error messages (the model folder)
}

/** Finds the residual stream of a decoder-only model; throws ResidualStreamError saying how to override. */
export function locateResidualStream(model: ModelProto, options: LocateOptions = {}): ResidualStreamLayout {
  const inputIds = options.inputIdsName ?? 'input_ids';
  const candidates = candidateGraphs(model.graph);
  const label = options.modelLabel ?? 'the model';

  if (options.override) return locateFromOverride(candidates, options.override, options, label);

  const found: Array<{ graph: Candidate; chain: ResidualPoint[]; table: TensorProto | null; index: GraphIndex }> = [];
  const failures: string[] = [];
  for (const c of candidates) {
    const index = new GraphIndex(c.graph, c.outerConstants);
    const emb = findEmbeddingGather(index, inputIds, c.outerInitializers);
    if (emb === null) continue;
    const chain = followResidualChain(index, emb.output);
    if (chain.length < 2) {
      failures.push(
        `${c.label}: the embedding Gather "${emb.node.name || emb.node.output[0]}" is followed by no residual addition ` +
          '(no Add of a value with a branch computed from it, no fused SkipLayerNormalization)',
      );
      continue;
    }
    found.push({ graph: c, chain, table: emb.table, index });
  }
  if (found.length === 0) {
    const why = failures.length > 0 ? failures.join('; ') : `no Gather node reads the graph input "${inputIds}"`;
    throw new ResidualStreamError(
      `Could not find the residual stream of ${label}: ${why}. ${overrideHint(options.numLayers)}`,
    );
  }

  const first = found[0];
  if (!first) throw new ResidualStreamError(`Could not find the residual stream of ${label}.`);
  const sums = first.chain.length - 1;
  for (const f of found) {
    if (f.chain.length - 1 !== sums) {
      throw new ResidualStreamError(
        `The decoder copies in ${label} disagree: ${found.map((x) => `${x.graph.label} has ${x.chain.length - 1} residual sums`).join(', ')}. ${overrideHint(options.numLayers)}`,
      );
    }
  }
  const sumsPerBlock = decideSumsPerBlock(sums, options.numLayers, label, first.chain);
  const numLayers = sums / sumsPerBlock;
  const hiddenSize = hiddenSizeOf(first.table, options.hiddenSize, label);
  const elemType = residualElemType(first.table, first.index, first.chain[0]);
  return {
    numLayers,
    hiddenSize,
    elemType,
    sumsPerBlock,
    source: 'structure',
    graphs: found.map((f) => ({
      path: f.graph.path,
      label: f.graph.label,
      chain: f.chain,
      points: f.chain.filter((_, i) => i % sumsPerBlock === 0),
    })),
  };
}

/** The text appended to every locator error: how to name the residual tensors by hand. */
export function overrideHint(numLayers?: number): string {
  const n = numLayers !== undefined ? `${numLayers + 1}` : 'L + 1';
  return (
    `If this is a decoder-only model whose graph the locator does not recognise, name its residual-stream tensors in ` +
    `${LOCATOR_OVERRIDE_FILE} in the model folder: {"residualStream": {"tensors": ["<embeddings output>", ` +
    `"<output of block 0>", ..., "<output of the last block>"]}} (${n} names, before the final norm; ` +
    `{"node": "<name>"} stands for output 3 of a fused Skip*LayerNormalization node). ` +
    'Netron shows the tensor names.'
  );
}

interface Candidate {
  graph: GraphProto;
  path: GraphPathStep[];
  label: string;
  outerConstants: ReadonlySet<string>;
  outerInitializers: ReadonlyMap<string, TensorProto>;
}

/** The main graph, then the branches of its If nodes (one level: Optimum's merged decoders). */
function candidateGraphs(main: GraphProto): Candidate[] {
  const out: Candidate[] = [{ graph: main, path: [], label: 'main graph', outerConstants: new Set(), outerInitializers: new Map() }];
  const mainInitializers = new Map(main.initializer.map((t) => [t.name, t] as const));
  const inputs = new Set(main.input.map((i) => i.name));
  const outer = new Set(main.initializer.map((t) => t.name).filter((n) => !inputs.has(n)));
  for (const n of main.node) if (n.op_type === 'Constant') for (const o of n.output) outer.add(o);
  main.node.forEach((n, i) => {
    if (n.op_type !== 'If') return;
    for (const a of n.attribute) {
      if (a.g && (a.name === 'then_branch' || a.name === 'else_branch')) {
        out.push({
          graph: a.g,
          path: [{ node: i, attribute: a.name }],
          label: `If "${n.name}" ${a.name}`,
          outerConstants: outer,
          outerInitializers: mainInitializers,
        });
      }
    }
  });
  return out;
}

/** The graph (main or subgraph) a path points to. */
export function graphAt(model: ModelProto, path: GraphPathStep[]): GraphProto {
  let g = model.graph;
  for (const step of path) {
    const node = g.node[step.node];
    const sub = node?.attribute.find((a) => a.name === step.attribute)?.g;
    if (!sub) throw new ResidualStreamError(`Graph path ${JSON.stringify(path)} does not exist in the model.`);
    g = sub;
  }
  return g;
}

/** Finds the Gather that reads token ids; returns its output (after an embedding-scale/position/norm prefix). */
function findEmbeddingGather(
  index: GraphIndex,
  inputIds: string,
  outer: ReadonlyMap<string, TensorProto>,
): { node: NodeProto; output: string; table: TensorProto | null } | null {
  const hits: NodeProto[] = [];
  for (const n of index.graph.node) {
    if (n.op_type !== 'Gather' && n.op_type !== 'GatherBlockQuantized') continue;
    let ids = n.input[1] ?? '';
    // Some exports cast or reshape the ids before the lookup.
    for (let p = index.producerOf(ids); p && (p.op_type === 'Cast' || p.op_type === 'Identity'); p = index.producerOf(ids)) {
      ids = p.input[0] ?? '';
    }
    if (ids === inputIds && index.isConstant(n.input[0] ?? '')) hits.push(n);
  }
  const node = hits[0];
  if (!node) return null;
  if (hits.length > 1) {
    throw new ResidualStreamError(
      `Several Gather nodes read "${inputIds}" from constant tables (${hits.map((h) => h.name || h.output[0]).join(', ')}); ` +
        `the locator cannot tell which is the token embedding. ${overrideHint()}`,
    );
  }
  let out = node.output[0] ?? '';
  let projected = false;
  // Walk the embedding prefix: values with a single consumer that only rescale, cast, add a positional
  // embedding or normalise the embeddings before the first block.
  for (;;) {
    const uses = index.consumersOf(out);
    if (uses.length !== 1) break;
    const use = uses[0];
    if (!use) break;
    const n = index.node(use.node);
    const other = n.input[1 - use.slot] ?? '';
    const isScale = (n.op_type === 'Mul' || (n.op_type === 'Div' && use.slot === 0)) && index.isConstant(other);
    const isPosition = n.op_type === 'Add' && !index.dependsOn(other, new Set([out]));
    const isPassThrough = n.op_type === 'Cast' || n.op_type === 'Identity';
    const isEmbeddingNorm = (n.op_type === 'LayerNormalization' || n.op_type === 'SimplifiedLayerNormalization') && use.slot === 0;
    // OPT-350m projects its embeddings up to the model width (project_in) before the first block.
    const isProjection = n.op_type === 'MatMul' && use.slot === 0 && index.isConstant(other);
    if (!(isScale || isPosition || isPassThrough || isEmbeddingNorm || isProjection)) break;
    projected ||= isProjection;
    out = n.output[0] ?? '';
  }
  // After a projection the table's width is not the residual width: the caller then uses config.json.
  return { node, output: out, table: projected ? null : findInitializer(index, node.input[0] ?? '', outer) };
}

function findInitializer(index: GraphIndex, name: string, outer: ReadonlyMap<string, TensorProto>): TensorProto | null {
  // A quantized or cast table resolves to its source initializer; branches read the main graph's.
  const g = index.graph;
  const t = g.initializer.find((x) => x.name === name);
  if (t) return t;
  const p = index.producerOf(name);
  if (p && (p.op_type === 'DequantizeLinear' || p.op_type === 'Cast')) return findInitializer(index, p.input[0] ?? '', outer);
  return outer.get(name) ?? null;
}

/** Follows residual sums from the embeddings output; returns [embeddings, sum 1, sum 2, ...]. */
function followResidualChain(index: GraphIndex, embeddings: string): ResidualPoint[] {
  const chain: ResidualPoint[] = [{ kind: 'tensor', tensor: embeddings }];
  const visited = new Set<number>();
  for (;;) {
    const current = chain[chain.length - 1] as ResidualPoint;
    const value = current.kind === 'tensor' ? current.tensor : current.sumOutput;
    if (!value) break; // an unnamed fused sum is consumed by nothing: the chain ends there
    const owned = new Set<string>(current.kind === 'tensor' ? [current.tensor] : index.node(current.nodeIndex).output.filter((o) => o));
    const uses = index.consumersOf(value);

    const fused = uses.filter((u) => u.slot <= 1 && SKIP_NORM_OPS.has(index.node(u.node).op_type));
    let next: ResidualPoint | null = null;
    if (fused.length > 1) {
      throw new ResidualStreamError(
        `The residual value "${value}" feeds ${fused.length} fused Skip*Normalization nodes; the locator expects one. ${overrideHint()}`,
      );
    }
    const f = fused[0];
    if (f) {
      const n = index.node(f.node);
      const sum = n.output[SKIP_SUM_OUTPUT];
      next = { kind: 'fused-sum', nodeIndex: f.node, nodeName: n.name, opType: n.op_type, sumOutput: sum ? sum : null };
      if (visited.has(f.node)) break;
      visited.add(f.node);
    } else {
      const adds = uses.filter((u) => {
        const n = index.node(u.node);
        if (n.op_type !== 'Add' || u.slot > 1 || n.input.length !== 2) return false;
        const other = n.input[1 - u.slot] ?? '';
        return !index.isConstant(other) && index.dependsOn(other, owned);
      });
      if (adds.length > 1) {
        const names = adds.map((a) => index.node(a.node).name || index.node(a.node).output[0]).join(', ');
        throw new ResidualStreamError(
          `The residual value "${value}" is added to a value computed from it in ${adds.length} places (${names}); ` +
            `the locator cannot tell which is the residual connection. ${overrideHint()}`,
        );
      }
      const a = adds[0];
      if (!a) break;
      if (visited.has(a.node)) break;
      visited.add(a.node);
      next = { kind: 'tensor', tensor: index.node(a.node).output[0] ?? '' };
    }
    chain.push(next);
  }
  return chain;
}

function decideSumsPerBlock(sums: number, numLayers: number | undefined, label: string, chain: ResidualPoint[]): 1 | 2 {
  if (numLayers !== undefined) {
    if (sums === 2 * numLayers) return 2;
    if (sums === numLayers) return 1;
    throw new ResidualStreamError(
      `Found ${sums} residual sums in ${label} (last: ${describePoint(chain[chain.length - 1])}), but config.json says ` +
        `num_hidden_layers = ${numLayers}: a decoder adds to its residual stream ${2 * numLayers} times ` +
        `(attention and MLP) or ${numLayers} times (parallel blocks). ${overrideHint(numLayers)}`,
    );
  }
  if (sums > 0 && sums % 2 === 0) return 2; // pre-norm attention + MLP blocks, by far the common case
  return 1;
}

function describePoint(p: ResidualPoint | undefined): string {
  if (!p) return 'none';
  return p.kind === 'tensor' ? `"${p.tensor}"` : `output 3 of ${p.opType} "${p.nodeName}"`;
}

function hiddenSizeOf(table: TensorProto | null, fromConfig: number | undefined, label: string): number {
  const dims = table?.dims.map((d) => int64ToNumber(d)) ?? [];
  const last = dims.length === 2 ? dims[1] : undefined;
  if (last !== undefined && last > 0 && table?.data_type !== DataType.UINT8) {
    if (fromConfig !== undefined && fromConfig !== last) {
      throw new ResidualStreamError(
        `The embedding table of ${label} has ${last} columns but config.json says hidden_size = ${fromConfig}; ` +
          'is config.json from another model?',
      );
    }
    return last;
  }
  if (fromConfig !== undefined) return fromConfig;
  throw new ResidualStreamError(`Cannot tell the hidden size of ${label}: add hidden_size to config.json.`);
}

function residualElemType(table: TensorProto | null, index: GraphIndex, first: ResidualPoint | undefined): number {
  if (first?.kind === 'tensor') {
    const vi = [...index.graph.value_info, ...index.graph.output].find((v) => v.name === first.tensor);
    const t = valueInfoElemType(vi);
    if (t !== null && t !== 0) return t;
  }
  const t = table?.data_type;
  if (t === DataType.FLOAT16 || t === DataType.BFLOAT16 || t === DataType.DOUBLE) return t;
  return DataType.FLOAT;
}

function locateFromOverride(
  candidates: Candidate[],
  override: LocatorOverride,
  options: LocateOptions,
  label: string,
): ResidualStreamLayout {
  const L = options.numLayers;
  if (!Array.isArray(override.tensors) || override.tensors.length < 2) {
    throw new ResidualStreamError(`${LOCATOR_OVERRIDE_FILE}: residualStream.tensors must list the L + 1 residual tensors (k = 0 .. L).`);
  }
  if (L !== undefined && override.tensors.length !== L + 1) {
    throw new ResidualStreamError(
      `${LOCATOR_OVERRIDE_FILE} names ${override.tensors.length} residual tensors, but config.json says num_hidden_layers = ${L}: ` +
        `list ${L + 1} (k = 0 is the embeddings output, k = ${L} the last block's output).`,
    );
  }
  const graphs: GraphResidualStream[] = [];
  const missingPerGraph: string[] = [];
  let firstIndex: GraphIndex | null = null;
  for (const c of candidates) {
    const index = new GraphIndex(c.graph, c.outerConstants);
    const points: ResidualPoint[] = [];
    const missing: string[] = [];
    for (const entry of override.tensors) {
      const p = resolveOverrideEntry(index, entry);
      if (p) points.push(p);
      else missing.push(typeof entry === 'string' ? entry : `{"node": "${entry.node}"}`);
    }
    if (missing.length === 0) {
      graphs.push({ path: c.path, label: c.label, points, chain: points });
      firstIndex ??= index;
    } else if (missing.length < override.tensors.length) {
      missingPerGraph.push(`${c.label} lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`);
    }
  }
  if (graphs.length === 0 || !firstIndex) {
    throw new ResidualStreamError(
      `${LOCATOR_OVERRIDE_FILE} names residual tensors that ${label} does not produce` +
        `${missingPerGraph.length ? ` (${missingPerGraph.join('; ')})` : ''}. Check the names in Netron; ` +
        'entries must be outputs of nodes (not graph inputs or initializers).',
    );
  }
  const numLayers = override.tensors.length - 1;
  const hiddenSize = options.hiddenSize;
  if (hiddenSize === undefined) {
    throw new ResidualStreamError(`With ${LOCATOR_OVERRIDE_FILE}, config.json must give hidden_size.`);
  }
  return {
    numLayers,
    hiddenSize,
    elemType: residualElemType(null, firstIndex, graphs[0]?.points[0]),
    sumsPerBlock: 1,
    source: 'override',
    graphs,
  };
}

function resolveOverrideEntry(index: GraphIndex, entry: string | { node: string }): ResidualPoint | null {
  if (typeof entry === 'string') {
    const use = index.producer.get(entry);
    if (!use) return null;
    const n = index.node(use.node);
    if (SKIP_NORM_OPS.has(n.op_type) && use.slot === SKIP_SUM_OUTPUT) {
      return { kind: 'fused-sum', nodeIndex: use.node, nodeName: n.name, opType: n.op_type, sumOutput: entry };
    }
    return { kind: 'tensor', tensor: entry };
  }
  const i = index.graph.node.findIndex((n) => n.name === entry.node);
  const n = index.graph.node[i];
  if (!n) return null;
  if (!SKIP_NORM_OPS.has(n.op_type)) {
    throw new ResidualStreamError(
      `${LOCATOR_OVERRIDE_FILE}: node "${entry.node}" is a ${n.op_type}; {"node": ...} entries must name a SkipLayerNormalization ` +
        'or SkipSimplifiedLayerNormalization node. Name other residual values by their tensor name.',
    );
  }
  const sum = n.output[SKIP_SUM_OUTPUT];
  return { kind: 'fused-sum', nodeIndex: i, nodeName: n.name, opType: n.op_type, sumOutput: sum ? sum : null };
}
