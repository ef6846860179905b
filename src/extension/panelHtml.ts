/**
 * The panel's HTML shell. Pure (no `vscode` import) so the webview test in Chromium serves exactly the
 * document, and exactly the Content-Security-Policy, that VS Code gets.
 */
import { randomBytes } from 'node:crypto';

export interface PanelHtmlParams {
  /** `webview.cspSource`: the origin VS Code serves local resources from. */
  cspSource: string;
  /** `asWebviewUri` of dist/webview.js. */
  scriptUri: string;
  /** `asWebviewUri` of media/panel.css. */
  styleUri: string;
  nonce: string;
  /** For the document language (l10n): `vscode.env.language`. */
  lang?: string;
  /**
   * The translations of the webview's strings for `lang` (`vscode.l10n.bundle`: the extension's
   * l10n/bundle.l10n.<lang>.json), embedded as a JSON data block that src/webview/l10nBundle.ts hands to
   * `l10n.config` before the first render. Undefined (English, or no bundle for the language) embeds none.
   */
  l10nBundle?: Readonly<Record<string, string | { message: string; comment: string[] }>>;
}

/** The id of the data block (read by src/webview/l10nBundle.ts). */
export const L10N_BUNDLE_ELEMENT_ID = 'l10n-bundle';

/** 128 random bits, base64: a fresh one for each rendering of the panel. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * Only our nonce'd script runs; styles come from the extension (and the adopted style sheets of web
 * components, which CSP does not govern); no network, no eval, no inline handlers.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

/**
 * JSON that is safe inside a `<script>` element: `<` is escaped so no `</script>` (or `<!--`) in a
 * translation can end the block early; JSON.parse reads `\u003c` back as `<`.
 */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function renderPanelHtml(p: PanelHtmlParams): string {
  // A data block (type application/json) is never executed, so the CSP's script-src does not apply to it.
  const bundle = p.l10nBundle !== undefined ? `\n  <script type="application/json" id="${L10N_BUNDLE_ELEMENT_ID}">${jsonForScript(p.l10nBundle)}</script>` : '';
  return `<!DOCTYPE html>
<html lang="${escapeAttr(p.lang ?? 'en')}">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(p.cspSource, p.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${escapeAttr(p.styleUri)}">
  <title>Polyglot Lens</title>
</head>
<body>
  <main id="app" data-testid="app" aria-live="polite"></main>${bundle}
  <script nonce="${escapeAttr(p.nonce)}" src="${escapeAttr(p.scriptUri)}"></script>
</body>
</html>`;
}
