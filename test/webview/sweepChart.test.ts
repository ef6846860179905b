/**
 * The layer × strength chart of Evaluate Steering Vector… in a real Chromium, under its own CSP: the cells
 * are coloured by language control from the theme's green (0 % = the editor background), the best cell and
 * the current setting are marked, and selecting a cell or "Apply best" posts the setting to apply.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FILL_AT_FULL, sweepChartHtml, sweepChartIntent } from '../../src/extension/sweepChart';
import type { SweepReport } from '../../src/protocol/engine';
import { safeParse } from '../../src/protocol/validate';
import { RESULTS_DIR } from '../e2e/harness/environment';
import { chromiumForTests, installWebviewStandIns, ORIGIN, THEMES } from './harness';

const SHOTS = path.join(RESULTS_DIR, 'webview');
const { browserOrSkip } = chromiumForTests(async () => {
  await mkdir(SHOTS, { recursive: true });
});

const cell = (layer: number, j: number, natural: number, languageControl: number, chrF: number) => ({ layer, strength: natural * [0.5, 1, 2][j]!, multiple: [0.5, 1, 2][j]!, languageControl, degenerate: 0, chrF });
const cells = [cell(2, 0, 0.4, 0, 3), cell(2, 1, 0.4, 50, 8), cell(2, 2, 0.4, 87.5, 9), cell(3, 0, 0.38, 25, 6), cell(3, 1, 0.38, 100, 12.2), cell(3, 2, 0.38, 100, 7)];
const REPORT: SweepReport = { vector: 'fr-en', source: 'fr', target: 'en', corpus: '/m/corpus/dev.jsonl', prompts: 8, maxNewTokens: 16, layers: [2, 3], multiples: [0.5, 1, 2], cells, best: cells[4]! };

function rgb(css: string): [number, number, number] {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  // color-mix() in sRGB computes to color(srgb r g b) in Chromium.
  const c = /color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)/.exec(css);
  assert.ok(c, `not a colour: ${css}`);
  return [Math.round(Number(c[1]) * 255), Math.round(Number(c[2]) * 255), Math.round(Number(c[3]) * 255)];
}

function hex(h: string): [number, number, number] {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

test('the sweep chart: cells coloured by language control, best and current marked, a click posts the setting', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const theme = THEMES.dark;
  const nonce = 'N0nceForTheSweepChartTest0123456';
  const html = sweepChartHtml(REPORT, { vectorName: 'fr-en', nonce, cspSource: ORIGIN, current: { layer: 2, strength: 0.2 } });
  const page = await browser.newPage({ viewport: { width: 760, height: 520 } });
  await page.route(`${ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await installWebviewStandIns(page, { theme: 'dark' });
  try {
    await page.goto(`${ORIGIN}/chart.html`);
    const buttons = page.locator('td button');
    assert.equal(await buttons.count(), 6);
    // Colour: the theme's green mixed into the editor background in proportion to language control (0 % = the
    // background, 100 % = FILL_AT_FULL green, so text stays readable); the colours come through the CSP.
    const background = async (i: number): Promise<[number, number, number]> => rgb(await buttons.nth(i).evaluate((b) => getComputedStyle(b).backgroundColor));
    const green = hex(theme.vars['--vscode-charts-green']!);
    const editor = hex(theme.vars['--vscode-editor-background']!);
    const close = (a: number[], b: number[]): boolean => a.every((x, i) => Math.abs(x - (b[i] as number)) <= 2);
    const mix = (share: number): number[] => green.map((g, i) => share * g + (1 - share) * (editor[i] as number));
    assert.ok(close(await background(4), mix(FILL_AT_FULL)), `100 % cell: ${String(await background(4))} vs ${String(mix(FILL_AT_FULL))}`);
    assert.ok(close(await background(0), editor), `0 % cell: ${String(await background(0))} vs ${String(editor)}`);
    const half = await background(1);
    assert.ok(close(half, mix(FILL_AT_FULL / 2)), `50 % cell is half as green: ${String(half)}`);
    const apply = page.getByRole('button', { name: /Apply best/ });
    assert.ok(close(rgb(await apply.evaluate((b) => getComputedStyle(b).backgroundColor)), hex(theme.vars['--vscode-button-background']!)), 'the Apply button wears the theme’s button colour');
    // Marks: ★ on the best cell (k = 3, ×1 natural), ● on the current setting (k = 2, ×0.5).
    assert.match((await buttons.nth(4).textContent()) ?? '', /100 % ★/);
    assert.equal(await page.locator('td.best').count(), 1);
    assert.match((await buttons.nth(0).textContent()) ?? '', /0 % ●/);
    assert.match((await page.locator('th[scope="row"]').allTextContents()).join('|'), /^k = 2\|k = 3$/);
    assert.match(await buttons.nth(4).getAttribute('aria-label') ?? '', /Layer k = 3, strength ×0\.38: 100 % of continuations in English, chrF 12\.2/);
    // Clicks post the cell's setting; "Apply best" posts the best one.
    await buttons.nth(2).click();
    await page.getByRole('button', { name: /Apply best \(k = 3, ×0\.38\)/ }).click();
    const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
    assert.deepEqual(
      posted.map((m) => {
        const r = safeParse(sweepChartIntent, m, 'posted');
        assert.ok(r.ok);
        return r.value;
      }),
      [
        { type: 'apply', layer: 2, strength: 0.8 },
        { type: 'apply', layer: 3, strength: 0.38 },
      ],
    );
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), [], 'no CSP violations');
    await page.screenshot({ path: path.join(SHOTS, 'sweep-chart.png') });
  } finally {
    await page.close();
  }
});
