/**
 * Lookup tables over one ONNX graph: which node produces a value, which nodes consume it, which values
 * are constants. Subgraphs (If branches) see the outer scope's initializers as constants, since ONNX
 * lets a branch read outer-scope names.
 */
import type { GraphProto, NodeProto } from './onnxProto';

/** Where a value is produced or consumed: node index and input/output slot. */
export interface ValueUse {
  node: number; // index into graph.node
  slot: number; // input or output position
}

/** Producer/consumer index over a graph's nodes; node indices refer to graph.node at construction time. */
export class GraphIndex {
  readonly graph: GraphProto;
  readonly producer = new Map<string, ValueUse>();
  readonly consumers = new Map<string, ValueUse[]>();
  readonly graphInputs: Set<string>;
  readonly initializers: Set<string>;
  private readonly outerConstants: ReadonlySet<string>;
  private readonly constCache = new Map<string, boolean>();

  constructor(graph: GraphProto, outerConstants: ReadonlySet<string> = new Set()) {
    this.graph = graph;
    this.outerConstants = outerConstants;
    this.graphInputs = new Set(graph.input.map((i) => i.name));
    this.initializers = new Set(graph.initializer.map((t) => t.name));
    graph.node.forEach((n, i) => {
      n.output.forEach((o, slot) => {
        if (o) this.producer.set(o, { node: i, slot });
      });
      n.input.forEach((name, slot) => {
        if (!name) return;
        const list = this.consumers.get(name);
        if (list) list.push({ node: i, slot });
        else this.consumers.set(name, [{ node: i, slot }]);
      });
    });
  }

  node(i: number): NodeProto {
    const n = this.graph.node[i];
    if (!n) throw new RangeError(`node index ${i} out of range`);
    return n;
  }

  consumersOf(value: string): ValueUse[] {
    return this.consumers.get(value) ?? [];
  }

  producerOf(value: string): NodeProto | undefined {
    const p = this.producer.get(value);
    return p ? this.node(p.node) : undefined;
  }

  /** True when a value is fixed at load time: an initializer (here or in an outer scope) or computed only from such. */
  isConstant(value: string): boolean {
    const cached = this.constCache.get(value);
    if (cached !== undefined) return cached;
    // Initializers that are also graph inputs can be overridden by a feed, so they are not constants.
    let result: boolean;
    if (this.initializers.has(value)) result = !this.graphInputs.has(value);
    else if (this.graphInputs.has(value)) result = false;
    else if (this.outerConstants.has(value)) result = true;
    else {
      const p = this.producerOf(value);
      if (!p) result = false;
      else if (p.op_type === 'Constant') result = true;
      else if (p.op_type === 'Shape' || p.op_type === 'Size') result = false;
      else {
        this.constCache.set(value, false); // guards against cycles in malformed graphs
        result = p.input.every((x) => x === '' || this.isConstant(x));
      }
    }
    this.constCache.set(value, result);
    return result;
  }

  /** True when `value` is computed (through any path) from one of `targets`; stops at constants and inputs. */
  dependsOn(value: string, targets: ReadonlySet<string>): boolean {
    const seen = new Set<string>();
    const stack = [value];
    while (stack.length > 0) {
      const v = stack.pop() as string;
      if (targets.has(v)) return true;
      if (seen.has(v)) continue;
      seen.add(v);
      const p = this.producer.get(v);
      if (!p) continue;
      const n = this.node(p.node);
      for (const x of n.input) if (x && !seen.has(x) && !this.isConstant(x)) stack.push(x);
    }
    return false;
  }

  /** Every value name produced or declared anywhere in this graph (for picking fresh names). */
  allNames(): Set<string> {
    const names = new Set<string>([...this.graphInputs, ...this.initializers, ...this.producer.keys()]);
    for (const o of this.graph.output) names.add(o.name);
    return names;
  }
}

/** The names of all values defined in a graph and its subgraphs (ONNX names are one namespace for SSA). */
export function collectAllNames(graph: GraphProto, into: Set<string> = new Set()): Set<string> {
  for (const i of graph.input) into.add(i.name);
  for (const t of graph.initializer) into.add(t.name);
  for (const n of graph.node) {
    for (const o of n.output) if (o) into.add(o);
    for (const a of n.attribute) {
      if (a.g) collectAllNames(a.g, into);
      for (const g of a.graphs ?? []) collectAllNames(g, into);
    }
  }
  return into;
}
