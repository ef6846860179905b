/**
 * Serves the panel to Chromium the way VS Code does: the exact HTML shell and Content-Security-Policy of
 * renderPanelHtml(), dist/webview.js and everything under media/ (stylesheet, codicons), with
 * `acquireVsCodeApi` replaced by a recorder of posted messages. Themes are the variables VS Code injects
 * into every webview, plus its body class (vscode-dark / vscode-light / vscode-high-contrast). Also the one
 * headless Chromium each webview test file shares.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderPanelHtml } from '../../src/extension/panelHtml';
import { makeNonce } from '../../src/extension/webviewHtml';
import { CHROMIUM_ARGS, chromiumMissing, chromiumPath, REPO_ROOT, skipLoudly } from '../e2e/harness/environment';

export const ORIGIN = 'https://webview.test';

const COMMON: Record<string, string> = {
  '--vscode-font-family': 'system-ui, "Segoe UI", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-editor-font-family': '"DejaVu Sans Mono", monospace',
  '--vscode-editor-font-size': '13px',
};

/** A few of the variables of VS Code's Dark Modern, Light Modern and High Contrast themes. */
export const THEMES: Record<'dark' | 'light' | 'hc', { bodyClass: string; vars: Record<string, string> }> = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      ...COMMON,
      '--vscode-foreground': '#cccccc',
      '--vscode-descriptionForeground': '#9d9d9d',
      '--vscode-editor-background': '#1f1f1f',
      '--vscode-sideBar-background': '#181818',
      '--vscode-badge-background': '#616161',
      '--vscode-badge-foreground': '#f8f8f8',
      '--vscode-textBlockQuote-background': '#2b2b2b',
      '--vscode-textBlockQuote-border': '#616161',
      '--vscode-textCodeBlock-background': '#2b2b2b',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-red': '#f14c4c',
      '--vscode-focusBorder': '#0078d4',
      '--vscode-panel-border': '#2b2b2b',
      '--vscode-widget-border': '#313131',
      '--vscode-button-background': '#0078d4',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-secondaryBackground': '#313131',
      '--vscode-button-secondaryForeground': '#cccccc',
      '--vscode-editorHoverWidget-background': '#202020',
      '--vscode-editorHoverWidget-border': '#454545',
      '--vscode-editorWarning-foreground': '#cca700',
      '--vscode-diffEditor-insertedTextBackground': '#9ccc2c33',
      '--vscode-diffEditor-removedTextBackground': '#ff000033',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      ...COMMON,
      '--vscode-foreground': '#3b3b3b',
      '--vscode-descriptionForeground': '#717171',
      '--vscode-editor-background': '#ffffff',
      '--vscode-sideBar-background': '#f8f8f8',
      '--vscode-badge-background': '#cccccc',
      '--vscode-badge-foreground': '#3b3b3b',
      '--vscode-textBlockQuote-background': '#f8f8f8',
      '--vscode-textBlockQuote-border': '#e5e5e5',
      '--vscode-textCodeBlock-background': '#f8f8f8',
      '--vscode-charts-green': '#388a34',
      '--vscode-charts-red': '#e51400',
      '--vscode-focusBorder': '#005fb8',
      '--vscode-panel-border': '#e5e5e5',
      '--vscode-widget-border': '#e5e5e5',
      '--vscode-button-background': '#005fb8',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-secondaryBackground': '#e5e5e5',
      '--vscode-button-secondaryForeground': '#3b3b3b',
      '--vscode-editorHoverWidget-background': '#f8f8f8',
      '--vscode-editorHoverWidget-border': '#c8c8c8',
      '--vscode-editorWarning-foreground': '#bf8803',
      '--vscode-settings-checkboxBackground': '#f8f8f8',
      '--vscode-settings-checkboxBorder': '#cecece',
      '--vscode-settings-checkboxForeground': '#3b3b3b',
      '--vscode-settings-dropdownBackground': '#ffffff',
      '--vscode-settings-dropdownForeground': '#3b3b3b',
      '--vscode-settings-dropdownBorder': '#cecece',
      '--vscode-settings-dropdownListBorder': '#c8c8c8',
      '--vscode-list-activeSelectionBackground': '#e8e8e8',
      '--vscode-list-activeSelectionForeground': '#000000',
      '--vscode-list-hoverBackground': '#f2f2f2',
    },
  },
  hc: {
    bodyClass: 'vscode-high-contrast',
    vars: {
      ...COMMON,
      '--vscode-foreground': '#ffffff',
      '--vscode-descriptionForeground': '#ffffff',
      '--vscode-editor-background': '#000000',
      '--vscode-badge-background': '#000000',
      '--vscode-badge-foreground': '#ffffff',
      '--vscode-contrastBorder': '#6fc3df',
      '--vscode-contrastActiveBorder': '#f38518',
      '--vscode-focusBorder': '#f38518',
      '--vscode-panel-border': '#6fc3df',
      '--vscode-button-background': '#000000',
      '--vscode-button-border': '#6fc3df',
      '--vscode-button-secondaryBackground': '#000000',
      '--vscode-button-secondaryForeground': '#ffffff',
      '--vscode-editorHoverWidget-background': '#0c141f',
      '--vscode-editorHoverWidget-border': '#6fc3df',
      '--vscode-settings-checkboxBackground': '#000000',
      '--vscode-settings-checkboxBorder': '#6fc3df',
      '--vscode-settings-dropdownBackground': '#000000',
      '--vscode-settings-dropdownBorder': '#6fc3df',
      '--vscode-settings-dropdownListBorder': '#6fc3df',
    },
  },
};

/**
 * One headless Chromium for the tests of a file: launched before them (after `setup`, e.g. building dist/),
 * closed after them. `browserOrSkip(t)` is that browser, or undefined once `t` has been skipped loudly
 * because Chromium is missing (on CI chromiumMissing() throws instead).
 */
export function chromiumForTests(setup?: () => void | Promise<void>): { browserOrSkip: (t: TestContext) => Browser | undefined } {
  const missing = chromiumMissing();
  let browser: Browser | undefined;
  before(async () => {
    await setup?.();
    if (missing === undefined) browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  });
  after(async () => {
    await browser?.close();
  });
  return {
    browserOrSkip: (t) => {
      if (missing === undefined && browser !== undefined) return browser;
      skipLoudly(t, missing ?? 'no browser');
      return undefined;
    },
  };
}

/**
 * What VS Code gives every webview page, installed before the page's own scripts run: `acquireVsCodeApi`
 * (posted messages recorded in `window.__posted`, state kept in `window.__state`, starting at `savedState`),
 * the theme's variables and body class; CSP violations are recorded in `window.__csp`.
 */
export async function installWebviewStandIns(page: Page, options: { theme?: keyof typeof THEMES; savedState?: unknown } = {}): Promise<void> {
  const theme = THEMES[options.theme ?? 'dark'];
  // A string, not a function: tsx (esbuild keepNames) would inject a `__name` helper the page lacks.
  await page.addInitScript(`
    window.__posted = [];
    window.__state = ${JSON.stringify(options.savedState ?? null)} ?? undefined;
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => { window.__posted.push(m); },
      getState: () => window.__state,
      setState: (s) => { window.__state = s; },
    });
    document.addEventListener('DOMContentLoaded', () => {
      for (const [k, v] of Object.entries(${JSON.stringify(theme.vars)})) document.documentElement.style.setProperty(k, v);
      document.body.classList.add(${JSON.stringify(theme.bodyClass)});
    });
  `);
}

export interface PanelPage {
  page: Page;
  posted: () => Promise<unknown[]>;
  cspViolations: () => Promise<string[]>;
  send: (message: unknown) => Promise<void>;
}

export interface OpenPanelOptions {
  savedState?: unknown;
  theme?: keyof typeof THEMES;
  viewport?: { width: number; height: number };
  /** `vscode.env.language` and `vscode.l10n.bundle` as the host passes them (e.g. 'fr' and l10n/bundle.l10n.fr.json). */
  lang?: string;
  l10nBundle?: Record<string, string>;
}

export async function openPanel(b: Browser, options: OpenPanelOptions = {}): Promise<PanelPage> {
  const page = await b.newPage({ viewport: options.viewport ?? { width: 900, height: 700 } });
  const nonce = makeNonce();
  const html = renderPanelHtml({ cspSource: ORIGIN, scriptUri: `${ORIGIN}/dist/webview.js`, styleUri: `${ORIGIN}/media/panel.css`, nonce, lang: options.lang, l10nBundle: options.l10nBundle });
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/index.html') return route.fulfill({ contentType: 'text/html', body: html });
    const rel = path.posix.normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
    const allowed = rel === 'dist/webview.js' || (rel.startsWith('media/') && !rel.includes('..'));
    if (!allowed) return route.fulfill({ status: 404, body: '' });
    const type = rel.endsWith('.js') ? 'text/javascript' : rel.endsWith('.css') ? 'text/css' : rel.endsWith('.ttf') ? 'font/ttf' : rel.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream';
    try {
      return await route.fulfill({ contentType: type, body: readFileSync(path.join(REPO_ROOT, rel)) });
    } catch {
      return route.fulfill({ status: 404, body: '' });
    }
  });
  await installWebviewStandIns(page, options);
  await page.goto(`${ORIGIN}/index.html`);
  return {
    page,
    posted: () => page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted),
    cspViolations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp),
    send: (message) => page.evaluate((m) => window.postMessage(m, '*'), message),
  };
}
