/**
 * Workspace trust for files the workspace brings: in an untrusted workspace, vector files inside it and session
 * files are not loaded (the settings that name a model or vectors are held back by VS Code itself, see
 * `capabilities.untrustedWorkspaces.restrictedConfigurations` in package.json). The user is told why, with a
 * way to trust the workspace; what was held back is loaded when trust is granted.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';

/** Whether `file` lies inside one of the open workspace folders. */
export function isInsideWorkspace(file: string): boolean {
  return (vscode.workspace.workspaceFolders ?? []).some((f) => {
    const rel = path.relative(f.uri.fsPath, file);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** True when `file` comes from a workspace that is not trusted (so it must not be loaded yet). */
export function heldBackByTrust(file: string): boolean {
  return !vscode.workspace.isTrusted && isInsideWorkspace(file);
}

/** Says why `what` is not loaded, with a "Manage Workspace Trust" action. */
export async function explainUntrusted(what: string): Promise<void> {
  const manage = vscode.l10n.t('Manage Workspace Trust');
  const choice = await vscode.window.showWarningMessage(
    vscode.l10n.t('Polyglot Lens: {0} not loaded because this workspace is not trusted: vector files and sessions from an untrusted workspace are only read once you trust it.', what),
    manage,
  );
  if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
}

/** Runs `load` once the workspace is trusted (at once when it already is). */
export function whenTrusted(load: () => void | Promise<void>): vscode.Disposable {
  if (vscode.workspace.isTrusted) {
    void load();
    return { dispose: () => undefined };
  }
  const sub = vscode.workspace.onDidGrantWorkspaceTrust(() => {
    sub.dispose();
    void load();
  });
  return sub;
}
