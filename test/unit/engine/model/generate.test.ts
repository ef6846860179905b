import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { DecoderSession } from '../../../../src/engine/model/decoder';
import { generate } from '../../../../src/engine/model/generate';
import { openModel, type OpenedModel } from '../../../../src/engine/model/openModel';
import { argmax, createRng, sampleFromLogits } from '../../../../src/engine/model/sampling';
import type { SteeringPlan } from '../../../../src/engine/model/steering';
import { requireOnnx, SYN, syntheticModel, tempDir, testVector } from './helpers';

const PROMPT = [1, 12, 7, 33, 20];
const opened = new Map<string, Promise<OpenedModel>>();
const cacheDir = tempDir();
function open(c: 'plain' | 'fused' | 'ifmerged' | 'external' | 'layernorm' | 'fp16'): Promise<OpenedModel> {
  let p = opened.get(c);
  if (!p) {
    p = openModel(syntheticModel(c), { cacheDir, session: { intraOpNumThreads: 1 } });
    opened.set(c, p);
  }
  return p;
}

const steerAll = (k: number): SteeringPlan => ({ vectors: [{ layer: k, vector: testVector(SYN.H, 5 + k, 2) }], mode: 'all' });

for (const c of ['plain', 'fused', 'ifmerged', 'external', 'layernorm', 'fp16'] as const) {
  test(`generate (${c}): KV-cache greedy equals full-recompute greedy, unsteered and steered`, async (t) => {
    if (!requireOnnx(t)) return;
    const m = await open(c);
    for (const decoder of [m.generator, m.inspect]) {
      for (const steering of [null, steerAll(2), { ...steerAll(1), mode: 'generated' as const }, { ...steerAll(3), mode: 'last-prompt-token' as const }, { ...steerAll(0), mode: 'prompt' as const }]) {
        const cached = await generate(decoder, PROMPT, { maxNewTokens: 12, steering });
        const full = await generate(decoder, PROMPT, { maxNewTokens: 12, steering, useKvCache: false });
        assert.equal(cached.tokenIds.length, 12);
        assert.deepEqual(cached.tokenIds, full.tokenIds, `${c} ${steering?.mode ?? 'unsteered'}`);
        assert.equal(cached.stopReason, 'max-tokens');
      }
    }
    // Steering changes the continuation (the vectors are large), otherwise the check above is vacuous.
    const base = await generate(m.generator, PROMPT, { maxNewTokens: 12 });
    const steered = await generate(m.generator, PROMPT, { maxNewTokens: 12, steering: steerAll(2) });
    assert.notDeepEqual(base.tokenIds, steered.tokenIds);
  });
}

test('generate: the KV-cache run of the first step equals the last row of a full forward pass', async (t) => {
  if (!requireOnnx(t)) return;
  const m = await open('plain');
  const full = await m.inspect.forward(PROMPT);
  const V = full.vocabSize;
  const firstToken = argmax(full.logits.subarray((PROMPT.length - 1) * V));
  const g = await generate(m.generator, PROMPT, { maxNewTokens: 1 });
  assert.deepEqual(g.tokenIds, [firstToken]);
  assert.equal(full.hiddenStates?.length, SYN.L + 1);
});

test('generate: cancellation stops within one step', async (t) => {
  if (!requireOnnx(t)) return;
  const m = await open('plain');
  const ac = new AbortController();
  const runsBefore = m.generator.runCount;
  const seen: number[] = [];
  const r = await generate(m.generator, PROMPT, {
    maxNewTokens: 50,
    signal: ac.signal,
    onToken: ({ id, index }) => {
      seen.push(id);
      if (index === 2) ac.abort();
    },
  });
  assert.equal(r.stopReason, 'aborted');
  assert.equal(r.tokenIds.length, 3, 'no token after the abort');
  assert.deepEqual(seen, r.tokenIds);
  assert.equal(m.generator.runCount - runsBefore, 3, 'no model run after the abort');

  // Abort while a run is in flight: the token it computes is dropped and no further run starts.
  const ac2 = new AbortController();
  const before2 = m.generator.runCount;
  const p = generate(m.generator, PROMPT, { maxNewTokens: 50, signal: ac2.signal });
  ac2.abort();
  const r2 = await p;
  assert.equal(r2.stopReason, 'aborted');
  assert.ok(m.generator.runCount - before2 <= 1);
  assert.equal(r2.tokenIds.length, 0);

  const pre = AbortSignal.abort();
  const before3 = m.generator.runCount;
  const r3 = await generate(m.generator, PROMPT, { maxNewTokens: 5, signal: pre });
  assert.deepEqual(r3, { tokenIds: [], stopReason: 'aborted', stopTokenId: null });
  assert.equal(m.generator.runCount, before3);
});

test('generate: same seed gives the same sample; steered and unsteered share the random stream', async (t) => {
  if (!requireOnnx(t)) return;
  const m = await open('fused');
  const sampling = { temperature: 1.0, topK: 20, topP: 0.95, seed: 1234 };
  const a = await generate(m.generator, PROMPT, { maxNewTokens: 16, sampling });
  const b = await generate(m.generator, PROMPT, { maxNewTokens: 16, sampling });
  assert.deepEqual(a.tokenIds, b.tokenIds);
  const others = await Promise.all([1, 2, 3].map((seed) => generate(m.generator, PROMPT, { maxNewTokens: 16, sampling: { ...sampling, seed } })));
  assert.ok(others.some((o) => o.tokenIds.join() !== a.tokenIds.join()), 'other seeds give other samples');
  // A zero vector is a no-op, so with the same seed the steered run reproduces the unsteered one exactly.
  const zeroSteer: SteeringPlan = { vectors: [{ layer: 2, vector: new Float32Array(SYN.H) }], mode: 'all' };
  const z = await generate(m.generator, PROMPT, { maxNewTokens: 16, sampling, steering: zeroSteer });
  assert.deepEqual(z.tokenIds, a.tokenIds);
  // KV cache and recompute sample identically too (same logits, same draws).
  const full = await generate(m.generator, PROMPT, { maxNewTokens: 16, sampling, useKvCache: false });
  assert.deepEqual(full.tokenIds, a.tokenIds);
});

test('generate: stop tokens end generation and are not returned', async (t) => {
  if (!requireOnnx(t)) return;
  const m = await open('plain');
  const free = await generate(m.generator, PROMPT, { maxNewTokens: 10 });
  const stopAt = free.tokenIds[4] as number;
  const firstIdx = free.tokenIds.indexOf(stopAt);
  const r = await generate(m.generator, PROMPT, { maxNewTokens: 10, stopTokenIds: [stopAt] });
  assert.equal(r.stopReason, 'stop-token');
  assert.equal(r.stopTokenId, stopAt);
  assert.deepEqual(r.tokenIds, free.tokenIds.slice(0, firstIdx));
  assert.deepEqual((await generate(m.generator, PROMPT, { maxNewTokens: 0 })).tokenIds, []);
  await assert.rejects(generate(m.generator, [], { maxNewTokens: 3 }), /at least one token/);
  await assert.rejects(generate(m.generator, PROMPT, { maxNewTokens: 3, steering: { vectors: [{ layer: 9, vector: new Float32Array(SYN.H) }], mode: 'all' } }), /outside 0\.\.3/);
  await assert.rejects(generate(m.generator, PROMPT, { maxNewTokens: 3, steering: { vectors: [{ layer: 1, vector: new Float32Array(8) }], mode: 'all' } }), /8 values but the model's hidden size is 16/);
});

test('an unsurgered model generates too (no steering inputs), and refuses steering', async (t) => {
  if (!requireOnnx(t)) return;
  const m = await open('plain');
  const raw = await DecoderSession.create({ path: path.join(syntheticModel('plain'), 'model.onnx') }, SYN.H, { intraOpNumThreads: 1 });
  assert.equal(raw.numLayers, null);
  const a = await generate(raw, PROMPT, { maxNewTokens: 8 });
  const b = await generate(m.generator, PROMPT, { maxNewTokens: 8 });
  assert.deepEqual(a.tokenIds, b.tokenIds);
  await assert.rejects(generate(raw, PROMPT, { maxNewTokens: 2, steering: steerAll(1) }), /no steering inputs/);
});

test('sampling: top-k 1 and tiny top-p are greedy; frequencies follow the softmax', () => {
  const logits = Float32Array.from([0.5, 2.0, -1.0, 1.0, 2.0]);
  assert.equal(argmax(logits), 1, 'ties go to the lowest index');
  const rng = createRng(42);
  for (let i = 0; i < 50; i++) {
    assert.equal(sampleFromLogits(logits, { temperature: 1, topK: 1, seed: 0 }, rng()), 1);
    assert.equal(sampleFromLogits(logits, { temperature: 1, topP: 0.01, seed: 0 }, rng()), 1);
  }
  assert.equal(sampleFromLogits(logits, { temperature: 0, seed: 0 }, 0.99), 1);
  const counts = new Array<number>(logits.length).fill(0);
  const N = 20000;
  for (let i = 0; i < N; i++) {
    const j = sampleFromLogits(logits, { temperature: 1, seed: 0 }, rng());
    counts[j] = (counts[j] ?? 0) + 1;
  }
  const z = Array.from(logits).reduce((s, x) => s + Math.exp(x), 0);
  logits.forEach((x, i) => {
    const p = Math.exp(x) / z;
    assert.ok(Math.abs((counts[i] as number) / N - p) < 0.015, `token ${i}: ${(counts[i] as number) / N} vs ${p}`);
  });
  // top-k 2 keeps exactly the two tied best tokens, 50/50.
  const two = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < 4000; i++) {
    const j = sampleFromLogits(logits, { temperature: 1, topK: 2, seed: 0 }, rng());
    two[j] = (two[j] ?? 0) + 1;
  }
  assert.equal((two[0] as number) + (two[2] as number) + (two[3] as number), 0);
  assert.ok(Math.abs((two[1] as number) / 4000 - 0.5) < 0.04);
  const r1 = createRng(7);
  const r2 = createRng(7);
  for (let i = 0; i < 10; i++) assert.equal(r1(), r2());
});
