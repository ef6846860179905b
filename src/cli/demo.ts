/**
 * Renderings of a prompt analysis for `polyglot-lens demo` (and `analyze`): a coloured terminal heatmap
 * (layers × tokens, each cell the token's nearest language at that layer, with a legend), base and steered
 * continuations side by side, and the same as a standalone HTML report.
 */
import type { LayerAnalysis, PromptAnalysis, TokenInfo } from '../protocol/engine';
import { inkFor as ink, languageColour } from '../protocol/palette';

export { languageColour };

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Terminal columns a string takes (wide East Asian characters take two). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ? 2 : 1;
  }
  return w;
}

function fit(s: string, width: number): string {
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = displayWidth(ch);
    if (w + cw > width) break;
    out += ch;
    w += cw;
  }
  return out + ' '.repeat(width - w);
}

/** A token as shown in a column header: whitespace made visible, special tokens by their piece. */
export function tokenLabel(t: TokenInfo): string {
  if (t.special) return t.piece || '<s>';
  if (t.text === '') return '…';
  return t.text.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→');
}

export interface TerminalStyle {
  colour: boolean;
}

function paint(text: string, bg: string, style: TerminalStyle): string {
  if (!style.colour) return text;
  const [r, g, b] = rgb(bg);
  const [fr, fg, fb] = rgb(ink(bg));
  return `\x1b[48;2;${r};${g};${b}m\x1b[38;2;${fr};${fg};${fb}m${text}\x1b[0m`;
}

function greyFor(norm: number, max: number): string {
  const v = Math.round(40 + 200 * (max > 0 ? norm / max : 0));
  const h = v.toString(16).padStart(2, '0');
  return `#${h}${h}${h}`;
}

/**
 * Layers × tokens heatmap, last layer on top. Each cell shows the token's nearest language at that layer on
 * that language's colour; without centroids, the hidden-state norm on a grey scale.
 */
export function terminalHeatmap(a: Pick<PromptAnalysis, 'tokens' | 'layers' | 'centroids'>, style: TerminalStyle): string {
  const languages = a.centroids?.languages ?? [];
  const widths = a.tokens.map((t) => Math.min(8, Math.max(3, displayWidth(tokenLabel(t)))));
  const lines: string[] = [];
  const rows = [...a.layers].sort((x, y) => y.layer - x.layer);
  const maxNorm = Math.max(...a.layers.flatMap((l) => l.norms), 0);
  for (const layer of rows) {
    const cells = a.tokens.map((_, i) => {
      const w = widths[i] as number;
      const lang = layer.nearest?.[i];
      if (lang !== undefined) return paint(fit(lang, w), languageColour(lang, languages), style);
      const n = layer.norms[i] ?? 0;
      return paint(fit(n >= 100 ? n.toFixed(0) : n.toFixed(1), w), greyFor(n, maxNorm), style);
    });
    lines.push(`k=${String(layer.layer).padStart(2)} │ ${cells.join(' ')}`);
  }
  lines.push(`     └${'─'.repeat(widths.reduce((s, w) => s + w + 1, 0) + 1)}`);
  lines.push(`       ${a.tokens.map((t, i) => fit(tokenLabel(t), widths[i] as number)).join(' ')}`);
  if (languages.length > 0) {
    lines.push('');
    lines.push('legend ' + languages.map((l) => paint(` ${l} `, languageColour(l, languages), style)).join(' '));
    lines.push('       cell = the language whose centroid at layer k is nearest to the token’s hidden state (mean-centred cosine)');
  } else {
    lines.push('');
    lines.push('       no language centroids for this model: cells show hidden-state norms (run `npm run build-vectors` or `polyglot-lens extract`)');
  }
  return lines.join('\n');
}

/** Word-wraps `text` to `width` display columns. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/(\s+)/)) {
      if (word === '') continue;
      if (displayWidth(line + word) > width && line.trim() !== '') {
        out.push(line.trimEnd());
        line = word.trimStart();
      } else {
        line += word;
      }
      while (displayWidth(line) > width) {
        out.push(fit(line, width).trimEnd());
        line = [...line].slice(fit(line, width).trimEnd().length).join('');
      }
    }
    out.push(line.trimEnd());
  }
  return out;
}

/** Two columns, side by side, each `width` display columns wide. */
export function sideBySide(leftTitle: string, left: string, rightTitle: string, right: string, width: number): string {
  const l = [leftTitle, '─'.repeat(Math.min(width, displayWidth(leftTitle))), ...wrap(left, width)];
  const r = [rightTitle, '─'.repeat(Math.min(width, displayWidth(rightTitle))), ...wrap(right, width)];
  const n = Math.max(l.length, r.length);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${fit(l[i] ?? '', width)} │ ${r[i] ?? ''}`.trimEnd());
  return lines.join('\n');
}

/** Layer table for `analyze`: per layer, each token's norm, nearest language and similarity to every language. */
export function layerTable(a: Pick<PromptAnalysis, 'tokens' | 'layers' | 'centroids'>): string {
  const languages = a.centroids?.languages ?? [];
  const lines: string[] = [];
  for (const layer of a.layers) {
    lines.push(`layer k=${layer.layer}${layer.layer === 0 ? ' (embeddings)' : ''}`);
    const header = `  ${fit('token', 12)} ${'norm'.padStart(9)}` + (layer.nearest ? `  near ${languages.map((l) => l.padStart(6)).join('')}` : '');
    lines.push(header);
    a.tokens.forEach((t, i) => {
      let line = `  ${fit(tokenLabel(t), 12)} ${(layer.norms[i] ?? 0).toFixed(3).padStart(9)}`;
      if (layer.nearest) line += `  ${fit(layer.nearest[i] ?? '', 4)} ${(layer.similarity?.[i] ?? []).map((x) => x.toFixed(2).padStart(6)).join('')}`;
      lines.push(line);
    });
  }
  return lines.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function htmlHeatmap(title: string, a: Pick<PromptAnalysis, 'tokens' | 'centroids'>, layers: readonly LayerAnalysis[]): string {
  const languages = a.centroids?.languages ?? [];
  const maxNorm = Math.max(...layers.flatMap((l) => l.norms), 0);
  const rows = [...layers]
    .sort((x, y) => y.layer - x.layer)
    .map((layer) => {
      const cells = a.tokens.map((_, i) => {
        const lang = layer.nearest?.[i];
        const n = layer.norms[i] ?? 0;
        const bg = lang !== undefined ? languageColour(lang, languages) : greyFor(n, maxNorm);
        const sims = layer.similarity?.[i];
        const tip = `k=${layer.layer} · norm ${n.toFixed(2)}${sims ? ' · ' + languages.map((l, j) => `${l} ${(sims[j] ?? 0).toFixed(2)}`).join(' ') : ''}`;
        return `<td style="background:${bg};color:${ink(bg)}" title="${esc(tip)}">${esc(lang ?? n.toFixed(0))}</td>`;
      });
      return `<tr><th>k=${layer.layer}</th>${cells.join('')}</tr>`;
    });
  const head = `<tr><th></th>${a.tokens.map((t) => `<th class="tok">${esc(tokenLabel(t))}</th>`).join('')}</tr>`;
  return `<h2>${esc(title)}</h2><table class="heat">${rows.join('')}${head}</table>`;
}

/** The demo as a standalone HTML page (no scripts, no external resources). */
export function demoHtml(a: PromptAnalysis): string {
  const languages = a.centroids?.languages ?? [];
  const legend = languages.length
    ? `<p class="legend">${languages.map((l) => `<span style="background:${languageColour(l, languages)};color:${ink(languageColour(l, languages))}">${esc(l)}</span>`).join(' ')}</p><p class="note">Each cell: the language whose centroid at layer k is nearest to the token's hidden state (mean-centred cosine). Hover for all similarities.</p>`
    : '<p class="note">No language centroids for this model: cells show hidden-state norms.</p>';
  const steeredBy = a.steered ? a.steered.vectors.map((v) => `${v.name} at k=${v.layer}, strength ${v.strength}, ${v.positions}`).join('; ') : '';
  const conts = a.continuations
    ? `<h2>Continuations</h2><div class="cols"><div><h3>Base</h3><p>${esc(a.continuations.base.text)}</p></div><div><h3>Steered${steeredBy ? ` (${esc(steeredBy)})` : ''}</h3><p>${esc(a.continuations.steered?.text ?? '(no steering vector)')}</p></div></div>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Polyglot Lens — ${esc(a.prompt)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table.heat{border-collapse:collapse;font:12px ui-monospace,monospace}
table.heat td{padding:3px 5px;text-align:center;min-width:2.2em}
table.heat th{font-weight:normal;padding:3px 5px;color:#555}
th.tok{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;max-height:8em}
.legend span{display:inline-block;padding:2px 8px;margin:2px;border-radius:3px;font:12px ui-monospace,monospace}
.note{color:#666;font-size:13px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:2rem}
.warn{color:#a15c00}
</style></head><body>
<h1>Polyglot Lens</h1>
<p><b>Prompt</b>: ${esc(a.prompt)}<br><b>Model</b>: ${esc(a.model.name)} (${esc(a.model.architecture)}, ${a.model.numLayers} layers, hidden size ${a.model.hiddenSize})</p>
${a.warnings.map((w) => `<p class="warn">${esc(w)}</p>`).join('\n')}
${htmlHeatmap('Nearest language per layer × token', a, a.layers)}
${a.steered ? htmlHeatmap(`Steered (${steeredBy})`, a, a.steered.layers) : ''}
${legend}
${conts}
</body></html>
`;
}
