/**
 * Language colours: a fixed categorical palette (Tableau 10 from d3-scale-chromatic, then Observable 10 for
 * languages past the tenth), assigned by the language's position in the view model's list, so a language
 * keeps its colour across layers, views and panel updates. Lightness encodes nearness: the cell's colour is
 * mixed with the editor background in proportion to how close the token is.
 */
import { schemeObservable10, schemeTableau10 } from 'd3-scale-chromatic';

// Tableau's grey (#bab0ac) reads as "no data"; it goes last.
const PALETTE = [...schemeTableau10.filter((c) => c !== '#bab0ac'), '#a463f2', '#97bbf5', '#9c6b4e', '#6cc5b0', '#ff8ab7', ...schemeObservable10];

export type Rgb = [number, number, number];

export function languageColour(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length] as string;
}

export function parseColour(css: string): Rgb | undefined {
  const hex = /^#([0-9a-f]{6})$/i.exec(css.trim());
  if (hex) {
    const n = parseInt(hex[1] as string, 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const rgb = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/i.exec(css.trim());
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  return undefined;
}

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => Math.round((a[i] as number) * (1 - t) + (b[i] as number) * t)) as Rgb;
}

export function css(c: Rgb): string {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** WCAG relative luminance. */
function luminance(c: Rgb): number {
  const [r, g, b] = c.map((v) => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  }) as Rgb;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Black or white, whichever reads better on `bg`. */
export function textOn(bg: Rgb): string {
  return luminance(bg) > 0.22 ? '#111111' : '#ffffff';
}
