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
  /** For the document language (l10n). */
  lang?: string;
}

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

export function renderPanelHtml(p: PanelHtmlParams): string {
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
  <main id="app" data-testid="app" aria-live="polite"><p class="placeholder">Run <strong>Polyglot Lens: Steer Prompt</strong> with the cursor on a prompt.</p></main>
  <script nonce="${escapeAttr(p.nonce)}" src="${escapeAttr(p.scriptUri)}"></script>
</body>
</html>`;
}
