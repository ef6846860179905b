/**
 * ONNX protobuf in TypeScript: decode and encode `ModelProto` with protobufjs and the vendored upstream
 * `proto/onnx.proto` (the newest schema: fields missing from an older schema would be dropped silently
 * on re-encode), plus the few typed views and helpers the engine needs (tensors, attributes, external data).
 *
 * Decoded messages are protobufjs message objects: unset scalar fields read as their defaults from the
 * prototype, and unset repeated fields are a shared frozen empty array — so code here never pushes into a
 * decoded array; it assigns a new one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { bf16ToNumber, f16ToNumber } from '../float16';
import { OnnxFormatError } from './errors';
import { ONNX_PROTO_SOURCE } from './proto/onnxSchema.generated';

/** An int64 as protobufjs decodes it: a `Long` when the `long` package is present, else a number. */
export interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
  toNumber(): number;
}
export type Int64 = number | LongLike;

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface TensorProto {
  name: string;
  dims: Int64[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: Int64[];
  double_data?: number[];
  external_data?: StringStringEntryProto[];
  data_location?: number;
  doc_string?: string;
}

export interface TensorShapeDimension {
  dim_value?: Int64;
  dim_param?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type: number; shape?: { dim: TensorShapeDimension[] } };
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  doc_string?: string;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  graphs?: GraphProto[];
}

export interface NodeProto {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
  doc_string?: string;
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info: ValueInfoProto[];
  doc_string?: string;
}

export interface OperatorSetIdProto {
  domain: string;
  version: Int64;
}

export interface ModelProto {
  ir_version: Int64;
  opset_import: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph: GraphProto;
  metadata_props?: StringStringEntryProto[];
}

/** TensorProto.DataType values used by the engine (the full list is in proto/onnx.proto). */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
} as const;

/** TensorProto.DataLocation.EXTERNAL */
export const DATA_LOCATION_EXTERNAL = 1;

let modelType: protobuf.Type | null = null;

function onnxModelType(): protobuf.Type {
  if (modelType) return modelType;
  // The schema is embedded (proto/onnxSchema.generated.ts, generated from the vendored proto/onnx.proto),
  // so bundles need no schema file beside them. keepCase: field names stay as in onnx.proto (raw_data,
  // op_type), matching the interfaces above.
  const root = protobuf.parse(ONNX_PROTO_SOURCE, { keepCase: true }).root;
  modelType = root.lookupType('onnx.ModelProto');
  return modelType;
}

/** Decodes ONNX model bytes (a whole .onnx file) into a ModelProto; throws OnnxFormatError if it is not one. */
export function decodeModel(bytes: Uint8Array, sourceName = 'model'): ModelProto {
  let decoded: protobuf.Message;
  try {
    decoded = onnxModelType().decode(bytes);
  } catch (err) {
    throw new OnnxFormatError(
      // What to check is the hint the engine attaches to every OnnxFormatError (engineErrors.ts): not repeated here.
      `${sourceName} is not a valid ONNX model (protobuf decoding failed: ${errorText(err)}).`,
      { cause: err },
    );
  }
  const model = decoded as unknown as ModelProto;
  if (!model.graph || !Array.isArray(model.graph.node) || model.graph.node.length === 0) {
    throw new OnnxFormatError(`${sourceName} decodes as protobuf but holds no ONNX graph; is it really an .onnx model?`);
  }
  return model;
}

/** Encodes a ModelProto (decoded or built from plain objects) to .onnx bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = onnxModelType();
  // protobufjs encodes plain objects as well as decoded messages (it reads fields by name).
  return type.encode(model).finish();
}

/** Reads and decodes an .onnx file. */
export function readModelFile(file: string): ModelProto {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new OnnxFormatError(`Cannot read ONNX file ${file}: ${errorText(err)}`, { cause: err });
  }
  return decodeModel(bytes, file);
}

/** Converts a protobufjs int64 to a JS number (exact below 2^53, which all ONNX dims and offsets are). */
export function int64ToNumber(v: Int64 | string | bigint | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' || typeof v === 'string') return Number(v);
  return v.toNumber();
}

/** The default-domain ("ai.onnx") opset version a model imports. */
export function defaultOpsetVersion(model: ModelProto): number {
  for (const o of model.opset_import) if (o.domain === '' || o.domain === 'ai.onnx') return int64ToNumber(o.version);
  return 1;
}

/** Returns the attribute `name` of a node, or undefined. */
export function getAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** Builds a NodeProto as a plain object (encodable by protobufjs). */
export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: AttributeProto[] = [],
  domain = '',
): NodeProto {
  return { op_type: opType, input: inputs, output: outputs, name, domain, attribute: attributes };
}

/** Builds an INT attribute. */
export function intAttribute(name: string, value: number): AttributeProto {
  return { name, type: AttributeType.INT, i: value };
}

/** Builds an INTS attribute. */
export function intsAttribute(name: string, values: number[]): AttributeProto {
  return { name, type: AttributeType.INTS, ints: values };
}

/** Builds a TENSOR attribute. */
export function tensorAttribute(name: string, t: TensorProto): AttributeProto {
  return { name, type: AttributeType.TENSOR, t };
}

/** A float32 tensor with its data inline in raw_data (little-endian, as ONNX requires). */
export function float32Tensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return {
    name,
    dims,
    data_type: DataType.FLOAT,
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
  };
}

/** An int64 tensor with its data inline. */
export function int64Tensor(name: string, dims: number[], data: number[]): TensorProto {
  const arr = BigInt64Array.from(data.map((x) => BigInt(x)));
  return { name, dims, data_type: DataType.INT64, raw_data: new Uint8Array(arr.buffer) };
}

/** A tensor-typed ValueInfoProto; dims are numbers (fixed) or strings (symbolic). */
export function tensorValueInfo(name: string, elemType: number, dims: Array<number | string> | null): ValueInfoProto {
  const tensorType: NonNullable<TypeProto['tensor_type']> = { elem_type: elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) };
  return { name, type: { tensor_type: tensorType } };
}

/** Element type of a tensor-typed value info, or null. */
export function valueInfoElemType(vi: ValueInfoProto | undefined): number | null {
  const t = vi?.type?.tensor_type;
  return t ? t.elem_type : null;
}

/** Dims of a tensor-typed value info: numbers, symbolic names, or null for unknown. */
export function valueInfoDims(vi: ValueInfoProto | undefined): Array<number | string | null> | null {
  const shape = vi?.type?.tensor_type?.shape;
  if (!shape) return null;
  return shape.dim.map((d) => {
    if (d.dim_param) return d.dim_param;
    return hasOwn(d, 'dim_value') ? int64ToNumber(d.dim_value) : null;
  });
}

/** Where a tensor's bytes live when data_location is EXTERNAL (offset/length in bytes), else null. */
export function externalDataOf(t: TensorProto): { location: string; offset: number; length: number | null } | null {
  if (t.data_location !== DATA_LOCATION_EXTERNAL) return null;
  const entries = t.external_data ?? [];
  const get = (k: string): string | undefined => entries.find((e) => e.key === k)?.value;
  const location = get('location');
  if (!location) throw new OnnxFormatError(`Tensor ${t.name} is stored externally but names no location.`);
  const length = get('length');
  return { location, offset: Number(get('offset') ?? 0), length: length === undefined ? null : Number(length) };
}

/** The distinct external data files (relative locations) a model's tensors reference, in all subgraphs. */
export function externalDataLocations(model: ModelProto): string[] {
  const found = new Set<string>();
  forEachGraph(model.graph, (g) => {
    for (const t of g.initializer) {
      const ext = externalDataOf(t);
      if (ext) found.add(ext.location);
    }
  });
  return [...found].sort();
}

/** Calls fn on a graph and, depth first, on every subgraph held in its nodes' attributes. */
export function forEachGraph(graph: GraphProto, fn: (g: GraphProto) => void): void {
  fn(graph);
  for (const node of graph.node) {
    for (const a of node.attribute) {
      if (a.g) forEachGraph(a.g, fn);
      for (const sub of a.graphs ?? []) forEachGraph(sub, fn);
    }
  }
}

const ELEMENT_BYTES: Record<number, number> = { 1: 4, 10: 2, 16: 2, 11: 8 };

/** Reads a floating-point tensor (float32/float16/bfloat16/float64; inline or external) as float32 [prod(dims)]. */
export function readFloatTensor(t: TensorProto, modelDir: string): Float32Array {
  const count = t.dims.reduce<number>((n, d) => n * int64ToNumber(d), 1);
  const bytesPer = ELEMENT_BYTES[t.data_type];
  if (bytesPer === undefined) {
    throw new OnnxFormatError(`Tensor ${t.name} has data type ${t.data_type}; a floating-point type was expected.`);
  }
  let raw: Uint8Array | null = null;
  const ext = externalDataOf(t);
  if (ext) {
    const length = ext.length ?? count * bytesPer;
    const file = path.resolve(modelDir, ext.location);
    const buf = Buffer.alloc(length);
    const fd = fs.openSync(file, 'r');
    try {
      const n = fs.readSync(fd, buf, 0, length, ext.offset);
      if (n !== length) throw new OnnxFormatError(`External data file ${file} is too short for tensor ${t.name}.`);
    } finally {
      fs.closeSync(fd);
    }
    raw = buf;
  } else if (t.raw_data && t.raw_data.length > 0) {
    raw = t.raw_data;
  }
  if (raw) {
    if (raw.length !== count * bytesPer) {
      throw new OnnxFormatError(`Tensor ${t.name} holds ${raw.length} bytes, ${count * bytesPer} were expected.`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      if (t.data_type === DataType.FLOAT) out[i] = view.getFloat32(i * 4, true);
      else if (t.data_type === DataType.DOUBLE) out[i] = view.getFloat64(i * 8, true);
      else if (t.data_type === DataType.FLOAT16) out[i] = f16ToNumber(view.getUint16(i * 2, true));
      else out[i] = bf16ToNumber(view.getUint16(i * 2, true));
    }
    return out;
  }
  if (t.data_type === DataType.FLOAT && t.float_data && t.float_data.length === count) return Float32Array.from(t.float_data);
  if (t.data_type === DataType.DOUBLE && t.double_data && t.double_data.length === count) return Float32Array.from(t.double_data);
  if ((t.data_type === DataType.FLOAT16 || t.data_type === DataType.BFLOAT16) && t.int32_data?.length === count) {
    return Float32Array.from(t.int32_data, (bits) =>
      t.data_type === DataType.FLOAT16 ? f16ToNumber(bits) : bf16ToNumber(bits),
    );
  }
  if (count === 0) return new Float32Array(0);
  throw new OnnxFormatError(`Tensor ${t.name} has no data the engine can read.`);
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** The message of an unknown thrown value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
