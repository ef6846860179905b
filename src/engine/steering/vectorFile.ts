// The native steering-vector file: safetensors with one F32 tensor `direction.{k}` of shape [hiddenSize] per
// layer k (our index: k = 0 embeddings output ... k = L last block output), optional `projection.{k}` F32
// [hiddenSize, hiddenSize], and all metadata as `__metadata__` strings (numbers in decimal, maps as JSON).
// See README.md in this folder for the key list and a Python snippet that converts other tools' vectors.

import { promises as fs } from 'node:fs';
import { writeFileAtomic } from './atomicWrite.js';
import { VectorFileError } from './errors.js';
import { steeringVectorFromGguf, type GgufImportResult } from './gguf.js';
import { float32LeBytes, parseSafetensors, serializeSafetensors, tensorToFloat32, type SafetensorsTensorInput } from './safetensors.js';
import {
  createSteeringVector,
  POOLINGS,
  POSITION_MODES,
  STEERING_METHODS,
  STRENGTH_UNITS,
  type Pooling,
  type PositionMode,
  type SteeringMethod,
  type SteeringVector,
  type StrengthUnit,
} from './vector.js';

/** Value of the `format` metadata key that marks our files. */
export const NATIVE_VECTOR_FORMAT = 'polyglot-lens/steering-vector';
/** Current version of the native format (`format_version` key). */
export const NATIVE_VECTOR_FORMAT_VERSION = '1';

const DIRECTION_RE = /^direction\.(\d+)$/;
const PROJECTION_RE = /^projection\.(\d+)$/;

function layerRecordToJson(r: Readonly<Record<number, number>>): string {
  const keys = Object.keys(r).map(Number).sort((a, b) => a - b);
  return JSON.stringify(Object.fromEntries(keys.map((k) => [String(k), r[k]])));
}

/** Serialises a steering vector to native safetensors bytes. */
export function encodeSteeringVector(v: SteeringVector): Uint8Array {
  const m = v.metadata;
  const tensors: SafetensorsTensorInput[] = [];
  for (const [k, d] of v.directions) tensors.push({ name: `direction.${k}`, dtype: 'F32', shape: [m.hiddenSize], data: float32LeBytes(d) });
  for (const [k, w] of v.projections) tensors.push({ name: `projection.${k}`, dtype: 'F32', shape: [m.hiddenSize, m.hiddenSize], data: float32LeBytes(w) });
  const metadata: Record<string, string> = {
    format: NATIVE_VECTOR_FORMAT,
    format_version: NATIVE_VECTOR_FORMAT_VERSION,
    layer_convention: 'k=0 embeddings output, k=L last block output; direction.k is added to hidden_states.k (llama.cpp direction.{k-1})',
    model_hash: m.modelHash,
    model_hint: m.modelHint,
    hidden_size: String(m.hiddenSize),
    method: m.method,
    source_language: m.sourceLanguage,
    target_language: m.targetLanguage,
    num_pairs: String(m.numPairs),
    pooling: m.pooling,
    token_counts: JSON.stringify(m.tokenCounts),
    mean_activation_norms: layerRecordToJson(m.meanActivationNorms),
    vector_norms: layerRecordToJson(m.vectorNorms),
    default_layer: m.defaultLayer === null ? '' : String(m.defaultLayer),
    default_strength: m.defaultStrength === null ? '' : String(m.defaultStrength),
    default_strength_unit: m.defaultStrengthUnit,
    default_positions: m.defaultPositions,
    created_at: m.createdAt,
    notes: m.notes,
  };
  return serializeSafetensors(tensors, metadata);
}

/** Parses native safetensors bytes (or a bare `direction.{k}` safetensors from another tool) into a SteeringVector. */
export function decodeSteeringVector(bytes: Uint8Array, file = '<buffer>'): SteeringVector {
  const st = parseSafetensors(bytes, file);
  const md = st.metadata;
  const fail = (problem: string, remedy = 'Re-export the vector with Polyglot Lens or see the format notes in the documentation.'): never => {
    throw new VectorFileError(file, problem, remedy);
  };
  if (md['format'] !== undefined && md['format'] !== NATIVE_VECTOR_FORMAT) {
    fail(`has format ${JSON.stringify(md['format'])}, not ${JSON.stringify(NATIVE_VECTOR_FORMAT)}.`);
  }
  if (md['format_version'] !== undefined && md['format_version'] !== NATIVE_VECTOR_FORMAT_VERSION) {
    fail(`has native format version ${md['format_version']}; this build reads version ${NATIVE_VECTOR_FORMAT_VERSION}.`, 'Update Polyglot Lens.');
  }
  const directions = new Map<number, Float32Array>();
  const projections = new Map<number, Float32Array>();
  let hiddenSize = md['hidden_size'] !== undefined && md['hidden_size'] !== '' ? Number(md['hidden_size']) : NaN;
  if (md['hidden_size'] !== undefined && (!Number.isSafeInteger(hiddenSize) || hiddenSize <= 0)) fail(`metadata hidden_size ${JSON.stringify(md['hidden_size'])} is not a positive integer.`);
  for (const t of st.tensors) {
    const dm = DIRECTION_RE.exec(t.name);
    const pm = PROJECTION_RE.exec(t.name);
    if (!dm && !pm) continue; // other tensors (e.g. a user's extras) are ignored
    const k = Number((dm ?? pm)![1]);
    if (dm) {
      const len = t.shape.reduce((a, b) => a * b, 1);
      const okShape = t.shape.length === 1 || (t.shape.length === 2 && t.shape[0] === 1);
      if (!okShape) fail(`tensor ${t.name} has shape [${t.shape.join(', ')}]; a direction must be [hidden_size].`);
      if (Number.isNaN(hiddenSize)) hiddenSize = len;
      if (len !== hiddenSize) fail(`tensor ${t.name} has ${len} elements but the hidden size is ${hiddenSize}.`);
      directions.set(k, tensorToFloat32(t, file));
    } else {
      if (Number.isNaN(hiddenSize)) fail(`projection tensor ${t.name} found but the hidden size is unknown (no direction tensors and no hidden_size metadata).`);
      if (t.shape.length !== 2 || t.shape[0] !== hiddenSize || t.shape[1] !== hiddenSize) {
        fail(`tensor ${t.name} has shape [${t.shape.join(', ')}]; a projection must be [${hiddenSize}, ${hiddenSize}].`);
      }
      projections.set(k, tensorToFloat32(t, file));
    }
  }
  if (directions.size === 0 && projections.size === 0) {
    fail('has no direction.{k} tensors: it is not a steering vector.', 'Name each layer\'s vector direction.{k} (k = residual layer index) as described in the documentation.');
  }
  const num = (key: string): number | null => {
    const s = md[key];
    if (s === undefined || s === '') return null;
    const x = Number(s);
    if (!Number.isFinite(x)) fail(`metadata ${key} = ${JSON.stringify(s)} is not a number.`);
    return x;
  };
  const layerRecord = (key: string): Record<number, number> => {
    const s = md[key];
    if (s === undefined || s === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      return fail(`metadata ${key} is not valid JSON.`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(`metadata ${key} must be a JSON object of layer → number.`);
    const out: Record<number, number> = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      const layer = Number(k);
      if (!Number.isSafeInteger(layer) || layer < 0 || typeof v !== 'number') fail(`metadata ${key} has a bad entry ${JSON.stringify(k)}: ${JSON.stringify(v)}.`);
      out[layer] = v as number;
    }
    return out;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const s = md[key];
    if (s === undefined || s === '') return fallback;
    if (!(allowed as readonly string[]).includes(s)) fail(`metadata ${key} = ${JSON.stringify(s)} is not one of ${allowed.join(', ')}.`);
    return s as T;
  };
  let tokenCounts: Record<string, number> = {};
  if (md['token_counts']) {
    try {
      tokenCounts = JSON.parse(md['token_counts']) as Record<string, number>;
    } catch {
      fail('metadata token_counts is not valid JSON.');
    }
  }
  const numPairs = num('num_pairs');
  try {
    return createSteeringVector({
      directions,
      projections,
      hiddenSize,
      modelHash: md['model_hash'] ?? '',
      modelHint: md['model_hint'] ?? '',
      method: oneOf<SteeringMethod>('method', STEERING_METHODS, md['format'] ? 'custom' : 'imported'),
      sourceLanguage: md['source_language'] ?? '',
      targetLanguage: md['target_language'] ?? '',
      numPairs: numPairs ?? 0,
      pooling: oneOf<Pooling>('pooling', POOLINGS, 'unknown'),
      tokenCounts,
      meanActivationNorms: layerRecord('mean_activation_norms'),
      defaultLayer: num('default_layer'),
      defaultStrength: num('default_strength'),
      defaultStrengthUnit: oneOf<StrengthUnit>('default_strength_unit', STRENGTH_UNITS, md['format'] ? 'activationNorm' : 'raw'),
      defaultPositions: oneOf<PositionMode>('default_positions', POSITION_MODES, 'all'),
      createdAt: md['created_at'] ?? new Date(0).toISOString(),
      notes: md['notes'] ?? '',
    });
  } catch (err) {
    if (err instanceof VectorFileError) throw err;
    return fail(`does not describe a valid steering vector: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Saves a steering vector in the native format, atomically (temp file + rename). */
export async function saveSteeringVector(filePath: string, v: SteeringVector): Promise<void> {
  await writeFileAtomic(filePath, encodeSteeringVector(v));
}

/** Kind of vector file, told by its signature bytes. */
export type VectorFileKind = 'safetensors' | 'gguf';

/** Detects the file kind from its first bytes ("GGUF" magic, or a u64 length followed by '{'); null if neither. */
export function detectVectorFileKind(bytes: Uint8Array): VectorFileKind | null {
  if (bytes.length >= 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46) return 'gguf';
  if (bytes.length >= 9 && bytes[8] === 0x7b) return 'safetensors';
  return null;
}

/** Loaded vector plus reader warnings (GGUF imports) and the detected kind. */
export interface LoadedVector {
  vector: SteeringVector;
  kind: VectorFileKind;
  warnings: string[];
}

/** Loads a native safetensors or GGUF control-vector file, told apart by signature bytes, not by extension. */
export async function loadSteeringVector(filePath: string): Promise<LoadedVector> {
  const buf = await fs.readFile(filePath);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const kind = detectVectorFileKind(bytes);
  if (kind === 'gguf') {
    const r: GgufImportResult = steeringVectorFromGguf(bytes, filePath);
    return { vector: r.vector, kind, warnings: r.warnings };
  }
  if (kind === 'safetensors') return { vector: decodeSteeringVector(bytes, filePath), kind, warnings: [] };
  throw new VectorFileError(filePath, 'is neither a safetensors file nor a GGUF control vector (signature bytes not recognised).', 'Pass a .safetensors vector from Polyglot Lens or a llama.cpp control-vector .gguf.');
}
