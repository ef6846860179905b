/**
 * The vector commands: Compute Steering Vector… (languages, corpus, method → extraction in the worker → a
 * .safetensors file in .polyglot/vectors/ → the tree), Evaluate Steering Vector… (a layer × strength sweep in
 * the worker → the chart, "Apply best"), Export Vector as GGUF… and Import Vector…. Every long step runs in the
 * worker under a cancellable progress notification.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { VECTOR_METHODS, type CorpusInfo, type SweepReport, type VectorMethod } from '../protocol/engine';
import { safeParse } from '../protocol/validate';
import { runEngineJob, showEngineError } from './engineJobs';
import { currentModelSpec, type LensServices } from './services';
import { sweepChartHtml, sweepChartIntent } from './sweepChart';
import { explainUntrusted, heldBackByTrust } from './trust';
import { languagesFromName, type VectorEntry } from './vectorState';
import { askLayer, pickVector, VECTOR_COMMANDS } from './vectorsView';
import { formatStrength, languageName } from './viewItems';
import { makeNonce } from './webviewHtml';

export const COMPUTE_VECTOR_COMMAND = 'polyglotLens.computeVector';
export const EVALUATE_VECTOR_COMMAND = 'polyglotLens.evaluateVector';
export const EXPORT_VECTOR_COMMAND = 'polyglotLens.exportVector';
export const IMPORT_VECTOR_COMMAND = 'polyglotLens.importVector';
/** Where computed vectors go in a workspace. */
export const WORKSPACE_VECTOR_FOLDER = path.join('.polyglot', 'vectors');

const METHOD_DESCRIPTIONS: Record<VectorMethod, () => string> = {
  diffmean: () => vscode.l10n.t('Mean target state − mean source state over the parallel pairs (the paper’s method; recommended)'),
  'diffmean-monolingual': () => vscode.l10n.t('Difference of the two languages’ all-token means (pairs need not be aligned)'),
  pca: () => vscode.l10n.t('First principal component of the paired differences'),
  probe: () => vscode.l10n.t('Direction of a logistic probe that tells the two languages apart'),
  projection: () => vscode.l10n.t('DiffMean plus a learned linear map of source states onto target states'),
};

function modelSpec(services: LensServices): ReturnType<typeof currentModelSpec> {
  return currentModelSpec(services, vscode.workspace.getConfiguration('polyglotLens'));
}

function workspaceDir(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** A file name in `dir` that does not exist yet: `fr-en.safetensors`, else `fr-en-2.safetensors`, … */
export function freeFileName(dir: string, stem: string, ext: string, exists: (p: string) => boolean = existsSync): string {
  for (let i = 1; ; i++) {
    const file = path.join(dir, `${stem}${i === 1 ? '' : `-${i}`}${ext}`);
    if (!exists(file)) return file;
  }
}

/** Where computed vectors are written: the workspace's .polyglot/vectors, else the extension's global storage. */
function vectorFolder(context: vscode.ExtensionContext): string {
  const ws = workspaceDir();
  return ws !== undefined ? path.join(ws, WORKSPACE_VECTOR_FOLDER) : path.join(context.globalStorageUri.fsPath, 'vectors');
}

/** Asks for a parallel corpus: the model's own (corpus/<split>.jsonl), one in the workspace, or any file. */
async function pickCorpus(services: LensServices, split: 'steer' | 'dev', title: string): Promise<string | undefined> {
  const modelDir = services.getModelDir();
  type Item = vscode.QuickPickItem & { file?: string; browse?: boolean };
  const items: Item[] = [];
  const own = path.join(modelDir, 'corpus', `${split}.jsonl`);
  if (existsSync(own)) {
    items.push({
      label: `$(package) ${split === 'steer' ? vscode.l10n.t('The model’s steering corpus') : vscode.l10n.t('The model’s dev corpus')}`,
      description: `${path.basename(modelDir)}/corpus/${split}.jsonl`,
      detail: split === 'steer' ? vscode.l10n.t('Multi-way parallel sentences the bundled vectors were extracted from') : vscode.l10n.t('Held-out sentences the bundled vectors were tuned on'),
      file: own,
    });
  }
  const found = await vscode.workspace.findFiles('**/*.{jsonl,tsv}', '**/{node_modules,.git,.polyglot}/**', 50);
  if (found.length > 0) items.push({ label: vscode.l10n.t('Workspace'), kind: vscode.QuickPickItemKind.Separator });
  for (const uri of found.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) items.push({ label: `$(file) ${path.basename(uri.fsPath)}`, description: vscode.workspace.asRelativePath(uri), file: uri.fsPath });
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: `$(folder-opened) ${vscode.l10n.t('Choose a File…')}`, detail: vscode.l10n.t('A parallel corpus: .jsonl with one {"en": …, "fr": …} object per line, or .tsv with a header of language codes'), browse: true });
  const picked = items.length === 2 && items[1]?.browse ? items[1] : await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('Parallel sentences in both languages'), matchOnDescription: true });
  if (picked === undefined) return undefined;
  if (picked.file !== undefined) return picked.file;
  const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: vscode.l10n.t('Use This Corpus'), filters: { [vscode.l10n.t('Parallel corpus')]: ['jsonl', 'ndjson', 'tsv'] } });
  return chosen?.[0]?.fsPath;
}

async function readCorpus(services: LensServices, file: string): Promise<CorpusInfo | undefined> {
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Polyglot Lens: reading {0}', path.basename(file)) }, () => services.engine.inspectCorpus(file));
  } catch (err) {
    await showEngineError(services, `read corpus ${file}`, err);
    return undefined;
  }
}

async function pickLanguage(info: CorpusInfo, title: string, placeHolder: string, exclude?: string, prefer?: string): Promise<string | undefined> {
  const languages = info.languages.filter((l) => l.code !== exclude && l.rows > 0);
  const ordered = prefer !== undefined ? [...languages.filter((l) => l.code === prefer), ...languages.filter((l) => l.code !== prefer)] : languages;
  const picked = await vscode.window.showQuickPick(
    ordered.map((l) => ({ label: l.code, description: languageName(l.code), detail: vscode.l10n.t('{0} sentences', l.rows), code: l.code })),
    { title, placeHolder, matchOnDescription: true },
  );
  return picked?.code;
}

async function computeVector(context: vscode.ExtensionContext, services: LensServices): Promise<void> {
  const corpus = await pickCorpus(services, 'steer', vscode.l10n.t('Compute Steering Vector (1/4): corpus'));
  if (corpus === undefined) return;
  const info = await readCorpus(services, corpus);
  if (info === undefined) return;
  if (info.languages.length < 2) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Polyglot Lens: {0} has only {1}; a steering vector needs sentences in two languages.', path.basename(corpus), info.languages.map((l) => l.code).join(', ') || vscode.l10n.t('no language')));
    return;
  }
  const source = await pickLanguage(info, vscode.l10n.t('Compute Steering Vector (2/4): source language'), vscode.l10n.t('The language the model should move away from'), undefined, info.languages.find((l) => l.code !== 'en')?.code);
  if (source === undefined) return;
  const target = await pickLanguage(info, vscode.l10n.t('Compute Steering Vector (3/4): target language'), vscode.l10n.t('The language to steer {0} toward', languageName(source)), source, 'en');
  if (target === undefined) return;
  const methodPick = await vscode.window.showQuickPick(
    VECTOR_METHODS.map((m) => ({ label: m, description: m === 'diffmean' ? vscode.l10n.t('default') : '', detail: METHOD_DESCRIPTIONS[m](), method: m })),
    { title: vscode.l10n.t('Compute Steering Vector (4/4): method'), placeHolder: vscode.l10n.t('How the direction is computed from the pairs') },
  );
  if (methodPick === undefined) return;
  const method = methodPick.method;
  const dir = vectorFolder(context);
  const out = freeFileName(dir, `${source}-${target}${method === 'diffmean' ? '' : `.${method}`}`, '.safetensors');
  const result = await runEngineJob(services, vscode.l10n.t('Polyglot Lens: computing {0} → {1} ({2})', source, target, method), `compute ${source}-${target} ${method}`, (options) =>
    services.engine.computeVector({ model: modelSpec(services), corpus, source, target, method, out }, options),
  );
  if (result === undefined) return;
  const entry = services.vectors.addFile(result.file, 'computed', { layer: result.defaultLayer, strength: result.defaultStrength, source, target, method });
  const where = workspaceDir() !== undefined ? vscode.workspace.asRelativePath(result.file) : result.file;
  const turnOn = vscode.l10n.t('Turn On');
  const evaluate = vscode.l10n.t('Evaluate…');
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t('Polyglot Lens: computed {0} from {1} pairs, set to k = {2}, ×{3} (evaluate it to tune); saved as {4}.', entry.name, result.pairs, result.defaultLayer, formatStrength(result.defaultStrength), where),
    turnOn,
    evaluate,
  );
  if (choice === turnOn) services.vectors.set(entry.id, { enabled: true });
  if (choice === evaluate) await vscode.commands.executeCommand(EVALUATE_VECTOR_COMMAND, { id: entry.id });
}

/** One chart panel per vector; a new sweep of the same vector replaces its chart. */
const charts = new Map<string, { panel: vscode.WebviewPanel; report: SweepReport; name: string; shown?: string }>();

/** (Re)draws a chart; `onlyIfMoved`: only when the vector's setting (the ● mark) changed since the last drawing. */
function renderChart(services: LensServices, id: string, onlyIfMoved = false): void {
  const chart = charts.get(id);
  if (chart === undefined) return;
  const current = services.vectors.get(id);
  const shown = current !== undefined ? `${current.layer}/${current.strength}` : '';
  if (onlyIfMoved && shown === chart.shown) return;
  chart.shown = shown;
  chart.panel.webview.html = sweepChartHtml(chart.report, {
    vectorName: chart.name,
    nonce: makeNonce(),
    cspSource: chart.panel.webview.cspSource,
    language: vscode.env.language,
    ...(current !== undefined ? { current: { layer: current.layer, strength: current.strength } } : {}),
  });
}

function showSweepChart(services: LensServices, entry: VectorEntry, report: SweepReport): void {
  const existing = charts.get(entry.id);
  if (existing !== undefined) {
    existing.report = report;
    existing.panel.reveal(vscode.ViewColumn.Beside, true);
    renderChart(services, entry.id);
    return;
  }
  const panel = vscode.window.createWebviewPanel('polyglotLens.sweepChart', vscode.l10n.t('Sweep: {0}', entry.name), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, localResourceRoots: [] });
  charts.set(entry.id, { panel, report, name: entry.name });
  panel.onDidDispose(() => charts.delete(entry.id));
  panel.webview.onDidReceiveMessage((raw: unknown) => {
    const intent = safeParse(sweepChartIntent, raw, 'chart');
    if (!intent.ok) {
      services.log.warn(`sweep chart: ignored a message: ${intent.error.message}`);
      return;
    }
    if (services.vectors.get(entry.id) === undefined) return; // removed meanwhile
    services.vectors.set(entry.id, { layer: intent.value.layer, strength: Number(intent.value.strength.toFixed(4)) });
    vscode.window.setStatusBarMessage(vscode.l10n.t('Polyglot Lens: {0} set to k = {1}, ×{2}', entry.name, intent.value.layer, formatStrength(intent.value.strength)), 4000);
  });
  renderChart(services, entry.id);
}

async function evaluateVector(services: LensServices, arg: unknown): Promise<void> {
  const entry = await pickVector(services, arg, vscode.l10n.t('Evaluate which vector (a layer × strength sweep)?'));
  if (entry === undefined) return;
  const corpus = await pickCorpus(services, 'dev', vscode.l10n.t('Evaluate {0}: corpus', entry.name));
  if (corpus === undefined) return;
  let { source, target } = entry;
  if (source === 'und' || target === 'und') {
    const info = await readCorpus(services, corpus);
    if (info === undefined) return;
    const s = await pickLanguage(info, vscode.l10n.t('Evaluate {0}: source language', entry.name), vscode.l10n.t('The language of the prompts'));
    if (s === undefined) return;
    const t = await pickLanguage(info, vscode.l10n.t('Evaluate {0}: target language', entry.name), vscode.l10n.t('The language the continuations should be in'), s, 'en');
    if (t === undefined) return;
    [source, target] = [s, t];
  }
  const report = await runEngineJob(services, vscode.l10n.t('Polyglot Lens: evaluating {0} (layer × strength sweep)', entry.name), `sweep ${entry.name}`, (options) =>
    services.engine.sweepVector({ model: modelSpec(services), vector: entry.ref, corpus, source, target, positions: entry.positions }, options),
  );
  if (report === undefined) return;
  showSweepChart(services, entry, report);
  const b = report.best;
  const apply = vscode.l10n.t('Apply Best');
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t('Polyglot Lens: best setting for {0}: k = {1}, ×{2} ({3} % of {4} continuations in {5}).', entry.name, b.layer, formatStrength(b.strength), Math.round(b.languageControl), report.prompts, languageName(report.target)),
    apply,
  );
  if (choice === apply) services.vectors.set(entry.id, { layer: b.layer, strength: Number(b.strength.toFixed(4)) });
}

async function exportVector(services: LensServices, arg: unknown): Promise<void> {
  const entry = await pickVector(services, arg, vscode.l10n.t('Export which vector as a llama.cpp control vector?'));
  if (entry === undefined) return;
  let format: 'gguf' | 'safetensors' = 'gguf';
  if (entry.layer < 2) {
    const setLayer = vscode.l10n.t('Set Layer…');
    const asSafetensors = vscode.l10n.t('Export as .safetensors…');
    const choice = await vscode.window.showErrorMessage(
      vscode.l10n.t(
        'Polyglot Lens: {0} is applied at layer k = {1}, which a llama.cpp control vector cannot carry. llama.cpp adds direction.b after block b, so k = 0 (the embeddings) has no equivalent and k = 1 would be direction.0, which llama.cpp rejects. Set the layer to k ≥ 2, or export the native .safetensors file.',
        entry.name,
        entry.layer,
      ),
      setLayer,
      asSafetensors,
    );
    if (choice === setLayer) {
      const k = await askLayer(services, entry);
      if (k === undefined) return;
      services.vectors.set(entry.id, { layer: k });
      if (k < 2) return;
    } else if (choice === asSafetensors) {
      format = 'safetensors';
    } else {
      return;
    }
  }
  const current = services.vectors.get(entry.id) ?? entry;
  const folder = workspaceDir();
  const ext = format === 'gguf' ? '.gguf' : '.safetensors';
  const defaultFile = `${current.name}-k${current.layer}${ext}`;
  const uri = await vscode.window.showSaveDialog({
    title: vscode.l10n.t('Export {0} (k = {1}, ×{2})', current.name, current.layer, formatStrength(current.strength)),
    saveLabel: vscode.l10n.t('Export'),
    ...(folder !== undefined ? { defaultUri: vscode.Uri.file(path.join(folder, defaultFile)) } : {}),
    filters: format === 'gguf' ? { [vscode.l10n.t('llama.cpp control vector')]: ['gguf'], [vscode.l10n.t('Polyglot Lens vector')]: ['safetensors'] } : { [vscode.l10n.t('Polyglot Lens vector')]: ['safetensors'] },
  });
  if (uri === undefined) return;
  const out = uri.fsPath;
  const chosenFormat = out.toLowerCase().endsWith('.safetensors') ? 'safetensors' : 'gguf';
  let result;
  try {
    result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Polyglot Lens: exporting {0}…', current.name) }, () =>
      services.engine.exportVector({ model: modelSpec(services), vector: current.ref, format: chosenFormat, layer: current.layer, strength: current.strength, positions: current.positions, out }),
    );
  } catch (err) {
    const setLayer = vscode.l10n.t('Set Layer…');
    if ((await showEngineError(services, `export ${current.name}`, err, setLayer)) === setLayer) await vscode.commands.executeCommand(VECTOR_COMMANDS.setLayer, { id: current.id });
    return;
  }
  for (const w of result.warnings) services.log.warn(`export ${current.name}: ${w}`);
  const reveal = vscode.l10n.t('Reveal in File Explorer');
  const message =
    result.format === 'gguf'
      ? vscode.l10n.t('Polyglot Lens: exported {0} at k = {1} as llama.cpp direction.{2} with strength ×{3} baked in: {4}. Use it with llama.cpp’s --control-vector.', current.name, result.layer, result.direction ?? result.layer - 1, formatStrength(current.strength), path.basename(result.file))
      : vscode.l10n.t('Polyglot Lens: exported {0} at k = {1}, ×{2}: {3}.', current.name, result.layer, formatStrength(current.strength), path.basename(result.file));
  const choice = await vscode.window.showInformationMessage([message, ...result.warnings].join(' '), reveal);
  if (choice === reveal) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.file));
}

/** Checks `file` in the worker and adds it to the vectors; returns the entry, or undefined (explained). */
export async function importVectorFile(services: LensServices, file: string, enabled = false): Promise<VectorEntry | undefined> {
  let info;
  try {
    info = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Polyglot Lens: checking {0}', path.basename(file)) }, () =>
      services.engine.inspectVectorFile({ model: modelSpec(services), file }),
    );
  } catch (err) {
    await showEngineError(services, `import ${file}`, err);
    return undefined;
  }
  for (const w of info.warnings) services.log.warn(`import ${file}: ${w}`);
  const fromName = languagesFromName(path.basename(file));
  const layers = info.layers.filter((k) => k >= 2);
  const layer = info.defaultLayer ?? layers[Math.floor(layers.length / 2)] ?? info.layers[0] ?? 0;
  const entry = services.vectors.addFile(file, 'workspace', {
    layer,
    strength: info.defaultStrength ?? 1,
    positions: info.defaultPositions,
    source: info.source || fromName.source,
    target: info.target || fromName.target,
    method: info.method,
    enabled,
  });
  if (info.warnings.length > 0) void vscode.window.showWarningMessage(vscode.l10n.t('Polyglot Lens: {0}', info.warnings.join(' ')));
  return entry;
}

async function importVector(services: LensServices): Promise<void> {
  await services.ensureModel();
  const files = await vscode.window.showOpenDialog({
    canSelectMany: true,
    openLabel: vscode.l10n.t('Import'),
    title: vscode.l10n.t('Steering vector files'),
    filters: { [vscode.l10n.t('Steering vectors')]: ['safetensors', 'gguf'] },
  });
  if (files === undefined) return;
  const held = files.filter((f) => heldBackByTrust(f.fsPath));
  if (held.length > 0) void explainUntrusted(held.map((f) => path.basename(f.fsPath)).join(', '));
  const added: string[] = [];
  for (const f of files.filter((x) => !heldBackByTrust(x.fsPath))) {
    const entry = await importVectorFile(services, f.fsPath);
    if (entry !== undefined) added.push(entry.name);
  }
  if (added.length > 0) void vscode.window.showInformationMessage(vscode.l10n.t('Polyglot Lens: imported {0}. Check it in the Steering Vectors view to turn it on.', added.join(', ')));
}

export function registerVectorCommands(context: vscode.ExtensionContext, services: LensServices): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(COMPUTE_VECTOR_COMMAND, () => computeVector(context, services)),
    vscode.commands.registerCommand(EVALUATE_VECTOR_COMMAND, (arg?: unknown) => evaluateVector(services, arg)),
    vscode.commands.registerCommand(EXPORT_VECTOR_COMMAND, (arg?: unknown) => exportVector(services, arg)),
    vscode.commands.registerCommand(IMPORT_VECTOR_COMMAND, () => importVector(services)),
    {
      dispose: () => {
        for (const c of charts.values()) c.panel.dispose();
      },
    },
  );
  // A chart marks the vector's current setting (●): keep it true when the tree or the panel changes it.
  const sub = services.vectors.onDidChange(() => {
    for (const id of charts.keys()) renderChart(services, id, true);
  });
  context.subscriptions.push({ dispose: () => sub.dispose() });
}
