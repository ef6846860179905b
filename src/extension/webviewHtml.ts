/**
 * What every webview page of the extension shares (the Steer Prompt panel, the sweep chart): a fresh nonce,
 * HTML escaping, the Content-Security-Policy and the document shell around it. Pure (no `vscode` import) so
 * the tests in Node and Chromium serve exactly the documents VS Code gets.
 */
import { randomBytes } from 'node:crypto';

/** 128 random bits, base64: a fresh one for each rendering of a page. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

/** Escapes text, and attribute values in double quotes (the only quotes these pages use). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

export interface CspAllowances {
  /** Images (also `data:`) and fonts from the extension: the panel's stylesheet and codicons. */
  extensionMedia?: boolean;
  /** A `<style nonce>` element in the page itself (per-cell rules the page computes). */
  nonceStyle?: boolean;
}

/**
 * Only the nonce'd script runs; styles come from the extension (and the adopted style sheets of web
 * components, which CSP does not govern) or, where allowed, a nonce'd style element; no network, no eval,
 * no inline handlers or style attributes.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string, allow: CspAllowances = {}): string {
  return [
    "default-src 'none'",
    ...(allow.extensionMedia === true ? [`img-src ${cspSource} data:`, `font-src ${cspSource}`] : []),
    allow.nonceStyle === true ? `style-src ${cspSource} 'nonce-${nonce}'` : `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export interface WebviewDocument {
  /** The document language (`vscode.env.language`). */
  lang: string;
  /** The Content-Security-Policy, e.g. from {@link contentSecurityPolicy}. */
  csp: string;
  /** Plain text. */
  title: string;
  /** Trusted HTML for the end of `<head>` (stylesheet link or nonce'd style element); escape what goes in. */
  head: string;
  /** Trusted HTML for `<body>`; escape what goes in. */
  body: string;
}

/** The HTML shell of a webview page: charset, Content-Security-Policy, viewport, title. */
export function webviewDocument(d: WebviewDocument): string {
  return `<!DOCTYPE html>
<html lang="${escapeHtml(d.lang)}">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeHtml(d.csp)}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>${escapeHtml(d.title)}</title>
  ${d.head}
</head>
<body>
${d.body}
</body>
</html>`;
}
