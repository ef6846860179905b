/**
 * The e2e scenarios, in a real VS Code (code-server) and a real Chromium, on the bundled demo model
 * and the examples/ workspace the README's quick start opens:
 *   1. a French prompt -> Steer Prompt -> the heatmap and both continuations appear;
 *   2. checking fr-en in the Steering Vectors view makes the steered continuation English (identified language shown);
 *   3. hovering a token shows the comparison;
 *   4. Select Model on a broken folder shows an error and nothing crashes;
 *   5. the panel is restored after a window reload.
 *
 * Expectations come from outside the code under test: the number of heatmap columns is the bundled
 * tokenizer applied to the prompt (read with @huggingface/tokenizers), the rows are config.json's layers + 1,
 * and the identified language comes from fastText in the engine — the fr-en vector must really move the
 * model's output for the badge to say English. Screenshots land in test-results/e2e/… (the README's come from here).
 */
import assert from 'node:assert/strict';
import { cpSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { ensureVsix } from './harness/extension';
import { REPO_ROOT } from './harness/environment';
import { VsCodeSession } from './harness/vscode';

const MODEL = path.join(REPO_ROOT, 'models', 'tiny-polyglot');
const FRENCH = 'Bonjour ! Ce paquet fournit les fichiers de données du jeu et la documentation en français.';
const FRENCH_LINE = 11; // of examples/prompts.txt (examples/README.md says so)

let vsix: string;
let workspace: string;
let brokenModel: string;

before(async () => {
  vsix = ensureVsix();
  workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'polyglot-lens-examples-'));
  cpSync(path.join(REPO_ROOT, 'examples'), workspace, { recursive: true });
  // A model folder with a config and a tokenizer but an ONNX file that is not one.
  brokenModel = await fs.mkdtemp(path.join(os.tmpdir(), 'polyglot-lens-broken-model-'));
  await fs.copyFile(path.join(MODEL, 'config.json'), path.join(brokenModel, 'config.json'));
  await fs.copyFile(path.join(MODEL, 'tokenizer.json'), path.join(brokenModel, 'tokenizer.json'));
  await fs.writeFile(path.join(brokenModel, 'model.onnx'), 'this is not an ONNX file\n');
});

after(async () => {
  for (const dir of [workspace, brokenModel]) if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true });
});

function promptTokenCount(text: string): number {
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(path.join(MODEL, 'tokenizer.json'), 'utf8')) as object, {});
  return tokenizer.encode(text, { add_special_tokens: false }).ids.length;
}

function modelLayers(): number {
  return (JSON.parse(readFileSync(path.join(MODEL, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;
}

/** Settings that make the continuations reproducible (greedy would loop on a 7M model; a fixed seed does not). */
const USER_SETTINGS = { 'polyglotLens.seed': 1, 'polyglotLens.maxNewTokens': 24 };

function failure(vs: VsCodeSession, err: unknown): Error {
  return new Error(`${(err as Error).message}\n--- code-server log ---\n${vs.serverLog}\n--- extension host logs ---\n${vs.extensionHostLog()}`, { cause: err });
}

test('French prompt: heatmap and continuations; fr-en from the tree view makes it English; hover; inspector; reload restores the panel', { timeout: 20 * 60_000 }, async (t) => {
  const vs = await VsCodeSession.start(t, { workspace, extension: { vsix }, userSettings: USER_SETTINGS, viewport: { width: 1600, height: 1000 } });
  if (vs === undefined) return;
  try {
    // 1. Steer Prompt on the French line.
    await vs.openFile('prompts.txt');
    await vs.goToLine(FRENCH_LINE);
    await vs.runCommand('Polyglot Lens: Steer Prompt');
    let frame = await vs.webviewFrame('[data-testid="heatmap"] .hm-cell', 180_000);
    assert.equal((await frame.locator('[data-testid="prompt"]').innerText()).trim(), FRENCH);
    const tokens = promptTokenCount(FRENCH);
    const rows = modelLayers() + 1;
    assert.equal(await frame.locator('[data-testid="heatmap"] .hm-cell').count(), tokens * rows, `${rows} layers × ${tokens} tokens of the tokenizer`);
    assert.equal(await frame.locator('[data-testid="legend"]').count(), 1);
    const baseBadge = frame.locator('[data-testid="continuation-base"] [data-testid="language-badge"]');
    await baseBadge.waitFor({ timeout: 60_000 });
    assert.ok(((await frame.locator('[data-testid="continuation-base"] .continuation-text').innerText()).trim().length) > FRENCH.length, 'a base continuation follows the prompt');
    await vs.screenshot('panel-heatmap');

    // 2. Check fr-en in the Steering Vectors view.
    await vs.runCommand('Polyglot Lens: Focus on Steering Vectors View');
    const row = vs.page.locator('.monaco-list-row', { hasText: 'fr-en' }).first();
    await row.waitFor({ timeout: 30_000 });
    await row.locator('.custom-view-tree-node-item-checkbox, .monaco-custom-toggle, input[type="checkbox"]').first().click();
    const steeredBadge = frame.locator('[data-testid="continuation-steered"] [data-testid="language-badge"]');
    await steeredBadge.waitFor({ timeout: 180_000 });
    assert.equal(await steeredBadge.getAttribute('data-language'), 'en', `steered continuation: ${await frame.locator('[data-testid="continuation-steered"]').innerText()}`);
    assert.equal(await frame.locator('[data-vector-id="bundled:fr-en"] [data-role="enabled"][checked]').count(), 1, 'the panel shows fr-en on');
    assert.equal(await frame.locator('[data-testid="heatmap"]').getAttribute('data-steering'), 'steered');
    await vs.screenshot('steering-toggle');

    // Layer inspector at the middle layer.
    await vs.runCommand('Polyglot Lens: Inspect Layers');
    await frame.locator('[data-testid="inspector"] [data-testid="projection"] svg').waitFor({ timeout: 30_000 });
    await frame.locator('[data-testid="inspector"]').scrollIntoViewIfNeeded();
    await vs.screenshot('layer-inspector');

    // 3. Hover a word of the prompt ("paquet", column 16).
    await vs.page.locator('.tabs-container .tab[aria-label^="prompts.txt"]').first().click();
    await vs.goToLine(FRENCH_LINE, 16);
    await vs.runCommand('Show or Focus Hover');
    const hover = vs.page.locator('.monaco-hover', { hasText: 'nearest language' }).first();
    await hover.waitFor({ timeout: 120_000 });
    const hoverText = await hover.innerText();
    assert.match(hoverText, /next token/i);
    assert.match(hoverText, /paquet/);
    await vs.screenshot('hover');
    await vs.page.keyboard.press('Escape');

    // 5. Reload the window: the panel comes back with the same prompt, without running anything first.
    await vs.reloadWindow();
    frame = await vs.webviewFrame('[data-testid="heatmap"] .hm-cell', 120_000);
    assert.equal((await frame.locator('[data-testid="prompt"]').innerText()).trim(), FRENCH);
    assert.equal(await frame.locator('[data-testid="heatmap"] .hm-cell').count(), tokens * rows);
    await vs.screenshot('restored');
  } catch (err) {
    await vs.screenshot('failure').catch(() => undefined);
    throw failure(vs, err);
  } finally {
    await vs.dispose();
  }
});

test('Select Model on a broken folder explains the error; the bundled model keeps working', { timeout: 15 * 60_000 }, async (t) => {
  const vs = await VsCodeSession.start(t, { workspace, extension: { vsix }, userSettings: USER_SETTINGS });
  if (vs === undefined) return;
  try {
    await vs.runCommand('Polyglot Lens: Select Model…');
    const input = vs.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Folder' }).first().click();
    // code-server's folder picker is VS Code's simple file dialog. Typing a path makes it navigate there
    // asynchronously; an accept before it has done so selects the folder it was showing before (the
    // workspace). So: type the path, wait until the dialog lists the broken folder's own files and still
    // holds the path, then accept with the dialog's button; repeat (re-typing if needed) until it closes.
    const accept = vs.page.locator('.quick-input-widget .monaco-button', { hasText: 'Use This Model' }).first();
    const widget = vs.page.locator('.quick-input-widget');
    // The quick pick hides and the file dialog reuses the widget: wait for the dialog's own button, or the loop
    // below could see the widget hidden in between, skip, and leave the dialog open on the workspace folder.
    await accept.waitFor({ state: 'visible', timeout: 30_000 });
    const listed = vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'tokenizer.json' }).first();
    for (let attempt = 0; await widget.isVisible(); attempt++) {
      if (attempt === 10) throw new Error('the folder dialog did not accept the path ' + brokenModel);
      if ((await input.inputValue().catch(() => '')) !== brokenModel + '/') await input.fill(brokenModel + '/');
      const navigated = await listed.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false);
      if (!navigated || (await input.inputValue().catch(() => '')) !== brokenModel + '/') continue;
      await accept.click({ timeout: 5_000 }).catch(() => undefined);
      await widget.waitFor({ state: 'hidden', timeout: 3_000 }).catch(() => undefined);
    }
    const message = await vs.notification('model.onnx', 120_000);
    assert.match(message, /not a valid ONNX|cannot be read|invalid/i, message);
    await vs.screenshot('select-model-error');

    // Nothing crashed: Steer Prompt still runs the bundled model.
    await vs.openFile('prompts.txt');
    await vs.goToLine(FRENCH_LINE);
    await vs.runCommand('Polyglot Lens: Steer Prompt');
    const frame = await vs.webviewFrame('[data-testid="heatmap"] .hm-cell', 180_000);
    assert.equal((await frame.locator('[data-testid="prompt"]').innerText()).trim(), FRENCH);
  } catch (err) {
    await vs.screenshot('failure').catch(() => undefined);
    throw failure(vs, err);
  } finally {
    await vs.dispose();
  }
});
