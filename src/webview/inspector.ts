/**
 * The layer inspector: pick a layer, see the prompt's similarity to each language (bars), the logit lens's
 * top tokens per position (chips), and a 2-D PCA picture of the language centroids and the prompt's tokens
 * at that layer. Charts are hand-made SVG: a few dozen marks, where a chart library would be most of the bundle.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { fmt, h, icon, s, signed } from './dom';
import { languageColour } from './palette';
import { strings } from './strings';
import { visibleToken, type LayerView, type PanelViewModel } from './viewModel';

export interface InspectorState {
  k: number;
  /** Which analysis the inspector shows: the unsteered one or the steered one (with the unsteered as ghosts). */
  steered: boolean;
}

export function renderInspector(vm: PanelViewModel, state: InspectorState, pickLayer: (k: number) => void): HTMLElement {
  const index = Math.max(0, vm.layers.findIndex((l) => l.k === state.k));
  const base = vm.layers[index] as LayerView;
  const steered = state.steered ? vm.steeredLayers?.[index] : undefined;
  const layer = steered ?? base;
  const colours = new Map(vm.languages.map((l, i) => [l.code, languageColour(i)]));

  const picker = h(
    'div',
    { class: 'layer-picker segmented', role: 'group', 'aria-label': strings.pickLayer(), 'data-testid': 'layer-picker' },
    ...vm.layers.map((l) => {
      const b = h('vscode-button', { 'data-k': String(l.k), 'aria-pressed': String(l.k === layer.k), 'aria-label': strings.layer(l.k), ...(l.k === layer.k ? {} : { secondary: '' }) }, String(l.k));
      b.addEventListener('click', () => pickLayer(l.k));
      return b;
    }),
  );

  return h(
    'section',
    { class: 'inspector', 'data-testid': 'inspector', 'data-k': String(layer.k), 'aria-labelledby': 'inspector-title' },
    h('h2', { id: 'inspector-title' }, icon('inspect'), strings.inspector(), h('span', { class: 'subtitle' }, strings.layer(layer.k), layer.k === 0 ? ` (${strings.embeddings()})` : layer.k === vm.model.numLayers ? ` (${strings.output()})` : '')),
    picker,
    h(
      'div',
      { class: 'inspector-grid' },
      h('figure', { class: 'card', 'data-testid': 'similarity-bars' }, h('figcaption', {}, strings.promptSimilarity()), similarityBars(vm, layer, steered !== undefined ? base : undefined, colours)),
      h('figure', { class: 'card', 'data-testid': 'projection' }, h('figcaption', {}, strings.projection()), projection(vm, layer, colours)),
    ),
    h('figure', { class: 'card wide', 'data-testid': 'logit-lens' }, h('figcaption', {}, strings.logitLens()), logitLens(vm, layer, colours)),
  );
}

function similarityBars(vm: PanelViewModel, layer: LayerView, ghost: LayerView | undefined, colours: Map<string, string>): SVGElement {
  const rows = vm.languages.map((l) => ({ ...l, v: layer.promptSimilarity[l.code] ?? 0, g: ghost?.promptSimilarity[l.code] })).sort((a, b) => b.v - a.v);
  const all = rows.flatMap((r) => (r.g !== undefined ? [r.v, r.g] : [r.v]));
  const lo = Math.min(0, ...all);
  const hi = Math.max(...all, 1e-6);
  const W = 400;
  const rowH = 19;
  const labelW = 84;
  const valueW = 92;
  const x = (v: number): number => labelW + ((v - lo) / (hi - lo)) * (W - labelW - valueW);
  const H = rows.length * rowH + 4;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'bars', role: 'img', 'aria-label': strings.promptSimilarity() });
  rows.forEach((r, i) => {
    const y = 2 + i * rowH;
    const g = s('g', { class: `bar-row${i === 0 ? ' best' : ''}`, 'data-language': r.code });
    g.append(s('text', { x: labelW - 6, y: y + rowH / 2, class: 'bar-label', 'text-anchor': 'end', 'dominant-baseline': 'central' }, r.name));
    g.append(s('rect', { x: x(lo), y: y + 3, width: Math.max(1, x(r.v) - x(lo)), height: rowH - 6, rx: 2, fill: colours.get(r.code) ?? 'currentColor', class: 'bar' }));
    if (r.g !== undefined && Math.abs(r.v - r.g) >= 0.005) g.append(s('line', { x1: x(r.g), x2: x(r.g), y1: y + 1, y2: y + rowH - 1, class: 'ghost' }));
    const text = r.g !== undefined && Math.abs(r.v - r.g) >= 0.005 ? `${fmt(r.v)} (${signed(r.v - r.g)})` : fmt(r.v, 3);
    const end = r.g !== undefined && Math.abs(r.v - r.g) >= 0.005 ? Math.max(x(r.v), x(r.g)) : x(r.v);
    g.append(s('text', { x: end + 5, y: y + rowH / 2, class: 'bar-value', 'dominant-baseline': 'central' }, text));
    g.append(s('title', {}, `${r.name}: ${text}`));
    svg.append(g);
  });
  return svg;
}

function projection(vm: PanelViewModel, layer: LayerView, colours: Map<string, string>): Element {
  const p = layer.projection;
  if (p === undefined) return h('p', { class: 'hint' }, strings.noProjection());
  const W = 400;
  const H = 260;
  const pad = 22;
  const xs = [...p.centroids.map((c) => c.x), ...p.tokens.map((t) => t.x)];
  const ys = [...p.centroids.map((c) => c.y), ...p.tokens.map((t) => t.y)];
  // Equal scale on both axes: distances in the picture are distances in the projection.
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1e-6);
  const scale = Math.min(W - 2 * pad, H - 2 * pad) / span;
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2;
  const cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  const X = (x: number): number => W / 2 + (x - cx) * scale;
  const Y = (y: number): number => H / 2 - (y - cy) * scale;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'scatter', role: 'img', 'aria-label': strings.projectionLabel(layer.k) });
  svg.append(s('line', { x1: pad / 2, x2: W - pad / 2, y1: Y(0), y2: Y(0), class: 'axis' }), s('line', { x1: X(0), x2: X(0), y1: pad / 2, y2: H - pad / 2, class: 'axis' }));
  if (p.explained !== undefined) {
    svg.append(s('text', { x: W - 4, y: H - 4, class: 'axis-label', 'text-anchor': 'end' }, strings.axis(1, fmt(p.explained[0], 0))));
    svg.append(s('text', { x: 4, y: 12, class: 'axis-label' }, strings.axis(2, fmt(p.explained[1], 0))));
  }
  // The prompt's path through the plane, token by token.
  svg.append(s('polyline', { points: p.tokens.map((t) => `${X(t.x).toFixed(1)},${Y(t.y).toFixed(1)}`).join(' '), class: 'token-path' }));
  p.tokens.forEach((t, i) => {
    const nearest = layer.cells[i]?.nearest ?? '';
    svg.append(
      s(
        'circle',
        { cx: X(t.x).toFixed(1), cy: Y(t.y).toFixed(1), r: 3.2, fill: colours.get(nearest) ?? 'currentColor', class: 'token-dot', 'data-token': String(i) },
        s('title', {}, `${visibleToken(vm.tokens[i] ?? '')} \u00b7 ${nearest}`),
      ),
    );
  });
  for (const c of p.centroids) {
    const g = s('g', { class: 'centroid', 'data-language': c.language });
    g.append(s('circle', { cx: X(c.x).toFixed(1), cy: Y(c.y).toFixed(1), r: 9, fill: colours.get(c.language) ?? 'currentColor' }));
    g.append(s('text', { x: X(c.x).toFixed(1), y: Y(c.y).toFixed(1), 'text-anchor': 'middle', 'dominant-baseline': 'central', class: 'centroid-label' }, c.language));
    g.append(s('title', {}, vm.languages.find((l) => l.code === c.language)?.name ?? c.language));
    svg.append(g);
  }
  return svg;
}

function logitLens(vm: PanelViewModel, layer: LayerView, colours: Map<string, string>): HTMLElement {
  const lens = layer.logitLens;
  if (lens === undefined) return h('p', { class: 'hint' }, strings.noLogitLens());
  const rows = lens.map((candidates, i) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row', class: 'lens-pos' }, h('code', {}, visibleToken(vm.tokens[i] ?? ''))),
      h(
        'td',
        { class: 'lens-chips' },
        ...candidates.slice(0, 5).map((c, rank) => {
          const chip = h('span', { class: `chip${rank === 0 ? ' top' : ''}`, 'data-language': c.language ?? '', title: `${JSON.stringify(c.text)} \u00b7 ${(c.probability * 100).toFixed(1)} %${c.language !== undefined ? ` \u00b7 ${c.language}` : ''}` });
          const dot = h('span', { class: 'dot' });
          const colour = c.language !== undefined ? colours.get(c.language) : undefined;
          if (colour !== undefined) dot.style.backgroundColor = colour;
          else dot.classList.add('none');
          const fill = h('span', { class: 'chip-fill' });
          fill.style.width = `${Math.max(2, Math.round(c.probability * 100))}%`;
          if (colour !== undefined) fill.style.backgroundColor = colour;
          chip.append(fill, dot, h('code', {}, visibleToken(c.text)), h('span', { class: 'p' }, `${Math.round(c.probability * 100)}%`));
          return chip;
        }),
      ),
    ),
  );
  return h('table', { class: 'lens' }, h('thead', { class: 'sr-only' }, h('tr', {}, h('th', { scope: 'col' }, strings.position()), h('th', { scope: 'col' }, strings.logitLens()))), h('tbody', {}, ...rows));
}
