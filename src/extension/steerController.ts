/**
 * Steer Prompt: prompt under the cursor -> panel beside the editor -> one engine request -> the panel's
 * view model. Owns the panel, re-runs the prompt when the active vectors change (panel toggles, tree view,
 * settings) and, with "follow cursor", when the cursor moves to another prompt. Every run supersedes the
 * previous one (the engine cancels it), so slider drags and cursor moves never queue up.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProgressEvent, PromptAnalysis } from '../protocol/engine';
import { EngineError, isCancelled } from '../protocol/errors';
import type { PanelIntent, PromptOrigin } from '../protocol/webview';
import type { EngineClient } from './engineClient';
import { applyVectorSettings, readModelInfo, type ModelInfo } from './modelInfo';
import { canShowPanel, toPanelViewModel } from './panelModel';
import { findPrompt } from './prompt';
import { readSettings, resolveModelDir } from './settings';
import { SteerPanel } from './steerPanel';
import type { VectorState } from './vectorState';

export interface PromptRequest {
  prompt: string;
  origin: PromptOrigin;
}

/** Debounce of re-runs caused by vector changes (a slider drag posts many) and cursor moves. */
const VECTOR_RERUN_MS = 120;
const FOLLOW_CURSOR_MS = 350;

export class SteerController implements vscode.Disposable {
  private panel: SteerPanel | undefined;
  private requestCounter = 0;
  private last: PromptRequest | undefined;
  private lastAnalysis: PromptAnalysis | undefined;
  private model: ModelInfo | undefined;
  private modelLoading: Promise<ModelInfo> | undefined;
  private rerunTimer: NodeJS.Timeout | undefined;
  private followTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly analyzed = new vscode.EventEmitter<PromptAnalysis>();
  private readonly modelChanged = new vscode.EventEmitter<ModelInfo>();
  /** Fires with every analysis the panel shows (the Layers view and the status bar listen). */
  readonly onDidAnalyze = this.analyzed.event;
  /** Fires when the model folder (and with it the bundled vectors) changed. */
  readonly onDidChangeModel = this.modelChanged.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
    private readonly vectors: VectorState,
  ) {
    const sub = vectors.onDidChange(() => this.scheduleRerun(VECTOR_RERUN_MS));
    this.disposables.push(
      { dispose: () => sub.dispose() },
      this.analyzed,
      this.modelChanged,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('polyglotLens.modelPath')) void this.ensureModel(true);
        else if (e.affectsConfiguration('polyglotLens.steeringVectors')) void this.applySettingsVectors();
        else if (e.affectsConfiguration('polyglotLens')) this.scheduleRerun(VECTOR_RERUN_MS);
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
    );
  }

  /** The model folder the settings name (the bundled model when empty). */
  modelDir(): string {
    return resolveModelDir(readSettings(vscode.workspace.getConfiguration('polyglotLens')).modelPath, {
      extensionDir: this.context.extensionPath,
      workspaceDir: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      homeDir: os.homedir(),
    });
  }

  /** The current model's info, read once per folder; `reload` re-reads it (the setting changed). */
  ensureModel(reload = false): Promise<ModelInfo> {
    const dir = this.modelDir();
    if (!reload && this.modelLoading !== undefined && this.model?.dir === dir) return this.modelLoading;
    const loading = (async () => {
      const info = await readModelInfo(dir);
      if (this.modelDir() !== dir) return this.ensureModel(); // the setting changed meanwhile
      const changed = this.model?.dir !== dir;
      this.model = info;
      this.vectors.setBundled(info.vectors, info.numLayers);
      if (changed) {
        this.applyVectorSpecs(info);
        this.lastAnalysis = undefined;
        this.modelChanged.fire(info);
        this.scheduleRerun(0);
      }
      return info;
    })();
    this.modelLoading = loading;
    return loading;
  }

  get currentModel(): ModelInfo | undefined {
    return this.model;
  }

  /** The prompt the panel shows (for sessions). */
  get currentPrompt(): PromptRequest | undefined {
    return this.last;
  }

  get currentAnalysis(): PromptAnalysis | undefined {
    return this.lastAnalysis;
  }

  /** The command: the prompt under the cursor of the active editor. */
  async steerPrompt(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      if (this.last !== undefined) {
        this.showPanel();
        return;
      }
      void vscode.window.showInformationMessage(vscode.l10n.t('Polyglot Lens: open a file and put the cursor on a prompt first.'));
      return;
    }
    const request = promptAt(editor);
    if (request === undefined) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Polyglot Lens: there is no text under the cursor. Put the cursor on a line with text, or select a prompt.'));
      return;
    }
    await this.run(request);
  }

  /** Runs `request` in the panel (sessions, tests). */
  async runPrompt(request: PromptRequest): Promise<void> {
    await this.run(request);
  }

  /** Opens the panel's layer inspector at layer k (the panel must show an analysis: else Steer Prompt runs first). */
  async inspectLayers(k?: number): Promise<void> {
    if (this.last === undefined || this.panel === undefined) await this.steerPrompt();
    const panel = this.panel;
    if (panel === undefined) return;
    panel.reveal();
    const layers = this.lastAnalysis?.model.numLayers ?? this.model?.numLayers ?? 0;
    const target = typeof k === 'number' ? k : Math.floor(layers / 2);
    panel.postTransient({ type: 'inspectLayer', k: Math.max(0, Math.min(layers, Math.round(target))) });
  }

  /**
   * Adopts the panel VS Code restored after a reload. The webview re-draws its saved state by itself; the
   * prompt it shows (in that state) becomes the current one, so toggles and "follow cursor" work at once.
   */
  revive(webviewPanel: vscode.WebviewPanel, state: unknown): void {
    this.adopt(SteerPanel.revive(webviewPanel, this.context.extensionUri, this.panelEvents()));
    const saved = savedPrompt(state);
    if (saved !== undefined && this.last === undefined) {
      this.last = saved;
      void this.ensureModel();
    }
  }

  dispose(): void {
    clearTimeout(this.rerunTimer);
    clearTimeout(this.followTimer);
    this.panel?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private async applySettingsVectors(): Promise<void> {
    const info = await this.ensureModel();
    this.applyVectorSpecs(info);
  }

  private applyVectorSpecs(info: ModelInfo): void {
    const settings = readSettings(vscode.workspace.getConfiguration('polyglotLens'));
    if (settings.steeringVectors.length === 0) return;
    if (!vscode.workspace.isTrusted) return; // workspace-named vector files wait for trust
    const unknown = applyVectorSettings(this.vectors, settings.steeringVectors, info, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? info.dir);
    if (unknown.length > 0) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Polyglot Lens: the model {0} has no vector named {1} (polyglotLens.steeringVectors).', info.name, unknown.join(', ')));
    }
  }

  private scheduleRerun(delayMs: number): void {
    if (this.last === undefined || this.panel === undefined) return;
    clearTimeout(this.rerunTimer);
    this.rerunTimer = setTimeout(() => {
      if (this.last !== undefined && this.panel !== undefined) void this.run(this.last);
    }, delayMs);
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    if (this.panel === undefined || !this.panel.visible || this.last === undefined) return;
    if (e.textEditor !== vscode.window.activeTextEditor || e.textEditor.document.uri.scheme === 'output') return;
    if (!vscode.workspace.getConfiguration('polyglotLens', e.textEditor.document.uri).get<boolean>('followCursor', true)) return;
    clearTimeout(this.followTimer);
    this.followTimer = setTimeout(() => {
      const editor = vscode.window.activeTextEditor;
      if (editor === undefined || editor !== e.textEditor) return;
      const request = promptAt(editor);
      if (request === undefined || request.prompt === this.last?.prompt) return;
      void this.run(request);
    }, FOLLOW_CURSOR_MS);
  }

  private async run(request: PromptRequest): Promise<void> {
    this.last = request;
    clearTimeout(this.rerunTimer);
    const settings = readSettings(vscode.workspace.getConfiguration('polyglotLens'));
    const model = await this.ensureModel();
    const panel = this.showPanel();
    const requestId = ++this.requestCounter;
    panel.post({ type: 'analyzing', requestId, prompt: request.prompt, origin: request.origin });
    const vectors = this.vectors.specs();
    this.log.info(`analyze #${requestId}: ${request.prompt.length} chars from ${request.origin.fileName}:${request.origin.line + 1} with ${model.dir}, vectors [${vectors.map((v) => `${path.basename(v.vector)}@${v.layer}×${v.strength}`).join(', ')}]`);
    try {
      const analysis = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Polyglot Lens' }, (progress) =>
        this.engine.analyze(
          {
            model: { dir: model.dir, threads: settings.threads, executionProviders: settings.executionProviders },
            prompt: request.prompt,
            topK: settings.topK,
            vectors,
            // Per-position logit lens and per-layer projections for the layer inspector (~0.1 s on the demo model).
            inspect: { lensTopK: settings.topK, projection: true },
            ...(settings.maxNewTokens > 0 ? { generation: { maxNewTokens: settings.maxNewTokens, temperature: settings.temperature, topP: 0.9, seed: settings.seed } } : {}),
          },
          { supersedeKey: 'steer', onProgress: (event) => progress.report({ message: progressMessage(event) }) },
        ),
      );
      if (requestId !== this.requestCounter) return; // a newer request owns the panel
      this.log.info(`analyze #${requestId}: ${analysis.tokens.length} tokens, load ${analysis.timings.loadMs.toFixed(0)} ms, inference ${analysis.timings.inferenceMs.toFixed(1)} ms`);
      for (const w of analysis.warnings) this.log.warn(`analyze #${requestId}: ${w}`);
      this.lastAnalysis = analysis;
      if (canShowPanel(analysis)) {
        panel.post({ type: 'panel', requestId, prompt: request.prompt, origin: request.origin, view: toPanelViewModel(analysis, this.vectors.views()) });
      } else {
        // No language centroids for this model: the plain per-layer table and the continuations.
        panel.post({ type: 'analysis', requestId, origin: request.origin, analysis });
      }
      this.analyzed.fire(analysis);
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
    const openSettings = vscode.l10n.t('Open Settings');
    const actions = modelProblem || vectorProblem ? [openSettings] : [];
    const choice = await vscode.window.showErrorMessage(vscode.l10n.t('Polyglot Lens: {0}', `${error.message}${error.hint !== undefined ? ` ${error.hint}` : ''}`), ...actions);
    if (choice === openSettings) await vscode.commands.executeCommand('workbench.action.openSettings', vectorProblem ? 'polyglotLens.steeringVectors' : 'polyglotLens.modelPath');
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

  private panelEvents(): { onRerun(): void; onIntent(intent: PanelIntent): void; log(line: string): void } {
    return {
      onRerun: () => {
        if (this.last !== undefined) void this.run(this.last);
      },
      onIntent: (intent) => {
        // The state's change event re-runs the prompt (debounced); an unknown id (removed meanwhile) is ignored.
        this.vectors.set(intent.id, { enabled: intent.enabled, layer: intent.layer, strength: intent.strength });
      },
      log: (line) => this.log.warn(line),
    };
  }
}

/** The prompt and origin of a webview's saved state (any message but `inspectLayer` carries them), if well-formed. */
function savedPrompt(state: unknown): PromptRequest | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const s = state as { prompt?: unknown; origin?: unknown; analysis?: { prompt?: unknown } };
  const prompt = typeof s.prompt === 'string' ? s.prompt : typeof s.analysis?.prompt === 'string' ? s.analysis.prompt : undefined;
  const o = s.origin as Partial<PromptOrigin> | undefined;
  if (prompt === undefined || o === undefined || typeof o.fileName !== 'string' || typeof o.line !== 'number' || !['selection', 'string', 'paragraph', 'line'].includes(String(o.kind))) return undefined;
  return { prompt, origin: { kind: o.kind as PromptOrigin['kind'], fileName: o.fileName, line: o.line } };
}

/** The prompt under the cursor (or the selection) of `editor`. */
function promptAt(editor: vscode.TextEditor): PromptRequest | undefined {
  const doc = editor.document;
  const settings = readSettings(vscode.workspace.getConfiguration('polyglotLens', doc.uri));
  const found = findPrompt({
    text: doc.getText(),
    selectionStart: doc.offsetAt(editor.selection.start),
    selectionEnd: doc.offsetAt(editor.selection.end),
    scope: settings.promptScope,
    languageId: doc.languageId,
  });
  if (found === undefined) return undefined;
  return { prompt: found.text, origin: { kind: found.kind, fileName: path.basename(doc.fileName), line: doc.positionAt(found.start).line } };
}

function progressMessage(event: ProgressEvent): string {
  if (event.kind === 'token') return event.stream === 'steered' ? vscode.l10n.t('steered token {0}', event.index + 1) : vscode.l10n.t('token {0}', event.index + 1);
  if (event.kind !== 'stage') return '';
  switch (event.stage) {
    case 'loading':
      return vscode.l10n.t('loading the model…');
    case 'forward':
      return vscode.l10n.t('running the model…');
    case 'steered-forward':
      return vscode.l10n.t('running the steered model…');
    case 'generating-base':
      return vscode.l10n.t('generating…');
    case 'generating-steered':
      return vscode.l10n.t('generating (steered)…');
    default:
      return '';
  }
}
