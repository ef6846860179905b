/**
 * The foundation's data path on the generated test model: model-folder checks, tokenization and one
 * real onnxruntime forward pass. Expected next tokens come from the model's construction rule
 * (next id = last id + 1, see test/fixtures/testModel.ts); logits are checked against an independent
 * numpy forward pass in test/unit/fixtures/testModel.test.ts.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CausalLm, tokenTexts, topKSoftmax } from '../../../src/engine/causalLm';
import { EngineError } from '../../../src/protocol/errors';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';

let info: TestModelInfo;
let lm: CausalLm;
let scratch: string;

before(async () => {
  info = await ensureTestModel();
  lm = await CausalLm.load(info.dir, { threads: 1 });
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'polyglot-lens-lm-'));
});

after(async () => {
  await lm.dispose();
  await fs.rm(scratch, { recursive: true, force: true });
});

const PROMPTS = ['The cat sleeps on the warm windowsill.', 'Le chat dort sur le rebord chaud de la fenêtre.', 'Кошка спит на тёплом подоконнике.', '猫在温暖的窗台上睡觉。', 'x'];

test('the summary reports what config.json and the ONNX graph say', () => {
  const s = lm.summary;
  assert.equal(s.hiddenSize, info.hiddenSize);
  assert.equal(s.numLayers, info.numLayers);
  assert.equal(s.vocabSize, info.vocabSize);
  assert.equal(s.architecture, 'polyglot-test');
  assert.deepEqual(s.inputNames, ['input_ids']);
  assert.deepEqual(s.outputNames, ['logits']);
});

test('token texts concatenate to the prompt in every script, even where a character spans two tokens', async () => {
  for (const prompt of PROMPTS) {
    const a = await lm.analyze(prompt, 3);
    assert.equal(a.tokens.map((t) => t.text).join(''), prompt);
    assert.ok(a.tokens.every((t) => Number.isInteger(t.id) && t.id >= 0 && t.id < info.vocabSize));
  }
  const fr = await lm.analyze('fenêtre', 1);
  assert.ok(fr.tokens.some((t) => t.text === ''), '"ê" is split over two byte-level tokens: the first adds no text yet');
});

test('one forward pass predicts the next token the test model was built to predict', async () => {
  for (const prompt of PROMPTS) {
    const a = await lm.analyze(prompt, 5);
    const last = a.tokens[a.tokens.length - 1]?.id as number;
    assert.equal(a.nextTokens[0]?.id, (last + 1) % info.vocabSize, prompt);
    assert.ok((a.nextTokens[0]?.probability ?? 0) > 0.5, `confident: ${a.nextTokens[0]?.probability}`);
    const probs = a.nextTokens.map((c) => c.probability);
    assert.deepEqual([...probs].sort((x, y) => y - x), probs, 'best first');
    assert.ok(probs.reduce((x, y) => x + y, 0) <= 1 + 1e-6);
    assert.ok(a.timings.inferenceMs > 0);
  }
});

test('topKSoftmax picks the k largest logits and normalises over the whole vocabulary', () => {
  const top = topKSoftmax(Float32Array.of(1, 3, 2, 3, -1), 3);
  assert.deepEqual(top.map((t) => t.id), [1, 3, 2], 'ties keep vocabulary order');
  const z = Math.exp(1) + 2 * Math.exp(3) + Math.exp(2) + Math.exp(-1);
  assert.ok(Math.abs((top[0]?.probability ?? 0) - Math.exp(3) / z) < 1e-12);
  assert.equal(topKSoftmax(Float32Array.of(5), 3).length, 1);
});

test('tokenTexts falls back to lone-token decoding when a decoder rewrites earlier text', () => {
  const pieces = ['A', 'b', 'c'];
  // A decoder that capitalises only the first character of its output.
  const decode = (ids: number[]): string => {
    const s = ids.map((i) => pieces[i]).join('');
    return s.charAt(0).toUpperCase() + s.slice(1);
  };
  assert.deepEqual(tokenTexts([0, 1, 2], decode), ['A', 'b', 'c']);
  assert.deepEqual(tokenTexts([1, 1], decode), ['B', 'b']);
});

test('empty and over-long prompts are typed errors', async () => {
  await assert.rejects(lm.analyze('   ', 5), (e: unknown) => e instanceof EngineError && e.code === 'PROMPT_EMPTY');
  await assert.rejects(lm.analyze('word '.repeat(200), 5), (e: unknown) => e instanceof EngineError && e.code === 'PROMPT_TOO_LONG' && /at most 128/.test(e.message));
});

async function brokenCopy(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(scratch, name);
  await fs.cp(info.dir, dir, { recursive: true });
  await edit(dir);
  return dir;
}

async function loadError(dir: string): Promise<EngineError> {
  try {
    await CausalLm.load(dir, { threads: 1 });
  } catch (err) {
    assert.ok(err instanceof EngineError, `typed error, got ${String(err)}`);
    return err;
  }
  assert.fail(`loading ${dir} should fail`);
}

test('a bad model folder fails with a typed error that names the problem and says what to do', async () => {
  let e = await loadError(path.join(scratch, 'nowhere'));
  assert.equal(e.code, 'MODEL_NOT_FOUND');
  assert.match(e.hint ?? '', /polyglotLens\.modelPath/);

  e = await loadError(await brokenCopy('no-tokenizer', (d) => fs.rm(path.join(d, 'tokenizer.json'))));
  assert.equal(e.code, 'MODEL_NOT_FOUND');
  assert.match(e.message, /has no tokenizer\.json/);

  e = await loadError(await brokenCopy('bad-config', (d) => fs.writeFile(path.join(d, 'config.json'), '{"hidden_size": 64,')));
  assert.equal(e.code, 'MODEL_INVALID');
  assert.match(e.message, /config\.json is not valid JSON/);

  e = await loadError(await brokenCopy('no-vocab', (d) => fs.writeFile(path.join(d, 'config.json'), '{"hidden_size": 64, "num_hidden_layers": 2}')));
  assert.equal(e.code, 'MODEL_INVALID');
  assert.match(e.message, /no positive integer vocab_size/);

  e = await loadError(await brokenCopy('lfs', (d) => fs.writeFile(path.join(d, 'model.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n')));
  assert.equal(e.code, 'MODEL_INVALID');
  assert.match(e.hint ?? '', /git lfs pull/);

  e = await loadError(await brokenCopy('html', (d) => fs.writeFile(path.join(d, 'model.onnx'), '<!DOCTYPE html><title>404</title>')));
  assert.match(e.message, /is text .* not an ONNX model/);

  e = await loadError(await brokenCopy('truncated', async (d) => fs.truncate(path.join(d, 'model.onnx'), 5000)));
  assert.equal(e.code, 'MODEL_INVALID');
  assert.match(e.message, /onnxruntime could not load/);

  e = await loadError(await brokenCopy('bad-tokenizer', (d) => fs.writeFile(path.join(d, 'tokenizer.json'), '{"version": "1.0"}')));
  assert.equal(e.code, 'TOKENIZER_INVALID');
});

test('the Optimum / transformers.js layout (onnx/model.onnx) is found', async () => {
  const dir = await brokenCopy('optimum', async (d) => {
    await fs.mkdir(path.join(d, 'onnx'));
    await fs.rename(path.join(d, 'model.onnx'), path.join(d, 'onnx', 'model.onnx'));
  });
  const other = await CausalLm.load(dir, { threads: 1 });
  try {
    assert.equal(other.files.onnxPath, path.join(dir, 'onnx', 'model.onnx'));
    assert.equal((await other.analyze('hello', 1)).tokens.length > 0, true);
  } finally {
    await other.dispose();
  }
});
