/**
 * Vector toggles: each available vector with on/off, the layer it is added at, and its strength. Every
 * change posts one `setVector` intent with the vector's whole new setting; slider drags are debounced
 * (the last value wins, and releasing the slider sends at once), so a drag is a handful of requests,
 * not hundreds.
 */
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import type { PanelIntent } from '../protocol/webview';
import { h, icon } from './dom';
import { languageColour } from './palette';
import { strings } from './strings';
import type { PanelViewModel, VectorView } from './viewModel';

/** How long a slider must rest before its value is posted (ms). */
export const SLIDER_DEBOUNCE_MS = 150;

const ORIGIN_ICON: Record<string, string> = { bundled: 'package', workspace: 'folder', computed: 'beaker' };

export function renderVectors(vm: PanelViewModel, post: (intent: PanelIntent) => void): HTMLElement {
  const colourOf = (code: string): string => languageColour(Math.max(0, vm.languages.findIndex((l) => l.code === code)));
  const badge = h('vscode-badge', { 'data-testid': 'enabled-count' }, String(vm.vectors.filter((v) => v.enabled).length));
  // The count follows the checkboxes at once (the host's next analysis confirms it).
  const recount = (): void => {
    badge.textContent = String([...section.querySelectorAll<HTMLElement & { checked: boolean }>('vscode-checkbox[data-role="enabled"]')].filter((c) => c.checked).length);
  };
  const items = vm.vectors.map((v) => vectorRow(v, colourOf, vm, (intent) => {
    recount();
    post(intent);
  }));
  const section = h(
    'section',
    { class: 'vectors', 'data-testid': 'vectors', 'aria-labelledby': 'vectors-title' },
    h('h2', { id: 'vectors-title' }, icon('settings-gear'), strings.vectors(), badge),
    items.length === 0 ? h('p', { class: 'hint' }, strings.noVectors()) : h('ul', { class: 'vector-list' }, ...items),
  );
  return section;
}

function vectorRow(v: VectorView, colourOf: (code: string) => string, vm: PanelViewModel, post: (intent: PanelIntent) => void): HTMLElement {
  // The row's own copy of the setting: each intent carries the whole of it.
  const setting = { enabled: v.enabled, layer: v.layer, strength: v.strength };
  const send = (): void => post({ type: 'setVector', id: v.id, ...setting });

  const checkbox = h('vscode-checkbox', { 'aria-label': strings.enable(v.name), 'data-role': 'enabled', ...(v.enabled ? { checked: '' } : {}) }) as HTMLElement & { checked: boolean };
  checkbox.addEventListener('change', () => {
    setting.enabled = checkbox.checked;
    row.classList.toggle('on', setting.enabled);
    send();
  });

  const select = h(
    'vscode-single-select',
    { label: strings.layerOf(v.name), 'aria-label': strings.layerOf(v.name), 'data-role': 'layer', class: 'layer-select' },
    ...(v.layers.length > 0 ? v.layers : [v.layer]).map((k) => h('vscode-option', { value: String(k), ...(k === v.layer ? { selected: '' } : {}) }, strings.layerShort(k))),
  ) as HTMLElement & { value: string };
  select.addEventListener('change', () => {
    const k = Number(select.value);
    if (!Number.isInteger(k) || k === setting.layer) return;
    setting.layer = k;
    send();
  });

  const max = v.maxStrength ?? 4;
  const slider = h('input', { type: 'range', min: '0', max: String(max), step: String(max / 200), value: String(v.strength), 'aria-label': strings.strengthOf(v.name), 'data-role': 'strength', class: 'strength' }) as HTMLInputElement;
  const value = h('output', { class: 'strength-value', 'data-role': 'strength-value' }, v.strength.toFixed(2));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
    send();
  };
  slider.addEventListener('input', () => {
    setting.strength = Number(slider.value);
    value.textContent = setting.strength.toFixed(2);
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      send();
    }, SLIDER_DEBOUNCE_MS);
  });
  slider.addEventListener('change', flush);

  const pair = h(
    'span',
    { class: 'pair' },
    langChip(v.source, colourOf(v.source), vm),
    h('span', { class: 'arrow', 'aria-hidden': 'true' }, '\u2192'),
    langChip(v.target, colourOf(v.target), vm),
  );
  const row = h(
    'li',
    { class: `vector${v.enabled ? ' on' : ''}`, 'data-vector-id': v.id },
    h('div', { class: 'vector-head' }, checkbox, h('span', { class: 'vector-name' }, v.name), pair),
    h(
      'div',
      { class: 'vector-meta' },
      h('span', { class: 'origin', title: strings.origin(v.origin) }, icon(ORIGIN_ICON[v.origin] ?? 'circle-small-filled'), ` ${strings.origin(v.origin)}`),
      v.method !== undefined && h('span', { class: 'method' }, v.method),
      h('span', { class: 'positions' }, strings.positions(v.positions)),
    ),
    h('div', { class: 'vector-controls' }, select, h('label', { class: 'strength-label' }, h('span', {}, strings.strength()), slider, value)),
  );
  return row;
}

function langChip(code: string, colour: string, vm: PanelViewModel): HTMLElement {
  const dot = h('span', { class: 'dot' });
  dot.style.backgroundColor = colour;
  return h('span', { class: 'lang-chip', title: vm.languages.find((l) => l.code === code)?.name ?? code }, dot, code);
}
