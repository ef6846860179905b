// GGUF reader/writer for llama.cpp control vectors, per shared/notes/FORMATS.md.
//
// Layout (little-endian): magic "GGUF" | u32 version (2 or 3) | u64 tensor_count | u64 kv_count |
// kv pairs | tensor infos | zero padding to ALIGNMENT | tensor data (each at data_start + offset).
//
// Index mapping. llama.cpp adds `direction.b` to the output of block b (0-based), i.e. our residual state
// k = b + 1, and rejects a whole file that contains `direction.0`. So our k = 0 (embeddings) has no GGUF
// equivalent, our k = 1 would be `direction.0` (rejected by llama.cpp), and our k ≥ 2 maps to `direction.{k−1}`.
// The writer refuses k < 2 (GgufExportError) unless asked to skip them; the reader accepts `direction.0`
// with a warning and maps it to k = 1.

import { promises as fs } from 'node:fs';
import { writeFileAtomic } from './atomicWrite.js';
import { GgufExportError, VectorFileError } from './errors.js';
import { createSteeringVector, strengthCoefficient, type SteeringVector } from './vector.js';

/** GGUF metadata value types. */
export enum GgufType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** A metadata value: numbers (u64/i64 as bigint only when beyond 2^53), strings, booleans, arrays. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** One metadata key/value with its GGUF type (and element type for arrays). */
export interface GgufKv {
  key: string;
  type: GgufType;
  elementType?: GgufType;
  value: GgufValue;
}

/** One tensor info: dims with ne[0] fastest, ggml type id, offset relative to the data section. */
export interface GgufTensorInfo {
  name: string;
  dims: number[];
  ggmlType: number;
  offset: number;
}

/** A parsed GGUF file (metadata and tensor infos; data read on demand with `ggufTensorF32`). */
export interface GgufFile {
  version: number;
  metadata: Map<string, GgufKv>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute byte offset of the data section. */
  dataStart: number;
  bytes: Uint8Array;
  file: string;
}

/** ggml type id of F32, the only type llama.cpp accepts in control vectors. */
export const GGML_TYPE_F32 = 0;
const GGML_TYPE_NAMES: Record<number, string> = { 0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 30: 'BF16' };
const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
const GGUF_DEFAULT_ALIGNMENT = 32;
const GGML_MAX_DIMS = 4;

const SCALAR_SIZE: Partial<Record<GgufType, number>> = {
  [GgufType.UINT8]: 1, [GgufType.INT8]: 1, [GgufType.UINT16]: 2, [GgufType.INT16]: 2, [GgufType.UINT32]: 4, [GgufType.INT32]: 4,
  [GgufType.FLOAT32]: 4, [GgufType.BOOL]: 1, [GgufType.UINT64]: 8, [GgufType.INT64]: 8, [GgufType.FLOAT64]: 8,
};

class Reader {
  pos = 0;
  private readonly dv: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  constructor(private readonly bytes: Uint8Array, private readonly file: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(problem: string): never {
    throw new VectorFileError(this.file, `${problem} (at byte ${this.pos}).`, 'The GGUF file is corrupt or truncated; re-export it.');
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.remaining) this.fail(`${what} needs ${n} bytes but only ${this.remaining} remain`);
  }
  u8(): number { this.need(1, 'u8'); return this.dv.getUint8(this.pos++); }
  i8(): number { this.need(1, 'i8'); return this.dv.getInt8(this.pos++); }
  u16(): number { this.need(2, 'u16'); const v = this.dv.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(): number { this.need(2, 'i16'); const v = this.dv.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.need(4, 'u32'); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(): number { this.need(4, 'i32'); const v = this.dv.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(): number { this.need(4, 'f32'); const v = this.dv.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(): number { this.need(8, 'f64'); const v = this.dv.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64big(): bigint { this.need(8, 'u64'); const v = this.dv.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64big(): bigint { this.need(8, 'i64'); const v = this.dv.getBigInt64(this.pos, true); this.pos += 8; return v; }
  /** u64 that must fit a JS number (counts, lengths, offsets). */
  size(what: string): number {
    const at = this.pos;
    const v = this.u64big();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.pos = at;
      this.fail(`${what} ${v} is larger than any file this reader can hold`);
    }
    return Number(v);
  }
  str(what: string): string {
    const len = this.size(`${what} length`);
    this.need(len, `${what} (${len}-byte string)`);
    const start = this.pos;
    this.pos += len;
    try {
      return this.utf8.decode(this.bytes.subarray(start, start + len));
    } catch {
      this.pos = start;
      return this.fail(`${what} is not valid UTF-8`);
    }
  }
}

function bigToValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(r: Reader, rawType: number, key: string, depth: number): { value: GgufValue; elementType?: GgufType } {
  const type = rawType as GgufType;
  switch (type) {
    case GgufType.UINT8: return { value: r.u8() };
    case GgufType.INT8: return { value: r.i8() };
    case GgufType.UINT16: return { value: r.u16() };
    case GgufType.INT16: return { value: r.i16() };
    case GgufType.UINT32: return { value: r.u32() };
    case GgufType.INT32: return { value: r.i32() };
    case GgufType.FLOAT32: return { value: r.f32() };
    case GgufType.BOOL: {
      const b = r.u8();
      if (b > 1) r.fail(`metadata ${JSON.stringify(key)}: bool value ${b} is neither 0 nor 1`);
      return { value: b === 1 };
    }
    case GgufType.STRING: return { value: r.str(`metadata ${JSON.stringify(key)} string`) };
    case GgufType.UINT64: return { value: bigToValue(r.u64big()) };
    case GgufType.INT64: return { value: bigToValue(r.i64big()) };
    case GgufType.FLOAT64: return { value: r.f64() };
    case GgufType.ARRAY: {
      if (depth > 4) r.fail(`metadata ${JSON.stringify(key)}: arrays nested too deeply`);
      const rawElement = r.u32();
      if (!(rawElement in GgufType)) r.fail(`metadata ${JSON.stringify(key)}: unknown array element type ${rawElement}`);
      const elementType = rawElement as GgufType;
      const count = r.size(`metadata ${JSON.stringify(key)} array count`);
      // Bound the count by the bytes left before allocating: every element takes at least this many bytes.
      const minElem = SCALAR_SIZE[elementType] ?? (elementType === GgufType.STRING ? 8 : 12);
      if (count * minElem > r.remaining) r.fail(`metadata ${JSON.stringify(key)}: array of ${count} elements cannot fit in the ${r.remaining} bytes left`);
      const out: GgufValue[] = new Array<GgufValue>(count);
      for (let i = 0; i < count; i++) out[i] = readValue(r, elementType, key, depth + 1).value;
      return { value: out, elementType };
    }
    default:
      return r.fail(`metadata ${JSON.stringify(key)}: unknown value type ${rawType}`);
  }
}

/** Parses GGUF v2/v3 headers and tensor infos, bounds-checking every length against the file size. */
export function parseGguf(bytes: Uint8Array, file = '<buffer>'): GgufFile {
  const r = new Reader(bytes, file);
  if (bytes.length < 4 || new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) !== GGUF_MAGIC) {
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new VectorFileError(file, `does not start with the GGUF magic "GGUF" (47 47 55 46); found ${head || 'nothing'}.`, 'It is not a GGUF file.');
  }
  r.pos = 4;
  const version = r.u32();
  if (version === 1) throw new VectorFileError(file, 'is GGUF version 1, which this reader does not support.', 'Convert it to GGUF v3 with llama.cpp.');
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? ' (a big-endian GGUF file?)' : '';
    throw new VectorFileError(file, `has unsupported GGUF version ${version}${hint}.`, 'Only little-endian GGUF v2 and v3 are supported.');
  }
  const tensorCount = r.size('tensor count');
  const kvCount = r.size('metadata count');
  // Minimum sizes: a kv is at least key length (8) + type (4) + a 1-byte value; a tensor info at least 8+4+4+8.
  if (kvCount * 13 > r.remaining) r.fail(`metadata count ${kvCount} cannot fit in a ${bytes.length}-byte file`);
  if (tensorCount * 24 > r.remaining) r.fail(`tensor count ${tensorCount} cannot fit in a ${bytes.length}-byte file`);
  const metadata = new Map<string, GgufKv>();
  for (let i = 0; i < kvCount; i++) {
    const key = r.str(`metadata key #${i}`);
    if (metadata.has(key)) r.fail(`duplicate metadata key ${JSON.stringify(key)}`);
    const type = r.u32();
    const { value, elementType } = readValue(r, type, key, 0);
    metadata.set(key, elementType === undefined ? { key, type, value } : { key, type, elementType, value });
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = metadata.get('general.alignment');
  if (alignKv) {
    const a = alignKv.value;
    if (typeof a !== 'number' || !Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) {
      throw new VectorFileError(file, `general.alignment ${String(a)} is not a positive power of two.`, 'The GGUF file is corrupt; re-export it.');
    }
    alignment = a;
  }
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = r.str(`tensor name #${i}`);
    if (names.has(name)) r.fail(`duplicate tensor name ${JSON.stringify(name)}`);
    names.add(name);
    const nDims = r.u32();
    if (nDims < 1 || nDims > GGML_MAX_DIMS) r.fail(`tensor ${JSON.stringify(name)} has ${nDims} dimensions (1..${GGML_MAX_DIMS} allowed)`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(r.size(`tensor ${JSON.stringify(name)} dimension ${d}`));
    const ggmlType = r.u32();
    const offset = r.size(`tensor ${JSON.stringify(name)} offset`);
    if (offset % alignment !== 0) r.fail(`tensor ${JSON.stringify(name)} offset ${offset} is not a multiple of the alignment ${alignment}`);
    tensors.push({ name, dims, ggmlType, offset });
  }
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  if (tensorCount > 0 && dataStart > bytes.length) {
    throw new VectorFileError(file, `data section would start at byte ${dataStart}, past the end of the ${bytes.length}-byte file.`, 'The GGUF file is truncated; re-export it.');
  }
  return { version, metadata, tensors, alignment, dataStart, bytes, file };
}

/** Reads a 1-D or n-D F32 tensor's data (a copy), checking its type and that it lies inside the file. */
export function ggufTensorF32(g: GgufFile, t: GgufTensorInfo): Float32Array {
  if (t.ggmlType !== GGML_TYPE_F32) {
    throw new VectorFileError(g.file, `tensor ${JSON.stringify(t.name)} has type ${GGML_TYPE_NAMES[t.ggmlType] ?? `#${t.ggmlType}`}, expected F32.`, 'llama.cpp control vectors must be F32; re-export it.');
  }
  let count = 1;
  for (const d of t.dims) count *= d;
  const start = g.dataStart + t.offset;
  const end = start + count * 4;
  if (!Number.isSafeInteger(end) || end > g.bytes.length) {
    throw new VectorFileError(g.file, `tensor ${JSON.stringify(t.name)} data [${start}, ${end}) runs past the end of the ${g.bytes.length}-byte file.`, 'The GGUF file is truncated; re-export it.');
  }
  const dv = new DataView(g.bytes.buffer, g.bytes.byteOffset + start, count * 4);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** A control vector as llama.cpp sees it: directions keyed by llama.cpp's block index b (not our k). */
export interface GgufControlVector {
  version: number;
  /** `general.architecture` ('controlvector' for a proper file; '' when absent). */
  architecture: string;
  /** `controlvector.model_hint`; '' when absent. */
  modelHint: string;
  /** `controlvector.layer_count` (any integer type); null when absent. */
  layerCount: number | null;
  /** b → direction [n_embd]; added by llama.cpp to the output of block b. */
  directions: Map<number, Float32Array>;
  hiddenSize: number;
  /** All metadata, including keys we do not interpret. */
  metadata: Map<string, GgufKv>;
  /** Problems that llama.cpp would reject or that lose information, e.g. `direction.0`. */
  warnings: string[];
}

const DIRECTION_RE = /^direction\.(\d+)$/;

/** Parses a GGUF control vector; accepts v2/v3, any integer layer_count, `direction.0` with a warning. */
export function parseGgufControlVector(bytes: Uint8Array, file = '<buffer>'): GgufControlVector {
  const g = parseGguf(bytes, file);
  const warnings: string[] = [];
  const archKv = g.metadata.get('general.architecture');
  const architecture = typeof archKv?.value === 'string' ? archKv.value : '';
  if (!archKv) warnings.push('general.architecture is missing (expected "controlvector").');
  else if (architecture !== 'controlvector') {
    throw new VectorFileError(file, `is a GGUF file for architecture ${JSON.stringify(architecture)}, not a control vector (general.architecture = "controlvector").`, 'Pass a control-vector GGUF (from repeng, llama.cpp cvector-generator or this extension), not a model.');
  }
  const hintKv = g.metadata.get('controlvector.model_hint');
  const modelHint = typeof hintKv?.value === 'string' ? hintKv.value : '';
  if (!hintKv) warnings.push('controlvector.model_hint is missing; the vector cannot be checked against the model architecture.');
  const lcKv = g.metadata.get('controlvector.layer_count');
  let layerCount: number | null = null;
  if (lcKv) {
    const v = lcKv.value;
    const integerTypes = [GgufType.UINT8, GgufType.INT8, GgufType.UINT16, GgufType.INT16, GgufType.UINT32, GgufType.INT32, GgufType.UINT64, GgufType.INT64];
    if (!integerTypes.includes(lcKv.type) || typeof v !== 'number') {
      throw new VectorFileError(file, `controlvector.layer_count has type ${GgufType[lcKv.type] ?? lcKv.type}, expected an integer.`, 'The control vector is malformed; re-export it.');
    }
    layerCount = v;
  }
  const directions = new Map<number, Float32Array>();
  let hiddenSize = -1;
  for (const t of g.tensors) {
    const m = DIRECTION_RE.exec(t.name);
    if (!m) {
      warnings.push(`tensor ${JSON.stringify(t.name)} is not a direction.<layer> tensor and was ignored (llama.cpp rejects such files).`);
      continue;
    }
    const b = Number(m[1]);
    if (!Number.isSafeInteger(b)) throw new VectorFileError(file, `tensor ${JSON.stringify(t.name)} has an unparsable layer index.`, 'The control vector is malformed.');
    if (t.dims.length !== 1 && !(t.dims.length === 2 && t.dims[1] === 1)) {
      throw new VectorFileError(file, `tensor ${JSON.stringify(t.name)} has shape [${t.dims.join(', ')}]; a control-vector direction must be 1-D [n_embd].`, 'The control vector is malformed.');
    }
    const n = t.dims[0] as number;
    if (hiddenSize === -1) hiddenSize = n;
    else if (n !== hiddenSize) {
      throw new VectorFileError(file, `tensor ${JSON.stringify(t.name)} has length ${n} but earlier directions have ${hiddenSize}; all directions must have the model's n_embd.`, 'The control vector is malformed.');
    }
    if (b === 0) warnings.push('direction.0 present: llama.cpp rejects files containing it; read as our layer k = 1 (output of block 0).');
    directions.set(b, ggufTensorF32(g, t));
  }
  if (directions.size === 0) throw new VectorFileError(file, 'has no direction.<layer> tensors.', 'It is not a control vector.');
  if (layerCount !== null && layerCount !== directions.size) {
    warnings.push(`controlvector.layer_count is ${layerCount} but the file has ${directions.size} direction tensors (writers disagree on its meaning; the tensors are used).`);
  }
  return { version: g.version, architecture, modelHint, layerCount, directions, hiddenSize, metadata: g.metadata, warnings };
}

/** An extra metadata entry for the writer: strings, u32/i32/f32 numbers or booleans. */
export type GgufExtraKv = { key: string; type: GgufType.STRING; value: string } | { key: string; type: GgufType.UINT32 | GgufType.INT32 | GgufType.FLOAT32; value: number } | { key: string; type: GgufType.BOOL; value: boolean };

/** What the control-vector writer needs: llama.cpp block indices b ≥ 1 → directions [n_embd]. */
export interface GgufControlVectorInput {
  modelHint: string;
  directions: ReadonlyMap<number, Float32Array>;
  /** Extra keys written after the three standard ones (e.g. provenance); none by default. */
  extra?: readonly GgufExtraKv[];
}

class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  private readonly enc = new TextEncoder();
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.push(b); }
  i32(v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); this.push(b); }
  f32(v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); this.push(b); }
  u64(v: number): void { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.push(b); }
  u8(v: number): void { this.push(Uint8Array.of(v)); }
  str(s: string): void { const b = this.enc.encode(s); this.u64(b.length); this.push(b); }
  raw(b: Uint8Array): void { this.push(b); }
  pad(alignment: number): void { const p = (alignment - (this.length % alignment)) % alignment; if (p) this.push(new Uint8Array(p)); }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}

/** Serialises a control vector as GGUF v3 for llama.cpp; never writes `direction.0` (throws GgufExportError). */
export function serializeGgufControlVector(input: GgufControlVectorInput): Uint8Array {
  const indices = [...input.directions.keys()].sort((a, b) => a - b);
  if (indices.length === 0) throw new GgufExportError('Nothing to export: the control vector has no directions.');
  let n = -1;
  for (const b of indices) {
    if (!Number.isSafeInteger(b) || b < 0) throw new GgufExportError(`Invalid llama.cpp layer index ${b}: indices are block numbers ≥ 1.`);
    if (b === 0) {
      throw new GgufExportError('Refusing to write direction.0: llama.cpp rejects the whole file if it contains direction.0 (the output of block 0 cannot be steered there). Use a later layer.');
    }
    const v = input.directions.get(b)!;
    if (n === -1) n = v.length;
    if (v.length !== n || n === 0) throw new GgufExportError(`direction.${b} has length ${v.length} but others have ${n}: all directions must have the model's n_embd.`);
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new GgufExportError(`direction.${b} element ${i} is ${String(v[i])}; llama.cpp needs finite values.`);
    }
  }
  const alignment = GGUF_DEFAULT_ALIGNMENT;
  const w = new Writer();
  const extra = input.extra ?? [];
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(indices.length);
  w.u64(3 + extra.length);
  w.str('general.architecture'); w.u32(GgufType.STRING); w.str('controlvector');
  w.str('controlvector.model_hint'); w.u32(GgufType.STRING); w.str(input.modelHint);
  w.str('controlvector.layer_count'); w.u32(GgufType.UINT32); w.u32(indices.length);
  const seen = new Set(['general.architecture', 'controlvector.model_hint', 'controlvector.layer_count', 'general.alignment']);
  for (const kv of extra) {
    if (seen.has(kv.key)) throw new GgufExportError(`extra metadata key ${JSON.stringify(kv.key)} is reserved or duplicated.`);
    seen.add(kv.key);
    w.str(kv.key);
    w.u32(kv.type);
    switch (kv.type) {
      case GgufType.STRING: w.str(kv.value); break;
      case GgufType.UINT32: w.u32(kv.value); break;
      case GgufType.INT32: w.i32(kv.value); break;
      case GgufType.FLOAT32: w.f32(kv.value); break;
      case GgufType.BOOL: w.u8(kv.value ? 1 : 0); break;
    }
  }
  const tensorBytes = Math.ceil((n * 4) / alignment) * alignment;
  indices.forEach((b, i) => {
    w.str(`direction.${b}`);
    w.u32(1);
    w.u64(n);
    w.u32(GGML_TYPE_F32);
    w.u64(i * tensorBytes);
  });
  w.pad(alignment);
  for (const b of indices) {
    const v = input.directions.get(b)!;
    const buf = new Uint8Array(n * 4);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < n; i++) dv.setFloat32(i * 4, v[i] as number, true);
    w.raw(buf);
    w.pad(alignment);
  }
  return w.bytes();
}

/** Options for exporting one of our vectors to llama.cpp. */
export interface GgufExportOptions {
  /** Drop layers k = 0 and k = 1 (not representable in llama.cpp) instead of throwing; they are listed in `dropped`. */
  skipUnrepresentable?: boolean;
  /**
   * Bake a strength into the stored vectors so that llama.cpp's default scale 1 reproduces it: `default`
   * (the vector's default strength and unit, when it has one), `none` (store the raw directions), or an
   * explicit strength in the vector's default unit.
   */
  bake?: 'default' | 'none' | number;
  /** Write `polyglot_lens.*` provenance keys (method, languages, model hash...) after the standard keys; default true. */
  provenance?: boolean;
}

/** Result of an export: the file bytes, which of our layers were written as which direction, and notes. */
export interface GgufExportResult {
  bytes: Uint8Array;
  /** our k → llama.cpp b (= k − 1). */
  written: Map<number, number>;
  dropped: number[];
  /** Coefficient multiplied into each written direction (1 when not baked). */
  coefficients: Map<number, number>;
  warnings: string[];
}

/** Converts our vector (layers k) to a llama.cpp control vector (direction.{k−1}); k = 0, 1 cannot be carried. */
export function steeringVectorToGguf(vector: SteeringVector, options: GgufExportOptions = {}): GgufExportResult {
  const ks = [...vector.directions.keys()].sort((a, b) => a - b);
  const bad = ks.filter((k) => k < 2);
  const warnings: string[] = [];
  if (bad.length > 0 && !options.skipUnrepresentable) {
    throw new GgufExportError(
      `Layer(s) ${bad.join(', ')} cannot be exported to llama.cpp: it adds direction.b after block b, so our k = 0 (embeddings) has no equivalent and our k = 1 would be direction.0, which llama.cpp rejects. Export a vector at layer k ≥ 2, or skip these layers.`,
    );
  }
  const keep = ks.filter((k) => k >= 2);
  if (keep.length === 0) throw new GgufExportError(`No exportable layers: the vector has layer(s) ${ks.join(', ')} only, and llama.cpp can carry k ≥ 2 only.`);
  if (vector.projections.size > 0) warnings.push('Projection maps are not representable in a GGUF control vector and were not exported.');
  if (vector.metadata.defaultPositions !== 'all') warnings.push(`llama.cpp steers every position; the vector's position mode '${vector.metadata.defaultPositions}' is not carried.`);
  const bake = options.bake ?? 'default';
  const directions = new Map<number, Float32Array>();
  const written = new Map<number, number>();
  const coefficients = new Map<number, number>();
  for (const k of keep) {
    let c = 1;
    const strength = bake === 'none' ? null : bake === 'default' ? vector.metadata.defaultStrength : bake;
    if (strength !== null) c = strengthCoefficient(vector, k, strength, vector.metadata.defaultStrengthUnit);
    const src = vector.directions.get(k)!;
    const v = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) v[i] = c * (src[i] as number);
    directions.set(k - 1, v);
    written.set(k, k - 1);
    coefficients.set(k, c);
  }
  const m = vector.metadata;
  const extra: GgufExtraKv[] = [];
  if (options.provenance ?? true) {
    const s = (key: string, value: string): void => {
      extra.push({ key: `polyglot_lens.${key}`, type: GgufType.STRING, value });
    };
    s('layer_convention', 'direction.b is added to the output of block b = our residual layer k = b + 1');
    s('method', m.method);
    if (m.sourceLanguage) s('source_language', m.sourceLanguage);
    if (m.targetLanguage) s('target_language', m.targetLanguage);
    if (m.modelHash) s('model_hash', m.modelHash);
    s('created_at', m.createdAt);
    extra.push({ key: 'polyglot_lens.num_pairs', type: GgufType.UINT32, value: m.numPairs });
    const baked = [...coefficients.values()].some((c) => c !== 1);
    extra.push({ key: 'polyglot_lens.strength_baked', type: GgufType.BOOL, value: baked });
  }
  const bytes = serializeGgufControlVector({ modelHint: m.modelHint, directions, extra });
  return { bytes, written, dropped: bad, coefficients, warnings };
}

/** Result of an import: our vector (layers k = b + 1, strength unit `raw`) and reader warnings. */
export interface GgufImportResult {
  vector: SteeringVector;
  warnings: string[];
}

/** Reads a llama.cpp control vector into our SteeringVector (direction.b → k = b + 1, method `imported`). */
export function steeringVectorFromGguf(bytes: Uint8Array, file = '<buffer>'): GgufImportResult {
  const cv = parseGgufControlVector(bytes, file);
  const directions = new Map<number, Float32Array>();
  for (const [b, v] of cv.directions) directions.set(b + 1, v);
  const str = (key: string): string | undefined => {
    const v = cv.metadata.get(`polyglot_lens.${key}`)?.value;
    return typeof v === 'string' ? v : undefined;
  };
  const numPairs = cv.metadata.get('polyglot_lens.num_pairs')?.value;
  const vector = createSteeringVector({
    directions,
    hiddenSize: cv.hiddenSize,
    modelHint: cv.modelHint,
    modelHash: str('model_hash') ?? '',
    method: 'imported',
    sourceLanguage: str('source_language') ?? '',
    targetLanguage: str('target_language') ?? '',
    numPairs: typeof numPairs === 'number' ? numPairs : 0,
    defaultStrength: 1,
    defaultStrengthUnit: 'raw',
    defaultLayer: directions.size === 1 ? [...directions.keys()][0]! : null,
    createdAt: str('created_at') ?? new Date(0).toISOString(),
    notes: `Imported from GGUF control vector ${file} (v${cv.version}; original method ${str('method') ?? 'unknown'}).`,
  });
  return { vector, warnings: cv.warnings };
}

/** Reads a GGUF control vector file from disk into our SteeringVector. */
export async function readGgufVectorFile(filePath: string): Promise<GgufImportResult> {
  const b = await fs.readFile(filePath);
  return steeringVectorFromGguf(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), filePath);
}

/** Writes our vector as a llama.cpp control vector file, atomically. */
export async function writeGgufVectorFile(filePath: string, vector: SteeringVector, options: GgufExportOptions = {}): Promise<GgufExportResult> {
  const res = steeringVectorToGguf(vector, options);
  await writeFileAtomic(filePath, res.bytes);
  return res;
}
