/**
 * The Steer Prompt webview panel (one per window, reused like the Markdown preview). It holds the latest
 * message until the webview has posted `ready` — a message posted before the webview's script runs is
 * lost — and re-sends it whenever the webview reloads (e.g. after being hidden), so no
 * retainContextWhenHidden is needed.
 */
import * as vscode from 'vscode';
import { STEER_PANEL_VIEW_TYPE, webviewToHost, type HostToWebview, type InspectLayerMessage, type PanelIntent, type WebviewToHost } from '../protocol/webview';
import { safeParse } from '../protocol/validate';
import { renderPanelHtml } from './panelHtml';
import { makeNonce } from './webviewHtml';

export interface PanelEvents {
  onRerun(): void;
  /** A vector toggle or slider in the panel. */
  onIntent(intent: PanelIntent): void;
  log(line: string): void;
}

export class SteerPanel implements vscode.Disposable {
  private ready = false;
  private latest: Exclude<HostToWebview, InspectLayerMessage> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  readonly onDidDispose: vscode.Event<void>;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly events: PanelEvents,
  ) {
    this.onDidDispose = panel.onDidDispose;
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    panel.webview.html = renderPanelHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css')).toString(),
      nonce: makeNonce(),
      lang: vscode.env.language,
      // VS Code's bundle for its display language (l10n/bundle.l10n.<lang>.json; undefined in English): it
      // holds the webview's strings too (npm run l10n exports src/extension and src/webview into one bundle).
      l10nBundle: vscode.l10n.bundle,
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Opens a new panel beside the active editor, without taking focus from it. */
  static create(extensionUri: vscode.Uri, events: PanelEvents): SteerPanel {
    const panel = vscode.window.createWebviewPanel(
      STEER_PANEL_VIEW_TYPE,
      'Polyglot Lens',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      webviewOptions(extensionUri),
    );
    return new SteerPanel(panel, extensionUri, events);
  }

  /** Adopts a panel VS Code restored after a reload; the webview re-renders its own saved state. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, events: PanelEvents): SteerPanel {
    return new SteerPanel(panel, extensionUri, events);
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  /** Shows `message` now if the webview is ready, else as soon as it is. */
  post(message: Exclude<HostToWebview, InspectLayerMessage>): void {
    this.latest = message;
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  /** A one-off command to the panel on screen (not re-sent after a reload); dropped if the webview is not ready. */
  postTransient(message: InspectLayerMessage): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private onMessage(raw: unknown): void {
    const parsed = safeParse(webviewToHost, raw, 'webview message');
    if (!parsed.ok) {
      this.events.log(`ignored an invalid message from the panel: ${parsed.error.message}`);
      return;
    }
    this.handle(parsed.value);
  }

  private handle(message: WebviewToHost): void {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        if (this.latest !== undefined) void this.panel.webview.postMessage(this.latest);
        return;
      case 'openSettings':
        void vscode.commands.executeCommand('workbench.action.openSettings', message.setting);
        return;
      case 'rerun':
        this.events.onRerun();
        return;
      case 'setVector':
        this.events.onIntent(message);
        return;
    }
  }
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableFindWidget: true,
    // The webview may load only the bundle and the stylesheet: nothing from the workspace or the model folder.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}
