import { literal, object, optional, str, type Validator } from './validate';

/**
 * Everything that can go wrong that a user can see. Codes are stable (tests and the UI branch on them);
 * messages are for people: they say what was wrong and `hint` says what to do.
 */
export const ENGINE_ERROR_CODES = [
  'MODEL_NOT_FOUND', // the model folder or one of its files does not exist
  'MODEL_INVALID', // a file is there but is not what it should be (bad JSON, not ONNX, LFS pointer, ...)
  'TOKENIZER_INVALID', // tokenizer.json cannot be loaded by @huggingface/tokenizers
  'UNSUPPORTED_MODEL', // valid ONNX, but inputs/outputs we do not know how to feed/read, or no residual stream found
  'VECTOR_INVALID', // a steering vector cannot be found, read, or applied to this model
  'INVALID_REQUEST', // well-formed request with inconsistent values (layer out of range, bad sampling settings)
  'PROMPT_EMPTY',
  'PROMPT_TOO_LONG',
  'INFERENCE_FAILED', // onnxruntime rejected the run
  'CANCELLED', // a newer request superseded this one
  'BAD_MESSAGE', // a protocol message failed validation (a bug, never the user's fault)
  'WORKER_CRASHED', // the engine worker thread died; the next request starts a new one
  'INTERNAL',
] as const;

export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

/** The serialisable form of an error, as it travels between worker, host and webview. */
export interface EngineErrorInfo {
  code: EngineErrorCode;
  message: string;
  hint?: string;
}

export const engineErrorInfo: Validator<EngineErrorInfo> = object({
  code: literal(...ENGINE_ERROR_CODES),
  message: str,
  hint: optional(str),
});

/** A typed, user-facing error. Thrown inside the engine, carried as {@link EngineErrorInfo}, rebuilt on the host. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }

  static fromInfo(info: EngineErrorInfo): EngineError {
    return new EngineError(info.code, info.message, info.hint);
  }

  toInfo(): EngineErrorInfo {
    return this.hint === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Any thrown value as an {@link EngineErrorInfo}; unknown errors become INTERNAL with their message kept. */
export function toEngineErrorInfo(err: unknown): EngineErrorInfo {
  if (err instanceof EngineError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: `Unexpected error: ${message}`, hint: 'This is a bug in Polyglot Lens; the log has details.' };
}

export function isCancelled(err: unknown): boolean {
  return err instanceof EngineError && err.code === 'CANCELLED';
}
