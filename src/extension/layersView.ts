/**
 * The "Layers" tree view: one row per layer k = 0..L of the last analysed prompt, with the language most of its
 * tokens are nearest to at that layer (and the steered one), and the vectors applied there. A click opens the
 * panel's layer inspector at k (`polyglotLens.inspectLayers`, the panel's command).
 */
import * as vscode from 'vscode';
import type { PromptAnalysis } from '../protocol/engine';
import type { LensServices } from './services';
import { layerRows, type LayerRowModel } from './viewItems';

export const LAYERS_VIEW_ID = 'polyglotLens.layers';
export const INSPECT_LAYERS_COMMAND = 'polyglotLens.inspectLayers';

export interface LayersViewHandle {
  /** Shows the layers of `analysis` (the view also follows services.onDidAnalyze). */
  setLastAnalysis(analysis: PromptAnalysis): void;
}

class LayersProvider implements vscode.TreeDataProvider<LayerRowModel> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  analysis: PromptAnalysis | undefined;

  constructor(private readonly services: LensServices) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(row: LayerRowModel): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `layer:${row.k}`;
    item.description = row.description;
    item.tooltip = new vscode.MarkdownString(row.tooltip);
    item.iconPath = new vscode.ThemeIcon(row.vectors.length > 0 ? 'zap' : 'layers');
    item.command = { command: INSPECT_LAYERS_COMMAND, title: vscode.l10n.t('Inspect Layers'), arguments: [row.k] };
    item.accessibilityInformation = { label: `${row.label}: ${row.description}` };
    return item;
  }

  getChildren(element?: LayerRowModel): LayerRowModel[] {
    if (element !== undefined || this.analysis === undefined) return [];
    return layerRows(this.analysis, this.services.vectors.active());
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function registerLayersView(context: vscode.ExtensionContext, services: LensServices): LayersViewHandle {
  const provider = new LayersProvider(services);
  const view = vscode.window.createTreeView(LAYERS_VIEW_ID, { treeDataProvider: provider });
  const setLastAnalysis = (analysis: PromptAnalysis): void => {
    provider.analysis = analysis;
    const n = analysis.tokens.filter((t) => t.special !== true).length;
    view.description = vscode.l10n.t('{0} tokens of “{1}”', n, analysis.prompt.length > 24 ? `${analysis.prompt.slice(0, 23)}…` : analysis.prompt);
    provider.refresh();
  };
  const sub = services.vectors.onDidChange(() => provider.refresh());
  context.subscriptions.push(
    provider,
    view,
    { dispose: () => sub.dispose() },
    services.onDidAnalyze(setLastAnalysis),
    services.onDidChangeModel(() => {
      provider.analysis = undefined;
      view.description = undefined;
      provider.refresh();
    }),
  );
  return { setLastAnalysis };
}
