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
export const ENGINE_PROTOCOL_VERSION = 2;

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

export type EngineRequest = LoadModelRequest | AnalyzeRequest | GenerateRequest | LogitLensRequest | CancelRequest;

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
}

export type StopReason = 'stop-token' | 'max-tokens' | 'aborted';

export interface Continuation {
  text: string;
  tokenIds: number[];
  stopReason: StopReason;
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
  warnings: string[];
}

export interface GenerationResult {
  prompt: string;
  promptTokens: number;
  vectors: AppliedVector[];
  continuation: Continuation;
  timings: { loadMs: number; generationMs: number };
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
  | { kind: 'token'; stream: 'base' | 'steered'; index: number; tokenId: number; text: string };

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

export type EngineReply = HelloReply | ModelLoadedReply | AnalysisReply | GeneratedReply | LogitLensReply | ProgressReply | ErrorReply;

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

export const engineRequest: Validator<EngineRequest> = discriminated<EngineRequest, 'type'>('type', {
  loadModel: object({ type: literal('loadModel'), id: int, model: modelSpec }),
  analyze: object({ type: literal('analyze'), id: int, model: modelSpec, prompt, topK, vectors: steeringSpecs, generation: optional(generationSpec) }),
  generate: object({ type: literal('generate'), id: int, model: modelSpec, prompt, vectors: steeringSpecs, generation: generationSpec }),
  logitLens: object({ type: literal('logitLens'), id: int, model: modelSpec, prompt, position: optional(nonNegativeInt), topK, vectors: steeringSpecs }),
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
const continuation: Validator<Continuation> = object({ text: str, tokenIds: arrayOf(nonNegativeInt), stopReason: literal('stop-token', 'max-tokens', 'aborted') });

export const promptAnalysis: Validator<PromptAnalysis> = object({
  prompt: str,
  tokens: arrayOf(tokenInfo),
  nextTokens: arrayOf(nextTokenCandidate, 50),
  model: modelSummary,
  timings: object({ loadMs: num, tokenizeMs: num, inferenceMs: num, generationMs: optional(num) }),
  layers: arrayOf(layerAnalysis),
  centroids: nullable(object({ languages: arrayOf(str), file: str, matchesModel: bool })),
  steered: nullable(object({ vectors: arrayOf(appliedVector), layers: arrayOf(layerAnalysis), nextTokens: arrayOf(nextTokenCandidate, 50) })),
  continuations: nullable(object({ base: continuation, steered: nullable(continuation) })),
  warnings: arrayOf(str),
});

const generationResult: Validator<GenerationResult> = object({
  prompt: str,
  promptTokens: nonNegativeInt,
  vectors: arrayOf(appliedVector),
  continuation,
  timings: object({ loadMs: num, generationMs: num }),
});

const logitLensResult: Validator<LogitLensResult> = object({
  prompt: str,
  tokens: arrayOf(tokenInfo),
  position: nonNegativeInt,
  layers: arrayOf(object({ layer: nonNegativeInt, candidates: arrayOf(object({ id: nonNegativeInt, text: str, probability: num, logit: num }), 50) })),
});

const progressEvent: Validator<ProgressEvent> = discriminated<ProgressEvent, 'kind'>('kind', {
  stage: object({ kind: literal('stage'), stage: literal('loading', 'forward', 'steered-forward', 'generating-base', 'generating-steered') }),
  token: object({ kind: literal('token'), stream: literal('base', 'steered'), index: nonNegativeInt, tokenId: nonNegativeInt, text: str }),
});

export const engineReply: Validator<EngineReply> = discriminated<EngineReply, 'type'>('type', {
  hello: object({ type: literal('hello'), protocolVersion: int }),
  modelLoaded: object({ type: literal('modelLoaded'), id: int, model: modelSummary, loadMs: num }),
  analysis: object({ type: literal('analysis'), id: int, analysis: promptAnalysis }),
  generated: object({ type: literal('generated'), id: int, result: generationResult }),
  logitLens: object({ type: literal('logitLens'), id: int, result: logitLensResult }),
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
