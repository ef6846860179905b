/**
 * What the tree views, the status bar and the vector / model / session commands need from the rest of the
 * extension, in one small interface. activate() builds it from the Steer Prompt controller; tests can build
 * a stand-in. Nothing here starts the engine: only a command the user runs does.
 */
import type * as vscode from 'vscode';
import type { ModelSpec, PromptAnalysis } from '../protocol/engine';
import type { LensSession } from '../protocol/session';
import type { PromptOrigin } from '../protocol/webview';
import type { EngineClient } from './engineClient';
import { readSettings } from './settings';
import type { VectorState } from './vectorState';

/** What a model folder looks like to the host before it runs (config.json + vectors/index.json). */
export interface ModelInfoLike {
  dir: string;
  name: string;
  /** L; 0 when config.json does not say. */
  numLayers: number;
  /** Why the folder could not be read, when it could not. */
  problem?: string;
}

/** A prompt as the panel shows it. */
export interface PromptLike {
  prompt: string;
  origin: PromptOrigin;
}

/** A session read from a `.polyglot.json` file, its paths resolved against the file's folder. */
export interface OpenedSession {
  file: string;
  session: LensSession;
  /** The session's model folder, absolute. */
  modelDir: string;
}

export interface LensServices {
  readonly vectors: VectorState;
  readonly engine: EngineClient;
  readonly log: vscode.LogOutputChannel;
  /** The model folder the settings name, resolved (the bundled model when the setting is empty). */
  getModelDir(): string;
  /** Reads the model folder (config, bundled vectors into `vectors`), once per folder; `reload` re-reads it. */
  ensureModel(reload?: boolean): Promise<ModelInfoLike>;
  /** Fires when the model folder changed (its bundled vectors are in `vectors` by then). */
  readonly onDidChangeModel: vscode.Event<unknown>;
  /** Fires with every analysis the panel shows. */
  readonly onDidAnalyze: vscode.Event<PromptAnalysis>;
  /** The prompt the panel shows, if any (Save Session). */
  currentPrompt(): PromptLike | undefined;
  /** Shows `request` in the panel (Open Session). */
  runPrompt(request: PromptLike): Promise<void>;
  /**
   * Optional: re-runs an opened session the panel's way (its generation settings, its prompt). Called after the
   * session's model and vectors are in place; without it, Open Session runs the prompt with `runPrompt`.
   */
  restoreSession?(opened: OpenedSession): Promise<void>;
}

/** The engine's ModelSpec for the current model: folder plus the threads and providers settings. */
export function currentModelSpec(services: Pick<LensServices, 'getModelDir'>, config: vscode.WorkspaceConfiguration, dir = services.getModelDir()): ModelSpec {
  const settings = readSettings(config);
  return { dir, threads: settings.threads, executionProviders: settings.executionProviders };
}
