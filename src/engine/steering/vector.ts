// Steering vectors as data: per-layer directions plus the metadata needed to use them safely
// (which model, which languages, how they were made) and to compose several at once.
//
// Layer index convention (the project's, written down once): k counts residual-stream states,
// k = 0 is the embeddings output, k = L the output of the last block; `hidden_states.{k}` and `steer.{k}`
// in the surgered ONNX graph use the same k. The output of block b (0-based) is k = b + 1, which is
// llama.cpp's `direction.{b}` in a GGUF control vector (see gguf.ts for the mapping).

import { SteeringInputError, VectorCompatibilityError } from './errors.js';

/** How a vector was made. `imported` = read from a foreign file (GGUF) without our metadata. */
export const STEERING_METHODS = [
  'diffmean',
  'diffmean-monolingual',
  'pca',
  'probe',
  'projection',
  'learned',
  'imported',
  'custom',
] as const;
export type SteeringMethod = (typeof STEERING_METHODS)[number];

/** How token states were pooled into one vector per sentence before the method ran. */
export const POOLINGS = ['mean', 'last', 'all-tokens', 'unknown'] as const;
export type Pooling = (typeof POOLINGS)[number];

/** Which positions receive the offset: every position, prompt only, generated tokens only, or the last prompt token. */
export const POSITION_MODES = ['all', 'prompt', 'generated', 'lastPrompt'] as const;
export type PositionMode = (typeof POSITION_MODES)[number];

/**
 * Units of a strength α:
 * - `activationNorm` (default): the added offset is α · m_k · v̂_k, i.e. its norm is α times the layer's
 *   mean activation norm m_k (needs m_k in the metadata);
 * - `absolute`: the added offset is α · v̂_k, its norm is α in hidden-state units;
 * - `raw`: the added offset is α · v_k, the stored vector as is (llama.cpp's `--control-vector-scaled` scale).
 */
export const STRENGTH_UNITS = ['activationNorm', 'absolute', 'raw'] as const;
export type StrengthUnit = (typeof STRENGTH_UNITS)[number];

/** Descriptive metadata of a steering vector; everything a file stores besides the tensors. */
export interface SteeringVectorMetadata {
  /** Content hash of the model the vector was extracted from (hex); '' when unknown. */
  modelHash: string;
  /** Architecture hint, e.g. `llama`, `qwen2` (llama.cpp's `controlvector.model_hint`); '' when unknown. */
  modelHint: string;
  /** Residual-stream width d; every direction has this length. */
  hiddenSize: number;
  method: SteeringMethod;
  /** Language the vector steers away from (ISO 639-1, e.g. `fr`); '' when not language-specific. */
  sourceLanguage: string;
  /** Language the vector steers toward (ISO 639-1, e.g. `en`). */
  targetLanguage: string;
  /** Number of (parallel or monolingual) examples used to extract it; 0 when unknown. */
  numPairs: number;
  pooling: Pooling;
  /** Tokens pooled per language (e.g. {en: 5123, fr: 6011}); empty when unknown. */
  tokenCounts: Readonly<Record<string, number>>;
  /** Mean L2 norm of the residual stream at layer k over the extraction data (hidden-state units), by k. */
  meanActivationNorms: Readonly<Record<number, number>>;
  /** L2 norm of each stored direction, by k (derived from the tensors; recomputed on load). */
  vectorNorms: Readonly<Record<number, number>>;
  /** Layer to apply when the user names none (chosen by a sweep); null when not chosen. */
  defaultLayer: number | null;
  /** Strength to apply when the user names none; null when not chosen. */
  defaultStrength: number | null;
  /** Unit of `defaultStrength` (and of strengths given without a unit). */
  defaultStrengthUnit: StrengthUnit;
  /** Default position mode. */
  defaultPositions: PositionMode;
  /** ISO 8601 creation time. */
  createdAt: string;
  /** Free-form notes (data source, sweep results...). */
  notes: string;
}

/** A steering vector: per-layer directions [hiddenSize] keyed by k, optional per-layer projection maps, and metadata. */
export interface SteeringVector {
  readonly metadata: SteeringVectorMetadata;
  /** k → direction, Float32Array of length hiddenSize. */
  readonly directions: ReadonlyMap<number, Float32Array>;
  /** k → INCLINE-style projection W, row-major [hiddenSize, hiddenSize] (applied as a' = a + σ(aW − a)); usually empty. */
  readonly projections: ReadonlyMap<number, Float32Array>;
}

/** Fields accepted by `createSteeringVector`; derived fields (vector norms) are computed. */
export interface SteeringVectorInit {
  directions: ReadonlyMap<number, Float32Array> | Readonly<Record<number, Float32Array>>;
  projections?: ReadonlyMap<number, Float32Array> | Readonly<Record<number, Float32Array>>;
  hiddenSize?: number;
  modelHash?: string;
  modelHint?: string;
  method?: SteeringMethod;
  sourceLanguage?: string;
  targetLanguage?: string;
  numPairs?: number;
  pooling?: Pooling;
  tokenCounts?: Readonly<Record<string, number>>;
  meanActivationNorms?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
  defaultLayer?: number | null;
  defaultStrength?: number | null;
  defaultStrengthUnit?: StrengthUnit;
  defaultPositions?: PositionMode;
  createdAt?: string;
  notes?: string;
}

/** L2 norm of a vector, accumulated in float64. */
export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    s += x * x;
  }
  return Math.sqrt(s);
}

function toLayerMap<T>(m: ReadonlyMap<number, T> | Readonly<Record<number, T>>): Map<number, T> {
  if (m instanceof Map) return new Map(m as ReadonlyMap<number, T>);
  const out = new Map<number, T>();
  for (const [key, value] of Object.entries(m as Record<string, T>)) out.set(Number(key), value);
  return out;
}

/** True for a valid layer index k (non-negative safe integer). */
export function isLayerIndex(k: number): boolean {
  return Number.isSafeInteger(k) && k >= 0;
}

function assertLayer(k: number, what: string): void {
  if (!isLayerIndex(k)) {
    throw new SteeringInputError(`${what}: layer index ${String(k)} is not a non-negative integer (k = 0 is the embeddings output, k = L the last block's output).`);
  }
}

function assertFinite(v: Float32Array, what: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new SteeringInputError(`${what}: element ${i} is ${String(v[i])}; a steering vector must be finite. Re-extract it or check the source file.`);
    }
  }
}

/** Builds a validated SteeringVector (all directions length hiddenSize, finite, layer keys ≥ 0); copies nothing but the maps. */
export function createSteeringVector(init: SteeringVectorInit): SteeringVector {
  const directions = toLayerMap(init.directions);
  const projections = init.projections ? toLayerMap(init.projections) : new Map<number, Float32Array>();
  if (directions.size === 0 && projections.size === 0) {
    throw new SteeringInputError('A steering vector needs at least one layer: pass directions keyed by layer index k.');
  }
  const first = directions.values().next().value;
  let hiddenSize = init.hiddenSize ?? first?.length;
  if (hiddenSize === undefined) {
    const p = projections.values().next().value as Float32Array;
    hiddenSize = Math.round(Math.sqrt(p.length));
  }
  if (!Number.isSafeInteger(hiddenSize) || hiddenSize <= 0) {
    throw new SteeringInputError(`hiddenSize must be a positive integer, got ${String(hiddenSize)}.`);
  }
  const vectorNorms: Record<number, number> = {};
  for (const [k, v] of directions) {
    assertLayer(k, 'direction');
    if (!(v instanceof Float32Array)) throw new SteeringInputError(`direction at layer ${k} must be a Float32Array.`);
    if (v.length !== hiddenSize) {
      throw new SteeringInputError(`direction at layer ${k} has length ${v.length}, expected hidden size ${hiddenSize}. All layers of one vector must have the model's hidden size.`);
    }
    assertFinite(v, `direction at layer ${k}`);
    vectorNorms[k] = l2Norm(v);
  }
  for (const [k, w] of projections) {
    assertLayer(k, 'projection');
    if (!(w instanceof Float32Array) || w.length !== hiddenSize * hiddenSize) {
      throw new SteeringInputError(`projection at layer ${k} must be a Float32Array of ${hiddenSize}×${hiddenSize} = ${hiddenSize * hiddenSize} elements, got ${w.length}.`);
    }
    assertFinite(w, `projection at layer ${k}`);
  }
  const meanActivationNorms: Record<number, number> = {};
  if (init.meanActivationNorms) {
    for (const [k, n] of toLayerMap(init.meanActivationNorms)) {
      assertLayer(k, 'meanActivationNorms');
      if (!Number.isFinite(n) || n < 0) throw new SteeringInputError(`mean activation norm at layer ${k} must be a finite non-negative number, got ${String(n)}.`);
      meanActivationNorms[k] = n;
    }
  }
  const defaultLayer = init.defaultLayer ?? null;
  if (defaultLayer !== null && !directions.has(defaultLayer) && !projections.has(defaultLayer)) {
    throw new SteeringInputError(`defaultLayer ${defaultLayer} has no direction; layers present: ${layersOf({ directions, projections }).join(', ')}.`);
  }
  const defaultStrength = init.defaultStrength ?? null;
  if (defaultStrength !== null && !Number.isFinite(defaultStrength)) throw new SteeringInputError(`defaultStrength must be finite, got ${String(defaultStrength)}.`);
  const numPairs = init.numPairs ?? 0;
  if (!Number.isSafeInteger(numPairs) || numPairs < 0) throw new SteeringInputError(`numPairs must be a non-negative integer, got ${String(numPairs)}.`);
  const method = init.method ?? 'custom';
  if (!(STEERING_METHODS as readonly string[]).includes(method)) throw new SteeringInputError(`Unknown method '${String(method)}'; expected one of ${STEERING_METHODS.join(', ')}.`);
  const pooling = init.pooling ?? 'unknown';
  if (!(POOLINGS as readonly string[]).includes(pooling)) throw new SteeringInputError(`Unknown pooling '${String(pooling)}'; expected one of ${POOLINGS.join(', ')}.`);
  const defaultStrengthUnit = init.defaultStrengthUnit ?? 'activationNorm';
  if (!(STRENGTH_UNITS as readonly string[]).includes(defaultStrengthUnit)) throw new SteeringInputError(`Unknown strength unit '${String(defaultStrengthUnit)}'; expected one of ${STRENGTH_UNITS.join(', ')}.`);
  const defaultPositions = init.defaultPositions ?? 'all';
  if (!(POSITION_MODES as readonly string[]).includes(defaultPositions)) throw new SteeringInputError(`Unknown position mode '${String(defaultPositions)}'; expected one of ${POSITION_MODES.join(', ')}.`);
  return {
    metadata: {
      modelHash: init.modelHash ?? '',
      modelHint: init.modelHint ?? '',
      hiddenSize,
      method,
      sourceLanguage: init.sourceLanguage ?? '',
      targetLanguage: init.targetLanguage ?? '',
      numPairs,
      pooling,
      tokenCounts: { ...(init.tokenCounts ?? {}) },
      meanActivationNorms,
      vectorNorms,
      defaultLayer,
      defaultStrength,
      defaultStrengthUnit,
      defaultPositions,
      createdAt: init.createdAt ?? new Date().toISOString(),
      notes: init.notes ?? '',
    },
    directions,
    projections,
  };
}

/** Sorted layer indices k that carry a direction or a projection. */
export function layersOf(v: Pick<SteeringVector, 'directions' | 'projections'>): number[] {
  const s = new Set<number>([...v.directions.keys(), ...v.projections.keys()]);
  return [...s].sort((a, b) => a - b);
}

/** What the engine knows about the loaded model, for compatibility checks. */
export interface ModelIdentity {
  /** Residual-stream width d. */
  hiddenSize: number;
  /** Number of blocks L (valid k are 0..L); omitted when unknown. */
  numLayers?: number;
  /** Content hash (hex) of the model; omitted or '' when unknown. */
  modelHash?: string;
  /** Architecture hint, e.g. `llama`; omitted or '' when unknown. */
  modelHint?: string;
}

/** Options for `checkVectorCompatibility`. */
export interface CompatibilityOptions {
  /** Accept a vector whose model hash differs (e.g. a fine-tune of the same base); hidden size and hint still must match. */
  allowOtherModel?: boolean;
  /** Label for messages (file name or vector name). */
  label?: string;
}

/** Throws VectorCompatibilityError when the vector cannot be applied to the model: hidden size, hint, hash or layer range. */
export function checkVectorCompatibility(vector: SteeringVector, model: ModelIdentity, options: CompatibilityOptions = {}): void {
  const label = options.label ?? 'steering vector';
  const m = vector.metadata;
  if (m.hiddenSize !== model.hiddenSize) {
    throw new VectorCompatibilityError(
      `${label} has hidden size ${m.hiddenSize} but the model's residual stream has ${model.hiddenSize}: it was made for another model${m.modelHint ? ` (${m.modelHint})` : ''}. Extract a vector for this model.`,
    );
  }
  const vh = m.modelHint.trim().toLowerCase();
  const mh = (model.modelHint ?? '').trim().toLowerCase();
  if (vh && mh && vh !== mh) {
    throw new VectorCompatibilityError(
      `${label} was made for architecture '${m.modelHint}' but the model is '${model.modelHint ?? ''}'. Extract a vector for this model.`,
    );
  }
  const vHash = m.modelHash.trim().toLowerCase();
  const mHash = (model.modelHash ?? '').trim().toLowerCase();
  if (vHash && mHash && vHash !== mHash && !options.allowOtherModel) {
    throw new VectorCompatibilityError(
      `${label} was extracted from model ${vHash.slice(0, 12)}… but this model is ${mHash.slice(0, 12)}…. Same shape, different weights: re-extract it, or allow vectors from other models (--allow-other-model) if this is a fine-tune of the same base.`,
    );
  }
  if (model.numLayers !== undefined) {
    for (const k of layersOf(vector)) {
      if (k > model.numLayers) {
        throw new VectorCompatibilityError(
          `${label} has a direction at layer ${k} but the model has ${model.numLayers} blocks (valid layers 0..${model.numLayers}). Choose a vector made for this model.`,
        );
      }
    }
  }
}

/** One vector switched on: which layer, how strong, in which unit, at which positions. */
export interface ActiveVector {
  vector: SteeringVector;
  /** Layer k to apply at (must have a direction); default: metadata.defaultLayer, or the vector's only layer. */
  layer?: number;
  /** Strength α; default metadata.defaultStrength ?? 1. Negative values steer the other way. */
  strength?: number;
  /** Unit of α; default metadata.defaultStrengthUnit. */
  unit?: StrengthUnit;
  /** Positions to steer; default metadata.defaultPositions. */
  positions?: PositionMode;
  /** Name for reports, e.g. `fr-en`. */
  label?: string;
}

/** One resolved term of a composition (for reports and UI). */
export interface ComposedTerm {
  label: string;
  layer: number;
  positions: PositionMode;
  strength: number;
  unit: StrengthUnit;
  /** Multiplier applied to the stored direction: offset = coefficient · v_k. */
  coefficient: number;
  /** L2 norm of this term's offset (hidden-state units). */
  offsetNorm: number;
}

/** Several vectors summed per layer and position mode; offsets are Float32Array [hiddenSize]. */
export interface ComposedSteering {
  hiddenSize: number;
  /** k → position mode → summed offset. Only modes with at least one term are present. */
  layers: ReadonlyMap<number, ReadonlyMap<PositionMode, Float32Array>>;
  terms: readonly ComposedTerm[];
}

function resolveLayer(a: ActiveVector, label: string): number {
  const v = a.vector;
  if (a.layer !== undefined) {
    assertLayer(a.layer, label);
    if (!v.directions.has(a.layer)) {
      const have = [...v.directions.keys()].sort((x, y) => x - y);
      throw new SteeringInputError(`${label} has no direction at layer ${a.layer}; it has layers ${have.length ? have.join(', ') : '(none: a projection-only vector cannot be added)'}. Pick one of those.`);
    }
    return a.layer;
  }
  const d = v.metadata.defaultLayer;
  if (d !== null && v.directions.has(d)) return d;
  if (v.directions.size === 1) return v.directions.keys().next().value as number;
  const have = [...v.directions.keys()].sort((x, y) => x - y);
  throw new SteeringInputError(`${label} has directions at layers ${have.join(', ')} and no default layer: say which layer to apply (--layer K).`);
}

/** Coefficient c so that the offset is c · v_k for the given strength and unit. */
export function strengthCoefficient(vector: SteeringVector, layer: number, strength: number, unit: StrengthUnit, label = 'steering vector'): number {
  if (!Number.isFinite(strength)) throw new SteeringInputError(`${label}: strength must be a finite number, got ${String(strength)}.`);
  if (unit === 'raw') return strength;
  const norm = vector.metadata.vectorNorms[layer] ?? l2Norm(vector.directions.get(layer) ?? new Float32Array(0));
  if (norm === 0) return 0;
  if (unit === 'absolute') return strength / norm;
  const m = vector.metadata.meanActivationNorms[layer];
  if (m === undefined) {
    throw new SteeringInputError(
      `${label}: strength is in units of the layer's mean activation norm, but the vector has no mean activation norm for layer ${layer} (e.g. it was imported from GGUF). Give the strength as 'raw' or 'absolute', or re-extract the vector.`,
    );
  }
  return (strength * m) / norm;
}

/** Sums several active vectors into per-layer, per-position-mode offsets; all must share one hidden size. */
export function composeSteering(active: readonly ActiveVector[]): ComposedSteering {
  if (active.length === 0) return { hiddenSize: 0, layers: new Map(), terms: [] };
  const hiddenSize = active[0]!.vector.metadata.hiddenSize;
  const layers = new Map<number, Map<PositionMode, Float32Array>>();
  const terms: ComposedTerm[] = [];
  active.forEach((a, i) => {
    const label = a.label ?? (a.vector.metadata.sourceLanguage && a.vector.metadata.targetLanguage
      ? `${a.vector.metadata.sourceLanguage}-${a.vector.metadata.targetLanguage} (#${i + 1})`
      : `vector #${i + 1}`);
    if (a.vector.metadata.hiddenSize !== hiddenSize) {
      throw new VectorCompatibilityError(`${label} has hidden size ${a.vector.metadata.hiddenSize} but the first active vector has ${hiddenSize}: vectors for different models cannot be combined.`);
    }
    const layer = resolveLayer(a, label);
    const positions = a.positions ?? a.vector.metadata.defaultPositions;
    if (!(POSITION_MODES as readonly string[]).includes(positions)) {
      throw new SteeringInputError(`${label}: unknown position mode '${String(positions)}'; expected one of ${POSITION_MODES.join(', ')}.`);
    }
    const unit = a.unit ?? a.vector.metadata.defaultStrengthUnit;
    if (!(STRENGTH_UNITS as readonly string[]).includes(unit)) {
      throw new SteeringInputError(`${label}: unknown strength unit '${String(unit)}'; expected one of ${STRENGTH_UNITS.join(', ')}.`);
    }
    const strength = a.strength ?? a.vector.metadata.defaultStrength ?? 1;
    const coefficient = strengthCoefficient(a.vector, layer, strength, unit, label);
    const dir = a.vector.directions.get(layer)!;
    let byMode = layers.get(layer);
    if (!byMode) {
      byMode = new Map();
      layers.set(layer, byMode);
    }
    let acc = byMode.get(positions);
    if (!acc) {
      acc = new Float32Array(hiddenSize);
      byMode.set(positions, acc);
    }
    let sq = 0;
    for (let j = 0; j < hiddenSize; j++) {
      const x = coefficient * (dir[j] as number);
      acc[j] = (acc[j] as number) + x;
      sq += x * x;
    }
    terms.push({ label, layer, positions, strength, unit, coefficient, offsetNorm: Math.sqrt(sq) });
  });
  return { hiddenSize, layers, terms };
}

/** Kind of a sequence position: a prompt token, the last prompt token, or a generated token. */
export type PositionKind = 'prompt' | 'lastPrompt' | 'generated';

/** Whether a position mode applies to a position kind (lastPrompt positions are also prompt positions). */
export function modeApplies(mode: PositionMode, kind: PositionKind): boolean {
  switch (mode) {
    case 'all':
      return true;
    case 'prompt':
      return kind === 'prompt' || kind === 'lastPrompt';
    case 'lastPrompt':
      return kind === 'lastPrompt';
    case 'generated':
      return kind === 'generated';
  }
}

/** Summed offset [hiddenSize] at layer k for one position kind, or null when nothing applies there. */
export function offsetAt(composed: ComposedSteering, layer: number, kind: PositionKind): Float32Array | null {
  const byMode = composed.layers.get(layer);
  if (!byMode) return null;
  let out: Float32Array | null = null;
  for (const [mode, v] of byMode) {
    if (!modeApplies(mode, kind)) continue;
    if (!out) out = new Float32Array(v);
    else for (let j = 0; j < v.length; j++) out[j] = (out[j] as number) + (v[j] as number);
  }
  return out;
}

/** Position kinds for positions [start, start + count) of a sequence whose prompt has `promptLength` tokens. */
export function positionKinds(promptLength: number, start: number, count: number): PositionKind[] {
  const out: PositionKind[] = [];
  for (let p = start; p < start + count; p++) {
    out.push(p < promptLength - 1 ? 'prompt' : p === promptLength - 1 ? 'lastPrompt' : 'generated');
  }
  return out;
}

/** Row-major [kinds.length, hiddenSize] offsets for layer k (zeros where nothing applies): the `steer.{k}` input. */
export function steeringRows(composed: ComposedSteering, layer: number, kinds: readonly PositionKind[]): Float32Array {
  const d = composed.hiddenSize;
  const out = new Float32Array(kinds.length * d);
  const cache = new Map<PositionKind, Float32Array | null>();
  kinds.forEach((kind, t) => {
    if (!cache.has(kind)) cache.set(kind, offsetAt(composed, layer, kind));
    const v = cache.get(kind);
    if (v) out.set(v, t * d);
  });
  return out;
}
