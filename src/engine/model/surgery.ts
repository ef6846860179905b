/**
 * Graph surgery: exposes every layer's residual stream as a graph output and adds a steering input to it.
 *
 * For each layer k = 0..L (see locator.ts for the convention):
 * - input `steer.{k}`: float32 [batch|1, seq|1, hidden], broadcast and added to the residual at k. Every
 *   steer input is required: a layer that is not steered gets zeros [1, 1, hidden] (steering.ts builds the
 *   feeds). A zero-valued initializer doubling as an overridable default would be nicer, but
 *   onnxruntime-node only forwards feeds named in `session.inputNames`, which omits such inputs.
 * - output `hidden_states.{k}`: float32 [batch, seq, hidden], the residual AFTER the steering add.
 *
 * Every consumer of the original residual reads the steered one. For a plain tensor the producer's output
 * is renamed and an Add(renamed, steer) re-creates the original name, so consumers anywhere (including
 * If branches that read it from the outer scope) see the steered value without being touched. For the
 * sum inside a fused Skip*Normalization node the steer is added to the node's first input, so both the
 * sum (output 3) and the normalised output are computed from the steered residual.
 *
 * Adding an all-zero tensor is exact in IEEE arithmetic (x + 0 == x), which is why a zero steer gives
 * logits bit-identical to the unmodified model.
 *
 * The input model is not modified: patched graphs, nodes and lists are new objects sharing the untouched
 * parts (tensors, weights) with the input.
 */
import { SurgeryError } from './errors';
import { collectAllNames, GraphIndex } from './graphIndex';
import { SKIP_SUM_OUTPUT, type GraphResidualStream, type ResidualStreamLayout } from './locator';
import {
  DataType,
  intAttribute,
  makeNode,
  tensorValueInfo,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type ValueInfoProto,
} from './onnxProto';

/** Bumped whenever the surgered graph changes, so cached surgered models are rebuilt. */
export const SURGERY_VERSION = 1;

/** Which additions to make: hidden-state outputs (analysis) and/or steering inputs (generation). */
export interface SurgeryOptions {
  hiddenStates: boolean;
  steering: boolean;
}

/** The two model variants the engine uses: analysis (both) and fast generation (steering only). */
export type SurgeryVariant = 'inspect' | 'steer';

/** Surgery options of a variant. */
export function variantOptions(variant: SurgeryVariant): SurgeryOptions {
  return variant === 'inspect' ? { hiddenStates: true, steering: true } : { hiddenStates: false, steering: true };
}

/** Name of the graph output holding the residual stream at layer k (k = 0..L), float32 [batch, seq, hidden]. */
export function hiddenStateName(k: number): string {
  return `hidden_states.${k}`;
}

/** Name of the graph input added to the residual stream at layer k, float32 [batch|1, seq|1, hidden]. */
export function steerInputName(k: number): string {
  return `steer.${k}`;
}

/** Metadata key under which surgery records what it did (JSON). */
export const SURGERY_METADATA_KEY = 'polyglot_lens.surgery';

/** Returns a new model with hidden-state outputs and/or steering inputs for layers 0..L of `layout`. */
export function surgerModel(model: ModelProto, layout: ResidualStreamLayout, options: SurgeryOptions): ModelProto {
  if (!options.hiddenStates && !options.steering) return model;
  const names = collectAllNames(model.graph);
  const fresh = (base: string): string => {
    let n = base;
    for (let i = 1; names.has(n); i++) n = `${base}_${i}`;
    names.add(n);
    return n;
  };
  for (let k = 0; k <= layout.numLayers; k++) {
    for (const reserved of [steerInputName(k), hiddenStateName(k)]) {
      if (names.has(reserved)) {
        throw new SurgeryError(
          `The model already has a value named "${reserved}"; it looks surgered already. Point the engine at the original model file.`,
        );
      }
      names.add(reserved);
    }
  }

  const mainStream = layout.graphs.find((g) => g.path.length === 0);
  const branchStreams = layout.graphs.filter((g) => g.path.length === 1);
  if (layout.graphs.some((g) => g.path.length > 1)) {
    throw new SurgeryError('Residual streams nested deeper than one If level are not supported.');
  }

  let mainGraph: GraphProto = model.graph;
  const mainExtraOutputs: ValueInfoProto[] = [];
  const hiddenType = (name: string): ValueInfoProto =>
    tensorValueInfo(name, DataType.FLOAT, ['batch_size', 'sequence_length', layout.hiddenSize]);

  if (mainStream) {
    const patched = patchGraph(mainGraph, mainStream, layout, options, fresh, (k) => hiddenStateName(k));
    mainGraph = patched.graph;
    for (const out of patched.hiddenOutputs) mainExtraOutputs.push(hiddenType(out));
  }

  if (branchStreams.length > 0) {
    // Group branch streams by their If node: both branches must be patched, and the If node gets one
    // output per layer whose value comes from the patched branch outputs (matched by position).
    const byNode = new Map<number, GraphResidualStream[]>();
    for (const s of branchStreams) {
      const step = s.path[0];
      if (!step) continue;
      byNode.set(step.node, [...(byNode.get(step.node) ?? []), s]);
    }
    const nodes = mainGraph.node.slice();
    for (const [nodeIndex, streams] of byNode) {
      const ifNode = nodes[nodeIndex];
      if (!ifNode) throw new SurgeryError(`If node ${nodeIndex} vanished during surgery.`);
      const branchNames = ifNode.attribute.filter((a) => a.g).map((a) => a.name);
      const located = new Set(streams.map((s) => s.path[0]?.attribute));
      const missing = branchNames.filter((b) => !located.has(b));
      if (missing.length > 0) {
        throw new SurgeryError(
          `The If node "${ifNode.name}" has branches without a located residual stream (${missing.join(', ')}); ` +
            'both branches of a merged decoder must be patched. Name the tensors in polyglot-lens.json.',
        );
      }
      const newAttributes: AttributeProto[] = ifNode.attribute.map((a) => {
        const stream = streams.find((s) => s.path[0]?.attribute === a.name);
        if (!a.g || !stream) return a;
        const patched = patchGraph(a.g, stream, layout, options, fresh, (k) => fresh(`${hiddenStateName(k)}/${a.name}`));
        const g: GraphProto = { ...copyGraph(patched.graph) };
        g.output = [...patched.graph.output, ...patched.hiddenOutputs.map(hiddenType)];
        return { ...copyAttribute(a), g };
      });
      const newOutputs = options.hiddenStates
        ? Array.from({ length: layout.numLayers + 1 }, (_, k) => hiddenStateName(k))
        : [];
      nodes[nodeIndex] = { ...copyNode(ifNode), attribute: newAttributes, output: [...ifNode.output, ...newOutputs] };
      for (const o of newOutputs) mainExtraOutputs.push(hiddenType(o));
    }
    mainGraph = { ...copyGraph(mainGraph), node: nodes };
  }

  const steerInputs: ValueInfoProto[] = [];
  if (options.steering) {
    for (let k = 0; k <= layout.numLayers; k++) {
      steerInputs.push(tensorValueInfo(steerInputName(k), DataType.FLOAT, ['steer_batch', 'steer_sequence', layout.hiddenSize]));
    }
  }
  const graph: GraphProto = {
    ...copyGraph(mainGraph),
    input: [...mainGraph.input, ...steerInputs],
    output: [...mainGraph.output, ...mainExtraOutputs],
  };
  const record = JSON.stringify({
    version: SURGERY_VERSION,
    numLayers: layout.numLayers,
    hiddenSize: layout.hiddenSize,
    hiddenStates: options.hiddenStates,
    steering: options.steering,
    source: layout.source,
  });
  return {
    ...copyModel(model),
    graph,
    metadata_props: [...(model.metadata_props ?? []).filter((p) => p.key !== SURGERY_METADATA_KEY), { key: SURGERY_METADATA_KEY, value: record }],
  };
}

/** Patches one graph; hidden-state values are produced under the names `hiddenName(k)` (not yet graph outputs). */
function patchGraph(
  graph: GraphProto,
  stream: GraphResidualStream,
  layout: ResidualStreamLayout,
  options: SurgeryOptions,
  fresh: (base: string) => string,
  hiddenName: (k: number) => string,
): { graph: GraphProto; hiddenOutputs: string[] } {
  const index = new GraphIndex(graph);
  const before = new Map<number, NodeProto[]>();
  const after = new Map<number, NodeProto[]>();
  const replaced = new Map<number, NodeProto>();
  const prelude: NodeProto[] = [];
  const hiddenOutputs: string[] = [];
  const push = (m: Map<number, NodeProto[]>, i: number, n: NodeProto): void => {
    m.set(i, [...(m.get(i) ?? []), n]);
  };
  const nodeFor = (i: number): NodeProto => replaced.get(i) ?? copyNode(index.node(i));
  const needsCast = layout.elemType !== DataType.FLOAT;

  stream.points.forEach((point, k) => {
    let steerValue = steerInputName(k);
    if (options.steering && needsCast) {
      // Steering vectors are float32; a float16 model adds them in its own precision.
      const cast = fresh(`polyglot_lens/steer.${k}/cast`);
      prelude.push(makeNode('Cast', [steerValue], [cast], fresh(`polyglot_lens/steer_cast.${k}`), [intAttribute('to', layout.elemType)]));
      steerValue = cast;
    }
    const expose = (value: string, at: number): void => {
      if (!options.hiddenStates) return;
      const out = hiddenName(k);
      const op = needsCast ? 'Cast' : 'Identity';
      const attrs = needsCast ? [intAttribute('to', DataType.FLOAT)] : [];
      push(after, at, makeNode(op, [value], [out], fresh(`polyglot_lens/hidden_states.${k}`), attrs));
      hiddenOutputs.push(out);
    };

    if (point.kind === 'tensor') {
      const use = index.producer.get(point.tensor);
      if (!use) {
        throw new SurgeryError(
          `The residual tensor "${point.tensor}" (layer ${k}) in ${stream.label} is not produced by a node ` +
            '(a graph input or initializer cannot be steered); name a node output in polyglot-lens.json.',
        );
      }
      if (options.steering) {
        const pre = fresh(`${point.tensor}/pre_steer`);
        const node = nodeFor(use.node);
        node.output = node.output.map((o, slot) => (slot === use.slot ? pre : o));
        replaced.set(use.node, node);
        push(after, use.node, makeNode('Add', [pre, steerValue], [point.tensor], fresh(`polyglot_lens/steer_add.${k}`)));
      }
      expose(point.tensor, use.node);
    } else {
      const node = nodeFor(point.nodeIndex);
      if (options.steering) {
        const first = node.input[0];
        if (!first) throw new SurgeryError(`Fused node "${point.nodeName}" in ${stream.label} has no first input.`);
        const steered = fresh(`${first}/steered.${k}`);
        push(before, point.nodeIndex, makeNode('Add', [first, steerValue], [steered], fresh(`polyglot_lens/steer_add.${k}`)));
        node.input = [steered, ...node.input.slice(1)];
      }
      let sum = node.output[SKIP_SUM_OUTPUT];
      if (options.hiddenStates && !sum) {
        sum = fresh(`polyglot_lens/residual.${k}`);
        const outputs = node.output.slice();
        while (outputs.length < SKIP_SUM_OUTPUT) outputs.push('');
        outputs[SKIP_SUM_OUTPUT] = sum;
        node.output = outputs;
      }
      replaced.set(point.nodeIndex, node);
      if (sum) expose(sum, point.nodeIndex);
    }
  });

  const nodes: NodeProto[] = [...prelude];
  graph.node.forEach((n, i) => {
    nodes.push(...(before.get(i) ?? []), replaced.get(i) ?? n, ...(after.get(i) ?? []));
  });
  return { graph: { ...copyGraph(graph), node: nodes }, hiddenOutputs };
}

// Shallow copies that turn protobufjs messages (whose unset fields live on the prototype) into plain
// objects with every field the engine reads or writes present as an own property.
function copyNode(n: NodeProto): NodeProto {
  const out: NodeProto = {
    name: n.name,
    op_type: n.op_type,
    domain: n.domain,
    input: n.input.slice(),
    output: n.output.slice(),
    attribute: n.attribute.slice(),
  };
  if (n.doc_string) out.doc_string = n.doc_string;
  return out;
}

function copyAttribute(a: AttributeProto): AttributeProto {
  const out: AttributeProto = { name: a.name, type: a.type };
  const keys: Array<keyof AttributeProto> = ['f', 'i', 's', 't', 'g', 'floats', 'ints', 'strings', 'graphs'];
  for (const key of keys) {
    if (Object.prototype.hasOwnProperty.call(a, key)) (out as unknown as Record<string, unknown>)[key] = a[key];
  }
  const extra = a as unknown as Record<string, unknown>;
  for (const key of ['doc_string', 'ref_attr_name', 'tensors', 'sparse_tensor', 'sparse_tensors', 'tp', 'type_protos']) {
    if (Object.prototype.hasOwnProperty.call(a, key)) (out as unknown as Record<string, unknown>)[key] = extra[key];
  }
  return out;
}

function copyGraph(g: GraphProto): GraphProto {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(g)) out[key] = (g as unknown as Record<string, unknown>)[key];
  const graph = out as unknown as GraphProto;
  graph.name = g.name;
  graph.node = g.node;
  graph.initializer = g.initializer;
  graph.input = g.input;
  graph.output = g.output;
  graph.value_info = g.value_info;
  return graph;
}

function copyModel(m: ModelProto): ModelProto {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(m)) out[key] = (m as unknown as Record<string, unknown>)[key];
  const model = out as unknown as ModelProto;
  model.ir_version = m.ir_version;
  model.opset_import = m.opset_import;
  model.graph = m.graph;
  return model;
}
