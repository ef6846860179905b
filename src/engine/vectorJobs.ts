/**
 * The worker's vector jobs: read a parallel corpus, extract a vector from it, sweep a vector's layer ×
 * strength, export one layer to llama.cpp (GGUF) or safetensors, and check a vector file against the model.
 * The same engine functions the CLI's `extract`, `sweep` and `export` use, so a vector computed in the editor
 * is the vector the CLI computes from the same inputs.
 *
 * Every file is written atomically (temp file + rename). Long jobs report `fraction` progress and stop at
 * their next batch when the request is cancelled.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_GENERATION } from './analysis/evaluate';
import { fastTextLanguageIdentifier } from './analysis/metrics';
import { naturalStrength, sweepLayerStrength } from './analysis/sweep';
import { readParallelCorpus } from './corpus/parallel';
import { openExtractionSession } from './model/batch';
import type { ModelRuntime, RequestContext } from './modelRuntime';
import { writeFileAtomic } from './steering/atomicWrite';
import { extractSteerStates, itemsFor, pivotStatesFor, withDefaults } from './steering/bundle';
import { GgufExportError } from './steering/errors';
import { steeringVectorToGguf } from './steering/gguf';
import { resolveVector, type ResolvedVector } from './steering/library';
import { EXTRACTION_METHODS, singleLayer, vectorFromStates, type ExtractionMethod } from './steering/methods';
import { checkVectorCompatibility, createSteeringVector, layersOf, type PositionMode, type SteeringVector } from './steering/vector';
import { encodeSteeringVector, loadSteeringVector } from './steering/vectorFile';
import { EngineError } from '../protocol/errors';
import {
  VECTOR_METHODS,
  type ComputedVector,
  type ComputeVectorRequest,
  type CorpusInfo,
  type ExportedVector,
  type ExportVectorRequest,
  type InspectVectorFileRequest,
  type SteerPositions,
  type SweepReport,
  type SweepVectorRequest,
  type VectorFileInfo,
  type VectorMethod,
} from '../protocol/engine';

// The protocol's method list is the engine's (checked both ways at compile time).
const _protocolMethods: readonly ExtractionMethod[] = VECTOR_METHODS;
const _engineMethods: readonly VectorMethod[] = EXTRACTION_METHODS;
void _protocolMethods;
void _engineMethods;

/** Pairs per extraction when the request names none (what `npm run build-vectors` uses per language). */
export const DEFAULT_PAIRS = 200;
/** Sweep grid defaults: multiples of each layer's natural strength, prompts per cell, tokens per continuation. */
export const DEFAULT_SWEEP_MULTIPLES = [0.5, 1, 2, 3];
export const DEFAULT_SWEEP_PROMPTS = 8;
export const DEFAULT_SWEEP_TOKENS = 16;
/** Sentences per batched model run during extraction (the CLI's `extract` default). */
const EXTRACT_BATCH = 16;

const TO_POSITION: Record<SteerPositions, PositionMode> = { all: 'all', prompt: 'prompt', generated: 'generated', 'last-prompt-token': 'lastPrompt' };
const FROM_POSITION: Record<PositionMode, SteerPositions> = { all: 'all', prompt: 'prompt', generated: 'generated', lastPrompt: 'last-prompt-token' };

function fractionReporter(context: RequestContext): (done: number, total: number, label: string) => void {
  return (done, total, label) => context.onProgress?.({ kind: 'fraction', done, total, label });
}

function cancelledIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EngineError('CANCELLED', 'Cancelled.');
}

/** The languages of a parallel corpus and how many rows have each. */
export async function inspectCorpus(file: string): Promise<CorpusInfo> {
  const corpus = await readParallelCorpus(file);
  return {
    file: path.resolve(file),
    rows: corpus.rows.length,
    languages: corpus.languages.map((code) => ({ code, rows: corpus.rows.filter((r) => r.texts[code] !== undefined).length })),
  };
}

/** The layer a freshly extracted vector is offered at: two thirds up the stack, and k ≥ 2 so llama.cpp can carry it. */
export function defaultLayerFor(numLayers: number): number {
  return Math.min(numLayers, Math.max(Math.min(2, numLayers), Math.round((2 * numLayers) / 3)));
}

/**
 * Extracts `source → target` at every layer (pooled states of the rows that have both languages, as the CLI's
 * `extract`), sets the default layer ({@link defaultLayerFor}) and strength (that layer's natural strength),
 * and writes the native file to `out`.
 */
export async function computeVector(runtime: ModelRuntime, request: Omit<ComputeVectorRequest, 'type' | 'id' | 'model'>, context: RequestContext = {}): Promise<ComputedVector> {
  const { source, target, method } = request;
  if (source === target) throw new EngineError('INVALID_REQUEST', `The source and target language are both '${source}'.`, 'Pick two different languages.');
  const corpus = await readParallelCorpus(request.corpus);
  const missing = [source, target].filter((l) => !corpus.languages.includes(l));
  if (missing.length > 0) {
    throw new EngineError('INVALID_REQUEST', `${request.corpus} has no text in ${missing.join(' or ')}.`, `Its languages are ${corpus.languages.join(', ') || 'none'}; pick two of them or another corpus.`);
  }
  const pairs = Math.min(request.sentences ?? DEFAULT_PAIRS, corpus.rows.filter((r) => r.texts[source] !== undefined && r.texts[target] !== undefined).length);
  if (pairs < 2) throw new EngineError('INVALID_REQUEST', `${request.corpus} has ${pairs} row(s) with both ${source} and ${target}; a vector needs at least 2 pairs.`, 'Use a parallel corpus with more aligned rows.');
  cancelledIfAborted(context.signal);

  const model = runtime.model;
  const extractor = await openExtractionSession(model);
  try {
    // The target is the pivot: its rows are those that have the source too, as the CLI's `extract` does with en.
    const states = await extractSteerStates(
      { ...model, extractor },
      corpus,
      { pivot: target, languages: [source], steerSentences: pairs, batchSize: EXTRACT_BATCH, pooling: request.pooling ?? 'mean' },
      fractionReporter(context),
      context.signal,
    );
    cancelledIfAborted(context.signal);
    const { states: sourceStates, rowIds } = states.byLanguage.get(source)!;
    const targetStates = pivotStatesFor(states, rowIds);
    const hash = model.prepared.modelSha256;
    const v = vectorFromStates(method, sourceStates, targetStates, {
      sourceLanguage: source,
      targetLanguage: target,
      modelHash: hash,
      modelHint: model.folder.config.modelType ?? '',
      notes: `${method} from ${path.basename(request.corpus)} (${rowIds.length} pairs).`,
    });
    const layer = defaultLayerFor(model.numLayers);
    const chosen = withDefaults(v, layer, naturalStrength(v, layer));
    await fs.mkdir(path.dirname(request.out), { recursive: true });
    await writeFileAtomic(request.out, encodeSteeringVector(chosen));
    const naturalStrengths = Array.from({ length: model.numLayers + 1 }, (_, k) => (chosen.directions.has(k) && chosen.metadata.meanActivationNorms[k] ? round4(naturalStrength(chosen, k)) : 0));
    return {
      file: path.resolve(request.out),
      source,
      target,
      method,
      pairs: rowIds.length,
      layers: [...chosen.directions.keys()].sort((a, b) => a - b),
      defaultLayer: layer,
      defaultStrength: chosen.metadata.defaultStrength ?? 1,
      naturalStrengths,
      modelHash: hash,
    };
  } finally {
    await extractor.session.release();
  }
}

async function resolveForModel(runtime: ModelRuntime, nameOrFile: string): Promise<ResolvedVector> {
  const m = runtime.model;
  const r = await resolveVector(m.folder.dir, nameOrFile);
  // Vectors of another checkpoint of the same model are allowed (as in Steer Prompt); shape must match.
  checkVectorCompatibility(r.vector, { hiddenSize: m.hiddenSize, numLayers: m.numLayers, modelHash: m.prepared.modelSha256, modelHint: m.folder.config.modelType ?? '' }, { label: `vector ${r.name}`, allowOtherModel: true });
  return r;
}

/** A layer × strength sweep (strengths = multiples of each layer's natural strength) on a parallel corpus. */
export async function sweepVector(runtime: ModelRuntime, request: Omit<SweepVectorRequest, 'type' | 'id' | 'model'>, context: RequestContext = {}): Promise<SweepReport> {
  const r = await resolveForModel(runtime, request.vector);
  const meta = r.vector.metadata;
  const source = request.source ?? meta.sourceLanguage;
  const target = request.target ?? meta.targetLanguage;
  if (!source || !target) throw new EngineError('INVALID_REQUEST', `Vector ${r.name} does not say which languages it steers between.`, 'Name the source and target languages of the sweep.');
  const layers = request.layers ?? [...r.vector.directions.keys()].filter((k) => k >= 1).sort((a, b) => a - b);
  if (layers.length === 0) throw new EngineError('INVALID_REQUEST', `Vector ${r.name} has no layer k ≥ 1 to sweep.`);
  const withoutStats = layers.filter((k) => !meta.meanActivationNorms[k] || meta.vectorNorms[k] === undefined);
  if (withoutStats.length > 0) {
    throw new EngineError(
      'INVALID_REQUEST',
      `Vector ${r.name} has no activation-norm statistics at layer(s) ${withoutStats.join(', ')} (a GGUF import or a partial file), so its strengths cannot be swept.`,
      'Sweep a vector extracted by Polyglot Lens (Compute Steering Vector…).',
    );
  }
  const corpus = await readParallelCorpus(request.corpus);
  const items = itemsFor(corpus, source, target);
  if (items.length === 0) throw new EngineError('INVALID_REQUEST', `${request.corpus} has no row with both ${source} and ${target}.`, `Its languages are ${corpus.languages.join(', ') || 'none'}.`);
  const lid = await fastTextLanguageIdentifier();
  cancelledIfAborted(context.signal);
  const multiples = request.multiples ?? DEFAULT_SWEEP_MULTIPLES;
  const maxNewTokens = request.maxNewTokens ?? DEFAULT_SWEEP_TOKENS;
  const result = await sweepLayerStrength(
    runtime.model,
    r.vector,
    items,
    target,
    lid,
    {
      layers,
      strengths: [],
      naturalMultiples: multiples,
      positions: TO_POSITION[request.positions ?? 'all'],
      promptsPerCell: request.prompts ?? DEFAULT_SWEEP_PROMPTS,
      gen: { ...DEFAULT_GENERATION, maxNewTokens },
    },
    { ...(context.signal ? { signal: context.signal } : {}), onProgress: fractionReporter(context) },
  );
  cancelledIfAborted(context.signal);
  // sweepLayerStrength measures the cells layer-major in `multiples` order.
  const cells = result.cells.map((c, i) => ({ ...c, multiple: multiples[i % multiples.length] as number }));
  const best = cells.find((c) => c.layer === result.best.layer && c.strength === result.best.strength) ?? cells[0]!;
  return { vector: r.name, source, target, corpus: path.resolve(request.corpus), prompts: result.prompts, maxNewTokens, layers, multiples, cells, best };
}

/** One layer of a vector at a strength, as a llama.cpp control vector (k = b + 1, strength baked in) or a native file. */
export async function exportVector(runtime: ModelRuntime, request: Omit<ExportVectorRequest, 'type' | 'id' | 'model'>): Promise<ExportedVector> {
  const r = await resolveForModel(runtime, request.vector);
  const one = singleLayer(r.vector, request.layer, request.strength);
  const v: SteeringVector = request.positions === undefined ? one : createSteeringVector({ ...one.metadata, directions: one.directions, projections: one.projections, defaultPositions: TO_POSITION[request.positions] });
  await fs.mkdir(path.dirname(request.out), { recursive: true });
  if (request.format === 'safetensors') {
    const bytes = encodeSteeringVector(v);
    await writeFileAtomic(request.out, bytes);
    return { file: path.resolve(request.out), format: 'safetensors', layer: request.layer, bytes: bytes.length, warnings: [] };
  }
  let res: ReturnType<typeof steeringVectorToGguf>;
  try {
    res = steeringVectorToGguf(v, { bake: 'default' });
  } catch (err) {
    if (err instanceof GgufExportError) {
      throw new EngineError('VECTOR_INVALID', err.message, `Set ${r.name}'s layer to k ≥ 2 (Set Layer…) and export again, or export it as .safetensors.`, { cause: err });
    }
    throw err;
  }
  await writeFileAtomic(request.out, res.bytes);
  return {
    file: path.resolve(request.out),
    format: 'gguf',
    layer: request.layer,
    direction: res.written.get(request.layer) ?? request.layer - 1,
    coefficient: res.coefficients.get(request.layer) ?? 1,
    bytes: res.bytes.length,
    warnings: res.warnings,
  };
}

/** Reads a vector file (told apart by signature bytes) and checks that it fits the model. */
export async function inspectVectorFile(runtime: ModelRuntime, request: Omit<InspectVectorFileRequest, 'type' | 'id' | 'model'>): Promise<VectorFileInfo> {
  const m = runtime.model;
  const loaded = await loadSteeringVector(request.file);
  const label = path.basename(request.file);
  const hash = m.prepared.modelSha256;
  checkVectorCompatibility(loaded.vector, { hiddenSize: m.hiddenSize, numLayers: m.numLayers, modelHash: hash, modelHint: m.folder.config.modelType ?? '' }, { label, allowOtherModel: true });
  const meta = loaded.vector.metadata;
  const warnings = [...loaded.warnings];
  const sameModel = meta.modelHash === '' || meta.modelHash === hash;
  if (!sameModel) warnings.push(`${label} was extracted from another checkpoint (${meta.modelHash.slice(0, 12)}…) of this model; it is applied, but its effect may differ.`);
  return {
    file: path.resolve(request.file),
    kind: loaded.kind,
    method: meta.method,
    source: meta.sourceLanguage,
    target: meta.targetLanguage,
    layers: layersOf(loaded.vector),
    defaultLayer: meta.defaultLayer,
    defaultStrength: meta.defaultStrength,
    defaultPositions: FROM_POSITION[meta.defaultPositions],
    hiddenSize: meta.hiddenSize,
    pairs: meta.numPairs,
    modelHash: meta.modelHash,
    sameModel,
    warnings,
  };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
