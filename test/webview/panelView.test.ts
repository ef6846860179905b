/**
 * The full panel (heatmap, vector toggles, continuations, layer inspector) in a real Chromium, under the
 * panel's real HTML and CSP, from a recorded `panel` message (test/fixtures/messages/panel.json, written by
 * test/webview/fixtures/makePanelFixture.mjs: 7 layers, 10 tokens, 11 languages). Expected values are read
 * from the fixture JSON here, never from the webview's own code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { hostToWebview, panelIntent, type PanelMessage } from '../../src/protocol/webview';
import { safeParse } from '../../src/protocol/validate';
import { REPO_ROOT, RESULTS_DIR } from '../e2e/harness/environment';
import { ensureBuilt } from '../unit/helpers/build';
import { chromiumForTests, openPanel } from './harness';

const raw: unknown = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'messages', 'panel.json'), 'utf8'));
const recorded = hostToWebview(raw, 'fixture') as PanelMessage;
const vm = recorded.view;
const SHOTS = path.join(RESULTS_DIR, 'webview');
/** SLIDER_DEBOUNCE_MS of src/webview/vectors.ts (not imported: that module defines custom elements, which Node lacks). */
const SLIDER_DEBOUNCE_MS = 150;

const { browserOrSkip } = chromiumForTests(async () => {
  ensureBuilt();
  await mkdir(SHOTS, { recursive: true });
});

type Rgb = [number, number, number];

function rgb(css: string): Rgb {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  assert.ok(m, `not an rgb() colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Hue in degrees (HSL); mixing a colour with a neutral grey keeps its hue. */
function hue([r, g, b]: Rgb): number {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max === min) return 0;
  const d = max - min;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return Math.min(d, 360 - d);
}

async function panel(b: Browser, theme: 'dark' | 'light' | 'hc' = 'dark', viewport = { width: 1100, height: 800 }) {
  const p = await openPanel(b, { theme, viewport });
  await p.page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
  await p.send(recorded);
  await p.page.locator('[data-testid="app"][data-state="panel"] [data-testid="heatmap"]').waitFor();
  return p;
}

async function pressed(page: Page, group: string, value: string): Promise<void> {
  await page.locator(`[data-testid="${group}"] vscode-button[data-value="${value}"]`).click();
  await page.locator(`[data-testid="${group}"] vscode-button[data-value="${value}"][aria-pressed="true"]`).waitFor();
}

test('the heatmap draws one cell per token and layer, coloured by the nearest language, with a legend', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, cspViolations } = await panel(browser);
  try {
    await pressed(page, 'steering-switch', 'base');
    const cells = page.locator('[data-testid="heatmap"] .hm-cell');
    assert.equal(await cells.count(), vm.tokens.length * vm.layers.length, '10 tokens x 7 layers');
    assert.equal(vm.tokens.length, 10);
    assert.equal(vm.layers.length, 7);

    // Rows top-down are k = 6 .. 0: the embeddings at the bottom, labelled.
    const rowKs = await page.locator('[data-testid="heatmap"] .hm-row[data-k]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-k'))));
    assert.deepEqual(rowKs, [6, 5, 4, 3, 2, 1, 0]);
    assert.match(await page.locator('[data-testid="heatmap"] .hm-row[data-k="0"] .hm-rowheader').innerText(), /embeddings/);
    // Column headers show the token text with its whitespace visible.
    const headers = await page.locator('[data-testid="heatmap"] .token-header').allInnerTexts();
    assert.deepEqual(headers, vm.tokens.map((tok) => tok.replace(/ /g, '\u00b7')));

    // Legend: one entry per language, in the fixture's order.
    const legend = page.locator('[data-testid="legend"] .legend-entry');
    assert.equal(await legend.count(), 11);
    assert.deepEqual(await legend.evaluateAll((els) => els.map((e) => e.getAttribute('data-language'))), vm.languages.map((l) => l.code));
    assert.deepEqual(await legend.locator('.legend-name').allInnerTexts(), vm.languages.map((l) => l.name));
    const swatch: Record<string, Rgb> = {};
    for (const l of vm.languages) swatch[l.code] = rgb(await page.locator(`[data-testid="legend"] .legend-entry[data-language="${l.code}"] .swatch`).evaluate((e) => getComputedStyle(e).backgroundColor));
    const hues = Object.values(swatch).map(hue);
    for (let i = 0; i < hues.length; i++) for (let j = i + 1; j < hues.length; j++) assert.ok(hueDistance(hues[i] as number, hues[j] as number) > 4 || JSON.stringify(Object.values(swatch)[i]) !== JSON.stringify(Object.values(swatch)[j]), 'distinct colours per language');

    // Each cell's colour has the hue of its nearest language's legend swatch (the fixture says which).
    const drawn = await cells.evaluateAll((els) => els.map((e) => ({ k: Number(e.getAttribute('data-k')), col: Number(e.getAttribute('data-col')), bg: getComputedStyle(e).backgroundColor, text: e.textContent ?? '' })));
    const background = rgb(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
    const distanceFromBackground = (c: Rgb): number => Math.hypot(c[0] - background[0], c[1] - background[1], c[2] - background[2]);
    const byLanguage = new Map<string, { similarity: number; distance: number }[]>();
    for (const d of drawn) {
      const cell = vm.layers.find((l) => l.k === d.k)?.cells[d.col];
      assert.ok(cell, `cell k=${d.k} col=${d.col}`);
      const colour = rgb(d.bg);
      assert.ok(hueDistance(hue(colour), hue(swatch[cell.nearest] as Rgb)) < 6, `k=${d.k} token ${d.col}: hue ${hue(colour).toFixed(0)} is ${cell.nearest}'s ${hue(swatch[cell.nearest] as Rgb).toFixed(0)}`);
      assert.ok(d.text.startsWith(cell.nearest), 'the cell names its language too (not colour alone)');
      const list = byLanguage.get(cell.nearest) ?? [];
      list.push({ similarity: cell.similarity, distance: distanceFromBackground(colour) });
      byLanguage.set(cell.nearest, list);
    }
    // Nearer = stronger colour: within a language, the colour moves away from the background as similarity grows.
    for (const [code, list] of byLanguage) {
      const sorted = [...list].sort((a, b) => a.similarity - b.similarity);
      for (let i = 1; i < sorted.length; i++) assert.ok((sorted[i]?.distance ?? 0) >= (sorted[i - 1]?.distance ?? 0) - 1.5, `${code}: colour strength follows similarity`);
      if (sorted.length > 1 && (sorted.at(-1)?.similarity ?? 0) - (sorted[0]?.similarity ?? 0) > 0.1) assert.ok((sorted.at(-1)?.distance ?? 0) > (sorted[0]?.distance ?? 0) + 10);
    }
    assert.deepEqual(await cspViolations(), []);
    await page.locator('[data-testid="heatmap-section"]').screenshot({ path: path.join(SHOTS, 'heatmap-unsteered.png') });
  } finally {
    await page.close();
  }
});

test('hovering a cell shows a tooltip with every language’s similarity for that cell', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page } = await panel(browser);
  try {
    await pressed(page, 'steering-switch', 'base');
    const k = 3;
    const col = 1;
    await page.locator(`[data-testid="heatmap"] .hm-cell[data-k="${k}"][data-col="${col}"]`).hover();
    const tooltip = page.locator('[data-testid="tooltip"]');
    await tooltip.waitFor({ state: 'visible' });
    const text = await tooltip.innerText();
    const cell = vm.layers[k]?.cells[col];
    assert.ok(cell);
    assert.match(text, /Layer 3/);
    assert.match(text, /·chat/);
    for (const l of vm.languages) {
      const value = (cell.similarities[l.code] ?? NaN).toFixed(3);
      assert.ok(text.includes(l.name), `${l.name} listed`);
      assert.ok(text.includes(value), `${l.name}'s similarity ${value} shown`);
    }
    // Sorted: the nearest language first.
    assert.equal(await tooltip.locator('tr').first().getAttribute('data-language'), cell.nearest);
    await page.screenshot({ path: path.join(SHOTS, 'heatmap-tooltip.png') });
    // The heatmap with its tooltip, cropped (the picture for docs/images/panel-heatmap.png).
    const section = await page.locator('[data-testid="heatmap-section"]').boundingBox();
    const tip = await tooltip.boundingBox();
    assert.ok(section && tip);
    const x = Math.min(section.x, tip.x) - 8;
    const y = Math.min(section.y, tip.y) - 8;
    const clip = { x, y, width: Math.max(section.x + section.width, tip.x + tip.width) + 8 - x, height: Math.max(section.y + section.height, tip.y + tip.height) + 8 - y };
    await page.screenshot({ path: path.join(SHOTS, 'heatmap-with-tooltip.png'), clip });
  } finally {
    await page.close();
  }
});

test('arrow keys move the focused cell, each with an aria label; Enter picks the layer for the inspector', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page } = await panel(browser);
  try {
    await pressed(page, 'steering-switch', 'base');
    const grid = page.locator('[data-testid="heatmap"]');
    assert.equal(await grid.getAttribute('role'), 'grid');
    // One tab stop for the whole grid (roving tabindex).
    assert.equal(await grid.locator('.hm-cell[tabindex="0"]').count(), 1);
    await grid.locator('.hm-cell[tabindex="0"]').focus();
    const focused = () => page.evaluate(() => ({ k: document.activeElement?.getAttribute('data-k'), col: document.activeElement?.getAttribute('data-col'), label: document.activeElement?.getAttribute('aria-label') }));
    const start = await focused();
    assert.deepEqual([start.k, start.col], ['6', '0']);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const moved = await focused();
    assert.deepEqual([moved.k, moved.col], ['5', '2']);
    const cell = vm.layers[5]?.cells[2];
    assert.equal(moved.label, `Layer 5, token " dort": nearest ${vm.languages.find((l) => l.code === cell?.nearest)?.name}, similarity ${cell?.similarity.toFixed(2)}`);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp'); // past the top: stays on k = 6
    assert.equal((await focused()).k, '6');
    await page.keyboard.press('End');
    assert.equal((await focused()).col, String(vm.tokens.length - 1));
    await page.keyboard.press('PageDown');
    assert.equal((await focused()).k, '0');
    assert.equal(await grid.locator('.hm-cell[tabindex="0"]').count(), 1);
    // The tooltip follows keyboard focus too.
    assert.ok(await page.locator('[data-testid="tooltip"]').isVisible());
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="inspector"][data-k="0"]').waitFor();
  } finally {
    await page.close();
  }
});

test('a table alternative carries the same numbers for screen readers', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page } = await panel(browser);
  try {
    await pressed(page, 'steering-switch', 'base');
    const table = page.locator('[data-testid="heatmap-table"]');
    assert.equal(await table.count(), 1);
    assert.match(await table.locator('caption').innerText(), /Nearest language/);
    assert.equal(await table.locator('tbody tr').count(), 7);
    assert.equal(await table.locator('thead th').count(), 11);
    const row = await table.locator('tbody tr[data-k="0"] td').allTextContents();
    assert.deepEqual(row, vm.layers[0]?.cells.map((c) => `${vm.languages.find((l) => l.code === c.nearest)?.name} ${c.similarity.toFixed(2)}`));
    // Visually hidden (but in the accessibility tree) until the Table button shows it.
    assert.equal(await table.evaluate((e) => (e.parentElement?.getBoundingClientRect().width ?? 99) <= 1), true);
    await page.locator('[data-testid="table-toggle"]').click();
    await page.locator('.hm-table-wrap:not(.sr-only) [data-testid="heatmap-table"]').waitFor();
    assert.ok((await page.locator('[data-testid="heatmap-table"]').evaluate((e) => e.getBoundingClientRect().width)) > 200);
  } finally {
    await page.close();
  }
});

test('steered, difference and language x layer views show what the fixture says changed', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page } = await panel(browser);
  try {
    const steered = vm.steeredLayers;
    assert.ok(steered);
    // Steered is the default when the host sends a steered analysis.
    assert.equal(await page.locator('[data-testid="heatmap"]').getAttribute('data-steering'), 'steered');
    const shownLanguages = await page.locator('[data-testid="heatmap"] .hm-cell').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-k')}/${e.getAttribute('data-col')}/${e.getAttribute('data-language')}`));
    assert.deepEqual(new Set(shownLanguages), new Set(steered.flatMap((l) => l.cells.map((c, j) => `${l.k}/${j}/${c.nearest}`))));

    await pressed(page, 'steering-switch', 'diff');
    const changed = steered.flatMap((l, r) => l.cells.map((c, j) => ({ k: l.k, j, from: vm.layers[r]?.cells[j]?.nearest, to: c.nearest }))).filter((x) => x.from !== x.to);
    assert.ok(changed.length > 0);
    const marked = await page.locator('[data-testid="heatmap"] .hm-cell[data-changed="true"]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-k')}/${e.getAttribute('data-col')}/${e.textContent}`));
    assert.deepEqual(marked.sort(), changed.map((c) => `${c.k}/${c.j}/${c.from}\u2192${c.to}`).sort());
    await page.locator('[data-testid="heatmap-section"]').screenshot({ path: path.join(SHOTS, 'heatmap-difference.png') });

    await pressed(page, 'view-switch', 'languages');
    await pressed(page, 'steering-switch', 'base');
    const cells = page.locator('[data-testid="heatmap"] .hm-cell');
    assert.equal(await cells.count(), 7 * 11);
    // The best language of each layer (argmax of the prompt similarity, computed here) is marked.
    for (const l of vm.layers) {
      const best = vm.languages.reduce((a, b) => ((l.promptSimilarity[b.code] ?? -1) > (l.promptSimilarity[a.code] ?? -1) ? b : a)).code;
      assert.deepEqual(await page.locator(`[data-testid="heatmap"] .hm-cell.best[data-k="${l.k}"]`).evaluateAll((els) => els.map((e) => e.getAttribute('data-language'))), [best]);
    }
    await page.locator('[data-testid="heatmap-section"]').screenshot({ path: path.join(SHOTS, 'heatmap-languages.png') });
  } finally {
    await page.close();
  }
});

test('vector toggles post setVector intents: checkbox at once, layer on change, slider drags debounced', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, posted } = await panel(browser);
  try {
    const rows = page.locator('[data-testid="vectors"] li.vector');
    assert.equal(await rows.count(), vm.vectors.length);
    assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-vector-id'))), vm.vectors.map((v) => v.id));
    type SetVector = { type: string; id: string; enabled: boolean; layer: number; strength: number };
    const intents = async (): Promise<SetVector[]> => ((await posted()) as SetVector[]).filter((m) => m.type !== 'ready');

    // Checkbox: one message with the vector's whole setting.
    const enFr = vm.vectors.find((v) => v.id === 'en-fr');
    assert.ok(enFr && !enFr.enabled);
    await page.locator('li[data-vector-id="en-fr"] vscode-checkbox').click();
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length >= 2);
    assert.deepEqual(await intents(), [{ type: 'setVector', id: 'en-fr', enabled: true, layer: enFr.layer, strength: enFr.strength }]);
    assert.equal(await page.locator('[data-testid="enabled-count"]').innerText(), '2', 'the count of vectors on follows the checkbox');

    // Slider: a drag of ~40 mouse moves posts a handful of messages, the last with the final value.
    const frEn = vm.vectors.find((v) => v.id === 'fr-en');
    assert.ok(frEn?.enabled);
    const slider = page.locator('li[data-vector-id="fr-en"] input[data-role="strength"]');
    const box = await slider.boundingBox();
    assert.ok(box);
    const max = frEn.maxStrength ?? 4;
    const y = box.y + box.height / 2;
    // Chromium's range thumb is ~16 px wide: its centre runs from x+8 to x+width-8.
    const xAt = (v: number): number => box.x + 8 + (v / max) * (box.width - 16);
    await page.mouse.move(xAt(frEn.strength), y);
    await page.mouse.down();
    const dragStart = Date.now();
    for (let i = 1; i <= 40; i++) {
      await page.mouse.move(xAt(frEn.strength) + (i / 40) * (xAt(3) - xAt(frEn.strength)), y);
    }
    await page.mouse.up();
    const dragMs = Date.now() - dragStart;
    await page.waitForTimeout(400); // > the debounce
    const all = await intents();
    const drags = all.slice(1);
    // A message goes out only after the slider rests for SLIDER_DEBOUNCE_MS (or on release), so a drag of
    // dragMs posts at most dragMs / debounce + 1 of them, however slow the machine (2 cores, busy).
    const bound = Math.min(20, Math.floor(dragMs / SLIDER_DEBOUNCE_MS) + 2);
    assert.ok(drags.length >= 1 && drags.length <= bound, `a ${dragMs} ms drag of 40 moves posts at most ${bound} messages (got ${drags.length})`);
    const final = Number(await slider.inputValue());
    assert.ok(Math.abs(final - 3) < 0.15, `the slider ended near 3 (${final})`);
    assert.deepEqual(drags.at(-1), { type: 'setVector', id: 'fr-en', enabled: true, layer: frEn.layer, strength: final });
    assert.equal(await page.locator('li[data-vector-id="fr-en"] [data-role="strength-value"]').innerText(), final.toFixed(2));

    // Keyboard on the slider: each step posts after the debounce.
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    await page.waitForTimeout(400);
    const afterKey = (await intents()).at(-1);
    assert.ok(afterKey && Math.abs(afterKey.strength - (final - max / 200)) < 1e-9);

    // Layer dropdown.
    const select = page.locator('li[data-vector-id="fr-en"] vscode-single-select');
    await select.click();
    // The open list is rendered in the select's (open) shadow root, which CSS locators pierce.
    const index = frEn.layers.indexOf(5);
    await select.locator(`li[role="option"][data-index="${index}"]`).click({ timeout: 5_000 });
    await page.waitForFunction(() => (window as unknown as { __posted: { layer?: number }[] }).__posted.some((m) => m.layer === 5));
    const layerMsg = (await intents()).at(-1);
    assert.equal(layerMsg?.id, 'fr-en');
    assert.equal(layerMsg?.layer, 5);

    // Every message is a valid PanelIntent for the host's validator.
    for (const m of await intents()) assert.ok(safeParse(panelIntent, m).ok, JSON.stringify(m));
    await page.locator('[data-testid="vectors"]').screenshot({ path: path.join(SHOTS, 'vectors.png') });
  } finally {
    await page.close();
  }
});

test('continuations side by side with language badges and a token-level diff', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page } = await panel(browser);
  try {
    const c = vm.continuations;
    assert.ok(c?.steered);
    assert.equal(await page.locator('[data-testid="continuation-base"] [data-testid="language-badge"]').getAttribute('data-language'), c.base.language);
    assert.equal(await page.locator('[data-testid="continuation-steered"] [data-testid="language-badge"]').getAttribute('data-language'), c.steered.language);
    assert.match(await page.locator('[data-testid="continuation-steered"] [data-testid="language-badge"]').innerText(), /English\s*81 %/);
    // The two share " souris" and "." (their longest common subsequence, worked out by hand): everything else differs.
    const removed = await page.locator('[data-testid="continuation-base"] del.ctok').allTextContents();
    const added = await page.locator('[data-testid="continuation-steered"] ins.ctok').allTextContents();
    assert.deepEqual(removed, [' Il', ' rê', 've', ' de', ' et', ' de', ' soleil']);
    assert.deepEqual(added, [' He', ' dreams', ' of', ' and', ' of', ' sun']);
    assert.deepEqual(await page.locator('[data-testid="continuation-steered"] .ctok.same').allTextContents(), [' souris', '.']);
    const baseText = (await page.locator('[data-testid="continuation-base"] .continuation-text').textContent()) ?? '';
    assert.equal(baseText, recorded.prompt + c.base.text);
  } finally {
    await page.close();
  }
});

test('the layer inspector shows bars, logit-lens chips and a PCA picture for the picked layer', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, cspViolations } = await panel(browser);
  try {
    await pressed(page, 'steering-switch', 'base');
    await page.locator('[data-testid="heatmap"] .hm-cell[data-k="2"][data-col="4"]').click();
    const inspector = page.locator('[data-testid="inspector"][data-k="2"]');
    await inspector.waitFor();
    const layer = vm.layers[2];
    assert.ok(layer?.projection && layer.logitLens);
    const bars = inspector.locator('[data-testid="similarity-bars"] .bar-row');
    assert.equal(await bars.count(), 11);
    const expectedOrder = [...vm.languages].sort((a, b) => (layer.promptSimilarity[b.code] ?? 0) - (layer.promptSimilarity[a.code] ?? 0)).map((l) => l.code);
    assert.deepEqual(await bars.evaluateAll((els) => els.map((e) => e.getAttribute('data-language'))), expectedOrder);
    // Bar lengths are proportional to similarity (all similarities here are positive, the axis starts at 0).
    const widths = await bars.locator('rect').evaluateAll((els) => els.map((e) => Number(e.getAttribute('width'))));
    const values = expectedOrder.map((c) => layer.promptSimilarity[c] ?? 0);
    for (let i = 1; i < widths.length; i++) assert.ok(Math.abs((widths[i] as number) / (widths[0] as number) - (values[i] as number) / (values[0] as number)) < 0.02);

    assert.equal(await inspector.locator('[data-testid="projection"] .centroid').count(), layer.projection.centroids.length);
    assert.equal(await inspector.locator('[data-testid="projection"] .token-dot').count(), vm.tokens.length);
    // Centroids keep the projection's geometry: the left-most centroid in the data is the left-most on screen.
    const xs = await inspector.locator('[data-testid="projection"] .centroid circle').evaluateAll((els) => els.map((e) => Number(e.getAttribute('cx'))));
    const leftData = layer.projection.centroids.reduce((a, b) => (b.x < a.x ? b : a)).language;
    assert.equal(layer.projection.centroids[xs.indexOf(Math.min(...xs))]?.language, leftData);

    const lensRows = inspector.locator('[data-testid="logit-lens"] tbody tr');
    assert.equal(await lensRows.count(), vm.tokens.length);
    const firstChip = await lensRows.nth(1).locator('.chip').first().innerText();
    const top = layer.logitLens[1]?.[0];
    assert.ok(top);
    assert.ok(firstChip.includes(top.text.replace(/ /g, '\u00b7')) && firstChip.includes(`${Math.round(top.probability * 100)}%`), firstChip);

    await inspector.locator('[data-testid="layer-picker"] vscode-button[data-k="5"]').click();
    await page.locator('[data-testid="inspector"][data-k="5"]').waitFor();
    assert.deepEqual(await cspViolations(), []);
    await page.locator('[data-testid="inspector"]').screenshot({ path: path.join(SHOTS, 'inspector.png') });
  } finally {
    await page.close();
  }
});

test('the whole panel in the dark, light and high-contrast themes (screenshots)', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  for (const theme of ['dark', 'light', 'hc'] as const) {
    const { page, cspViolations } = await panel(browser, theme);
    try {
      await page.evaluate(() => document.fonts.ready);
      assert.ok(await page.evaluate(() => document.fonts.check('14px codicon')), 'codicons load under the CSP');
      assert.deepEqual(await cspViolations(), []);
      if (theme === 'hc') {
        // High contrast: every cell has a border and full-strength colour; nearness is in the meter bar.
        const outlines = await page.locator('[data-testid="heatmap"] .hm-cell').evaluateAll((els) => els.map((e) => getComputedStyle(e).outlineStyle));
        assert.ok(outlines.every((o) => o === 'solid'));
        // The pressed segment of each switch is told apart by more than colour.
        const pressedOutline = await page.locator('[data-testid="steering-switch"] vscode-button[aria-pressed="true"]').evaluate((e) => getComputedStyle(e).outlineStyle);
        assert.equal(pressedOutline, 'solid');
      }
      await page.screenshot({ path: path.join(SHOTS, `panel-${theme}.png`), fullPage: true });
      if (theme === 'dark') await page.locator('[data-testid="heatmap-section"]').screenshot({ path: path.join(SHOTS, 'panel-heatmap.png') });
    } finally {
      await page.close();
    }
  }
});

test('a newer analysis of the same prompt updates the panel in place: views, focus and a held slider survive', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, send } = await panel(browser);
  try {
    await pressed(page, 'steering-switch', 'diff');
    await page.locator('[data-testid="layer-picker"] vscode-button[data-k="1"]').click();
    await page.locator('[data-testid="inspector"][data-k="1"]').waitFor();
    // The user holds the fr-en slider while the host answers an earlier change.
    const slider = page.locator('li[data-vector-id="fr-en"] input[data-role="strength"]');
    await slider.evaluate((e) => ((e as HTMLElement & { __mark?: boolean }).__mark = true));
    await slider.focus();

    await send({ type: 'analyzing', requestId: 13, prompt: recorded.prompt, origin: recorded.origin });
    await page.locator('[data-testid="app"][data-state="updating"]').waitFor();
    assert.ok(await page.locator('[data-testid="busy"]').isVisible(), 'a progress bar, not a blank panel');
    assert.equal(await page.locator('[data-testid="heatmap"] .hm-cell').count(), 70);
    assert.equal((await page.evaluate(() => (window as unknown as { __state: { type: string } }).__state)).type, 'panel', 'the saved state is still the last result');

    const next = structuredClone(recorded);
    next.requestId = 14;
    const steered = next.view.continuations?.steered;
    assert.ok(steered);
    steered.tokens = [' He', ' sleeps', '.'];
    steered.text = steered.tokens.join('');
    await send(next);
    await page.locator('[data-testid="app"][data-state="panel"][data-request-id="14"]').waitFor();
    assert.equal(await page.locator('[data-testid="busy"]').isVisible(), false);
    assert.deepEqual(await page.locator('[data-testid="continuation-steered"] ins.ctok').allTextContents(), [' He', ' sleeps']);
    assert.equal(await page.locator('[data-testid="heatmap"]').getAttribute('data-steering'), 'diff', 'the heatmap keeps its mode');
    assert.equal(await page.locator('[data-testid="inspector"]').getAttribute('data-k'), '1', 'the inspector keeps its layer');
    assert.equal(await slider.evaluate((e) => (e as HTMLElement & { __mark?: boolean }).__mark === true && document.activeElement === e), true, 'the slider in use is the same element, still focused');

    // A different prompt replaces the panel.
    const other = structuredClone(recorded);
    other.requestId = 15;
    other.prompt = 'Der Hund schläft.';
    await send(other);
    await page.locator('[data-testid="app"][data-request-id="15"]').waitFor();
    assert.equal(await page.locator('[data-testid="heatmap"]').getAttribute('data-steering'), 'steered', 'a new prompt starts from the default view');
  } finally {
    await page.close();
  }
});

test('a reload restores the panel with the view the user left it in', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const first = await panel(browser);
  let state: unknown;
  try {
    await pressed(first.page, 'view-switch', 'languages');
    await pressed(first.page, 'steering-switch', 'diff');
    await first.page.locator('[data-testid="layer-picker"] vscode-button[data-k="5"]').click();
    await first.page.locator('[data-testid="inspector"][data-k="5"]').waitFor();
    state = await first.page.evaluate(() => (window as unknown as { __state: unknown }).__state);
  } finally {
    await first.page.close();
  }
  const s = state as { type: string; requestId: number; ui: { view: string; steering: string; inspectorLayer: number } };
  assert.equal(s.type, 'panel');
  assert.equal(s.requestId, recorded.requestId);
  assert.deepEqual([s.ui.view, s.ui.steering, s.ui.inspectorLayer], ['languages', 'diff', 5]);

  const { page, posted } = await openPanel(browser, { savedState: state, viewport: { width: 1100, height: 800 } });
  try {
    await page.locator('[data-testid="app"][data-state="panel"] [data-testid="heatmap"][data-view="languages"][data-steering="diff"]').waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('[data-testid="inspector"]').getAttribute('data-k'), '5');
    assert.deepEqual(await posted(), [{ type: 'ready' }]);
  } finally {
    await page.close();
  }
});

test('a view model that contradicts itself is ignored (one cell per token is required)', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const { page, send } = await panel(browser);
  try {
    const broken = structuredClone(recorded);
    broken.requestId = 99;
    broken.view.layers[3]?.cells.pop();
    await send(broken);
    await page.waitForTimeout(200);
    assert.equal(await page.locator('[data-testid="app"]').getAttribute('data-request-id'), String(recorded.requestId));
    assert.equal(await page.locator('[data-testid="heatmap"] .hm-cell').count(), 70);
  } finally {
    await page.close();
  }
});
