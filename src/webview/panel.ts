/**
 * The full Steer Prompt panel for a `panel` message: heatmap, vector toggles, continuations, layer
 * inspector. UI state (which view, which layer, focus) lives here and survives re-renders of the same
 * prompt; each section re-renders on its own when its state changes.
 */
import type { PanelIntent } from '../protocol/webview';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { h } from './dom';
import { renderContinuations } from './continuations';
import { renderHeatmap, type HeatmapState } from './heatmap';
import { renderInspector } from './inspector';
import { strings } from './strings';
import { renderVectors } from './vectors';
import type { PanelViewModel } from './viewModel';

export interface PanelUiState extends HeatmapState {
  inspectorLayer: number;
}

/** A saved UI state from before a reload, if it has the right shape (anything else: the defaults). */
export function restoredUiState(saved: unknown, vm: PanelViewModel): PanelUiState {
  const ui = initialUiState(vm);
  if (typeof saved !== 'object' || saved === null) return ui;
  const s = saved as Record<string, unknown>;
  if (s['view'] === 'tokens' || s['view'] === 'languages') ui.view = s['view'];
  if ((s['steering'] === 'base' || s['steering'] === 'steered' || s['steering'] === 'diff') && (s['steering'] === 'base' || vm.steeredLayers !== undefined)) ui.steering = s['steering'];
  if (typeof s['showTable'] === 'boolean') ui.showTable = s['showTable'];
  if (typeof s['inspectorLayer'] === 'number' && vm.layers.some((l) => l.k === s['inspectorLayer'])) ui.inspectorLayer = s['inspectorLayer'];
  return ui;
}

export function initialUiState(vm: PanelViewModel): PanelUiState {
  return {
    view: 'tokens',
    steering: vm.steeredLayers !== undefined ? 'steered' : 'base',
    showTable: false,
    focus: { row: Math.max(0, vm.layers.length - 1), col: 0 },
    // The middle of the stack is where languages meet: the most telling first picture.
    inspectorLayer: vm.layers[Math.floor(vm.layers.length / 2)]?.k ?? 0,
  };
}

/**
 * The panel's DOM for one prompt. `update` redraws it in place for a newer analysis of the same prompt
 * (a vector was toggled): the heatmap keeps its view and focus, and the vector list is left alone while
 * the user is in it, so a slider being dragged is never replaced under the pointer.
 */
export class PanelView {
  readonly nodes: Node[];
  private vm: PanelViewModel;
  private readonly modelLine = h('p', { class: 'model-line', 'data-testid': 'model-line' });
  private readonly heatmapSlot = h('div', { class: 'slot' });
  private readonly continuationsSlot = h('div', { class: 'slot' });
  private readonly vectorsSlot = h('div', { class: 'slot' });
  private readonly inspectorSlot = h('div', { class: 'slot' });
  private readonly busy = h('vscode-progress-bar', { class: 'busy', 'data-testid': 'busy', indeterminate: '', hidden: '', 'aria-label': strings.updating() });
  private pointerInVectors = false;

  constructor(
    vm: PanelViewModel,
    private readonly ui: PanelUiState,
    private readonly post: (intent: PanelIntent) => void,
    /** Called after the user changes a view setting (the app saves it for a reload). */
    private readonly onUiChange: () => void = () => undefined,
  ) {
    this.vm = vm;
    // A drag can leave the list while the button is held: count it as "in the list" until release.
    this.vectorsSlot.addEventListener('pointerdown', () => (this.pointerInVectors = true));
    window.addEventListener('pointerup', () => (this.pointerInVectors = false));
    this.nodes = [this.busy, this.modelLine, h('div', { class: 'panel-grid' }, h('div', { class: 'main-column' }, this.heatmapSlot, this.continuationsSlot), h('aside', { class: 'side-column' }, this.vectorsSlot)), this.inspectorSlot];
    this.drawAll(true);
  }

  update(vm: PanelViewModel): void {
    // The first vector switched on: show what it does (the user can go back to the unsteered view).
    if (this.vm.steeredLayers === undefined && vm.steeredLayers !== undefined) this.ui.steering = 'steered';
    this.vm = vm;
    this.setBusy(false);
    const userInVectors = this.pointerInVectors || this.vectorsSlot.contains(document.activeElement);
    this.drawAll(!userInVectors);
  }

  /** Shows layer k in the inspector and scrolls it into view (the Layers view / Inspect Layers command). */
  inspectLayer(k: number): void {
    if (!this.vm.layers.some((l) => l.k === k)) return;
    this.ui.inspectorLayer = k;
    this.drawInspector();
    this.onUiChange();
    this.inspectorSlot.scrollIntoView({ block: 'start' });
  }

  /** A newer analysis of this prompt is on its way: keep showing this one, with a progress bar. */
  setBusy(busy: boolean): void {
    this.busy.hidden = !busy;
  }

  private drawAll(vectors: boolean): void {
    const vm = this.vm;
    this.modelLine.textContent = strings.model(vm.model.name, vm.model.numLayers, vm.model.hiddenSize);
    if (vm.steeredLayers === undefined && this.ui.steering !== 'base') this.ui.steering = 'base';
    this.drawHeatmap();
    this.drawInspector();
    this.continuationsSlot.replaceChildren(...[renderContinuations(vm)].filter((n): n is HTMLElement => n !== null));
    if (vectors) this.vectorsSlot.replaceChildren(renderVectors(vm, this.post));
  }

  private drawHeatmap(): void {
    const hadFocus = this.heatmapSlot.contains(document.activeElement) && document.activeElement?.classList.contains('hm-cell') === true;
    this.heatmapSlot.replaceChildren(
      renderHeatmap(this.vm, this.ui, {
        setState: (patch) => {
          Object.assign(this.ui, patch);
          this.drawHeatmap();
          if (patch.steering !== undefined) this.drawInspector();
          this.onUiChange();
        },
        pickLayer: (k) => {
          this.ui.inspectorLayer = k;
          this.drawInspector();
          this.onUiChange();
        },
      }),
    );
    if (hadFocus) this.heatmapSlot.querySelector<HTMLElement>('.hm-cell[tabindex="0"]')?.focus();
  }

  private drawInspector(): void {
    this.inspectorSlot.replaceChildren(
      renderInspector(this.vm, { k: this.ui.inspectorLayer, steered: this.ui.steering !== 'base' && this.vm.steeredLayers !== undefined }, (k) => {
        this.ui.inspectorLayer = k;
        this.drawInspector();
        this.onUiChange();
      }),
    );
  }
}
