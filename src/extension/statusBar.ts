/**
 * The status bar item: the model and the steering vectors that are on (`$(globe) tiny-polyglot · fr-en`, or
 * "no steering"); a click opens the panel (Steer Prompt shows it for the prompt under the cursor, or brings
 * back the last one).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LensServices } from './services';
import { statusBarModel } from './viewItems';

export const STATUS_BAR_ID = 'polyglotLens.status';
const OPEN_PANEL_COMMAND = 'polyglotLens.steerPrompt';

export function registerStatusBar(context: vscode.ExtensionContext, services: LensServices): void {
  const item = vscode.window.createStatusBarItem(STATUS_BAR_ID, vscode.StatusBarAlignment.Right, 100);
  item.name = vscode.l10n.t('Polyglot Lens');
  item.command = { command: OPEN_PANEL_COMMAND, title: vscode.l10n.t('Open the Polyglot Lens panel') };
  let modelName = path.basename(services.getModelDir());
  const update = (): void => {
    const m = statusBarModel(modelName, services.vectors.active());
    item.text = m.text;
    item.tooltip = new vscode.MarkdownString(m.tooltip);
    item.accessibilityInformation = { label: m.text.replace(/^\$\([a-z-]+\)\s*/, ''), role: 'button' };
  };
  const refreshModel = (): void => {
    void services.ensureModel().then(
      (info) => {
        modelName = info.name;
        update();
      },
      () => undefined,
    );
  };
  const sub = services.vectors.onDidChange(update);
  context.subscriptions.push(
    item,
    { dispose: () => sub.dispose() },
    services.onDidChangeModel(refreshModel),
    services.onDidAnalyze((a) => {
      modelName = a.model.name;
      update();
    }),
  );
  update();
  refreshModel();
  item.show();
}
