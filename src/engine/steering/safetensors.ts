// safetensors (Hugging Face) reader and writer, exactly per shared/notes/FORMATS.md:
//   u64 N (little-endian header length, N ≤ 100,000,000) | N bytes UTF-8 JSON starting with '{' | byte buffer.
// The reader validates everything before it allocates: header bound, UTF-8, strict JSON (no duplicate keys),
// known dtypes, shapes vs. byte sizes, offsets contiguous from 0 to the end of the file.
// Tensor data is returned as views into the file's bytes (no copies).

import { promises as fs } from 'node:fs';
import { bf16ToNumber, f16ToNumber } from '../float16.js';
import { writeFileAtomic } from './atomicWrite.js';
import { VectorFileError } from './errors.js';
import { isJsonObject, parseStrictJson, StrictJsonError, type JsonValue } from './strictJson.js';

/** Element types of the format, in the reference implementation's declaration order. */
export const SAFETENSORS_DTYPES = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

/** Bytes per element of each dtype. */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** Largest header the reader accepts (bytes), as in the reference implementation. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** One tensor of a parsed file; `data` is a view of bytes [8 + N + begin, 8 + N + end) of the file. */
export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the byte buffer; end exclusive. */
  dataOffsets: [number, number];
  data: Uint8Array;
}

/** A parsed safetensors file: `__metadata__` (string → string, empty when absent) and tensors in header order. */
export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: SafetensorsTensor[];
  /** Header length N in bytes (including padding). */
  headerLength: number;
}

/** A tensor to write: raw little-endian bytes (or a typed array whose bytes are used) plus dtype and shape. */
export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: Uint8Array | Float32Array | Float64Array | Int32Array | Uint16Array;
}

function isDtype(s: string): s is SafetensorsDtype {
  return (SAFETENSORS_DTYPES as readonly string[]).includes(s);
}

function asBytes(d: SafetensorsTensorInput['data']): Uint8Array {
  return d instanceof Uint8Array ? d : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function elementCount(shape: readonly number[], fail: (m: string) => never): number {
  let count = 1;
  for (const s of shape) {
    if (!Number.isSafeInteger(s) || s < 0) fail(`shape entry ${String(s)} is not a non-negative integer`);
    count *= s;
    if (!Number.isSafeInteger(count)) fail(`shape [${shape.join(', ')}] has too many elements`);
  }
  return count;
}

/** Parses safetensors bytes; throws VectorFileError naming `file` and the problem when anything is off. */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const fail = (problem: string, remedy = 'The file is not a valid safetensors file; re-export it.'): never => {
    throw new VectorFileError(file, problem, remedy);
  };
  if (bytes.length < 8) fail(`is ${bytes.length} bytes long, too short for a safetensors file (8-byte header length + JSON header).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER)) {
    fail(`header length ${n64} exceeds the limit of ${SAFETENSORS_MAX_HEADER} bytes (is this a safetensors file?).`);
  }
  const n = Number(n64);
  if (n < 2) fail(`header length ${n} is too small to hold a JSON object.`);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes): the file is truncated or not safetensors.`);
  if (bytes[8] !== 0x7b) fail(`header does not start with '{' (byte 0x${(bytes[8] ?? 0).toString(16).padStart(2, '0')}): not a safetensors file.`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8.');
  }
  let header: JsonValue;
  try {
    header = parseStrictJson(text);
  } catch (err) {
    return fail(`header is not valid JSON: ${err instanceof StrictJsonError ? err.message : String(err)}.`);
  }
  if (!isJsonObject(header)) return fail('header JSON is not an object.');
  const bufferLength = bytes.length - 8 - n;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isJsonObject(entry)) fail('__metadata__ is not an object of strings.');
      for (const [k, v] of Object.entries(entry as Record<string, JsonValue>)) {
        if (typeof v !== 'string') fail(`__metadata__ value for ${JSON.stringify(k)} is ${v === null ? 'null' : typeof v}; the format allows strings only.`);
        metadata[k] = v as string;
      }
      continue;
    }
    const bad = (m: string): never => fail(`tensor ${JSON.stringify(name)}: ${m}.`);
    if (!isJsonObject(entry)) bad('entry is not an object with dtype, shape and data_offsets');
    const e = entry as Record<string, JsonValue>;
    const dtype = e['dtype'];
    if (typeof dtype !== 'string' || !isDtype(dtype)) bad(`unknown dtype ${JSON.stringify(dtype ?? null)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`);
    const shape = e['shape'];
    if (!Array.isArray(shape)) bad('shape is not an array');
    const offs = e['data_offsets'];
    if (!Array.isArray(offs) || offs.length !== 2) bad('data_offsets is not a [begin, end] pair');
    const [begin, end] = offs as JsonValue[];
    if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
      bad(`data_offsets ${JSON.stringify(offs)} are not integers with 0 ≤ begin ≤ end`);
    }
    const shapeNums = (shape as JsonValue[]).map((s) => (typeof s === 'number' ? s : NaN));
    const count = elementCount(shapeNums, bad);
    const size = SAFETENSORS_DTYPE_SIZE[dtype as SafetensorsDtype];
    const expected = count * size;
    if (!Number.isSafeInteger(expected)) bad('byte size overflows');
    if ((end as number) - (begin as number) !== expected) {
      bad(`data_offsets span ${(end as number) - (begin as number)} bytes but shape [${shapeNums.join(', ')}] of ${dtype as string} needs ${expected}`);
    }
    if ((end as number) > bufferLength) bad(`data_offsets end ${end as number} is past the end of the byte buffer (${bufferLength} bytes): the file is truncated`);
    tensors.push({
      name,
      dtype: dtype as SafetensorsDtype,
      shape: shapeNums,
      dataOffsets: [begin as number, end as number],
      data: bytes.subarray(8 + n + (begin as number), 8 + n + (end as number)),
    });
  }
  // Contiguity: sorted by begin, the first starts at 0, no holes or overlaps, the last ends at the end of the file.
  const sorted = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  for (const t of sorted) {
    if (t.dataOffsets[0] !== cursor) {
      fail(
        t.dataOffsets[0] > cursor
          ? `tensor ${JSON.stringify(t.name)} starts at byte ${t.dataOffsets[0]} but the previous data ends at ${cursor}: the byte buffer has a hole.`
          : `tensor ${JSON.stringify(t.name)} starts at byte ${t.dataOffsets[0]}, overlapping data that ends at ${cursor}.`,
      );
    }
    cursor = t.dataOffsets[1];
  }
  if (cursor !== bufferLength) {
    fail(`tensor data ends at byte ${cursor} of the byte buffer but the file has ${bufferLength} bytes after the header: the file has trailing bytes or is corrupt.`);
  }
  return { metadata, tensors, headerLength: n };
}

/** Serialises tensors (+ optional string metadata) to safetensors bytes, laid out as the reference writer does. */
export function serializeSafetensors(tensors: readonly SafetensorsTensorInput[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const names = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new VectorFileError('<writer>', 'a tensor cannot be named __metadata__.');
    if (names.has(t.name)) throw new VectorFileError('<writer>', `duplicate tensor name ${JSON.stringify(t.name)}.`);
    names.add(t.name);
    if (!isDtype(t.dtype)) throw new VectorFileError('<writer>', `tensor ${JSON.stringify(t.name)} has unknown dtype ${String(t.dtype)}.`);
    const count = elementCount(t.shape, (m) => {
      throw new VectorFileError('<writer>', `tensor ${JSON.stringify(t.name)}: ${m}.`);
    });
    const bytes = asBytes(t.data);
    if (bytes.length !== count * SAFETENSORS_DTYPE_SIZE[t.dtype]) {
      throw new VectorFileError('<writer>', `tensor ${JSON.stringify(t.name)} has ${bytes.length} bytes of data but shape [${t.shape.join(', ')}] of ${t.dtype} needs ${count * SAFETENSORS_DTYPE_SIZE[t.dtype]}.`);
    }
  }
  // Reference order: by dtype descending (declaration order), then by name; keeps wide dtypes aligned.
  const order = [...tensors].sort((a, b) => {
    const d = SAFETENSORS_DTYPES.indexOf(b.dtype) - SAFETENSORS_DTYPES.indexOf(a.dtype);
    return d !== 0 ? d : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    const keys = Object.keys(metadata).sort();
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') throw new VectorFileError('<writer>', `__metadata__ value for ${JSON.stringify(k)} must be a string.`);
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of order) {
    const len = asBytes(t.data).length;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":${JSON.stringify(t.dtype)},"shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + len}]}`);
    offset += len;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const pad = (8 - (json.length % 8)) % 8;
  const n = json.length + pad;
  if (n > SAFETENSORS_MAX_HEADER) throw new VectorFileError('<writer>', `header would be ${n} bytes, over the ${SAFETENSORS_MAX_HEADER}-byte limit.`);
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let p = 8 + n;
  for (const t of order) {
    const b = asBytes(t.data);
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** Converts a floating-point tensor (F32, F64, F16, BF16) to a fresh Float32Array (little-endian). */
export function tensorToFloat32(t: SafetensorsTensor, file = '<buffer>'): Float32Array {
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const size = SAFETENSORS_DTYPE_SIZE[t.dtype];
  const count = t.data.byteLength / size;
  const out = new Float32Array(count);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = f16ToNumber(dv.getUint16(i * 2, true));
      return out;
    case 'BF16':
      for (let i = 0; i < count; i++) out[i] = bf16ToNumber(dv.getUint16(i * 2, true));
      return out;
    default:
      throw new VectorFileError(file, `tensor ${JSON.stringify(t.name)} has dtype ${t.dtype}; a steering vector must be floating point (F32, F16, BF16 or F64).`);
  }
}

/** Little-endian bytes of a Float32Array (a copy on big-endian hosts, a view otherwise). */
export function float32LeBytes(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setFloat32(i * 4, v[i] as number, true);
  return out;
}

/** Reads and validates a safetensors file from disk. */
export async function readSafetensorsFile(filePath: string): Promise<SafetensorsFile> {
  const bytes = await fs.readFile(filePath);
  return parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), filePath);
}

/** Writes tensors + metadata to `filePath` atomically (temp file + rename). */
export async function writeSafetensorsFile(filePath: string, tensors: readonly SafetensorsTensorInput[], metadata?: Readonly<Record<string, string>>): Promise<void> {
  await writeFileAtomic(filePath, serializeSafetensors(tensors, metadata));
}
