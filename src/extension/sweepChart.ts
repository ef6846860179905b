/**
 * The layer × strength chart of Evaluate Steering Vector…: an HTML table (rows = layers k, columns = strength
 * multiples) whose cells are coloured by language control, with the chosen cell marked and every cell a button
 * that applies its setting. A table is the accessible form of this picture, so it is the picture. Theme colours
 * only; the page runs one small nonce'd script and nothing else (CSP). Free of `vscode` imports (tested in Node).
 */
import * as l10n from '@vscode/l10n';
import type { SweepCellInfo, SweepReport } from '../protocol/engine';
import { int, literal, num, object, type Validator } from '../protocol/validate';
import { formatStrength, languageName } from './viewItems';
import { contentSecurityPolicy, escapeHtml, webviewDocument } from './webviewHtml';

/** What the chart posts: apply one cell's (layer, strength) to the vector. */
export interface SweepChartIntent {
  type: 'apply';
  layer: number;
  strength: number;
}

export const sweepChartIntent: Validator<SweepChartIntent> = object({ type: literal('apply'), layer: int, strength: num });

/** Share of the accent colour in a 100 % cell: the text on it must stay readable in light and dark themes. */
export const FILL_AT_FULL = 0.55;

function pct(x: number): string {
  return `${Math.round(x)} %`;
}

export interface SweepChartOptions {
  vectorName: string;
  nonce: string;
  cspSource: string;
  /** The display language (vscode.env.language). */
  language?: string;
  /** The vector's current setting, marked in the table when it is one of the cells. */
  current?: { layer: number; strength: number };
}

function isCurrent(c: SweepCellInfo, current: SweepChartOptions['current']): boolean {
  return current !== undefined && c.layer === current.layer && Math.abs(c.strength - current.strength) < 5e-3;
}

/** The chart page for a sweep report. */
export function sweepChartHtml(report: SweepReport, options: SweepChartOptions): string {
  const { nonce, cspSource } = options;
  const target = languageName(report.target);
  const title = l10n.t('{0}: language control by layer and strength', options.vectorName);
  // Cell colours go into the nonce'd stylesheet: the CSP (no 'unsafe-inline') blocks style attributes.
  const cellRules: string[] = [];
  const head = report.multiples.map((m) => `<th scope="col">${escapeHtml(l10n.t('×{0} natural', formatStrength(m)))}</th>`).join('');
  const rows = report.layers
    .map((k, i) => {
      const cells = report.multiples
        .map((_, j) => {
          const c = report.cells[i * report.multiples.length + j];
          if (c === undefined) return '<td></td>';
          const best = c === report.best || (c.layer === report.best.layer && c.strength === report.best.strength);
          const marks = [best ? '★' : '', isCurrent(c, options.current) ? '●' : ''].join('');
          const label = l10n.t('Layer k = {0}, strength ×{1}: {2} of continuations in {3}, chrF {4}, {5} degenerate. Apply this setting.', k, formatStrength(c.strength), pct(c.languageControl), target, c.chrF.toFixed(1), c.degenerate);
          // Lightness follows language control: the share of the accent colour mixed into the background.
          cellRules.push(`#cell-${i}-${j} { --lc: ${Math.round(Math.min(100, Math.max(0, c.languageControl)))}%; }`);
          return `<td class="${best ? 'best' : ''}"><button type="button" id="cell-${i}-${j}" data-layer="${k}" data-strength="${c.strength}" aria-label="${escapeHtml(label)}" title="${escapeHtml(label)}"><span class="lc">${pct(c.languageControl)}${marks !== '' ? ` <span class="mark">${marks}</span>` : ''}</span><span class="detail">×${formatStrength(c.strength)} · chrF ${c.chrF.toFixed(0)}</span></button></td>`;
        })
        .join('');
      return `<tr><th scope="row">k = ${k}</th>${cells}</tr>`;
    })
    .join('\n');
  const b = report.best;
  const summary = l10n.t('Best: k = {0}, ×{1} — {2} of {3} continuations in {4} (the weakest setting within one prompt of the highest language control).', b.layer, formatStrength(b.strength), pct(b.languageControl), report.prompts, target);
  const setup = l10n.t('{0} prompts per cell from {1}, {2} tokens each, sampled at temperature 0.7 with the same seeds in every cell. Strengths are multiples of each layer’s natural strength (the one that moves the mean {3} state onto the mean {4} state).', report.prompts, report.corpus.split(/[\\/]/).pop() ?? report.corpus, report.maxNewTokens, languageName(report.source), target);
  const style = `<style nonce="${escapeHtml(nonce)}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 16px 16px; }
  h1 { font-size: 1.2em; font-weight: 600; }
  table { border-collapse: separate; border-spacing: 3px; }
  caption { text-align: left; padding-bottom: 6px; color: var(--vscode-descriptionForeground); }
  th { font-weight: normal; color: var(--vscode-descriptionForeground); padding: 0 8px; text-align: left; white-space: nowrap; }
  td { padding: 0; }
  td button { display: flex; flex-direction: column; align-items: flex-start; min-width: 7.5em; padding: 6px 8px; cursor: pointer; border-radius: 2px;
    color: var(--vscode-foreground); font: inherit; text-align: left;
    border: 1px solid var(--vscode-contrastBorder, transparent);
    background: color-mix(in srgb, var(--vscode-charts-green) calc(var(--lc) * ${FILL_AT_FULL}), var(--vscode-editor-background)); }
  td button:hover { outline: 1px dashed var(--vscode-focusBorder); }
  td button:focus-visible { outline: 2px solid var(--vscode-focusBorder); outline-offset: 1px; }
  td.best button { outline: 2px solid var(--vscode-focusBorder); }
  .lc { font-weight: 600; }
  .mark { font-weight: normal; }
  .detail { font-size: 0.85em; }
  p { max-width: 60em; color: var(--vscode-descriptionForeground); }
  .apply { margin: 12px 0; padding: 4px 12px; border: 1px solid var(--vscode-button-border, transparent); border-radius: 2px; cursor: pointer;
    color: var(--vscode-button-foreground); background: var(--vscode-button-background); font: inherit; }
  .apply:hover { background: var(--vscode-button-hoverBackground, var(--vscode-button-background)); }
  .apply:focus-visible { outline: 2px solid var(--vscode-focusBorder); outline-offset: 2px; }
  ${cellRules.join('\n  ')}
</style>`;
  const body = `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(summary)}</p>
<button type="button" class="apply" data-layer="${b.layer}" data-strength="${b.strength}">${escapeHtml(l10n.t('Apply best (k = {0}, ×{1})', b.layer, formatStrength(b.strength)))}</button>
<table>
<caption>${escapeHtml(l10n.t('Share of continuations in {0} (★ best, ● current setting). Select a cell to apply its setting.', target))}</caption>
<thead><tr><th scope="col">${escapeHtml(l10n.t('layer'))}</th>${head}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p>${escapeHtml(setup)}</p>
<script nonce="${escapeHtml(nonce)}">
  const vscode = acquireVsCodeApi();
  document.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('button[data-layer]') : null;
    if (b) vscode.postMessage({ type: 'apply', layer: Number(b.dataset.layer), strength: Number(b.dataset.strength) });
  });
</script>`;
  return webviewDocument({ lang: options.language ?? 'en', csp: contentSecurityPolicy(cspSource, nonce, { nonceStyle: true }), title, head: style, body });
}
