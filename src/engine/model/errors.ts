/**
 * Typed errors of the model engine. Every error a user can cause (a broken model folder, an ONNX graph
 * whose residual stream cannot be found, a steering vector of the wrong size) is one of these, with a
 * message that says what was wrong and what to do; `code` lets the protocol layer map it without
 * parsing messages.
 */

export type ModelErrorCode =
  | 'model-folder' // the folder lacks a file, or a file there is not what it claims to be
  | 'onnx-format' // the ONNX file cannot be decoded or uses something the engine cannot handle
  | 'residual-stream' // the locator could not find the residual stream
  | 'surgery' // the graph could not be rewritten (names clash, unexpected structure)
  | 'inference' // onnxruntime failed to create a session or run
  | 'invalid-argument'; // the caller passed something inconsistent (vector size, layer index, options)

/** Base class of all model-engine errors; `code` is stable, the message is for people. */
export class ModelError extends Error {
  readonly code: ModelErrorCode;
  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The model folder is missing a file or holds a malformed one. */
export class ModelFolderError extends ModelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('model-folder', message, options);
  }
}

/** The ONNX file cannot be decoded or uses an unsupported construct. */
export class OnnxFormatError extends ModelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('onnx-format', message, options);
  }
}

/** The residual stream could not be located; the message names the override file that fixes it. */
export class ResidualStreamError extends ModelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('residual-stream', message, options);
  }
}

/** Graph surgery failed. */
export class SurgeryError extends ModelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('surgery', message, options);
  }
}

/** onnxruntime failed to create a session or to run one. */
export class InferenceError extends ModelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('inference', message, options);
  }
}

/** The caller passed inconsistent arguments (vector length, layer index, generation options). */
export class InvalidArgumentError extends ModelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid-argument', message, options);
  }
}

/** Name of the per-model-folder file that overrides the residual-stream locator. */
export const LOCATOR_OVERRIDE_FILE = 'polyglot-lens.json';
