/**
 * The worker's request loop, in-process, on the real engine library: validation at entry, ordering,
 * cancellation (queued, running, and a generation within one step), progress events, caching per prompt +
 * vector set, typed errors with hints for bad model folders, and the analysis of the bundled demo model
 * against the PyTorch reference (hidden-state norms).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { EngineService, type ModelLoader } from '../../../src/engine/engineService';
import { ModelRuntime } from '../../../src/engine/modelRuntime';
import { saveSteeringVector } from '../../../src/engine/steering/vectorFile';
import { createSteeringVector } from '../../../src/engine/steering/vector';
import type { EngineReply, PromptAnalysis } from '../../../src/protocol/engine';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';
import { skipLoudly } from '../../e2e/harness/environment';

let info: TestModelInfo;
let scratch: string;
before(async () => {
  info = await ensureTestModel();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'polyglot-lens-service-'));
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const REPO = path.resolve(__dirname, '..', '..', '..');
const TINY = path.join(REPO, 'models', 'tiny-polyglot');
const REFERENCE = path.join(REPO, 'test', 'fixtures', 'tiny-polyglot', 'reference.json');

interface Harness {
  service: EngineService;
  replies: EngineReply[];
  settled: (n: number, filter?: (r: EngineReply) => boolean) => Promise<EngineReply[]>;
  loads: () => number;
  runtimes: ModelRuntime[];
}

function harness(loader?: ModelLoader, onReply?: (r: EngineReply, service: EngineService) => void): Harness {
  const replies: EngineReply[] = [];
  const runtimes: ModelRuntime[] = [];
  let loads = 0;
  const counting: ModelLoader = async (dir, options) => {
    loads++;
    const r = await (loader ?? ((d, o) => ModelRuntime.open(d, o)))(dir, options);
    runtimes.push(r);
    return r;
  };
  const service: EngineService = new EngineService((r) => {
    replies.push(r);
    onReply?.(r, service);
  }, counting);
  // Waits for n final replies (progress events are not counted).
  const settled = async (n: number, filter: (r: EngineReply) => boolean = (r) => r.type !== 'progress'): Promise<EngineReply[]> => {
    const deadline = Date.now() + 60_000;
    while (replies.filter(filter).length < n) {
      if (Date.now() > deadline) throw new Error(`only ${replies.filter(filter).length} of ${n} replies: ${JSON.stringify(replies.map((r) => r.type))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return replies.filter(filter);
  };
  return { service, replies, settled, loads: () => loads, runtimes };
}

const model = (dir = info.dir) => ({ dir, threads: 1 });
const request = (id: number, prompt: string, dir = info.dir): unknown => ({ type: 'analyze', id, model: model(dir), prompt, topK: 3 });

test('invalid messages get a BAD_MESSAGE reply naming the request, and the loop keeps serving', async () => {
  const { service, settled } = harness();
  service.receive({ type: 'analyze', id: 4, prompt: 'no model' });
  service.receive('garbage');
  service.receive({ type: 'generate', id: 6, model: model(), prompt: 'x', generation: { maxNewTokens: 5, temperature: 0, topP: 0, seed: 0 } });
  service.receive(request(5, 'hello'));
  const replies = await settled(4);
  assert.deepEqual(replies.slice(0, 3).map((r) => [r.type, 'id' in r ? r.id : undefined, r.type === 'error' ? r.error.code : '']), [
    ['error', 4, 'BAD_MESSAGE'],
    ['error', null, 'BAD_MESSAGE'],
    ['error', 6, 'BAD_MESSAGE'],
  ]);
  assert.equal(replies[3]?.type, 'analysis');
  await service.dispose();
});

test('requests are answered in order; the model is loaded once and reused; analysis has L + 1 layers of norms', async () => {
  const { service, settled, loads } = harness();
  service.receive(request(1, 'one'));
  service.receive(request(2, 'two'));
  service.receive(request(3, 'three'));
  const replies = await settled(3);
  assert.deepEqual(replies.map((r) => (r.type === 'analysis' ? [r.id, r.analysis.prompt] : r.type)), [
    [1, 'one'],
    [2, 'two'],
    [3, 'three'],
  ]);
  assert.equal(loads(), 1);
  const timings = replies.map((r) => (r.type === 'analysis' ? r.analysis.timings.loadMs : -1));
  assert.ok((timings[0] ?? 0) > 0 && timings[1] === 0 && timings[2] === 0, `load time reported once: ${timings.join(',')}`);
  const a = (replies[2] as { analysis: PromptAnalysis }).analysis;
  assert.equal(a.layers.length, info.numLayers + 1);
  for (const l of a.layers) assert.equal(l.norms.length, a.tokens.length);
  // The test model's construction rule: the next token is (last id + 1) mod vocab.
  assert.equal(a.nextTokens[0]?.id, ((a.tokens[a.tokens.length - 1]?.id as number) + 1) % info.vocabSize);
  await service.dispose();
});

test('loadModel answers with the model summary; logitLens at the last layer agrees with the logits', async () => {
  const { service, settled } = harness();
  service.receive({ type: 'loadModel', id: 1, model: model() });
  service.receive({ type: 'logitLens', id: 2, model: model(), prompt: 'the cat', topK: 3 });
  service.receive(request(3, 'the cat'));
  const [loaded, lens, analysis] = await settled(3);
  assert.ok(loaded?.type === 'modelLoaded' && loaded.model.numLayers === info.numLayers && loaded.model.hiddenSize === info.hiddenSize);
  assert.ok(lens?.type === 'logitLens' && analysis?.type === 'analysis');
  assert.equal(lens.result.layers.length, info.numLayers + 1);
  assert.equal(lens.result.position, analysis.analysis.tokens.length - 1);
  const last = lens.result.layers[info.numLayers]?.candidates[0];
  assert.equal(last?.id, analysis.analysis.nextTokens[0]?.id, 'the lens at k = L is the model’s own prediction');
  assert.ok(Math.abs((last?.probability ?? 0) - (analysis.analysis.nextTokens[0]?.probability ?? 0)) < 1e-4);
  await service.dispose();
});

test('cancel drops a queued request and replaces a running one’s result by CANCELLED', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const { service, settled } = harness(async (dir, o) => {
    await gate; // hold the first request "running" until both cancels have arrived
    return ModelRuntime.open(dir, o);
  });
  service.receive(request(1, 'running'));
  service.receive(request(2, 'queued'));
  service.receive(request(3, 'kept'));
  service.receive({ type: 'cancel', id: 10, target: 2 });
  service.receive({ type: 'cancel', id: 11, target: 1 });
  service.receive({ type: 'cancel', id: 12, target: 99 }); // unknown: ignored
  release();
  const replies = await settled(3);
  assert.deepEqual(replies.map((r) => [r.type === 'error' ? r.error.code : r.type, 'id' in r ? r.id : null]), [
    ['CANCELLED', 2],
    ['CANCELLED', 1],
    ['analysis', 3],
  ]);
  await service.dispose();
});

test('generate streams its tokens as progress events; cancel stops it within one step', async () => {
  const generation = { maxNewTokens: 200, temperature: 0, topP: 1, seed: 0 };
  // 1. Uncancelled: the streamed tokens are the result's tokens and spell its text.
  const first = harness();
  first.service.receive({ type: 'generate', id: 1, model: model(), prompt: 'the cat', generation: { ...generation, maxNewTokens: 12 } });
  const [done] = await first.settled(1);
  assert.ok(done?.type === 'generated', JSON.stringify(done));
  const streamed = first.replies.flatMap((r) => (r.type === 'progress' && r.event.kind === 'token' ? [r.event] : []));
  assert.deepEqual(streamed.map((e) => e.tokenId), done.result.continuation.tokenIds);
  assert.equal(streamed.map((e) => e.text).join(''), done.result.continuation.text);
  assert.equal(done.result.continuation.tokenIds.length, 12);
  await first.service.dispose();

  // 2. Cancelled after the third token: the cancel arrives from outside the run (a later macrotask, as a
  // message from the host would), and at most one more model step happens.
  let runsAtCancel = -1;
  let tokensAtCancel = -1;
  const second = harness(undefined, (r, service) => {
    if (r.type === 'progress' && r.event.kind === 'token' && r.event.index === 2 && runsAtCancel < 0) {
      setImmediate(() => {
        runsAtCancel = second.runtimes[0]?.model.generator.runCount ?? -1;
        tokensAtCancel = second.replies.filter((x) => x.type === 'progress' && x.event.kind === 'token').length;
        service.receive({ type: 'cancel', id: 2, target: 1 });
      });
      runsAtCancel = 0;
    }
  });
  second.service.receive({ type: 'generate', id: 1, model: model(), prompt: 'the cat', generation });
  const [cancelled] = await second.settled(1);
  assert.ok(cancelled?.type === 'error' && cancelled.error.code === 'CANCELLED', JSON.stringify(cancelled));
  const runsAfter = second.runtimes[0]?.model.generator.runCount ?? -1;
  const tokensAfter = second.replies.filter((x) => x.type === 'progress' && x.event.kind === 'token').length;
  assert.ok(runsAtCancel >= 3, `runs at cancel: ${runsAtCancel}`);
  assert.ok(runsAfter - runsAtCancel <= 1, `model runs after the cancel: ${runsAfter - runsAtCancel}`);
  assert.ok(tokensAfter - tokensAtCancel === 0, `tokens streamed after the cancel: ${tokensAfter - tokensAtCancel}`);
  assert.ok(tokensAfter < 200);
  await second.service.dispose();
});

test('steering: the steered analysis and continuation come with the base; unchanged parts come from the cache', async () => {
  // A vector for the test model (hidden 64): a large offset at the last layer moves the prediction.
  const dir = new Float32Array(info.hiddenSize).map((_, j) => (j % 2 === 0 ? 1 : -1));
  const file = path.join(scratch, 'push.safetensors');
  await saveSteeringVector(file, createSteeringVector({ directions: { [info.numLayers]: dir }, defaultLayer: info.numLayers, defaultStrength: 3, defaultStrengthUnit: 'raw', sourceLanguage: 'fr', targetLanguage: 'en' }));
  const { service, settled, runtimes } = harness();
  const generation = { maxNewTokens: 4, temperature: 0.7, topP: 0.9, seed: 1 };
  const ask = (id: number, vectors: unknown[]): void => service.receive({ type: 'analyze', id, model: model(), prompt: 'Bonjour le monde', topK: 3, vectors, generation });
  ask(1, [{ vector: file }]);
  const [a1] = await settled(1);
  assert.ok(a1?.type === 'analysis', JSON.stringify(a1));
  const a = a1.analysis;
  assert.ok(a.steered && a.continuations?.steered, 'steered analysis and continuation present');
  assert.deepEqual(a.steered.vectors.map((v) => [v.layer, v.strength]), [[info.numLayers, 3]]);
  assert.equal(a.steered.layers.length, info.numLayers + 1);
  // Layers below the steered one are untouched; the steered layer's states moved.
  assert.deepEqual(a.steered.layers[0]?.norms, a.layers[0]?.norms);
  assert.notDeepEqual(a.steered.layers[info.numLayers]?.norms, a.layers[info.numLayers]?.norms);
  const runtime = runtimes[0] as ModelRuntime;
  const forwards = runtime.forwardRuns;
  const generatorRuns = runtime.model.generator.runCount;
  // The same request again: nothing is recomputed.
  ask(2, [{ vector: file }]);
  const [, a2] = await settled(2);
  assert.ok(a2?.type === 'analysis');
  assert.equal(runtime.forwardRuns, forwards);
  assert.equal(runtime.model.generator.runCount, generatorRuns);
  assert.deepEqual(a2.analysis.continuations, a.continuations);
  // Another strength: only the steered forward pass and the steered continuation run again.
  ask(3, [{ vector: file, strength: 5 }]);
  const [, , a3] = await settled(3);
  assert.ok(a3?.type === 'analysis');
  assert.equal(runtime.forwardRuns, forwards + 1);
  assert.deepEqual(a3.analysis.continuations?.base, a.continuations.base);
  assert.ok(runtime.model.generator.runCount - generatorRuns <= generation.maxNewTokens, 'the base continuation was not generated again');
  await service.dispose();
});

test('bad model folders and vectors reach the caller as typed errors with hints', async () => {
  const noConfig = path.join(scratch, 'empty-model');
  fs.mkdirSync(noConfig, { recursive: true });
  const badJson = path.join(scratch, 'bad-json');
  fs.mkdirSync(badJson, { recursive: true });
  fs.writeFileSync(path.join(badJson, 'config.json'), '{ not json');
  const notOnnx = path.join(scratch, 'not-onnx');
  fs.cpSync(info.dir, notOnnx, { recursive: true });
  fs.writeFileSync(path.join(notOnnx, 'model.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
  const { service, settled } = harness();
  service.receive(request(1, 'x', '/definitely/not/here'));
  service.receive(request(2, 'x', noConfig));
  service.receive(request(3, 'x', badJson));
  service.receive(request(4, 'x', notOnnx));
  service.receive({ type: 'analyze', id: 5, model: model(), prompt: 'x', topK: 3, vectors: [{ vector: 'no-such-vector' }] });
  service.receive({ type: 'analyze', id: 6, model: model(), prompt: '   ', topK: 3 });
  const replies = await settled(6);
  const codes = replies.map((r) => (r.type === 'error' ? [r.error.code, r.error.hint !== undefined] : [r.type, false]));
  assert.deepEqual(codes, [
    ['MODEL_NOT_FOUND', true],
    ['MODEL_NOT_FOUND', true],
    ['MODEL_INVALID', true],
    ['MODEL_INVALID', true],
    ['VECTOR_INVALID', true],
    ['PROMPT_EMPTY', true],
  ]);
  const first = replies[0];
  assert.ok(first?.type === 'error' && /Model folder not found: \/definitely\/not\/here/.test(first.error.message) && /polyglotLens\.modelPath/.test(first.error.hint ?? ''));
  const second = replies[1];
  assert.ok(second?.type === 'error' && /no config\.json/.test(second.error.message));
  await service.dispose();
});

interface ReferencePrompt {
  lang: string;
  text: string;
  input_ids: number[];
  hidden_states: { norms: number[][] };
}

test('analyze on the bundled tiny-polyglot model: tokens and hidden-state norms match the PyTorch reference within 1e-4', async (t) => {
  if (!fs.existsSync(path.join(TINY, 'model.onnx')) || !fs.existsSync(REFERENCE)) return skipLoudly(t, 'models/tiny-polyglot/model.onnx or its reference fixtures are not in this checkout');
  const reference = JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as { num_layers: number; hidden_size: number; prompts: ReferencePrompt[] };
  const { service, settled } = harness();
  reference.prompts.forEach((p, i) => service.receive({ type: 'analyze', id: i + 1, model: model(TINY), prompt: p.text, topK: 5 }));
  const replies = await settled(reference.prompts.length);
  let worstRelative = 0;
  let worstAbsolute = 0;
  reference.prompts.forEach((p, i) => {
    const r = replies[i];
    assert.ok(r?.type === 'analysis', JSON.stringify(r));
    const a = r.analysis;
    assert.deepEqual(a.tokens.map((tok) => tok.id), p.input_ids, `${p.lang}: tokens = the fixture's input_ids (BOS included)`);
    assert.equal(a.layers.length, reference.num_layers + 1);
    a.layers.forEach((layer, k) => {
      layer.norms.forEach((norm, pos) => {
        const want = p.hidden_states.norms[k]?.[pos] as number;
        const abs = Math.abs(norm - want);
        // Relative for norms in the hundreds (float32 sums in another order differ by a few ulps of the
        // magnitude); absolute for norms below 1.
        const rel = abs / Math.max(1, Math.abs(want));
        worstRelative = Math.max(worstRelative, rel);
        worstAbsolute = Math.max(worstAbsolute, abs);
        assert.ok(rel <= 1e-4, `${p.lang} k=${k} pos=${pos}: ${norm} vs ${want}`);
      });
    });
    if (a.centroids) for (const layer of a.layers) assert.equal(layer.nearest?.length, a.tokens.length);
  });
  t.diagnostic(`hidden-state norms vs PyTorch: max relative difference ${worstRelative.toExponential(2)}, max absolute ${worstAbsolute.toExponential(2)}`);
  await service.dispose();
});
