/**
 * Language colours for the CLI's heatmaps (terminal and HTML report): the panel's palette
 * (src/webview/palette.ts: Tableau 10 without its grey, then extra hues, then Observable 10), assigned by the
 * language's position in the analysis' language list, so a language has the same colour in the panel and
 * in a terminal.
 */
import { schemeObservable10, schemeTableau10 } from 'd3-scale-chromatic';

const PALETTE: readonly string[] = [...schemeTableau10.filter((c) => c !== '#bab0ac'), '#a463f2', '#97bbf5', '#9c6b4e', '#6cc5b0', '#ff8ab7', ...schemeObservable10];

/** `#rrggbb` for a language, by its index in `languages` (unknown languages after the known ones). */
export function languageColour(lang: string, languages: readonly string[]): string {
  const i = languages.indexOf(lang);
  const j = i >= 0 ? i : languages.length;
  return PALETTE[j % PALETTE.length] as string;
}

/** Black or white, whichever reads better on `hex` (WCAG relative luminance, as in the panel). */
export function inkFor(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.22 ? '#111111' : '#ffffff';
}
