/**
 * One call from a model folder to everything the worker needs: tokenizer, the analysis session (hidden
 * states + steering), the generation session (steering only) and the logit lens.
 */
import { prepareModel, type PreparedModel } from './cache';
import { DecoderSession } from './decoder';
import { InferenceError } from './errors';
import { LogitLens } from './logitLens';
import { loadModelFolder, type ModelFolder, type ModelFolderOptions } from './modelFolder';
import type { SessionSettings } from './session';

/** Folder options plus the surgered-model cache folder and session settings. */
export interface OpenModelOptions extends ModelFolderOptions {
  cacheDir?: string;
  session?: SessionSettings;
}

/** A model folder opened for analysis, steering, generation and logit lens. */
export interface OpenedModel {
  folder: ModelFolder;
  prepared: PreparedModel;
  numLayers: number; // L
  hiddenSize: number; // H
  inspect: DecoderSession; // outputs hidden_states.{0..L}; takes steer.{0..L}
  generator: DecoderSession; // takes steer.{0..L}; no hidden-state outputs
  lens: LogitLens;
  dispose(): Promise<void>;
}

/** Loads, surgers (or reuses the cache) and opens all sessions of a model folder. */
export async function openModel(dir: string, options: OpenModelOptions = {}): Promise<OpenedModel> {
  const folder = loadModelFolder(dir, options);
  const prepared = await prepareModel(folder, { cacheDir: options.cacheDir });
  const { numLayers, hiddenSize } = prepared.layout;
  // Three sessions live side by side in one worker: their ORT threads must not spin against each other.
  const settings: SessionSettings = { coexisting: true, ...options.session };
  const hints = { numKeyValueHeads: folder.config.numKeyValueHeads, headDim: folder.config.headDim ?? headDimOf(folder) };
  const ext = prepared.externalDataDir;
  const inspect = await DecoderSession.create({ path: prepared.inspectPath, externalDataDir: ext }, hiddenSize, settings, hints);
  const generator = await DecoderSession.create({ path: prepared.steerPath, externalDataDir: ext }, hiddenSize, settings, hints);
  const lens = await LogitLens.create({ path: prepared.lensPath, externalDataDir: ext }, hiddenSize, settings);
  if (inspect.numLayers !== numLayers || inspect.io.hiddenStates.length !== numLayers + 1) {
    throw new InferenceError(`The surgered model exposes ${inspect.io.hiddenStates.length} hidden states; ${numLayers + 1} were expected. Clear the cache folder ${prepared.dir}.`);
  }
  return {
    folder,
    prepared,
    numLayers,
    hiddenSize,
    inspect,
    generator,
    lens,
    async dispose() {
      await Promise.all([inspect.dispose(), generator.dispose(), lens.dispose()]);
    },
  };
}

function headDimOf(folder: ModelFolder): number | null {
  const { hiddenSize, numAttentionHeads } = folder.config;
  return numAttentionHeads ? hiddenSize / numAttentionHeads : null;
}
