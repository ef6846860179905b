/**
 * Extension entry point (bundled to dist/extension.js). Activation only registers commands and the panel
 * serializer: no model, no worker thread, no onnxruntime — those start on the first Steer Prompt.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { STEER_PANEL_VIEW_TYPE } from '../protocol/webview';
import { EngineClient } from './engineClient';
import { registerLensContributions } from './contributions';
import { registerPromptHover } from './hover';
import { SteerController } from './steerController';
import { VectorState } from './vectorState';

export const STEER_PROMPT_COMMAND = 'polyglotLens.steerPrompt';
export const INSPECT_LAYERS_COMMAND = 'polyglotLens.inspectLayers';

/** What the extension exports to other extensions and to tests. */
export interface PolyglotLensApi {
  /** Whether the engine worker thread has been started (false right after activation). */
  isEngineRunning(): boolean;
}

export function activate(context: vscode.ExtensionContext): PolyglotLensApi {
  const log = vscode.window.createOutputChannel('Polyglot Lens', { log: true });
  const engine = new EngineClient({ workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')), log: (line) => log.info(line) });
  const vectors = new VectorState();
  const controller = new SteerController(context, engine, log, vectors);
  context.subscriptions.push(
    log,
    controller,
    { dispose: () => void engine.dispose() },
    vscode.commands.registerCommand(STEER_PROMPT_COMMAND, () => controller.steerPrompt()),
    vscode.commands.registerCommand(INSPECT_LAYERS_COMMAND, (k?: unknown) => controller.inspectLayers(typeof k === 'number' ? k : undefined)),
    vscode.window.registerWebviewPanelSerializer(STEER_PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        controller.revive(panel, state);
        return Promise.resolve();
      },
    }),
  );
  registerPromptHover(context, { engine, modelDir: () => controller.modelDir(), vectorSpecs: () => vectors.specs(), log: (line) => log.warn(line) });
  // Tree views, status bar, vector / model / session commands (src/extension/contributions.ts).
  registerLensContributions(context, {
    vectors,
    engine,
    log,
    getModelDir: () => controller.modelDir(),
    ensureModel: (reload) => controller.ensureModel(reload),
    onDidChangeModel: controller.onDidChangeModel,
    onDidAnalyze: controller.onDidAnalyze,
    currentPrompt: () => controller.currentPrompt,
    runPrompt: (request) => controller.runPrompt(request),
  });
  log.info('Polyglot Lens activated; the engine starts on the first Steer Prompt.');
  return { isEngineRunning: () => engine.isRunning };
}

export function deactivate(): void {
  // Disposables registered in activate() stop the worker.
}
