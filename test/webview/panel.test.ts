/**
 * The panel's webview in a real Chromium (Debian's, driven by playwright-core): the exact HTML and
 * Content-Security-Policy the extension serves, the bundled dist/webview.js, and a recorded host
 * message (test/fixtures/messages/analysis.json: a real analysis of line 2 of notes.txt by the test
 * model, as the CLI's --json printed it). `acquireVsCodeApi` is the only stand-in: it records what the
 * webview posts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import { hostToWebview, type AnalysisMessage, type ErrorMessage } from '../../src/protocol/webview';
import { REPO_ROOT, RESULTS_DIR } from '../e2e/harness/environment';
import { ensureBuilt } from '../unit/helpers/build';
import { chromiumForTests, openPanel as open } from './harness';

const recorded = hostToWebview(JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'messages', 'analysis.json'), 'utf8')), 'fixture') as AnalysisMessage;

/** The panel served like VS Code serves it (test/webview/harness.ts), optionally restored from a saved state. */
const openPanel = (b: Browser, savedState?: unknown) => open(b, { savedState });

const { browserOrSkip } = chromiumForTests(ensureBuilt);

test('the panel posts ready, renders a recorded analysis under the real CSP, and saves it as state', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, posted, cspViolations, send } = await openPanel(browser);
  try {
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    assert.deepEqual(await posted(), [{ type: 'ready' }], 'the webview announces itself before anything else');

    await send(recorded);
    await page.locator('[data-testid="app"][data-state="analysis"]').waitFor();
    const a = recorded.analysis;
    const content = a.tokens.filter((tok) => tok.special !== true);
    assert.ok(content.length < a.tokens.length, 'the recording starts with the BOS the tokenizer adds');
    assert.equal(await page.locator('[data-testid="prompt"]').innerText(), a.prompt);
    assert.equal(await page.locator('[data-testid="origin"]').innerText(), 'Line at line 2 of notes.txt');
    const chips = page.locator('[data-testid="tokens"] .token');
    assert.equal(await chips.count(), content.length);
    assert.deepEqual(await chips.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-token-id')))), content.map((tok) => tok.id));
    assert.equal((await chips.evaluateAll((els) => els.map((e) => e.getAttribute('data-text')))).join(''), a.prompt);
    // Whitespace inside a token is made visible: " chat" is shown as "·chat".
    assert.equal(await chips.nth(1).innerText(), content[1]?.text.replace(/ /g, '·'));
    assert.equal(await page.locator('[data-testid="token-count"]').innerText(), String(content.length));

    // Languages by layer: one row per layer k = L..0, one cell per token with the recorded nearest language.
    const heat = page.locator('[data-testid="languages"] table.heat tr[data-layer]');
    assert.equal(await heat.count(), a.layers.length);
    const top = a.layers[a.layers.length - 1];
    assert.deepEqual(await heat.first().locator('td').evaluateAll((els) => els.map((e) => e.getAttribute('data-lang'))), top?.nearest);
    const colours = await heat.first().locator('td').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.backgroundColor));
    assert.ok(colours.every((c) => c !== ''), 'every cell is coloured by its language');
    assert.equal(await page.locator('[data-testid="steered-languages"] table.heat tr[data-layer]').count(), a.steered?.layers.length);
    // Base and steered continuations side by side.
    assert.equal(await page.locator('[data-testid="continuations"] [data-testid="base"] p').innerText(), a.prompt + (a.continuations?.base.text ?? ''));
    assert.equal(await page.locator('[data-testid="continuations"] [data-testid="steered"] p').innerText(), a.prompt + (a.continuations?.steered?.text ?? ''));

    const rows = page.locator('table.next tbody tr');
    assert.equal(await rows.count(), a.nextTokens.length);
    assert.equal(await rows.first().locator('.prob').innerText(), `${((a.nextTokens[0]?.probability ?? 0) * 100).toFixed(1)} %`);
    assert.equal(await page.locator('[data-testid="argmax"]').getAttribute('data-token-id'), String(a.nextTokens[0]?.id));
    // The probability bar is as wide as the probability (set through CSSOM, allowed by the CSP).
    const barWidths = await rows.locator('.bar').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.width));
    assert.equal(barWidths[0], `${Math.round((a.nextTokens[0]?.probability ?? 0) * 100)}%`);
    assert.equal(await page.locator('[data-fact="Hidden size"]').innerText(), String(a.model.hiddenSize));

    const state = await page.evaluate(() => (window as unknown as { __state: unknown }).__state);
    assert.deepEqual(state, recorded, 'the rendered message is saved for panel restore');
    assert.deepEqual(await cspViolations(), [], 'nothing the panel does is blocked by its Content-Security-Policy');

    await mkdir(path.join(RESULTS_DIR, 'webview'), { recursive: true });
    await page.screenshot({ path: path.join(RESULTS_DIR, 'webview', 'analysis.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test('the panel ignores invalid messages and never renders model text as HTML', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, send, cspViolations } = await openPanel(browser);
  try {
    const hostile = structuredClone(recorded);
    hostile.requestId = 8;
    hostile.analysis.tokens = [{ id: 1, piece: 'x', text: '<img src=x onerror="document.title=\'pwned\'">' }];
    await send(hostile);
    await page.locator('[data-testid="app"][data-request-id="8"]').waitFor();
    assert.equal(await page.locator('[data-testid="tokens"] img').count(), 0, 'token text is text, not markup');
    assert.equal(await page.locator('[data-testid="tokens"] .token').first().innerText(), '<img·src=x·onerror="document.title=\'pwned\'">');

    await send({ type: 'analysis', requestId: 9, origin: recorded.origin, analysis: { prompt: 42 } });
    await send({ type: 'launchMissiles' });
    await page.waitForTimeout(200); // give a wrongly accepted message the chance to render
    assert.equal(await page.locator('[data-testid="app"]').getAttribute('data-request-id'), '8', 'invalid messages change nothing');

    assert.notEqual(await page.title(), 'pwned');
    assert.deepEqual(await cspViolations(), []);
  } finally {
    await page.close();
  }
});

test('a restored panel (VS Code reload) renders its saved state before the host sends anything', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, posted } = await openPanel(browser, recorded);
  try {
    await page.locator('[data-testid="app"][data-state="analysis"][data-request-id="7"]').waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('[data-testid="tokens"] .token').count(), recorded.analysis.tokens.filter((tok) => tok.special !== true).length);
    assert.deepEqual(await posted(), [{ type: 'ready' }]);
  } finally {
    await page.close();
  }
});

test('the error view shows the message and hint and posts Open Settings / Try Again', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, posted, send } = await openPanel(browser);
  try {
    const error: ErrorMessage = {
      type: 'error',
      requestId: 3,
      prompt: 'Bonjour',
      origin: { kind: 'selection', fileName: 'a.md', line: 4 },
      error: { code: 'MODEL_NOT_FOUND', message: 'Model folder not found: /nope', hint: 'Point the setting polyglotLens.modelPath at a model folder.' },
    };
    await send(error);
    const box = page.locator('[data-testid="error"]');
    await box.waitFor();
    assert.equal(await box.getAttribute('data-code'), 'MODEL_NOT_FOUND');
    assert.equal(await page.locator('[data-testid="error-message"]').innerText(), 'Model folder not found: /nope');
    assert.match(await box.innerText(), /polyglotLens\.modelPath/);
    assert.equal(await page.locator('[data-testid="origin"]').innerText(), 'Selection at line 5 of a.md');
    await page.locator('vscode-button[data-action="open-settings"]').click();
    await page.locator('vscode-button[data-action="rerun"]').click();
    assert.deepEqual((await posted()).slice(1), [{ type: 'openSettings', setting: 'polyglotLens.modelPath' }, { type: 'rerun' }]);
    await page.screenshot({ path: path.join(RESULTS_DIR, 'webview', 'error.png'), fullPage: true });
  } finally {
    await page.close();
  }
});
