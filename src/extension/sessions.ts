/**
 * Save Session… writes `<name>.polyglot.json` (the prompt the panel shows, the model, the steering vectors and
 * the generation settings; format in src/protocol/session.ts) atomically into the workspace. Open Session…
 * reads one back, validated where it enters: the model is switched (after asking) and checked in the worker,
 * the vectors are put back, and the prompt is run again. Sessions of an untrusted workspace wait for trust.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../engine/steering/atomicWrite';
import { SESSION_SUFFIX } from '../protocol/session';
import { useModel } from './modelCommands';
import type { LensServices } from './services';
import { buildSession, parseSession, SessionFileError, sessionFileName, sessionNameProblem, sessionText } from './sessionFile';
import { BUNDLED_MODEL_RELATIVE, readSettings } from './settings';
import { explainUntrusted, heldBackByTrust, whenTrusted } from './trust';

export const SAVE_SESSION_COMMAND = 'polyglotLens.saveSession';
export const OPEN_SESSION_COMMAND = 'polyglotLens.openSession';

function bundledDir(context: vscode.ExtensionContext): string {
  return path.join(context.extensionPath, BUNDLED_MODEL_RELATIVE);
}

async function saveSession(context: vscode.ExtensionContext, services: LensServices): Promise<void> {
  const prompt = services.currentPrompt();
  const info = await services.ensureModel();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const suggested = prompt !== undefined ? prompt.origin.fileName.replace(/\.[^.]+$/, '') || 'session' : 'session';
  let file: string | undefined;
  if (folder !== undefined) {
    const name = await vscode.window.showInputBox({
      title: vscode.l10n.t('Save Session'),
      prompt:
        prompt !== undefined
          ? vscode.l10n.t('Name of the session file in {0} (the prompt, model, vectors and settings are saved).', path.basename(folder))
          : vscode.l10n.t('Name of the session file in {0}. No prompt is shown in the panel: the session keeps the model, vectors and settings.', path.basename(folder)),
      value: suggested,
      validateInput: (t) => {
        const problem = sessionNameProblem(t);
        if (problem === 'empty') return vscode.l10n.t('Type a name.');
        if (problem === 'characters') return vscode.l10n.t('A file name cannot contain \\ / : * ? " < > |.');
        return undefined;
      },
    });
    if (name === undefined) return;
    file = path.join(folder, sessionFileName(name));
    if (existsSync(file)) {
      const replace = vscode.l10n.t('Replace');
      const choice = await vscode.window.showWarningMessage(vscode.l10n.t('{0} already exists. Replace it?', path.basename(file)), { modal: true }, replace);
      if (choice !== replace) return;
    }
  } else {
    const uri = await vscode.window.showSaveDialog({ title: vscode.l10n.t('Save Session'), filters: { [vscode.l10n.t('Polyglot Lens session')]: ['json'] } });
    if (uri === undefined) return;
    file = uri.fsPath.toLowerCase().endsWith(SESSION_SUFFIX) ? uri.fsPath : path.join(path.dirname(uri.fsPath), sessionFileName(path.basename(uri.fsPath)));
  }
  const settings = readSettings(vscode.workspace.getConfiguration('polyglotLens'));
  const session = buildSession(
    {
      ...(prompt !== undefined ? { prompt } : {}),
      modelDir: info.dir,
      modelName: info.name,
      bundledModel: path.resolve(info.dir) === path.resolve(bundledDir(context)),
      vectors: services.vectors.snapshot(),
      settings: { topK: settings.topK, maxNewTokens: settings.maxNewTokens, temperature: settings.temperature, seed: settings.seed },
    },
    path.dirname(file),
  );
  try {
    await writeFileAtomic(file, sessionText(session));
  } catch (err) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Polyglot Lens: could not write {0}: {1}', file, err instanceof Error ? err.message : String(err)));
    return;
  }
  services.log.info(`saved session ${file}`);
  const open = vscode.l10n.t('Open File');
  const choice = await vscode.window.showInformationMessage(vscode.l10n.t('Polyglot Lens: saved the session as {0}.', folder !== undefined ? vscode.workspace.asRelativePath(file) : file), open);
  if (choice === open) await vscode.window.showTextDocument(vscode.Uri.file(file));
}

/** The session file a command acts on: its argument (Explorer, editor title), the active editor's file, or a pick. */
async function sessionFileFrom(arg: unknown): Promise<string | undefined> {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file' && active.fsPath.toLowerCase().endsWith(SESSION_SUFFIX)) return active.fsPath;
  const files = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: vscode.l10n.t('Open Session'),
    filters: { [vscode.l10n.t('Polyglot Lens session')]: ['json'] },
    ...(vscode.workspace.workspaceFolders?.[0] ? { defaultUri: vscode.workspace.workspaceFolders[0].uri } : {}),
  });
  return files?.[0]?.fsPath;
}

async function openSession(context: vscode.ExtensionContext, services: LensServices, arg: unknown): Promise<void> {
  const file = await sessionFileFrom(arg);
  if (file === undefined) return;
  if (heldBackByTrust(file)) {
    void explainUntrusted(vscode.l10n.t('Session {0}', path.basename(file)));
    // Opened as soon as the user trusts the workspace.
    context.subscriptions.push(whenTrusted(() => openSession(context, services, vscode.Uri.file(file))));
    return;
  }
  let parsed;
  try {
    parsed = parseSession(await fs.readFile(file, 'utf8'), file);
  } catch (err) {
    const message = err instanceof SessionFileError ? err.message : vscode.l10n.t('{0} cannot be read: {1}', path.basename(file), err instanceof Error ? err.message : String(err));
    services.log.error(`open session ${file}: ${message}`);
    void vscode.window.showErrorMessage(vscode.l10n.t('Polyglot Lens: {0}', message));
    return;
  }
  const { session } = parsed;
  const modelDir = parsed.modelDir ?? bundledDir(context);

  // 1. The model: switch when the session was saved with another one (the user decides).
  if (path.resolve(modelDir) !== path.resolve(services.getModelDir())) {
    const switchModel = vscode.l10n.t('Switch to {0}', session.model.name || path.basename(modelDir));
    const keep = vscode.l10n.t('Keep {0}', path.basename(services.getModelDir()));
    const choice = await vscode.window.showInformationMessage(
      vscode.l10n.t('{0} was saved with the model {1} ({2}); Polyglot Lens now uses {3}.', path.basename(file), session.model.name, modelDir, path.basename(services.getModelDir())),
      { modal: true },
      switchModel,
      keep,
    );
    if (choice === undefined) return;
    if (choice === switchModel && !(await useModel(context, services, modelDir))) return;
  }
  await services.ensureModel();

  // 2. The vectors: the session's choice replaces which are on; files that are gone are reported.
  const missingFiles = parsed.vectors.entries.filter((e) => e.origin !== 'bundled' && !existsSync(e.ref));
  const heldFiles = parsed.vectors.entries.filter((e) => e.origin !== 'bundled' && existsSync(e.ref) && heldBackByTrust(e.ref));
  const usable = parsed.vectors.entries.filter((e) => !missingFiles.includes(e) && !heldFiles.includes(e));
  services.vectors.disableAll();
  const missingBundled = services.vectors.restore({ entries: usable });
  if (heldFiles.length > 0) void explainUntrusted(heldFiles.map((e) => path.basename(e.ref)).join(', '));
  const problems = [...missingFiles.map((e) => e.ref), ...missingBundled.map((id) => id.replace(/^bundled:/, ''))];
  if (problems.length > 0) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Polyglot Lens: {0} names vectors that are not here: {1}. The others are restored.', path.basename(file), problems.join(', ')));
  }
  services.log.info(`opened session ${file}: model ${modelDir}, ${usable.filter((e) => e.enabled).length} vector(s) on${problems.length > 0 ? `, missing ${problems.join(', ')}` : ''}`);

  // 3. The prompt.
  const opened = { file, session, modelDir };
  if (services.restoreSession !== undefined) await services.restoreSession(opened);
  else if (session.prompt.trim() !== '') await services.runPrompt({ prompt: session.prompt, origin: session.origin ?? { kind: 'selection', fileName: path.basename(file), line: 0 } });
  else void vscode.window.showInformationMessage(vscode.l10n.t('Polyglot Lens: restored the model and vectors of {0} (it has no prompt).', path.basename(file)));
}

export function registerSessionCommands(context: vscode.ExtensionContext, services: LensServices): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(SAVE_SESSION_COMMAND, () => saveSession(context, services)),
    vscode.commands.registerCommand(OPEN_SESSION_COMMAND, (arg?: unknown) => openSession(context, services, arg)),
  );
}
