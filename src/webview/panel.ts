/**
 * The full Steer Prompt panel for a `panel` message: heatmap, vector toggles, continuations, layer
 * inspector. UI state (which view, which layer, focus) lives here and survives re-renders of the same
 * prompt; each section re-renders on its own when its state changes.
 */
import type { PanelIntent } from '../protocol/webview';
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

export function renderPanel(vm: PanelViewModel, ui: PanelUiState, post: (intent: PanelIntent) => void): Node[] {
  const heatmapSlot = h('div', { class: 'slot' });
  const inspectorSlot = h('div', { class: 'slot' });

  const drawHeatmap = (): void => {
    const hadFocus = heatmapSlot.contains(document.activeElement) && document.activeElement?.classList.contains('hm-cell') === true;
    heatmapSlot.replaceChildren(
      renderHeatmap(vm, ui, {
        setState: (patch) => {
          Object.assign(ui, patch);
          drawHeatmap();
          if (patch.steering !== undefined) drawInspector();
        },
        pickLayer: (k) => {
          ui.inspectorLayer = k;
          drawInspector();
        },
      }),
    );
    if (hadFocus) heatmapSlot.querySelector<HTMLElement>('.hm-cell[tabindex="0"]')?.focus();
  };
  const drawInspector = (): void => {
    inspectorSlot.replaceChildren(
      renderInspector(vm, { k: ui.inspectorLayer, steered: ui.steering !== 'base' && vm.steeredLayers !== undefined }, (k) => {
        ui.inspectorLayer = k;
        drawInspector();
      }),
    );
  };
  drawHeatmap();
  drawInspector();

  const continuations = renderContinuations(vm);
  return [
    h('p', { class: 'model-line', 'data-testid': 'model-line' }, strings.model(vm.model.name, vm.model.numLayers, vm.model.hiddenSize)),
    h('div', { class: 'panel-grid' }, h('div', { class: 'main-column' }, heatmapSlot, continuations), h('aside', { class: 'side-column' }, renderVectors(vm, post))),
    inspectorSlot,
  ];
}
