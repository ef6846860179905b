/**
 * Public API of the model engine: load a model folder, locate and surger its residual stream, run it with
 * steering, generate, and apply the logit lens. Pure TypeScript over onnxruntime-node; never imports vscode.
 * Layer convention everywhere: k = 0 embeddings output .. k = L last block's output (before the final
 * norm); hidden_states.{k+1} is the output of block k = llama.cpp's direction.{k}.
 */
export * from './errors';
export { openModel, type OpenedModel, type OpenModelOptions } from './openModel';
export { loadModelFolder, parseConfig, checkExternalData, sha256File, type ModelConfig, type ModelFolder, type ModelFolderOptions } from './modelFolder';
export { TextTokenizer, StreamingDecoder, type Encoded, type TokenizerSettings } from './tokenizer';
export {
  locateResidualStream,
  overrideHint,
  SKIP_NORM_OPS,
  type LocateOptions,
  type LocatorOverride,
  type ResidualPoint,
  type ResidualStreamLayout,
  type GraphResidualStream,
} from './locator';
export {
  surgerModel,
  variantOptions,
  hiddenStateName,
  steerInputName,
  SURGERY_VERSION,
  type SurgeryOptions,
  type SurgeryVariant,
} from './surgery';
export { prepareModel, defaultCacheDir, writeFileAtomic, type PreparedModel } from './cache';
export { createSession, ortSessionOptions, type SessionSettings, type ExecutionProvider, type ModelSource } from './session';
export {
  DecoderSession,
  describeDecoderIo,
  toFloat32,
  type DecoderIo,
  type ForwardResult,
  type PastState,
  type StepOutput,
} from './decoder';
export { buildSteerFeeds, isSteeredPosition, vectorsByLayer, type LayerSteer, type SteeringPlan, type SteerPositionMode, type PositionWindow } from './steering';
export { argmax, createRng, sampleFromLogits, validateSampling, type SamplingOptions } from './sampling';
export { generate, type GenerateOptions, type GenerateResult, type StopReason } from './generate';
export { LogitLens, buildLogitLensModel, type LensTopK } from './logitLens';
export { decodeModel, encodeModel, readModelFile, type ModelProto } from './onnxProto';
