/**
 * End to end, in a real VS Code (code-server) and a real Chromium: a person opens a text file, puts the
 * cursor on a line, runs "Polyglot Lens: Steer Prompt", and the panel beside the editor shows that line's
 * tokens from a real onnxruntime-node forward pass in the engine worker.
 *
 * The expectations do not come from the code under test: the token ids come from the tokenizer file
 * read directly with @huggingface/tokenizers, and the most likely next token follows from how the test
 * model is built (next id = last id + 1, see test/fixtures/testModel.ts) — the panel can only show it
 * if the model really ran.
 */
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { ensureTestModel, type TestModelInfo } from '../fixtures/testModel';
import { ensureVsix } from './harness/extension';
import { VsCodeSession } from './harness/vscode';

const LINES = ['The cat sleeps on the warm windowsill.', 'Le chat dort sur le rebord chaud de la fenêtre.', 'Die Katze schläft auf der warmen Fensterbank.'];

let model: TestModelInfo;
let vsix: string;
let workspace: string;

before(async () => {
  model = await ensureTestModel();
  vsix = ensureVsix();
  workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'polyglot-lens-ws-'));
  await fs.writeFile(path.join(workspace, 'notes.txt'), LINES.join('\n') + '\n');
});

after(async () => {
  if (workspace !== undefined) await fs.rm(workspace, { recursive: true, force: true });
});

function expectedTokens(text: string): { ids: number[]; texts: string[] } {
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(path.join(model.dir, 'tokenizer.json'), 'utf8')) as object, {});
  const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
  return { ids, texts: ids.map((id) => tokenizer.decode([id])) };
}

test('Steer Prompt shows the tokens of the line under the cursor from a real inference', { timeout: 15 * 60_000 }, async (t) => {
  // promptScope 'line': in a text file the default ('auto') takes the whole paragraph, and notes.txt is one.
  const vs = await VsCodeSession.start(t, { workspace, extension: { vsix }, machineSettings: { 'polyglotLens.modelPath': model.dir }, userSettings: { 'polyglotLens.promptScope': 'line' } });
  if (vs === undefined) return;
  try {
    await vs.openFile('notes.txt');
    await vs.goToLine(2);
    await vs.runCommand('Polyglot Lens: Steer Prompt');

    const frame = await vs.webviewFrame('[data-testid="tokens"] .token');
    const line = LINES[1] as string;
    assert.equal((await frame.locator('[data-testid="prompt"]').innerText()).trim(), line);
    assert.equal(await frame.locator('[data-testid="origin"]').innerText(), 'Line at line 2 of notes.txt');

    const shown = await frame.locator('[data-testid="tokens"] .token').evaluateAll((els) => els.map((e) => ({ id: Number(e.getAttribute('data-token-id')), text: e.getAttribute('data-text') ?? '' })));
    const expected = expectedTokens(line);
    assert.deepEqual(
      shown.map((s) => s.id),
      expected.ids,
      'token ids shown in the panel = the tokenizer applied to line 2',
    );
    assert.equal(shown.map((s) => s.text).join(''), line, 'the tokens spell out the line');
    assert.equal(await frame.locator('[data-testid="token-count"]').innerText(), String(expected.ids.length));

    const lastId = expected.ids[expected.ids.length - 1] as number;
    const argmax = Number(await frame.locator('[data-testid="argmax"]').getAttribute('data-token-id'));
    assert.equal(argmax, (lastId + 1) % model.vocabSize, 'most likely next token = the test model’s built-in rule, so the model really ran');
    assert.equal(await frame.locator('[data-fact="Hidden size"]').innerText(), String(model.hiddenSize));
    assert.equal(await frame.locator('[data-fact="Layers"]').innerText(), String(model.numLayers));
    // The worker also generated a continuation (polyglotLens.maxNewTokens, default 24) on the real model.
    const base = (await frame.locator('[data-testid="continuations"] [data-testid="base"] p').innerText()).trim();
    assert.ok(base.startsWith(line) && base.length > line.length, `a continuation follows the prompt: ${JSON.stringify(base)}`);

    await vs.screenshot('steer-prompt');
  } catch (err) {
    await vs.screenshot('failure').catch(() => undefined);
    throw new Error(`${(err as Error).message}\n--- code-server log ---\n${vs.serverLog}\n--- extension host logs ---\n${vs.extensionHostLog()}`, { cause: err });
  } finally {
    await vs.dispose();
  }
});

test('Steer Prompt with a model folder that does not exist shows a clear error and keeps working', { timeout: 15 * 60_000 }, async (t) => {
  const missing = path.join(workspace, 'no-such-model');
  const vs = await VsCodeSession.start(t, { workspace, extension: { vsix }, machineSettings: { 'polyglotLens.modelPath': missing } });
  if (vs === undefined) return;
  try {
    await vs.openFile('notes.txt');
    await vs.goToLine(1);
    await vs.runCommand('Polyglot Lens: Steer Prompt');

    const frame = await vs.webviewFrame('[data-testid="error"]');
    assert.equal(await frame.locator('[data-testid="error"]').getAttribute('data-code'), 'MODEL_NOT_FOUND');
    assert.match(await frame.locator('[data-testid="error-message"]').innerText(), /Model folder not found: .*no-such-model/);
    assert.match(await vs.notification('Model folder not found'), /polyglotLens\.modelPath/);
    await vs.screenshot('model-not-found');

    // The extension host and the engine survived: running the command again gives the same clear error.
    await vs.runCommand('Polyglot Lens: Steer Prompt');
    await frame.locator('[data-testid="app"][data-request-id="2"] [data-testid="error"]').waitFor({ timeout: 30_000 });
  } catch (err) {
    await vs.screenshot('failure').catch(() => undefined);
    throw new Error(`${(err as Error).message}\n--- code-server log ---\n${vs.serverLog}\n--- extension host logs ---\n${vs.extensionHostLog()}`, { cause: err });
  } finally {
    await vs.dispose();
  }
});
