import assert from 'node:assert/strict';
import { test } from 'node:test';
import { panelContentSecurityPolicy, renderPanelHtml } from '../../../src/extension/panelHtml';
import { makeNonce } from '../../../src/extension/webviewHtml';

test('the CSP allows only the nonce-carrying script and the extension origin', () => {
  const csp = panelContentSecurityPolicy('https://x.vscode-cdn.net', 'N0NCE');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-N0NCE'(;|$)/);
  assert.match(csp, /style-src https:\/\/x\.vscode-cdn\.net(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
});

test('the page loads exactly one script, with the nonce, from the given webview URI', () => {
  const html = renderPanelHtml({ cspSource: 'https://c', scriptUri: 'https://c/dist/webview.js?a=1&b=2', styleUri: 'https://c/media/panel.css', nonce: 'abc+/=' });
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  assert.deepEqual(scripts, ['<script nonce="abc+/=" src="https://c/dist/webview.js?a=1&amp;b=2">']);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="[^"]*'nonce-abc\+\/='/);
  assert.doesNotMatch(html, /\son\w+=/, 'no inline event handlers');
});

test('nonces are fresh and carry 128 bits', () => {
  const a = makeNonce();
  assert.notEqual(a, makeNonce());
  assert.equal(Buffer.from(a, 'base64').length, 16);
});

test('a translation bundle travels as an inert JSON data block that no translation can close', () => {
  const bundle = { 'Language by layer': 'Langue par couche', evil: '</script><script>alert(1)</script><!--' };
  const html = renderPanelHtml({ cspSource: 'https://c', scriptUri: 'https://c/dist/webview.js', styleUri: 'https://c/media/panel.css', nonce: 'n', lang: 'fr', l10nBundle: bundle });
  assert.match(html, /<html lang="fr">/);
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  // The data block is not a script the browser runs (type application/json), so it needs no nonce.
  assert.deepEqual(scripts, ['<script type="application/json" id="l10n-bundle">', '<script nonce="n" src="https://c/dist/webview.js">']);
  const block = /<script type="application\/json" id="l10n-bundle">([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(block !== undefined && !block.includes('<'), 'no < inside the block');
  assert.deepEqual(JSON.parse(block), bundle);
  // English (no bundle): no block at all.
  assert.doesNotMatch(renderPanelHtml({ cspSource: 'https://c', scriptUri: 'https://c/w.js', styleUri: 'https://c/p.css', nonce: 'n' }), /l10n-bundle/);
});
