/**
 * The "Steering Vectors" tree view: one row per VectorState entry with a checkbox (checking turns the vector
 * on, and the Steer Prompt controller re-runs the prompt), its layer and strength, and context actions
 * (Set Layer…, Set Strength…, Reset, Export as GGUF…, Evaluate…, Remove). Refreshed on every state change.
 */
import * as vscode from 'vscode';
import type { LensServices } from './services';
import type { VectorEntry } from './vectorState';
import { layerChoices, parseStrength, vectorItemModel, vectorsViewDescription } from './viewItems';

export const VECTORS_VIEW_ID = 'polyglotLens.vectors';
export const VECTOR_COMMANDS = {
  setLayer: 'polyglotLens.vectors.setLayer',
  setStrength: 'polyglotLens.vectors.setStrength',
  reset: 'polyglotLens.vectors.reset',
  remove: 'polyglotLens.vectors.remove',
  turnAllOff: 'polyglotLens.vectors.turnAllOff',
} as const;

class VectorsProvider implements vscode.TreeDataProvider<VectorEntry> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly services: LensServices) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(entry: VectorEntry): vscode.TreeItem {
    const m = vectorItemModel(entry);
    const item = new vscode.TreeItem(m.label, vscode.TreeItemCollapsibleState.None);
    item.id = m.id;
    item.description = m.description;
    item.tooltip = new vscode.MarkdownString(m.tooltip);
    item.contextValue = m.contextValue;
    item.iconPath = new vscode.ThemeIcon(m.icon);
    item.checkboxState = {
      state: m.checked ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked,
      tooltip: m.checked ? vscode.l10n.t('Turn {0} off', m.label) : vscode.l10n.t('Turn {0} on', m.label),
      accessibilityInformation: { label: m.checked ? vscode.l10n.t('{0} is on', m.label) : vscode.l10n.t('{0} is off', m.label) },
    };
    item.accessibilityInformation = { label: `${m.label}, ${m.description}` };
    return item;
  }

  getChildren(element?: VectorEntry): VectorEntry[] {
    return element === undefined ? [...this.services.vectors.entries()] : [];
  }

  getParent(): undefined {
    return undefined;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/**
 * The vector a command acts on: the tree row it was invoked on (looked up again by id: entries are replaced
 * on every change), else the selection, else a quick pick.
 */
export async function pickVector(services: LensServices, arg: unknown, placeHolder: string, filter: (e: VectorEntry) => boolean = () => true): Promise<VectorEntry | undefined> {
  const id = typeof arg === 'object' && arg !== null && typeof (arg as { id?: unknown }).id === 'string' ? (arg as { id: string }).id : typeof arg === 'string' ? arg : undefined;
  if (id !== undefined) return services.vectors.get(id);
  await services.ensureModel();
  const entries = services.vectors.entries().filter(filter);
  if (entries.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Polyglot Lens: there is no steering vector yet. Compute one, or import a .safetensors / .gguf file.'));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    entries.map((e) => {
      const m = vectorItemModel(e);
      return { label: `$(${m.icon}) ${m.label}`, description: `${e.source} → ${e.target} · ${m.description}${e.enabled ? ` · ${vscode.l10n.t('on')}` : ''}`, id: e.id };
    }),
    { placeHolder, matchOnDescription: true },
  );
  return picked !== undefined ? services.vectors.get(picked.id) : undefined;
}

/** Asks for a layer k = 0..L for `entry` (L from the model). */
export async function askLayer(services: LensServices, entry: VectorEntry): Promise<number | undefined> {
  const L = services.vectors.layerCount > 0 ? services.vectors.layerCount : (await services.ensureModel()).numLayers;
  if (L <= 0) {
    const typed = await vscode.window.showInputBox({
      title: vscode.l10n.t('Layer of {0}', entry.name),
      prompt: vscode.l10n.t('Layer k where the vector is added (0 = embeddings output).'),
      value: String(entry.layer),
      validateInput: (t) => (/^\d+$/.test(t.trim()) ? undefined : vscode.l10n.t('Type a whole number ≥ 0.')),
    });
    return typed === undefined ? undefined : Number(typed.trim());
  }
  const items = layerChoices(L, entry.layer, entry.defaultLayer).map((c) => ({ ...c, picked: c.k === entry.layer }));
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Layer of {0}', entry.name),
    placeHolder: vscode.l10n.t('Layer k where {0} is added to the residual stream (now k = {1})', entry.name, entry.layer),
  });
  return picked?.k;
}

async function setLayer(services: LensServices, arg: unknown): Promise<void> {
  const entry = await pickVector(services, arg, vscode.l10n.t('Set the layer of which vector?'));
  if (entry === undefined) return;
  const k = await askLayer(services, entry);
  if (k !== undefined) services.vectors.set(entry.id, { layer: k });
}

async function setStrength(services: LensServices, arg: unknown): Promise<void> {
  const entry = await pickVector(services, arg, vscode.l10n.t('Set the strength of which vector?'));
  if (entry === undefined) return;
  const typed = await vscode.window.showInputBox({
    title: vscode.l10n.t('Strength of {0}', entry.name),
    prompt: vscode.l10n.t("In units of layer k = {0}'s mean activation norm (default {1}). Negative values steer the other way.", entry.layer, entry.defaultStrength),
    value: String(entry.strength),
    validateInput: (t) => {
      const r = parseStrength(t);
      return 'error' in r ? r.error : undefined;
    },
  });
  if (typed === undefined) return;
  const r = parseStrength(typed);
  if ('value' in r) services.vectors.set(entry.id, { strength: r.value });
}

async function remove(services: LensServices, arg: unknown): Promise<void> {
  const entry = await pickVector(services, arg, vscode.l10n.t('Remove which vector from the list?'), (e) => e.origin !== 'bundled');
  if (entry === undefined) return;
  if (entry.origin === 'bundled') {
    void vscode.window.showInformationMessage(vscode.l10n.t('Polyglot Lens: {0} comes with the model and stays in the list; turn it off instead.', entry.name));
    return;
  }
  const removeOnly = vscode.l10n.t('Remove');
  const removeAndDelete = vscode.l10n.t('Remove and Delete File');
  const choice = await vscode.window.showWarningMessage(
    vscode.l10n.t('Remove {0} from the steering vectors?', entry.name),
    { modal: true, detail: vscode.l10n.t('The file stays on disk unless you delete it too: {0}', entry.ref) },
    removeOnly,
    removeAndDelete,
  );
  if (choice === undefined) return;
  services.vectors.remove(entry.id);
  if (choice === removeAndDelete) {
    try {
      await vscode.workspace.fs.delete(vscode.Uri.file(entry.ref), { useTrash: true });
    } catch (err) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Polyglot Lens: could not delete {0}: {1}', entry.ref, err instanceof Error ? err.message : String(err)));
    }
  }
}

export function registerVectorsView(context: vscode.ExtensionContext, services: LensServices): void {
  const provider = new VectorsProvider(services);
  const view = vscode.window.createTreeView(VECTORS_VIEW_ID, { treeDataProvider: provider, manageCheckboxStateManually: true, canSelectMany: false });
  const update = (): void => {
    provider.refresh();
    view.description = vectorsViewDescription(services.vectors.entries());
    const on = services.vectors.active().length;
    view.badge = on > 0 ? { value: on, tooltip: vscode.l10n.t('{0} steering vector(s) on', on) } : undefined;
  };
  const sub = services.vectors.onDidChange(update);
  context.subscriptions.push(
    provider,
    view,
    { dispose: () => sub.dispose() },
    view.onDidChangeCheckboxState((e) => {
      for (const [entry, state] of e.items) services.vectors.set(entry.id, { enabled: state === vscode.TreeItemCheckboxState.Checked });
    }),
    // The tree lists the model's bundled vectors as soon as it is shown (two small JSON reads, no engine).
    view.onDidChangeVisibility((e) => {
      if (e.visible) void services.ensureModel();
    }),
    vscode.commands.registerCommand(VECTOR_COMMANDS.setLayer, (arg?: unknown) => setLayer(services, arg)),
    vscode.commands.registerCommand(VECTOR_COMMANDS.setStrength, (arg?: unknown) => setStrength(services, arg)),
    vscode.commands.registerCommand(VECTOR_COMMANDS.reset, async (arg?: unknown) => {
      const entry = await pickVector(services, arg, vscode.l10n.t('Reset which vector to its default layer and strength?'));
      if (entry !== undefined) services.vectors.set(entry.id, { layer: entry.defaultLayer, strength: entry.defaultStrength });
    }),
    vscode.commands.registerCommand(VECTOR_COMMANDS.remove, (arg?: unknown) => remove(services, arg)),
    vscode.commands.registerCommand(VECTOR_COMMANDS.turnAllOff, () => services.vectors.disableAll()),
  );
  update();
  if (view.visible) void services.ensureModel();
}
