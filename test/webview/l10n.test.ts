/**
 * The panel in another display language, in a real Chromium: the host embeds the bundle VS Code gives it
 * (`vscode.l10n.bundle`, here read from l10n/bundle.l10n.<lang>.json as VS Code does) in the panel's HTML,
 * and the webview hands it to @vscode/l10n before its first render. Expected texts are read from the
 * committed translation files, never from the webview's code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { hostToWebview, type PanelMessage } from '../../src/protocol/webview';
import { REPO_ROOT } from '../e2e/harness/environment';
import { ensureBuilt } from '../unit/helpers/build';
import { chromiumForTests, openPanel } from './harness';

const recorded = hostToWebview(JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'messages', 'panel.json'), 'utf8')), 'fixture') as PanelMessage;

function bundle(lang: string): Record<string, string> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'l10n', `bundle.l10n.${lang}.json`), 'utf8')) as Record<string, string>;
}

const { browserOrSkip } = chromiumForTests(ensureBuilt);

test('with the French bundle the panel speaks French from the first paint, under the real CSP', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const fr = bundle('fr');
  const { page, cspViolations, send } = await openPanel(browser, { lang: 'fr', l10nBundle: fr });
  try {
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    // Before any message: the placeholder, with the command name in bold.
    const placeholder = page.locator('[data-testid="placeholder"]');
    await placeholder.waitFor();
    assert.equal(await placeholder.locator('strong').innerText(), fr['Polyglot Lens: Steer Prompt']);
    assert.equal(await placeholder.innerText(), (fr['Run {0} with the cursor on a prompt.'] ?? '').replace('{0}', fr['Polyglot Lens: Steer Prompt'] ?? ''));

    await send(recorded);
    await page.locator('[data-testid="app"][data-state="panel"]').waitFor();
    const heading = (await page.locator('#heatmap-title').innerText()).trim();
    assert.equal(heading, fr['Language by layer']);
    assert.equal(heading, 'Langue par couche');
    assert.equal((await page.locator('#vectors-title').innerText()).trim().split('\n')[0]?.trim(), fr['Steering vectors']);
    assert.equal((await page.locator('#continuations-title').innerText()).trim(), fr['Continuations']);
    // A string with arguments: the translation's word order, the host's values.
    const k = await page.locator('#inspector-title .subtitle').innerText();
    assert.match(k, new RegExp(`^${(fr['Layer {0}'] ?? '').replace('{0}', '\\d+')}`));
    assert.deepEqual(await cspViolations(), [], 'the embedded bundle needs no CSP exception');
  } finally {
    await page.close();
  }
});

test('with the Chinese bundle the heading is Chinese; without a bundle the panel stays English', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const zh = bundle('zh-cn');
  for (const [options, expected] of [
    [{ lang: 'zh-cn', l10nBundle: zh }, zh['Language by layer']],
    [{}, 'Language by layer'],
  ] as const) {
    const { page, send } = await openPanel(browser, options);
    try {
      await send(recorded);
      await page.locator('[data-testid="app"][data-state="panel"]').waitFor();
      assert.equal((await page.locator('#heatmap-title').innerText()).trim(), expected);
    } finally {
      await page.close();
    }
  }
});

test('a translation cannot break out of the data block the bundle travels in', async (t) => {
  const browser = browserOrSkip(t);
  if (browser === undefined) return;
  const hostile = '</script><script>window.__injected = true</script><!-- & "quotes"';
  const { page, cspViolations, send } = await openPanel(browser, { lang: 'fr', l10nBundle: { ...bundle('fr'), 'Language by layer': hostile } });
  try {
    await send(recorded);
    await page.locator('[data-testid="app"][data-state="panel"]').waitFor();
    assert.equal((await page.locator('#heatmap-title').innerText()).trim(), hostile, 'shown as text, exactly');
    assert.equal(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected), undefined);
    assert.deepEqual(await cspViolations(), []);
  } finally {
    await page.close();
  }
});
