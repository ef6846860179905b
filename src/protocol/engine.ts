/**
 * Messages between the extension host (EngineClient) and the engine worker thread.
 *
 * Every request carries an `id` chosen by the host; every reply names the request it answers. A `cancel`
 * request names the id it supersedes: a queued request is dropped, a running one finishes but its result is
 * replaced by a CANCELLED error (onnxruntime cannot stop a run half way).
 */
import { engineErrorInfo, type EngineErrorInfo } from './errors';
import { arrayOf, discriminated, int, literal, nonNegativeInt, nullable, num, object, ProtocolError, str, type Validator } from './validate';

/** Bumped when a message changes shape; the worker announces its version in `hello`. */
export const ENGINE_PROTOCOL_VERSION = 1;

export type RequestId = number;

/** Which model to run and how. */
export interface ModelSpec {
  /** Absolute path of the model folder (config.json, tokenizer.json, model.onnx). */
  dir: string;
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. */
  threads: number;
}

export interface AnalyzeRequest {
  type: 'analyze';
  id: RequestId;
  model: ModelSpec;
  prompt: string;
  /** How many next-token candidates to return (1..50). */
  topK: number;
}

export interface CancelRequest {
  type: 'cancel';
  id: RequestId;
  /** The request to cancel. */
  target: RequestId;
}

export type EngineRequest = AnalyzeRequest | CancelRequest;

export interface TokenInfo {
  id: number;
  /** The vocabulary entry, e.g. `Ġworld` for a byte-level BPE. */
  piece: string;
  /** The token decoded on its own, as a person reads it (may contain U+FFFD for partial UTF-8). */
  text: string;
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
}

export interface AnalyzeTimings {
  /** 0 when the model was already loaded. */
  loadMs: number;
  tokenizeMs: number;
  inferenceMs: number;
}

/** The result of one forward pass over a prompt. */
export interface PromptAnalysis {
  prompt: string;
  tokens: TokenInfo[];
  /** Highest-probability next tokens after the prompt, best first. */
  nextTokens: NextTokenCandidate[];
  model: ModelSummary;
  timings: AnalyzeTimings;
}

export interface HelloReply {
  type: 'hello';
  protocolVersion: number;
}

export interface AnalysisReply {
  type: 'analysis';
  id: RequestId;
  analysis: PromptAnalysis;
}

export interface ErrorReply {
  type: 'error';
  /** null when the failing message had no readable id. */
  id: RequestId | null;
  error: EngineErrorInfo;
}

export type EngineReply = HelloReply | AnalysisReply | ErrorReply;

// ---- validators -------------------------------------------------------------------------------------

/** Longer prompts are rejected at the boundary; no decoder we run has a context anywhere near this. */
export const MAX_PROMPT_CHARS = 100_000;

const modelSpec: Validator<ModelSpec> = object({ dir: str, threads: nonNegativeInt });

const analyzeRequest: Validator<AnalyzeRequest> = (v, path) => {
  const r = object({ type: literal('analyze'), id: int, model: modelSpec, prompt: str, topK: int })(v, path);
  if (r.prompt.length > MAX_PROMPT_CHARS) throw new ProtocolError(`longer than ${MAX_PROMPT_CHARS} characters`, `${path}.prompt`);
  if (r.topK < 1 || r.topK > 50) throw new ProtocolError(`must be within 1..50, got ${r.topK}`, `${path}.topK`);
  return r;
};

export const engineRequest: Validator<EngineRequest> = discriminated<EngineRequest, 'type'>('type', {
  analyze: analyzeRequest,
  cancel: object({ type: literal('cancel'), id: int, target: int }),
});

const tokenInfo: Validator<TokenInfo> = object({ id: nonNegativeInt, piece: str, text: str });
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
});

export const promptAnalysis: Validator<PromptAnalysis> = object({
  prompt: str,
  tokens: arrayOf(tokenInfo),
  nextTokens: arrayOf(nextTokenCandidate, 50),
  model: modelSummary,
  timings: object({ loadMs: num, tokenizeMs: num, inferenceMs: num }),
});

export const engineReply: Validator<EngineReply> = discriminated<EngineReply, 'type'>('type', {
  hello: object({ type: literal('hello'), protocolVersion: int }),
  analysis: object({ type: literal('analysis'), id: int, analysis: promptAnalysis }),
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
