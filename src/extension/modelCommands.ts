/**
 * Select Model…: the bundled demo model, a recently used folder, or any folder. The folder is loaded in the
 * engine worker first (a broken one is explained with the engine's message and hint, and the previous model
 * stays); only then is `polyglotLens.modelPath` updated, in the workspace settings when a trusted folder is
 * open, else in the user settings.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineError, isCancelled } from '../protocol/errors';
import { currentModelSpec, type LensServices } from './services';
import { BUNDLED_MODEL_RELATIVE } from './settings';

export const SELECT_MODEL_COMMAND = 'polyglotLens.selectModel';
const RECENT_MODELS_KEY = 'polyglotLens.recentModels';
const MAX_RECENT = 5;

function bundledDir(context: vscode.ExtensionContext): string {
  return path.join(context.extensionPath, BUNDLED_MODEL_RELATIVE);
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

/**
 * Loads `dir` in the worker and, when it works, makes it the model (setting updated). Returns whether it did.
 * Errors are shown with the engine's message and hint; the setting is left alone.
 */
export async function useModel(context: vscode.ExtensionContext, services: LensServices, dir: string): Promise<boolean> {
  const name = path.basename(dir);
  const previous = services.getModelDir();
  const config = vscode.workspace.getConfiguration('polyglotLens');
  let summary: Awaited<ReturnType<LensServices['engine']['loadModel']>>;
  try {
    summary = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Polyglot Lens: loading {0}…', name) }, () =>
      services.engine.loadModel({ model: currentModelSpec(services, config, dir) }),
    );
  } catch (err) {
    if (isCancelled(err)) return false;
    const error = err instanceof EngineError ? err : new EngineError('INTERNAL', err instanceof Error ? err.message : String(err));
    services.log.error(`select model ${dir}: ${error.code} ${error.message}`);
    const another = vscode.l10n.t('Choose Another Folder…');
    const choice = await vscode.window.showErrorMessage(
      [vscode.l10n.t('Polyglot Lens cannot use {0}: {1}', dir, error.message), error.hint, vscode.l10n.t('The current model ({0}) stays selected.', path.basename(previous))].filter(Boolean).join(' '),
      another,
    );
    if (choice === another) await vscode.commands.executeCommand(SELECT_MODEL_COMMAND, 'folder');
    return false;
  }
  const bundled = samePath(dir, bundledDir(context));
  const inWorkspace = vscode.workspace.isTrusted && (vscode.workspace.workspaceFolders?.length ?? 0) > 0;
  const target = inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update('modelPath', bundled ? '' : path.resolve(dir), target);
  const recent = context.globalState.get<string[]>(RECENT_MODELS_KEY, []).filter((d) => !samePath(d, dir));
  if (!bundled) await context.globalState.update(RECENT_MODELS_KEY, [path.resolve(dir), ...recent].slice(0, MAX_RECENT));
  // The controller re-reads the folder on the configuration change; reading here makes the order certain.
  await services.ensureModel(true);
  if (!samePath(services.getModelDir(), dir)) {
    // A folder-level or workspace value that we did not write still wins: say so instead of pretending.
    void vscode.window.showWarningMessage(vscode.l10n.t('Polyglot Lens: {0} works, but another polyglotLens.modelPath setting takes precedence ({1}).', name, services.getModelDir()));
    return false;
  }
  const m = summary.model;
  void vscode.window.showInformationMessage(
    inWorkspace
      ? vscode.l10n.t('Polyglot Lens now uses {0} ({1} layers, hidden size {2}); saved in the workspace settings.', m.name, m.numLayers, m.hiddenSize)
      : vscode.l10n.t('Polyglot Lens now uses {0} ({1} layers, hidden size {2}); saved in your user settings.', m.name, m.numLayers, m.hiddenSize),
  );
  return true;
}

async function selectModel(context: vscode.ExtensionContext, services: LensServices, mode?: unknown): Promise<void> {
  let dir: string | undefined;
  if (mode !== 'folder') {
    const current = services.getModelDir();
    const bundled = bundledDir(context);
    type Item = vscode.QuickPickItem & { dir?: string; open?: boolean };
    const currentLabel = vscode.l10n.t('current');
    const items: Item[] = [
      { label: `$(package) ${vscode.l10n.t('Bundled demo model')}`, description: [path.basename(bundled), samePath(current, bundled) ? currentLabel : ''].filter(Boolean).join(' · '), detail: vscode.l10n.t('The demo model that ships with Polyglot Lens, with its steering vectors'), dir: bundled },
    ];
    const recent = context.globalState.get<string[]>(RECENT_MODELS_KEY, []).filter((d) => !samePath(d, bundled));
    if (!samePath(current, bundled) && !recent.some((d) => samePath(d, current))) recent.unshift(current);
    if (recent.length > 0) items.push({ label: vscode.l10n.t('Recent'), kind: vscode.QuickPickItemKind.Separator });
    for (const d of recent) items.push({ label: `$(folder) ${path.basename(d)}`, description: samePath(d, current) ? currentLabel : '', detail: d, dir: d });
    items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: `$(folder-opened) ${vscode.l10n.t('Open Folder…')}`, detail: vscode.l10n.t('A decoder-only ONNX model: config.json, tokenizer.json and model.onnx (or onnx/model.onnx)'), open: true });
    const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Polyglot Lens: Select Model'), placeHolder: vscode.l10n.t('The model Steer Prompt and the vector commands run'), matchOnDetail: true });
    if (picked === undefined) return;
    dir = picked.dir;
  }
  if (dir === undefined) {
    const folders = await vscode.window.showOpenDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: vscode.l10n.t('Use This Model'),
      title: vscode.l10n.t('Folder of a decoder-only ONNX model'),
      ...(vscode.workspace.workspaceFolders?.[0] ? { defaultUri: vscode.workspace.workspaceFolders[0].uri } : {}),
    });
    dir = folders?.[0]?.fsPath;
    if (dir === undefined) return;
  }
  await useModel(context, services, dir);
}

export function registerModelCommands(context: vscode.ExtensionContext, services: LensServices): void {
  context.subscriptions.push(vscode.commands.registerCommand(SELECT_MODEL_COMMAND, (mode?: unknown) => selectModel(context, services, mode)));
}
