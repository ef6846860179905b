import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { prepareModel } from '../../../../src/engine/model/cache';
import { ModelFolderError, OnnxFormatError } from '../../../../src/engine/model/errors';
import { loadModelFolder, parseConfig } from '../../../../src/engine/model/modelFolder';
import { decodeModel, encodeModel, readModelFile } from '../../../../src/engine/model/onnxProto';
import { openModel } from '../../../../src/engine/model/openModel';
import { generate } from '../../../../src/engine/model/generate';
import { StreamingDecoder } from '../../../../src/engine/model/tokenizer';
import { requireOnnx, SYN, syntheticModel, tempDir } from './helpers';

/** Copies a synthetic model folder so a test can break it. */
function copyFolder(c: 'plain' | 'external', layout: 'flat' | 'onnx-subdir' = 'flat', onnxName = 'model.onnx'): string {
  const src = syntheticModel(c);
  const dst = tempDir();
  for (const f of fs.readdirSync(src)) {
    if (f.endsWith('.onnx') && f !== 'model.onnx') continue;
    const isModel = f === 'model.onnx' || f === 'model.onnx_data';
    const target = isModel && layout === 'onnx-subdir' ? path.join(dst, 'onnx', f === 'model.onnx' ? onnxName : f) : path.join(dst, f === 'model.onnx' ? onnxName : f);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(src, f), target);
  }
  return dst;
}

test('model folder: config, tokenizer settings, stop tokens and chat template are read', (t) => {
  if (!requireOnnx(t)) return;
  const f = loadModelFolder(syntheticModel('plain'));
  assert.equal(f.config.numLayers, SYN.L);
  assert.equal(f.config.hiddenSize, SYN.H);
  assert.equal(f.config.numKeyValueHeads, SYN.NH);
  assert.equal(f.onnxVariant, 'fp32');
  assert.equal(path.basename(f.onnxPath), 'model.onnx');
  assert.equal(f.tokenizer.bosTokenId, 1);
  assert.equal(f.tokenizer.eosTokenId, 2);
  assert.deepEqual(f.stopTokenIds, [2]);
  assert.match(f.tokenizer.settings.chatTemplate ?? '', /for m in messages/);
  const enc = f.tokenizer.encode('w5 w6 w40');
  assert.deepEqual(enc.ids, [1, 5, 6, 40], 'the TemplateProcessing post-processor prepends <bos>');
  assert.deepEqual(f.tokenizer.encode('w5', { addSpecialTokens: false }).ids, [5]);
  assert.equal(f.tokenizer.decode([1, 5, 6], { skipSpecialTokens: true }), 'w5 w6');
  const s = new StreamingDecoder(f.tokenizer);
  assert.equal(s.push(5) + s.push(6), 'w5 w6');
  assert.equal(f.override, null);
});

test('model folder: transformers.js layout, quantized variants by option, clear errors otherwise', (t) => {
  if (!requireOnnx(t)) return;
  const sub = copyFolder('plain', 'onnx-subdir');
  assert.equal(path.relative(sub, loadModelFolder(sub).onnxPath), path.join('onnx', 'model.onnx'));

  const q = copyFolder('plain', 'onnx-subdir', 'model_q4.onnx');
  fs.copyFileSync(path.join(q, 'onnx', 'model_q4.onnx'), path.join(q, 'onnx', 'model_fp16.onnx'));
  assert.throws(
    () => loadModelFolder(q),
    (e: unknown) => e instanceof ModelFolderError && /has no model\.onnx/.test(e.message) && /variants fp16, q4/.test(e.message),
  );
  const f = loadModelFolder(q, { variant: 'q4' });
  assert.equal(f.onnxVariant, 'q4');
  assert.equal(path.basename(f.onnxPath), 'model_q4.onnx');
  assert.throws(() => loadModelFolder(q, { variant: 'int8' }), /has no model_int8\.onnx \(the "int8" variant\)/);
  assert.equal(loadModelFolder(q, { onnxFile: 'onnx/model_fp16.onnx' }).onnxVariant, 'fp16');
});

test('model folder: broken folders fail with typed errors that say what to do', (t) => {
  if (!requireOnnx(t)) return;
  assert.throws(() => loadModelFolder('/nonexistent/model'), (e: unknown) => e instanceof ModelFolderError && /does not exist/.test(e.message));
  const noConfig = copyFolder('plain');
  fs.rmSync(path.join(noConfig, 'config.json'));
  assert.throws(() => loadModelFolder(noConfig), /has no config\.json/);
  const badConfig = copyFolder('plain');
  fs.writeFileSync(path.join(badConfig, 'config.json'), '{"hidden_size": 16,');
  assert.throws(() => loadModelFolder(badConfig), (e: unknown) => e instanceof ModelFolderError && /config\.json .* is not valid JSON/.test(e.message));
  fs.writeFileSync(path.join(badConfig, 'config.json'), '{"hidden_size": 16}');
  assert.throws(() => loadModelFolder(badConfig), /num_hidden_layers/);
  const noTok = copyFolder('plain');
  fs.rmSync(path.join(noTok, 'tokenizer.json'));
  assert.throws(() => loadModelFolder(noTok), /has no tokenizer\.json/);
  const noOnnx = copyFolder('plain');
  fs.rmSync(path.join(noOnnx, 'model.onnx'));
  assert.throws(() => loadModelFolder(noOnnx), /Export the model with Hugging Face Optimum/);
  const badOverride = copyFolder('plain');
  fs.writeFileSync(path.join(badOverride, 'polyglot-lens.json'), '{"residualStream": {"tensors": [1, 2]}}');
  assert.throws(() => loadModelFolder(badOverride), /residualStream\.tensors must be a list of tensor names/);
});

test('model folder: an LFS pointer or truncated file is reported as not an ONNX model', () => {
  const lfs = Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
  assert.throws(() => decodeModel(lfs, 'model.onnx'), (e: unknown) => e instanceof OnnxFormatError && /model\.onnx/.test(e.message));
});

test('external data: missing or short data files are caught before onnxruntime sees them', async (t) => {
  if (!requireOnnx(t)) return;
  const missing = copyFolder('external');
  fs.rmSync(path.join(missing, 'model.onnx_data'));
  await assert.rejects(prepareModel(loadModelFolder(missing), { cacheDir: tempDir() }), /external data file "model\.onnx_data", which is missing/);
  const short = copyFolder('external');
  fs.truncateSync(path.join(short, 'model.onnx_data'), 1000);
  await assert.rejects(prepareModel(loadModelFolder(short), { cacheDir: tempDir() }), /shorter \(1000 bytes\) than tensor/);
});

test('surgered-model cache: built once, reused by hash, rebuilt when the model changes; no temp files left', async (t) => {
  if (!requireOnnx(t)) return;
  const cacheDir = tempDir();
  const dir = copyFolder('plain');
  const first = await prepareModel(loadModelFolder(dir), { cacheDir });
  assert.equal(first.fromCache, false);
  assert.match(first.modelSha256, /^[0-9a-f]{64}$/);
  const second = await prepareModel(loadModelFolder(dir), { cacheDir });
  assert.equal(second.fromCache, true);
  assert.equal(second.key, first.key);
  assert.deepEqual(second.layout, first.layout);
  assert.deepEqual(fs.readdirSync(first.dir).sort(), ['inspect.onnx', 'lens.onnx', 'manifest.json', 'steer.onnx']);
  // A changed model (here: another producer name) gets another entry.
  const m = readModelFile(path.join(dir, 'model.onnx'));
  m.producer_name = 'changed';
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(m));
  const third = await prepareModel(loadModelFolder(dir), { cacheDir });
  assert.equal(third.fromCache, false);
  assert.notEqual(third.key, first.key);
  // A corrupt manifest means rebuild, not a crash.
  fs.writeFileSync(path.join(third.dir, 'manifest.json'), '{');
  assert.equal((await prepareModel(loadModelFolder(dir), { cacheDir })).fromCache, false);
  // An override file is part of the key.
  fs.writeFileSync(path.join(dir, 'polyglot-lens.json'), JSON.stringify({ residualStream: { tensors: first.layout.graphs[0]?.points.map((p) => (p.kind === 'tensor' ? p.tensor : '')) } }));
  const overridden = await prepareModel(loadModelFolder(dir), { cacheDir });
  assert.notEqual(overridden.key, third.key);
  assert.equal(overridden.layout.source, 'override');
});

test('external data: the surgered model in the cache reads weights from the original folder', async (t) => {
  if (!requireOnnx(t)) return;
  const dir = copyFolder('external');
  const cacheDir = tempDir();
  const m = await openModel(dir, { cacheDir, session: { intraOpNumThreads: 1 } });
  try {
    assert.equal(m.prepared.externalDataDir, dir);
    assert.ok(!fs.readdirSync(m.prepared.dir).some((f) => f.includes('onnx_data')), 'weights are not copied into the cache');
    assert.ok(fs.statSync(m.prepared.inspectPath).size < fs.statSync(path.join(dir, 'model.onnx_data')).size);
    const g = await generate(m.generator, [1, 5, 6], { maxNewTokens: 4 });
    assert.equal(g.tokenIds.length, 4);
    const f = await m.inspect.forward([1, 5, 6]);
    assert.equal(f.hiddenStates?.length, SYN.L + 1);
  } finally {
    await m.dispose();
  }
});

test('config parsing: GPT-2 names, multimodal text_config, eos lists', () => {
  const gpt2 = parseConfig({ model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, eos_token_id: 50256, bos_token_id: 0 });
  assert.equal(gpt2.numLayers, 12);
  assert.equal(gpt2.hiddenSize, 768);
  assert.equal(gpt2.numKeyValueHeads, 12);
  assert.equal(gpt2.bosTokenId, 0);
  assert.deepEqual(gpt2.eosTokenIds, [50256]);
  const mm = parseConfig({ model_type: 'gemma3', text_config: { num_hidden_layers: 26, hidden_size: 1152 }, eos_token_id: [1, 106] });
  assert.equal(mm.numLayers, 26);
  assert.deepEqual(mm.eosTokenIds, [1, 106]);
});
