// A language × layer heatmap as a standalone SVG (for reports; the panel draws its own): one cell per
// (language, layer) coloured with viridis over [min, max] of the values, the value printed in each cell.

import { interpolateViridis } from 'd3-scale-chromatic';

/** Rows (languages) × columns (layers) of values, with titles. */
export interface HeatmapInput {
  title: string;
  rowLabels: string[];
  columnLabels: string[];
  values: number[][]; // [row][column]
  /** Colour range; default the data's min and max. */
  domain?: [number, number];
  digits?: number; // default 2
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** SVG text of the heatmap (cell 46×24 px). */
export function heatmapSvg(h: HeatmapInput): string {
  const cw = 46;
  const ch = 24;
  const left = 44;
  const top = 40;
  const flat = h.values.flat().filter((v) => Number.isFinite(v));
  const [lo, hi] = h.domain ?? [Math.min(...flat), Math.max(...flat)];
  const width = left + cw * h.columnLabels.length + 10;
  const height = top + ch * h.rowLabels.length + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${esc(h.title)}</text>`,
  ];
  h.columnLabels.forEach((c, j) => parts.push(`<text x="${left + j * cw + cw / 2}" y="${top - 6}" text-anchor="middle">${esc(c)}</text>`));
  h.rowLabels.forEach((r, i) => {
    parts.push(`<text x="${left - 6}" y="${top + i * ch + ch / 2 + 4}" text-anchor="end">${esc(r)}</text>`);
    h.columnLabels.forEach((_c, j) => {
      const v = h.values[i]?.[j] ?? NaN;
      const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
      const fill = Number.isFinite(v) ? interpolateViridis(Math.max(0, Math.min(1, t))) : '#ddd';
      const textFill = t > 0.6 ? 'black' : 'white';
      parts.push(`<rect x="${left + j * cw}" y="${top + i * ch}" width="${cw - 1}" height="${ch - 1}" fill="${fill}"/>`);
      if (Number.isFinite(v)) parts.push(`<text x="${left + j * cw + cw / 2}" y="${top + i * ch + ch / 2 + 4}" text-anchor="middle" fill="${textFill}">${v.toFixed(h.digits ?? 2)}</text>`);
    });
  });
  parts.push(`<text x="${left}" y="${height - 10}" fill="#555">colour: ${lo.toFixed(2)} (dark) … ${hi.toFixed(2)} (light)</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
