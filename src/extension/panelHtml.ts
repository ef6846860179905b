/**
 * The panel's HTML page (in the shell every webview page shares: webviewHtml.ts). Pure (no `vscode` import)
 * so the webview test in Chromium serves exactly the document, and exactly the Content-Security-Policy,
 * that VS Code gets.
 */
import { contentSecurityPolicy, escapeHtml, webviewDocument } from './webviewHtml';

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

/**
 * JSON that is safe inside a `<script>` element: `<` is escaped so no `</script>` (or `<!--`) in a
 * translation can end the block early; JSON.parse reads `\u003c` back as `<`.
 */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The panel's policy: the extension's stylesheet, fonts (codicons) and images, and the one nonce'd script. */
export function panelContentSecurityPolicy(cspSource: string, nonce: string): string {
  return contentSecurityPolicy(cspSource, nonce, { extensionMedia: true });
}

export function renderPanelHtml(p: PanelHtmlParams): string {
  // A data block (type application/json) is never executed, so the CSP's script-src does not apply to it.
  const bundle = p.l10nBundle !== undefined ? `\n<script type="application/json" id="${L10N_BUNDLE_ELEMENT_ID}">${jsonForScript(p.l10nBundle)}</script>` : '';
  return webviewDocument({
    lang: p.lang ?? 'en',
    csp: panelContentSecurityPolicy(p.cspSource, p.nonce),
    title: 'Polyglot Lens',
    head: `<link rel="stylesheet" href="${escapeHtml(p.styleUri)}">`,
    body: `<main id="app" data-testid="app" aria-live="polite"></main>${bundle}
<script nonce="${escapeHtml(p.nonce)}" src="${escapeHtml(p.scriptUri)}"></script>`,
  });
}
