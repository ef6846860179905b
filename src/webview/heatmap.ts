/**
 * The per-layer language heatmap: rows are layers (k = 0, the embeddings, at the bottom, as a stack the
 * prompt rises through), columns are tokens. A cell's hue is the nearest language, its strength how near.
 * Also the language × layer view, before/after steering and a difference mode, a tooltip with every
 * language's similarity, arrow-key navigation (a roving tabindex on an ARIA grid), and a table for
 * screen readers.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { fmt, h, icon, signed } from './dom';
import { css, languageColour, mix, parseColour, textOn, type Rgb } from './palette';
import { strings } from './strings';
import { cellChange, similarityDomain, visibleToken, type HeatmapCell, type LayerView, type PanelViewModel } from './viewModel';

export type HeatmapView = 'tokens' | 'languages';
export type SteeringView = 'base' | 'steered' | 'diff';

export interface HeatmapState {
  view: HeatmapView;
  steering: SteeringView;
  showTable: boolean;
  /** Focused cell: row = index into layers (0 = k 0), col = token (or language) index. */
  focus: { row: number; col: number };
}

export interface HeatmapActions {
  setState(patch: Partial<HeatmapState>): void;
  /** A layer was picked (click or Enter on a cell): the inspector follows. */
  pickLayer(k: number): void;
}

/** Colours the panel needs from the theme, read once per render. */
interface Theme {
  background: Rgb;
  highContrast: boolean;
}

function readTheme(): Theme {
  const bg = parseColour(getComputedStyle(document.body).backgroundColor) ?? [30, 30, 30];
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  return { background: bg, highContrast };
}

/** Maps [lo, hi] to a mixing weight: even the farthest cell keeps a visible tint. */
function strength(x: number, [lo, hi]: [number, number]): number {
  const t = Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
  return 0.38 + 0.62 * t;
}

export function languageIndex(vm: PanelViewModel): Map<string, number> {
  return new Map(vm.languages.map((l, i) => [l.code, i]));
}

export function languageName(vm: PanelViewModel, code: string): string {
  return vm.languages.find((l) => l.code === code)?.name ?? code;
}

function layerLabel(k: number, numLayers: number): HTMLElement {
  const note = k === 0 ? strings.embeddings() : k === numLayers ? strings.output() : '';
  return h('span', { class: 'hm-layer-label' }, h('span', { class: 'hm-k' }, strings.layerShort(k)), note && h('span', { class: 'hm-note' }, note));
}

/** A thin bar along the cell's bottom edge, as long as the cell is near: nearness without relying on colour. */
function meter(t: number): HTMLElement {
  const m = h('span', { class: 'meter', 'aria-hidden': 'true' });
  m.style.width = `${Math.round(Math.min(1, Math.max(0.04, t)) * 100)}%`;
  return m;
}

function paint(el: HTMLElement, colour: Rgb): void {
  el.style.backgroundColor = css(colour);
  el.style.color = textOn(colour);
}

/** The layers the current steering view shows (the steered set in diff mode: the base is compared against it). */
function shownLayers(vm: PanelViewModel, steering: SteeringView): LayerView[] {
  return steering !== 'base' && vm.steeredLayers !== undefined ? vm.steeredLayers : vm.layers;
}

export function renderHeatmap(vm: PanelViewModel, state: HeatmapState, actions: HeatmapActions): HTMLElement {
  const theme = readTheme();
  const steering: SteeringView = vm.steeredLayers === undefined ? 'base' : state.steering;
  const colours = languageIndex(vm);
  const colourOf = (code: string): Rgb => parseColour(languageColour(colours.get(code) ?? vm.languages.length)) ?? [128, 128, 128];

  const segmented = (label: string, testid: string, options: [string, string, string][], current: string, onPick: (v: string) => void): HTMLElement =>
    h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': label, 'data-testid': testid },
      ...options.map(([value, text, codicon]) => {
        const b = h('vscode-button', { 'data-value': value, 'aria-pressed': String(value === current), ...(value === current ? {} : { secondary: '' }) }, icon(codicon), ` ${text}`);
        b.addEventListener('click', () => onPick(value));
        return b;
      }),
    );

  const toolbar = h(
    'div',
    { class: 'toolbar' },
    segmented(
      strings.viewGroup(),
      'view-switch',
      [
        ['tokens', strings.viewTokens(), 'symbol-array'],
        ['languages', strings.viewLanguages(), 'globe'],
      ],
      state.view,
      (v) => actions.setState({ view: v as HeatmapView, focus: { row: state.focus.row, col: 0 } }),
    ),
    vm.steeredLayers !== undefined &&
      segmented(
        strings.steeringGroup(),
        'steering-switch',
        [
          ['base', strings.steeringBase(), 'circle-large-outline'],
          ['steered', strings.steeringSteered(), 'zap'],
          ['diff', strings.steeringDiff(), 'diff'],
        ],
        steering,
        (v) => actions.setState({ steering: v as SteeringView }),
      ),
    (() => {
      const b = h('vscode-button', { 'data-testid': 'table-toggle', 'aria-pressed': String(state.showTable), ...(state.showTable ? {} : { secondary: '' }) }, icon('table'), ` ${strings.showTable()}`);
      b.addEventListener('click', () => actions.setState({ showTable: !state.showTable }));
      return b;
    })(),
  );

  const layers = shownLayers(vm, steering);
  const numLayers = vm.model.numLayers;
  const tooltip = h('div', { class: 'hm-tooltip', role: 'tooltip', id: 'hm-tooltip', 'data-testid': 'tooltip', hidden: '' });

  // ---- the grid ----
  const columns = state.view === 'tokens' ? vm.tokens.length : vm.languages.length;
  const grid = h('div', {
    class: `heatmap view-${state.view} steering-${steering}${theme.highContrast ? ' hc' : ''}`,
    role: 'grid',
    'aria-label': `${strings.heatmap()} (${state.view === 'tokens' ? strings.viewTokens() : strings.viewLanguages()}, ${{ base: strings.steeringBase(), steered: strings.steeringSteered(), diff: strings.steeringDiff() }[steering]})`,
    'aria-rowcount': String(layers.length + 1),
    'aria-colcount': String(columns + 1),
    'data-testid': 'heatmap',
    'data-view': state.view,
    'data-steering': steering,
  });
  grid.style.gridTemplateColumns = `max-content repeat(${columns}, minmax(${state.view === 'tokens' ? '3.4em' : '2.6em'}, 1fr))`;

  const domain = similarityDomain(steering === 'base' ? [vm.layers] : steering === 'steered' ? [vm.steeredLayers] : [vm.layers, vm.steeredLayers]);
  // Language view: the domain of prompt similarities over all layers of the shown set.
  const promptValues = layers.flatMap((l) => vm.languages.map((lang) => l.promptSimilarity[lang.code] ?? 0));
  const promptDomain: [number, number] = [Math.min(...promptValues), Math.max(...promptValues)];
  const maxAbsDelta = Math.max(
    1e-6,
    ...(vm.steeredLayers ?? []).flatMap((l, r) => l.cells.map((c, j) => Math.abs(cellChange(vm.layers[r]?.cells[j] as HeatmapCell, c).delta))),
  );

  const cellEls: HTMLElement[][] = [];
  const rowsTopDown = layers.map((_, r) => r).reverse();
  for (const r of rowsTopDown) {
    const layer = layers[r] as LayerView;
    const baseLayer = vm.layers[r] as LayerView;
    const row = h('div', { class: 'hm-row', role: 'row', 'aria-rowindex': String(layers.length - r), 'data-k': String(layer.k) });
    row.append(h('div', { class: 'hm-rowheader', role: 'rowheader' }, layerLabel(layer.k, numLayers)));
    const rowCells: HTMLElement[] = [];
    for (let j = 0; j < columns; j++) {
      const cell = h('div', { class: 'hm-cell', role: 'gridcell', tabindex: '-1', 'aria-colindex': String(j + 2), 'data-row': String(r), 'data-col': String(j), 'data-k': String(layer.k) });
      if (state.view === 'tokens') {
        const c = layer.cells[j] as HeatmapCell;
        const token = JSON.stringify(vm.tokens[j] ?? '');
        if (steering === 'diff') {
          const change = cellChange(baseLayer.cells[j] as HeatmapCell, c);
          cell.dataset['language'] = change.to;
          cell.dataset['changed'] = String(change.changed);
          if (change.changed) {
            cell.classList.add('changed');
            paint(cell, theme.highContrast ? colourOf(change.to) : mix(theme.background, colourOf(change.to), 0.95));
            cell.append(h('span', { class: 'from' }, change.from), h('span', { class: 'arrow' }, '\u2192'), h('span', { class: 'to' }, change.to));
            cell.setAttribute('aria-label', strings.cellLabelChanged(layer.k, token, languageName(vm, change.from), languageName(vm, change.to), signed(change.deltaTo)));
          } else {
            // Unchanged: a faint tint of the language, and the signed change of its similarity.
            const t = Math.min(1, Math.abs(change.delta) / maxAbsDelta);
            paint(cell, mix(theme.background, colourOf(change.to), theme.highContrast ? 0 : 0.08 + 0.3 * t));
            cell.classList.add(Math.abs(change.delta) < 0.005 ? 'same' : change.delta > 0 ? 'up' : 'down');
            cell.append(h('span', { class: 'delta' }, signed(change.delta)));
            cell.setAttribute('aria-label', strings.cellLabelSame(layer.k, token, languageName(vm, change.to), signed(change.delta)));
          }
        } else {
          cell.dataset['language'] = c.nearest;
          cell.dataset['similarity'] = String(c.similarity);
          const w = theme.highContrast ? 1 : strength(c.similarity, domain);
          paint(cell, mix(theme.background, colourOf(c.nearest), w));
          cell.append(h('span', { class: 'code' }, c.nearest), meter((c.similarity - domain[0]) / (domain[1] - domain[0])));
          cell.setAttribute('aria-label', strings.cellLabel(layer.k, token, languageName(vm, c.nearest), fmt(c.similarity)));
        }
      } else {
        const lang = vm.languages[j] as { code: string; name: string };
        const value = layer.promptSimilarity[lang.code] ?? 0;
        cell.dataset['language'] = lang.code;
        const best = Math.max(...vm.languages.map((l) => layer.promptSimilarity[l.code] ?? -Infinity));
        if (steering === 'diff') {
          const delta = value - (baseLayer.promptSimilarity[lang.code] ?? 0);
          const maxD = Math.max(1e-6, ...layers.flatMap((l, rr) => vm.languages.map((ll) => Math.abs((l.promptSimilarity[ll.code] ?? 0) - (vm.layers[rr]?.promptSimilarity[ll.code] ?? 0)))));
          paint(cell, mix(theme.background, colourOf(lang.code), theme.highContrast ? 0 : 0.1 + 0.8 * Math.min(1, Math.abs(delta) / maxD)));
          cell.classList.add(Math.abs(delta) < 0.005 ? 'same' : delta > 0 ? 'up' : 'down');
          cell.append(h('span', { class: 'delta' }, signed(delta)));
          cell.setAttribute('aria-label', strings.languageCellLabel(layer.k, lang.name, signed(delta)));
        } else {
          paint(cell, mix(theme.background, colourOf(lang.code), theme.highContrast ? 1 : strength(value, promptDomain)));
          cell.append(h('span', { class: 'code' }, fmt(value)));
          cell.setAttribute('aria-label', strings.languageCellLabel(layer.k, lang.name, fmt(value)));
        }
        if (value === best) cell.classList.add('best');
      }
      row.append(cell);
      rowCells[j] = cell;
    }
    cellEls[r] = rowCells;
    grid.append(row);
  }
  // Column headers along the bottom, under the cells they name.
  const footer = h('div', { class: 'hm-row hm-footer', role: 'row', 'aria-rowindex': String(layers.length + 1) }, h('div', { class: 'hm-corner', role: 'columnheader' }, state.view === 'tokens' ? strings.token() : strings.language()));
  for (let j = 0; j < columns; j++) {
    if (state.view === 'tokens') {
      const text = vm.tokens[j] ?? '';
      footer.append(h('div', { class: 'hm-colheader token-header', role: 'columnheader', title: JSON.stringify(text), 'data-text': text }, text === '' ? '\u2026' : visibleToken(text)));
    } else {
      const lang = vm.languages[j] as { code: string; name: string };
      const swatch = h('span', { class: 'swatch' });
      swatch.style.backgroundColor = languageColour(j);
      footer.append(h('div', { class: 'hm-colheader', role: 'columnheader', title: lang.name }, swatch, lang.code));
    }
  }
  grid.append(footer);

  // ---- focus, keyboard, tooltip ----
  const focusRow = Math.min(Math.max(0, state.focus.row), layers.length - 1);
  const focusCol = Math.min(Math.max(0, state.focus.col), columns - 1);
  cellEls[focusRow]?.[focusCol]?.setAttribute('tabindex', '0');

  const cellAt = (el: EventTarget | null): HTMLElement | undefined => (el instanceof HTMLElement ? el.closest<HTMLElement>('.hm-cell') ?? undefined : undefined);

  const showTooltip = (cell: HTMLElement): void => {
    const r = Number(cell.dataset['row']);
    const j = Number(cell.dataset['col']);
    tooltip.replaceChildren(...tooltipContent(vm, state.view, steering, r, j));
    tooltip.hidden = false;
    cell.setAttribute('aria-describedby', 'hm-tooltip');
    const box = cell.getBoundingClientRect();
    const tip = tooltip.getBoundingClientRect();
    const left = Math.min(Math.max(4, box.left + box.width / 2 - tip.width / 2), window.innerWidth - tip.width - 4);
    const below = box.bottom + 6 + tip.height < window.innerHeight;
    tooltip.style.left = `${Math.round(left)}px`;
    tooltip.style.top = `${Math.round(below ? box.bottom + 6 : Math.max(4, box.top - tip.height - 6))}px`;
  };
  const hideTooltip = (): void => {
    tooltip.hidden = true;
  };

  grid.addEventListener('mouseover', (e) => {
    const cell = cellAt(e.target);
    if (cell) showTooltip(cell);
  });
  grid.addEventListener('mouseleave', hideTooltip);
  grid.addEventListener('focusin', (e) => {
    const cell = cellAt(e.target);
    if (cell) showTooltip(cell);
  });
  grid.addEventListener('focusout', hideTooltip);
  grid.addEventListener('click', (e) => {
    const cell = cellAt(e.target);
    if (!cell) return;
    moveTo(Number(cell.dataset['row']), Number(cell.dataset['col']));
    actions.pickLayer(Number(cell.dataset['k']));
  });

  const moveTo = (r: number, j: number): void => {
    const target = cellEls[r]?.[j];
    if (!target) return;
    grid.querySelectorAll('.hm-cell[tabindex="0"]').forEach((c) => c.setAttribute('tabindex', '-1'));
    target.setAttribute('tabindex', '0');
    target.focus();
    state.focus = { row: r, col: j }; // remembered across re-renders without re-rendering now
  };

  grid.addEventListener('keydown', (e) => {
    const cell = cellAt(e.target);
    if (!cell) return;
    const r = Number(cell.dataset['row']);
    const j = Number(cell.dataset['col']);
    // Rows are drawn with the top layer first: ArrowUp goes to a higher k.
    const moves: Record<string, [number, number]> = {
      ArrowUp: [r + 1, j],
      ArrowDown: [r - 1, j],
      ArrowLeft: [r, j - 1],
      ArrowRight: [r, j + 1],
      Home: [r, 0],
      End: [r, columns - 1],
      PageUp: [layers.length - 1, j],
      PageDown: [0, j],
    };
    const to = moves[e.key];
    if (to !== undefined) {
      e.preventDefault();
      moveTo(Math.min(Math.max(0, to[0]), layers.length - 1), Math.min(Math.max(0, to[1]), columns - 1));
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      actions.pickLayer(Number(cell.dataset['k']));
    } else if (e.key === 'Escape') {
      hideTooltip();
    }
  });

  const diffNote = steering === 'diff' && state.view === 'tokens' ? h('p', { class: 'hint', 'data-testid': 'diff-help' }, strings.diffHelp()) : null;
  return h(
    'section',
    { class: 'heatmap-section', 'data-testid': 'heatmap-section', 'aria-labelledby': 'heatmap-title' },
    h('h2', { id: 'heatmap-title' }, icon('layers'), strings.heatmap()),
    h('p', { class: 'hint' }, state.view === 'tokens' ? strings.heatmapHelp() : strings.languageHelp()),
    toolbar,
    h('div', { class: 'heatmap-scroll' }, grid),
    diffNote,
    legend(vm, layers, state.view === 'tokens' ? domain : promptDomain, theme),
    renderTable(vm, layers, state),
    tooltip,
  );
}

/** Every language's similarity for one cell, sorted, with bars; in diff mode, before -> after. */
function tooltipContent(vm: PanelViewModel, view: HeatmapView, steering: SteeringView, r: number, j: number): Node[] {
  const shown = shownLayers(vm, steering)[r] as LayerView;
  const base = vm.layers[r] as LayerView;
  const title =
    view === 'tokens'
      ? h('div', { class: 'tt-title' }, strings.layer(shown.k), ' \u2014 ', h('code', {}, visibleToken(vm.tokens[j] ?? '')))
      : h('div', { class: 'tt-title' }, strings.layer(shown.k), ' \u2014 ', languageName(vm, vm.languages[j]?.code ?? ''));
  const values = view === 'tokens' ? (shown.cells[j] as HeatmapCell).similarities : shown.promptSimilarity;
  const before = view === 'tokens' ? (base.cells[j] as HeatmapCell).similarities : base.promptSimilarity;
  const sorted = vm.languages.map((l, i) => ({ ...l, i, v: values[l.code] ?? 0 })).sort((a, b) => b.v - a.v);
  const top = sorted[0]?.v ?? 1;
  const bottom = Math.min(0, ...sorted.map((x) => x.v));
  const rows = sorted.map((l) => {
    const bar = h('span', { class: 'tt-bar' });
    bar.style.width = `${Math.max(2, Math.round(((l.v - bottom) / (top - bottom || 1)) * 100))}%`;
    bar.style.backgroundColor = languageColour(l.i);
    const value = steering === 'diff' ? `${fmt(before[l.code] ?? 0)} \u2192 ${fmt(l.v)} (${signed(l.v - (before[l.code] ?? 0))})` : fmt(l.v, 3);
    return h('tr', { class: l === sorted[0] ? 'tt-best' : '', 'data-language': l.code }, h('td', { class: 'tt-name' }, l.name), h('td', { class: 'tt-track' }, bar), h('td', { class: 'tt-value' }, value));
  });
  return [title, h('table', { class: 'tt-table' }, h('tbody', {}, ...rows))];
}

function legend(vm: PanelViewModel, layers: LayerView[], domain: [number, number], theme: Theme): HTMLElement {
  const used = new Set(layers.flatMap((l) => l.cells.map((c) => c.nearest)));
  const entries = vm.languages.map((lang, i) => {
    const swatch = h('span', { class: 'swatch' });
    swatch.style.backgroundColor = languageColour(i);
    return h('li', { class: `legend-entry${used.has(lang.code) ? ' used' : ''}`, 'data-language': lang.code, 'data-colour': languageColour(i) }, swatch, h('span', { class: 'legend-name' }, lang.name), h('span', { class: 'legend-code' }, lang.code));
  });
  // A ramp of the first used language from far to near: what "lightness = nearness" looks like here.
  const ramp = h('span', { class: 'ramp', 'aria-hidden': 'true' });
  const first = vm.languages.findIndex((l) => used.has(l.code));
  const c = parseColour(languageColour(Math.max(0, first))) ?? [128, 128, 128];
  ramp.style.background = `linear-gradient(to right, ${css(mix(theme.background, c, 0.38))}, ${css(c)})`;
  return h(
    'div',
    { class: 'legend', 'data-testid': 'legend' },
    h('ul', { class: 'legend-list', 'aria-label': strings.legend() }, ...entries),
    h('div', { class: 'legend-ramp' }, h('span', {}, fmt(domain[0])), ramp, h('span', {}, fmt(domain[1])), h('span', { class: 'hint' }, strings.legendNearness())),
  );
}

/** The same numbers as a plain table: visually hidden unless asked for, always there for screen readers. */
function renderTable(vm: PanelViewModel, layers: LayerView[], state: HeatmapState): HTMLElement {
  const tokensView = state.view === 'tokens';
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, strings.pickLayer()),
    ...(tokensView ? vm.tokens.map((t) => h('th', { scope: 'col' }, visibleToken(t))) : vm.languages.map((l) => h('th', { scope: 'col' }, l.name))),
  );
  const body = [...layers].reverse().map((l) =>
    h(
      'tr',
      { 'data-k': String(l.k) },
      h('th', { scope: 'row' }, strings.layer(l.k)),
      ...(tokensView
        ? l.cells.map((c) => h('td', {}, `${languageName(vm, c.nearest)} ${fmt(c.similarity)}`))
        : vm.languages.map((lang) => h('td', {}, fmt(l.promptSimilarity[lang.code] ?? 0)))),
    ),
  );
  // The wrapper is what hides it: a table ignores a width smaller than its content.
  return h(
    'div',
    { class: `hm-table-wrap${state.showTable ? '' : ' sr-only'}` },
    h('table', { class: 'hm-table', 'data-testid': 'heatmap-table' }, h('caption', {}, tokensView ? strings.tableCaption() : strings.languageTableCaption()), h('thead', {}, head), h('tbody', {}, ...body)),
  );
}
