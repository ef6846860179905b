/**
 * Messages between the extension host (EngineClient) and the engine worker thread.
 *
 * Every request carries an `id` chosen by the host; every reply names the request it answers. A `cancel`
 * request names the id it supersedes: a queued request is dropped; a running one stops at its next step (a
 * generation within one token; onnxruntime cannot stop a single run half way) and is answered with CANCELLED.
 * Long requests report `progress` events (stages, streamed tokens) under their id before the final reply.
 */
import { engineErrorInfo, type EngineErrorInfo } from './errors';
import { arrayOf, bool, discriminated, int, literal, nonNegativeInt, nullable, num, object, optional, ProtocolError, str, type Validator } from './validate';

/** Bumped when a message changes shape; the worker announces its version in `hello`. */
export const ENGINE_PROTOCOL_VERSION = 3;

export type RequestId = number;

/** onnxruntime-node execution providers a user may ask for; CPU is the default and the tested path. */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/** Which model to run and how. */
export interface ModelSpec {
  /** Absolute path of the model folder (config.json, tokenizer.json, model.onnx). */
  dir: string;
  /** onnxruntime intra-op threads; 0 = the engine's default (cores / sessions that run side by side). */
  threads: number;
  /** Providers in order of preference; absent = ['cpu']. */
  executionProviders?: ExecutionProviderName[];
}

/** Token positions a steering vector is added at. */
export const STEER_POSITIONS = ['all', 'prompt', 'generated', 'last-prompt-token'] as const;
export type SteerPositions = (typeof STEER_POSITIONS)[number];

/** One active steering vector; vectors are summed per layer (and per position mode). */
export interface SteeringSpec {
  /** A bundled vector name of the model (e.g. `fr-en`, see vectors/index.json) or a .safetensors/.gguf path. */
  vector: string;
  /** Layer k (0 = embeddings output .. L); default: the index entry's or the vector's default layer. */
  layer?: number;
  /** Strength in units of the layer's mean activation norm; default: the index entry's or the vector's. */
  strength?: number;
  /** Default: the index entry's or the vector's default positions. */
  positions?: SteerPositions;
}

/** Generation settings; temperature 0 = greedy. Base and steered runs use the same seed. */
export interface GenerationSpec {
  maxNewTokens: number; // 0..512
  temperature: number; // 0..10
  topP: number; // (0, 1]
  topK?: number; // 0 = all
  seed: number;
}

export interface LoadModelRequest {
  type: 'loadModel';
  id: RequestId;
  model: ModelSpec;
}

export interface AnalyzeRequest {
  type: 'analyze';
  id: RequestId;
  model: ModelSpec;
  prompt: string;
  /** How many next-token candidates to return (1..50). */
  topK: number;
  /** Active steering vectors: the steered analysis (and continuation) is computed when non-empty. */
  vectors?: SteeringSpec[];
  /** When present, base (and steered) continuations are generated. */
  generation?: GenerationSpec;
  /** When present, the analysis carries a {@link PromptInspection} (base, and steered when vectors are on). */
  inspect?: InspectOptions;
}

/** What the layer inspector and the hover need beyond the heatmap. */
export interface InspectOptions {
  /** Logit-lens candidates per layer and position (1..20). */
  lensTopK: number;
  /** Whether to compute the per-layer 2-D PCA of the language centroids (and the prompt's tokens on it). */
  projection: boolean;
}

export interface GenerateRequest {
  type: 'generate';
  id: RequestId;
  model: ModelSpec;
  prompt: string;
  /** Steered generation when non-empty. */
  vectors?: SteeringSpec[];
  generation: GenerationSpec;
}

export interface LogitLensRequest {
  type: 'logitLens';
  id: RequestId;
  model: ModelSpec;
  prompt: string;
  /** Index into the analysed tokens (BOS included); absent = the last token. */
  position?: number;
  topK: number;
  vectors?: SteeringSpec[];
}

export interface CancelRequest {
  type: 'cancel';
  id: RequestId;
  /** The request to cancel. */
  target: RequestId;
}

// ---- vector jobs: corpora, extraction, sweeps, export, vector files (the tree view's and the commands' work) ----

/** Vector methods the engine computes from pooled states (the same list as src/engine/steering/methods.ts). */
export const VECTOR_METHODS = ['diffmean', 'diffmean-monolingual', 'pca', 'probe', 'projection'] as const;
export type VectorMethod = (typeof VECTOR_METHODS)[number];

/** Reads a parallel corpus (.jsonl/.tsv) and says which languages it has; no model involved. */
export interface InspectCorpusRequest {
  type: 'inspectCorpus';
  id: RequestId;
  /** Absolute path of the corpus file. */
  file: string;
}

/** Extracts a source→target vector at every layer from a parallel corpus and writes it (atomically) to `out`. */
export interface ComputeVectorRequest {
  type: 'computeVector';
  id: RequestId;
  model: ModelSpec;
  corpus: string;
  source: string;
  target: string;
  method: VectorMethod;
  /** Pairs to use: the first rows that have both languages, in corpus order (default 200). */
  sentences?: number;
  /** Sentence pooling of the hidden states (default mean over content tokens). */
  pooling?: 'mean' | 'last';
  /** Absolute path of the .safetensors file to write. */
  out: string;
}

/** A layer × strength sweep of one vector on a parallel corpus (language control with lid.176, chrF). */
export interface SweepVectorRequest {
  type: 'sweepVector';
  id: RequestId;
  model: ModelSpec;
  /** A bundled vector name or a .safetensors/.gguf path. */
  vector: string;
  corpus: string;
  /** Default: the vector's languages. */
  source?: string;
  target?: string;
  /** Default: every layer k ≥ 1 the vector has. */
  layers?: number[];
  /** Strengths as multiples of each layer's natural strength ‖v_k‖ / mean activation norm (default 0.5, 1, 2, 3). */
  multiples?: number[];
  positions?: SteerPositions;
  /** Prompts per cell (default 8) and tokens per continuation (default 16). */
  prompts?: number;
  maxNewTokens?: number;
}

/** Writes one layer of a vector, at a strength, as a llama.cpp control vector (GGUF) or a native safetensors file. */
export interface ExportVectorRequest {
  type: 'exportVector';
  id: RequestId;
  model: ModelSpec;
  vector: string;
  format: 'gguf' | 'safetensors';
  layer: number;
  /** In the vector's strength unit; baked into a GGUF (llama.cpp's scale 1 reproduces it), the default of a safetensors. */
  strength: number;
  positions?: SteerPositions;
  out: string;
}

/** Loads a vector file and checks it against the model (hidden size, layers). */
export interface InspectVectorFileRequest {
  type: 'inspectVectorFile';
  id: RequestId;
  model: ModelSpec;
  file: string;
}

export type VectorJobRequest = InspectCorpusRequest | ComputeVectorRequest | SweepVectorRequest | ExportVectorRequest | InspectVectorFileRequest;

export interface CorpusInfo {
  file: string;
  rows: number;
  /** Languages in first-seen order with the number of rows that have each. */
  languages: { code: string; rows: number }[];
}

export interface ComputedVector {
  file: string;
  source: string;
  target: string;
  method: VectorMethod;
  pairs: number;
  /** Layers k the file has a direction for. */
  layers: number[];
  /** The setting written into the file as its default (see `naturalStrengths`). */
  defaultLayer: number;
  defaultStrength: number;
  /** Per layer k = 0..L: ‖v_k‖ / mean activation norm, the strength that moves the source mean onto the target mean (0 where absent). */
  naturalStrengths: number[];
  modelHash: string;
}

export interface SweepCellInfo {
  layer: number;
  /** In units of the layer's mean activation norm. */
  strength: number;
  multiple: number;
  /** 0..100. */
  languageControl: number;
  degenerate: number;
  chrF: number;
}

export interface SweepReport {
  vector: string;
  source: string;
  target: string;
  corpus: string;
  prompts: number;
  maxNewTokens: number;
  layers: number[];
  multiples: number[];
  /** Layer-major: cells[i * multiples.length + j] is (layers[i], multiples[j]). */
  cells: SweepCellInfo[];
  /** The weakest cell whose language control is within one prompt of the best (then chrF). */
  best: SweepCellInfo;
}

export interface ExportedVector {
  file: string;
  format: 'gguf' | 'safetensors';
  layer: number;
  /** GGUF: llama.cpp's direction index b = k − 1 and the coefficient baked into it. */
  direction?: number;
  coefficient?: number;
  bytes: number;
  warnings: string[];
}

export interface VectorFileInfo {
  file: string;
  kind: 'safetensors' | 'gguf';
  method: string;
  /** '' when the file does not say. */
  source: string;
  target: string;
  layers: number[];
  defaultLayer: number | null;
  defaultStrength: number | null;
  defaultPositions: SteerPositions;
  hiddenSize: number;
  pairs: number;
  modelHash: string;
  /** False when the file names another checkpoint (it is still applied, with a warning). */
  sameModel: boolean;
  warnings: string[];
}

export type EngineRequest = LoadModelRequest | AnalyzeRequest | GenerateRequest | LogitLensRequest | VectorJobRequest | CancelRequest;

export interface TokenInfo {
  id: number;
  /** The vocabulary entry, e.g. `Ġworld` for a byte-level BPE. */
  piece: string;
  /** The token decoded on its own, as a person reads it (may contain U+FFFD for partial UTF-8; '' for special tokens). */
  text: string;
  /** A special token the tokenizer added (BOS), not part of what the user wrote. */
  special?: boolean;
}

export interface NextTokenCandidate {
  id: number;
  text: string;
  /** Softmax probability over the whole vocabulary at the last prompt position, in [0, 1]. */
  probability: number;
  logit: number;
}

export interface ModelSummary {
  dir: string;
  /** Folder name, or `_name_or_path` from config.json. */
  name: string;
  /** `model_type` from config.json (e.g. `llama`), or `unknown`. */
  architecture: string;
  hiddenSize: number;
  numLayers: number;
  vocabSize: number;
  inputNames: string[];
  outputNames: string[];
  /** sha256 of the ONNX file (the key of the surgery cache, centroids and vectors). */
  modelHash?: string;
  /** Bundled steering vectors (names of vectors/index.json). */
  vectorNames?: string[];
}

export interface AnalyzeTimings {
  /** 0 when the model was already loaded. */
  loadMs: number;
  tokenizeMs: number;
  /** Forward passes (0 when every part came from the cache). */
  inferenceMs: number;
  generationMs?: number;
  /** Logit lens at every position and projections (base + steered), when `inspect` was requested (0 when cached). */
  inspectionMs?: number;
}

/** One layer k of the residual stream over the analysed tokens. */
export interface LayerAnalysis {
  layer: number;
  /** Per token: L2 norm of hidden_states.{k} at that position. */
  norms: number[];
  /** Per token: the language whose centroid at layer k is most similar (mean-centred cosine). */
  nearest?: string[];
  /** Per token, per language of {@link LanguageCentroidInfo.languages}: the mean-centred cosine. */
  similarity?: number[][];
}

/** Which language centroids the similarities were computed against. */
export interface LanguageCentroidInfo {
  languages: string[];
  file: string;
  /** False when the centroids were built for another checkpoint of the model (then only indicative). */
  matchesModel: boolean;
}

/** A steering vector as applied: the composition's resolved terms. */
export interface AppliedVector {
  name: string;
  layer: number;
  strength: number;
  positions: SteerPositions;
  /** L2 norm of the offset added to the residual stream. */
  offsetNorm: number;
}

export interface SteeredAnalysis {
  vectors: AppliedVector[];
  layers: LayerAnalysis[];
  nextTokens: NextTokenCandidate[];
  /** Present when `inspect` was requested: computed on the steered forward pass. */
  inspection?: PromptInspection;
}

/** One layer's 2-D picture: the language centroids and the prompt's token states on the same two axes. */
export interface LayerProjection {
  layer: number;
  /** Percent (0..100) of the centroids' variance on axis 1 and axis 2. */
  explained: [number, number];
  /** In {@link LanguageCentroidInfo.languages} order (languages without a centroid at this layer left out). */
  centroids: { language: string; x: number; y: number }[];
  /** One per analysed token (BOS included), in token order. */
  tokens: { x: number; y: number }[];
}

/**
 * Per-layer, per-position data for the layer inspector and the hover.
 *
 * Projections: the axes are the top two principal components of the layer's language centroids (the
 * picture is about how languages sit relative to each other); both centroids and token states are centred
 * on the centroids' mean, the same centre as the mean-centred similarities of {@link LayerAnalysis}. Each
 * axis is oriented so that the centroid farthest along it has a positive coordinate (PCA signs are
 * otherwise arbitrary, and the picture would flip between runs).
 */
export interface PromptInspection {
  /** [layer k = 0..L][token position][candidate]: the logit lens (final norm + lm_head applied to hidden_states.{k}) at every prompt position, best first. */
  lens: LensCandidate[][][];
  /** Layers k = 0..L that have centroids; null when the model has no centroids or no projection was asked for. */
  projections: LayerProjection[] | null;
}

export type StopReason = 'stop-token' | 'max-tokens' | 'aborted';

export interface Continuation {
  text: string;
  tokenIds: number[];
  stopReason: StopReason;
  /** The language fastText lid.176 identifies (project code, e.g. `fr`); 'und' for empty text or when identification is unavailable. */
  language?: string;
  /** lid.176's probability for `language`, in [0, 1]; absent when the language is 'und'. */
  confidence?: number;
}

/** The result of the analysis of a prompt: tokens, per-layer states, next tokens, optional steering and continuations. */
export interface PromptAnalysis {
  prompt: string;
  /** The tokens the model ran on, a BOS first when the tokenizer adds one (`special`). */
  tokens: TokenInfo[];
  /** Highest-probability next tokens after the prompt, best first. */
  nextTokens: NextTokenCandidate[];
  model: ModelSummary;
  timings: AnalyzeTimings;
  /** L + 1 entries, k = 0 (embeddings output) .. L (last block's output). */
  layers: LayerAnalysis[];
  centroids: LanguageCentroidInfo | null;
  steered: SteeredAnalysis | null;
  continuations: { base: Continuation; steered: Continuation | null } | null;
  /** Present when `inspect` was requested. */
  inspection?: PromptInspection;
  warnings: string[];
}

export interface GenerationResult {
  prompt: string;
  promptTokens: number;
  vectors: AppliedVector[];
  continuation: Continuation;
  timings: { loadMs: number; generationMs: number };
  /** E.g. language identification unavailable, or a vector from another checkpoint. */
  warnings?: string[];
}

export interface LensCandidate {
  id: number;
  text: string;
  probability: number;
  logit: number;
}

export interface LogitLensResult {
  prompt: string;
  tokens: TokenInfo[];
  position: number;
  /** L + 1 entries: the top-k next tokens read from hidden_states.{k} at `position`. */
  layers: { layer: number; candidates: LensCandidate[] }[];
}

/** Progress of a running request. */
export type ProgressEvent =
  | { kind: 'stage'; stage: 'loading' | 'forward' | 'steered-forward' | 'generating-base' | 'generating-steered' }
  | { kind: 'token'; stream: 'base' | 'steered'; index: number; tokenId: number; text: string }
  /** Long vector jobs: `done` of `total` units (sentences, continuations), `label` names the unit. */
  | { kind: 'fraction'; done: number; total: number; label: string };

export interface HelloReply {
  type: 'hello';
  protocolVersion: number;
}

export interface ModelLoadedReply {
  type: 'modelLoaded';
  id: RequestId;
  model: ModelSummary;
  loadMs: number;
}

export interface AnalysisReply {
  type: 'analysis';
  id: RequestId;
  analysis: PromptAnalysis;
}

export interface GeneratedReply {
  type: 'generated';
  id: RequestId;
  result: GenerationResult;
}

export interface LogitLensReply {
  type: 'logitLens';
  id: RequestId;
  result: LogitLensResult;
}

export interface ProgressReply {
  type: 'progress';
  id: RequestId;
  event: ProgressEvent;
}

export interface ErrorReply {
  type: 'error';
  /** null when the failing message had no readable id. */
  id: RequestId | null;
  error: EngineErrorInfo;
}

export type VectorJobReply =
  | { type: 'corpusInfo'; id: RequestId; info: CorpusInfo }
  | { type: 'vectorComputed'; id: RequestId; result: ComputedVector }
  | { type: 'sweepDone'; id: RequestId; report: SweepReport }
  | { type: 'vectorExported'; id: RequestId; result: ExportedVector }
  | { type: 'vectorFileInfo'; id: RequestId; info: VectorFileInfo };

export type EngineReply = HelloReply | ModelLoadedReply | AnalysisReply | GeneratedReply | LogitLensReply | VectorJobReply | ProgressReply | ErrorReply;

// ---- validators -------------------------------------------------------------------------------------

/** Longer prompts are rejected at the boundary; no decoder we run has a context anywhere near this. */
export const MAX_PROMPT_CHARS = 100_000;
export const MAX_NEW_TOKENS = 512;
export const MAX_ACTIVE_VECTORS = 16;

function ranged(min: number, max: number, integer: boolean, minExclusive = false): Validator<number> {
  return (v, path) => {
    const n = integer ? int(v, path) : num(v, path);
    if (n > max || (minExclusive ? n <= min : n < min)) throw new ProtocolError(`must be within ${minExclusive ? '(' : ''}${min}..${max}${minExclusive ? ' exclusive of the lower bound' : ''}, got ${n}`, path);
    return n;
  };
}

const modelSpec: Validator<ModelSpec> = object({ dir: str, threads: ranged(0, 256, true), executionProviders: optional(arrayOf(literal(...EXECUTION_PROVIDERS), 8)) });

const steeringSpec: Validator<SteeringSpec> = (v, path) => {
  const r = object({ vector: str, layer: optional(ranged(0, 1024, true)), strength: optional(ranged(-1000, 1000, false)), positions: optional(literal(...STEER_POSITIONS)) })(v, path);
  if (r.vector.trim() === '') throw new ProtocolError('empty vector name', `${path}.vector`);
  return r;
};
const steeringSpecs = optional(arrayOf(steeringSpec, MAX_ACTIVE_VECTORS));

const generationSpec: Validator<GenerationSpec> = object({
  maxNewTokens: ranged(0, MAX_NEW_TOKENS, true),
  temperature: ranged(0, 10, false),
  topP: ranged(0, 1, false, true),
  topK: optional(ranged(0, 1_000_000, true)),
  seed: ranged(0, 2 ** 32 - 1, true),
});

const prompt: Validator<string> = (v, path) => {
  const s = str(v, path);
  if (s.length > MAX_PROMPT_CHARS) throw new ProtocolError(`longer than ${MAX_PROMPT_CHARS} characters`, path);
  return s;
};
const topK = ranged(1, 50, true);
export const MAX_LENS_TOP_K = 20;
const inspectOptions: Validator<InspectOptions> = object({ lensTopK: ranged(1, MAX_LENS_TOP_K, true), projection: bool });

const languageCode: Validator<string> = (v, path) => {
  const s = str(v, path);
  if (!/^[a-z]{2,3}$/.test(s)) throw new ProtocolError(`expected a language code such as fr, got ${JSON.stringify(s)}`, path);
  return s;
};
const filePath: Validator<string> = (v, path) => {
  const s = str(v, path);
  if (s.trim() === '') throw new ProtocolError('empty file path', path);
  return s;
};
const layerList = arrayOf(ranged(0, 1024, true), 1025);
const vectorPositions = literal(...STEER_POSITIONS);
const vectorJobRequests = {
  inspectCorpus: object({ type: literal('inspectCorpus'), id: int, file: filePath }),
  computeVector: object({
    type: literal('computeVector'),
    id: int,
    model: modelSpec,
    corpus: filePath,
    source: languageCode,
    target: languageCode,
    method: literal(...VECTOR_METHODS),
    sentences: optional(ranged(2, 1_000_000, true)),
    pooling: optional(literal('mean', 'last')),
    out: filePath,
  }),
  sweepVector: object({
    type: literal('sweepVector'),
    id: int,
    model: modelSpec,
    vector: filePath,
    corpus: filePath,
    source: optional(languageCode),
    target: optional(languageCode),
    layers: optional(layerList),
    multiples: optional(arrayOf(ranged(-100, 100, false), 16)),
    positions: optional(vectorPositions),
    prompts: optional(ranged(1, 1000, true)),
    maxNewTokens: optional(ranged(1, MAX_NEW_TOKENS, true)),
  }),
  exportVector: object({ type: literal('exportVector'), id: int, model: modelSpec, vector: filePath, format: literal('gguf', 'safetensors'), layer: ranged(0, 1024, true), strength: ranged(-1000, 1000, false), positions: optional(vectorPositions), out: filePath }),
  inspectVectorFile: object({ type: literal('inspectVectorFile'), id: int, model: modelSpec, file: filePath }),
};

const sweepCell: Validator<SweepCellInfo> = object({ layer: nonNegativeInt, strength: num, multiple: num, languageControl: num, degenerate: nonNegativeInt, chrF: num });
const vectorJobReplies = {
  corpusInfo: object({ type: literal('corpusInfo'), id: int, info: object({ file: str, rows: nonNegativeInt, languages: arrayOf(object({ code: str, rows: nonNegativeInt })) }) }),
  vectorComputed: object({
    type: literal('vectorComputed'),
    id: int,
    result: object({ file: str, source: str, target: str, method: literal(...VECTOR_METHODS), pairs: nonNegativeInt, layers: arrayOf(nonNegativeInt), defaultLayer: nonNegativeInt, defaultStrength: num, naturalStrengths: arrayOf(num), modelHash: str }),
  }),
  sweepDone: object({
    type: literal('sweepDone'),
    id: int,
    report: object({ vector: str, source: str, target: str, corpus: str, prompts: nonNegativeInt, maxNewTokens: nonNegativeInt, layers: arrayOf(nonNegativeInt), multiples: arrayOf(num), cells: arrayOf(sweepCell), best: sweepCell }),
  }),
  vectorExported: object({ type: literal('vectorExported'), id: int, result: object({ file: str, format: literal('gguf', 'safetensors'), layer: nonNegativeInt, direction: optional(nonNegativeInt), coefficient: optional(num), bytes: nonNegativeInt, warnings: arrayOf(str) }) }),
  vectorFileInfo: object({
    type: literal('vectorFileInfo'),
    id: int,
    info: object({
      file: str,
      kind: literal('safetensors', 'gguf'),
      method: str,
      source: str,
      target: str,
      layers: arrayOf(nonNegativeInt),
      defaultLayer: nullable(nonNegativeInt),
      defaultStrength: nullable(num),
      defaultPositions: vectorPositions,
      hiddenSize: nonNegativeInt,
      pairs: nonNegativeInt,
      modelHash: str,
      sameModel: bool,
      warnings: arrayOf(str),
    }),
  }),
};

export const engineRequest: Validator<EngineRequest> = discriminated<EngineRequest, 'type'>('type', {
  loadModel: object({ type: literal('loadModel'), id: int, model: modelSpec }),
  analyze: object({ type: literal('analyze'), id: int, model: modelSpec, prompt, topK, vectors: steeringSpecs, generation: optional(generationSpec), inspect: optional(inspectOptions) }),
  generate: object({ type: literal('generate'), id: int, model: modelSpec, prompt, vectors: steeringSpecs, generation: generationSpec }),
  logitLens: object({ type: literal('logitLens'), id: int, model: modelSpec, prompt, position: optional(nonNegativeInt), topK, vectors: steeringSpecs }),
  ...vectorJobRequests,
  cancel: object({ type: literal('cancel'), id: int, target: int }),
});

const tokenInfo: Validator<TokenInfo> = object({ id: nonNegativeInt, piece: str, text: str, special: optional(bool) });
const nextTokenCandidate: Validator<NextTokenCandidate> = object({ id: nonNegativeInt, text: str, probability: num, logit: num });
const modelSummary: Validator<ModelSummary> = object({
  dir: str,
  name: str,
  architecture: str,
  hiddenSize: nonNegativeInt,
  numLayers: nonNegativeInt,
  vocabSize: nonNegativeInt,
  inputNames: arrayOf(str),
  outputNames: arrayOf(str),
  modelHash: optional(str),
  vectorNames: optional(arrayOf(str)),
});
const layerAnalysis: Validator<LayerAnalysis> = object({ layer: nonNegativeInt, norms: arrayOf(num), nearest: optional(arrayOf(str)), similarity: optional(arrayOf(arrayOf(num))) });
const appliedVector: Validator<AppliedVector> = object({ name: str, layer: nonNegativeInt, strength: num, positions: literal(...STEER_POSITIONS), offsetNorm: num });
const continuation: Validator<Continuation> = object({
  text: str,
  tokenIds: arrayOf(nonNegativeInt),
  stopReason: literal('stop-token', 'max-tokens', 'aborted'),
  language: optional(str),
  confidence: optional(ranged(0, 1, false)),
});
const lensCandidate: Validator<LensCandidate> = object({ id: nonNegativeInt, text: str, probability: num, logit: num });
const point = object({ x: num, y: num });
const percentPair: Validator<[number, number]> = (v, path) => {
  const [a, b, ...rest] = arrayOf(ranged(0, 100, false), 2)(v, path);
  if (a === undefined || b === undefined || rest.length > 0) throw new ProtocolError('expected two percentages', path);
  return [a, b];
};
const layerProjection: Validator<LayerProjection> = object({ layer: nonNegativeInt, explained: percentPair, centroids: arrayOf(object({ language: str, x: num, y: num })), tokens: arrayOf(point) });
const promptInspection: Validator<PromptInspection> = object({
  lens: arrayOf(arrayOf(arrayOf(lensCandidate, MAX_LENS_TOP_K))),
  projections: nullable(arrayOf(layerProjection)),
});

export const promptAnalysis: Validator<PromptAnalysis> = object({
  prompt: str,
  tokens: arrayOf(tokenInfo),
  nextTokens: arrayOf(nextTokenCandidate, 50),
  model: modelSummary,
  timings: object({ loadMs: num, tokenizeMs: num, inferenceMs: num, generationMs: optional(num), inspectionMs: optional(num) }),
  layers: arrayOf(layerAnalysis),
  centroids: nullable(object({ languages: arrayOf(str), file: str, matchesModel: bool })),
  steered: nullable(object({ vectors: arrayOf(appliedVector), layers: arrayOf(layerAnalysis), nextTokens: arrayOf(nextTokenCandidate, 50), inspection: optional(promptInspection) })),
  continuations: nullable(object({ base: continuation, steered: nullable(continuation) })),
  inspection: optional(promptInspection),
  warnings: arrayOf(str),
});

const generationResult: Validator<GenerationResult> = object({
  prompt: str,
  promptTokens: nonNegativeInt,
  vectors: arrayOf(appliedVector),
  continuation,
  timings: object({ loadMs: num, generationMs: num }),
  warnings: optional(arrayOf(str)),
});

const logitLensResult: Validator<LogitLensResult> = object({
  prompt: str,
  tokens: arrayOf(tokenInfo),
  position: nonNegativeInt,
  layers: arrayOf(object({ layer: nonNegativeInt, candidates: arrayOf(lensCandidate, 50) })),
});

const progressEvent: Validator<ProgressEvent> = discriminated<ProgressEvent, 'kind'>('kind', {
  stage: object({ kind: literal('stage'), stage: literal('loading', 'forward', 'steered-forward', 'generating-base', 'generating-steered') }),
  token: object({ kind: literal('token'), stream: literal('base', 'steered'), index: nonNegativeInt, tokenId: nonNegativeInt, text: str }),
  fraction: object({ kind: literal('fraction'), done: nonNegativeInt, total: nonNegativeInt, label: str }),
});

export const engineReply: Validator<EngineReply> = discriminated<EngineReply, 'type'>('type', {
  hello: object({ type: literal('hello'), protocolVersion: int }),
  modelLoaded: object({ type: literal('modelLoaded'), id: int, model: modelSummary, loadMs: num }),
  analysis: object({ type: literal('analysis'), id: int, analysis: promptAnalysis }),
  generated: object({ type: literal('generated'), id: int, result: generationResult }),
  logitLens: object({ type: literal('logitLens'), id: int, result: logitLensResult }),
  ...vectorJobReplies,
  progress: object({ type: literal('progress'), id: int, event: progressEvent }),
  error: object({ type: literal('error'), id: nullable(int), error: engineErrorInfo }),
});

/** Reads a request id from a message that failed validation, so the error reply can still name it. */
export function salvageRequestId(message: unknown): RequestId | null {
  if (typeof message === 'object' && message !== null) {
    const id = (message as Record<string, unknown>)['id'];
    if (Number.isSafeInteger(id)) return id as number;
  }
  return null;
}
