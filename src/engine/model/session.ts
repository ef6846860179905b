/**
 * onnxruntime-node sessions with deliberate options. The one place that turns the engine's settings into
 * ORT session options, so every session (surgered model, generation model, logit lens) is alike.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { errorText } from './onnxProto';
import { InferenceError } from './errors';

/** Execution providers onnxruntime-node can be asked for; CPU is the default and the tested path. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu';

/** Engine-level session settings (mapped to ORT session options by `ortSessionOptions`). */
export interface SessionSettings {
  /** Threads for one operator; default: cores / sessions that run at once, at least 1. */
  intraOpNumThreads?: number;
  /** Set when several sessions run side by side: ORT threads then sleep instead of spin-waiting. */
  coexisting?: boolean;
  /** Default 'basic': see the note on exactness in `ortSessionOptions`. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Providers in order of preference; default ['cpu']. GPU needs an onnxruntime-node build with that provider. */
  executionProviders?: ExecutionProvider[];
  /** ORT log level: 0 verbose .. 4 fatal; default 3 (errors only). */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/** Where a session's model comes from: a file, or bytes; externalDataDir for models with external weights. */
export type ModelSource =
  | { path: string; externalDataDir?: string | null }
  | { bytes: Uint8Array; externalDataDir?: string | null };

/** The ORT options for engine settings. */
export function ortSessionOptions(settings: SessionSettings = {}, externalDataDir?: string | null): ort.InferenceSession.SessionOptions {
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const intra = settings.intraOpNumThreads ?? (settings.coexisting ? Math.max(1, Math.floor(cores / 2)) : cores);
  const session: Record<string, unknown> = {};
  // ORT's thread pools busy-wait between operators by default; two sessions doing that on two cores
  // slow each other ~5x (measured), so spinning is turned off whenever sessions share the machine.
  if (settings.coexisting) session.intra_op = { allow_spinning: '0' };
  if (settings.coexisting) session.inter_op = { allow_spinning: '0' };
  // A surgered model whose initializers stay in the original folder is loaded from bytes (its graph lives
  // in the cache); ORT resolves external data locations against this folder.
  if (externalDataDir) session.model_external_initializers_file_folder_path = externalDataDir;
  return {
    // 'basic' (constant folding, redundant nodes) keeps a zero steer bit-identical to the unmodified model.
    // At 'extended'/'all' ORT fuses e.g. Add + LayerNormalization into SkipLayerNormalization, which an Add
    // that also feeds a hidden-state output no longer matches, so logits move in the last bits (~1e-6).
    graphOptimizationLevel: settings.graphOptimizationLevel ?? 'basic',
    executionProviders: settings.executionProviders ?? ['cpu'],
    intraOpNumThreads: intra,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: settings.logSeverityLevel ?? 3,
    extra: { session },
  };
}

/** Creates an InferenceSession; failures become InferenceError with advice. */
export async function createSession(source: ModelSource, settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  const options = ortSessionOptions(settings, source.externalDataDir);
  try {
    if ('path' in source) {
      if (source.externalDataDir) {
        // Loading by path would resolve external data next to the (cached) file; bytes + folder option don't.
        return await ort.InferenceSession.create(fs.readFileSync(source.path), options);
      }
      return await ort.InferenceSession.create(source.path, options);
    }
    return await ort.InferenceSession.create(source.bytes, options);
  } catch (err) {
    const providers = settings.executionProviders ?? ['cpu'];
    const gpuHint = providers.some((p) => p !== 'cpu')
      ? ` The execution providers ${JSON.stringify(providers)} may not be available in this onnxruntime-node build; try ["cpu"].`
      : '';
    throw new InferenceError(`onnxruntime could not load the model: ${errorText(err)}.${gpuHint}`, { cause: err });
  }
}
