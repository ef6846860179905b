/**
 * Extension entry point (bundled to dist/extension.js). Activation only registers commands and the panel
 * serializer: no model, no worker thread, no onnxruntime — those start on the first Steer Prompt.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProgressEvent } from '../protocol/engine';
import { EngineError, isCancelled } from '../protocol/errors';
import { STEER_PANEL_VIEW_TYPE, type PromptOrigin } from '../protocol/webview';
import { EngineClient } from './engineClient';
import { findPrompt } from './prompt';
import { readSettings, resolveModelDir } from './settings';
import { SteerPanel } from './steerPanel';

export const STEER_PROMPT_COMMAND = 'polyglotLens.steerPrompt';

/** What the extension exports to other extensions and to tests. */
export interface PolyglotLensApi {
  /** Whether the engine worker thread has been started (false right after activation). */
  isEngineRunning(): boolean;
}

interface LastRequest {
  prompt: string;
  origin: PromptOrigin;
}

class SteerController implements vscode.Disposable {
  private panel: SteerPanel | undefined;
  private requestCounter = 0;
  private last: LastRequest | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The command: prompt under the cursor -> panel beside the editor -> one engine request. */
  async steerPrompt(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      void vscode.window.showInformationMessage('Polyglot Lens: open a file and put the cursor on a prompt first.');
      return;
    }
    const doc = editor.document;
    const settings = readSettings(vscode.workspace.getConfiguration('polyglotLens', doc.uri));
    const found = findPrompt({
      text: doc.getText(),
      selectionStart: doc.offsetAt(editor.selection.start),
      selectionEnd: doc.offsetAt(editor.selection.end),
      scope: settings.promptScope,
    });
    if (found === undefined) {
      void vscode.window.showInformationMessage('Polyglot Lens: there is no text under the cursor. Put the cursor on a line with text, or select a prompt.');
      return;
    }
    const origin: PromptOrigin = { kind: found.kind, fileName: path.basename(doc.fileName), line: doc.positionAt(found.start).line };
    await this.run({ prompt: found.text, origin });
  }

  revive(webviewPanel: vscode.WebviewPanel): void {
    this.adopt(SteerPanel.revive(webviewPanel, this.context.extensionUri, this.panelEvents()));
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private async run(request: LastRequest): Promise<void> {
    this.last = request;
    const settings = readSettings(vscode.workspace.getConfiguration('polyglotLens'));
    const modelDir = resolveModelDir(settings.modelPath, {
      extensionDir: this.context.extensionPath,
      workspaceDir: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      homeDir: os.homedir(),
    });
    const panel = this.showPanel();
    const requestId = ++this.requestCounter;
    panel.post({ type: 'analyzing', requestId, prompt: request.prompt, origin: request.origin });
    this.log.info(`analyze #${requestId}: ${request.prompt.length} chars from ${request.origin.fileName}:${request.origin.line + 1} with ${modelDir}`);
    try {
      const analysis = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Polyglot Lens' }, (progress) =>
        this.engine.analyze(
          {
            model: { dir: modelDir, threads: settings.threads, executionProviders: settings.executionProviders },
            prompt: request.prompt,
            topK: settings.topK,
            vectors: settings.steeringVectors,
            ...(settings.maxNewTokens > 0 ? { generation: { maxNewTokens: settings.maxNewTokens, temperature: settings.temperature, topP: 0.9, seed: settings.seed } } : {}),
          },
          { supersedeKey: 'steer', onProgress: (event) => progress.report({ message: progressMessage(event) }) },
        ),
      );
      if (requestId !== this.requestCounter) return; // a newer request owns the panel
      this.log.info(`analyze #${requestId}: ${analysis.tokens.length} tokens, load ${analysis.timings.loadMs.toFixed(0)} ms, inference ${analysis.timings.inferenceMs.toFixed(1)} ms`);
      panel.post({ type: 'analysis', requestId, origin: request.origin, analysis });
    } catch (err) {
      if (isCancelled(err)) return;
      const error = err instanceof EngineError ? err : new EngineError('INTERNAL', String(err));
      this.log.error(`analyze #${requestId}: ${error.code} ${error.message}`);
      if (requestId === this.requestCounter) panel.post({ type: 'error', requestId, prompt: request.prompt, origin: request.origin, error: error.toInfo() });
      void this.reportError(error);
    }
  }

  private async reportError(error: EngineError): Promise<void> {
    const modelProblem = error.code === 'MODEL_NOT_FOUND' || error.code === 'MODEL_INVALID' || error.code === 'TOKENIZER_INVALID' || error.code === 'UNSUPPORTED_MODEL';
    const vectorProblem = error.code === 'VECTOR_INVALID';
    const actions = modelProblem || vectorProblem ? ['Open Settings'] : [];
    const choice = await vscode.window.showErrorMessage(`Polyglot Lens: ${error.message}${error.hint !== undefined ? ` ${error.hint}` : ''}`, ...actions);
    if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', vectorProblem ? 'polyglotLens.steeringVectors' : 'polyglotLens.modelPath');
  }

  private showPanel(): SteerPanel {
    if (this.panel !== undefined) {
      if (!this.panel.visible) this.panel.reveal();
      return this.panel;
    }
    return this.adopt(SteerPanel.create(this.context.extensionUri, this.panelEvents()));
  }

  private adopt(panel: SteerPanel): SteerPanel {
    this.panel?.dispose();
    this.panel = panel;
    panel.onDidDispose(() => {
      if (this.panel === panel) this.panel = undefined;
    });
    return panel;
  }

  private panelEvents(): { onRerun(): void; log(line: string): void } {
    return {
      onRerun: () => {
        if (this.last !== undefined) void this.run(this.last);
      },
      log: (line) => this.log.warn(line),
    };
  }
}

const STAGE_MESSAGES: Record<string, string> = {
  loading: 'loading the model…',
  forward: 'running the model…',
  'steered-forward': 'running the steered model…',
  'generating-base': 'generating…',
  'generating-steered': 'generating (steered)…',
};

function progressMessage(event: ProgressEvent): string {
  return event.kind === 'stage' ? (STAGE_MESSAGES[event.stage] ?? event.stage) : `${event.stream === 'steered' ? 'steered ' : ''}token ${event.index + 1}`;
}

export function activate(context: vscode.ExtensionContext): PolyglotLensApi {
  const log = vscode.window.createOutputChannel('Polyglot Lens', { log: true });
  const engine = new EngineClient({ workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')), log: (line) => log.info(line) });
  const controller = new SteerController(context, engine, log);
  context.subscriptions.push(
    log,
    controller,
    { dispose: () => void engine.dispose() },
    vscode.commands.registerCommand(STEER_PROMPT_COMMAND, () => controller.steerPrompt()),
    vscode.window.registerWebviewPanelSerializer(STEER_PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: (panel) => {
        controller.revive(panel);
        return Promise.resolve();
      },
    }),
  );
  log.info('Polyglot Lens activated; the engine starts on the first Steer Prompt.');
  return { isEngineRunning: () => engine.isRunning };
}

export function deactivate(): void {
  // Disposables registered in activate() stop the worker.
}
