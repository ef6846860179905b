/** DOM builders for the panel. Text always goes in as text (never HTML): token text comes from the model and the document. */

export type Child = Node | string | null | undefined | false;

/** An HTML element: attributes as strings, children as nodes or text. */
export function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element (presentation attributes such as fill are attributes, which the CSP allows; inline style attributes are not). */
export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A codicon glyph (media/codicons, loaded by panel.css). Decorative: hidden from screen readers. */
export function icon(name: string): HTMLElement {
  return h('span', { class: `codicon codicon-${name}`, 'aria-hidden': 'true' });
}

/** Formats a similarity or probability for people: 0.8123 -> "0.81". */
export function fmt(x: number, digits = 2): string {
  return x.toFixed(digits).replace(/^-0\.00$/, '0.00');
}

/** Signed: +0.12 / −0.05 (a real minus sign). */
export function signed(x: number, digits = 2): string {
  const t = Math.abs(x).toFixed(digits);
  return x > 0 && Number(t) !== 0 ? `+${t}` : x < 0 && Number(t) !== 0 ? `\u2212${t}` : `\u00b1${t}`;
}
