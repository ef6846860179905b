/**
 * Maps the typed errors of the engine libraries (model, steering, analysis) to the protocol's
 * {@link EngineError} codes, with a hint that says what to do. The worker and the CLI both report errors
 * through this, so a user sees the same message and advice in the panel and in a terminal.
 */
import { AnalysisInputError, LanguageIdError } from './analysis/errors';
import { CorpusError } from './corpus/errors';
import { InferenceError, InvalidArgumentError, ModelError, ModelFolderError, OnnxFormatError, ResidualStreamError, SurgeryError, LOCATOR_OVERRIDE_FILE } from './model/errors';
import { GgufExportError, SteeringInputError, VectorCompatibilityError, VectorFileError } from './steering/errors';
import { EngineError } from '../protocol/errors';

export const MODEL_SETTING_HINT = 'Point the setting polyglotLens.modelPath (or the CLI option --model) at a folder with config.json, tokenizer.json and model.onnx.';

/** Any thrown value as an EngineError (library errors get their code and hint; unknown ones stay for toEngineErrorInfo → INTERNAL). */
export function toEngineError(err: unknown): unknown {
  if (err instanceof EngineError) return err;
  const cause = { cause: err };
  if (err instanceof ModelFolderError) {
    // A missing folder or file is MODEL_NOT_FOUND (the settings are wrong); a malformed one MODEL_INVALID.
    const missing = /does not exist|has no |is missing|not a folder/.test(err.message);
    const tokenizer = /tokenizer/.test(err.message) && !missing;
    return new EngineError(missing ? 'MODEL_NOT_FOUND' : tokenizer ? 'TOKENIZER_INVALID' : 'MODEL_INVALID', err.message, MODEL_SETTING_HINT, cause);
  }
  if (err instanceof OnnxFormatError) return new EngineError('MODEL_INVALID', err.message, 'Check that the ONNX file was downloaded completely (a Git LFS pointer file is a few hundred bytes) and was exported as a decoder-only model (Hugging Face Optimum / transformers.js layout).', cause);
  if (err instanceof ResidualStreamError) {
    return new EngineError('UNSUPPORTED_MODEL', err.message, `Name the residual-stream tensors in ${LOCATOR_OVERRIDE_FILE} in the model folder (see src/engine/model/README.md, "Locator override").`, cause);
  }
  if (err instanceof SurgeryError) return new EngineError('UNSUPPORTED_MODEL', err.message, `The graph could not be rewritten; a ${LOCATOR_OVERRIDE_FILE} override may help. Please report the model.`, cause);
  if (err instanceof InferenceError) {
    return new EngineError('INFERENCE_FAILED', err.message, 'Check the model export (opset <= 26) and the polyglotLens.executionProviders setting (["cpu"] always works).', cause);
  }
  if (err instanceof InvalidArgumentError) return new EngineError('INVALID_REQUEST', err.message, 'Check the layer, strength and generation settings of the request.', cause);
  if (err instanceof ModelError) return new EngineError('MODEL_INVALID', err.message, MODEL_SETTING_HINT, cause);
  if (err instanceof SteeringInputError || err instanceof VectorFileError || err instanceof VectorCompatibilityError || err instanceof GgufExportError) {
    return new EngineError('VECTOR_INVALID', err.message, 'Use a vector name from the model\'s vectors/index.json or a .safetensors/.gguf file made for this model (`polyglot-lens extract`).', cause);
  }
  if (err instanceof AnalysisInputError) return new EngineError('INVALID_REQUEST', err.message, undefined, cause);
  // The corpus message names the file, the line and the fix already.
  if (err instanceof CorpusError) return new EngineError('INVALID_REQUEST', err.message, undefined, cause);
  if (err instanceof LanguageIdError) return new EngineError('INTERNAL', err.message, 'Language identification ships with the extension; reinstalling it restores the files.', cause);
  return err;
}
