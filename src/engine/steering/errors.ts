// Typed errors for steering vectors and their files. Each carries a stable `code` so the worker can
// serialise it across the protocol boundary and the host can show the message as is.

/** A vector file (safetensors or GGUF) is malformed or not a steering vector; names the file and the problem. */
export class VectorFileError extends Error {
  readonly code = 'VECTOR_FILE_INVALID';
  /** Path or label of the offending file ('<buffer>' when parsed from memory). */
  readonly file: string;
  constructor(file: string, problem: string, remedy?: string) {
    super(`${file}: ${problem}${remedy ? ` ${remedy}` : ''}`);
    this.name = 'VectorFileError';
    this.file = file;
  }
}

/** A vector cannot be used with a model (hidden size, model hash or architecture differ, layer out of range). */
export class VectorCompatibilityError extends Error {
  readonly code = 'VECTOR_INCOMPATIBLE';
  constructor(message: string) {
    super(message);
    this.name = 'VectorCompatibilityError';
  }
}

/** Invalid arguments to vector construction or composition (missing layer, bad strength, NaN values...). */
export class SteeringInputError extends Error {
  readonly code = 'STEERING_INVALID_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'SteeringInputError';
  }
}

/** A vector cannot be expressed in the GGUF control-vector convention of llama.cpp (e.g. embeddings or block-0 layers). */
export class GgufExportError extends Error {
  readonly code = 'GGUF_EXPORT_UNSUPPORTED';
  constructor(message: string) {
    super(message);
    this.name = 'GgufExportError';
  }
}
