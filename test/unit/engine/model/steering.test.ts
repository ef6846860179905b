import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSteerFeeds, isSteeredPosition, vectorsByLayer, type SteeringPlan } from '../../../../src/engine/model/steering';
import { InvalidArgumentError } from '../../../../src/engine/model/errors';

const H = 4;
const L = 3;
const v = Float32Array.from([1, -2, 3, 0.5]);
const plan = (mode: SteeringPlan['mode']): SteeringPlan => ({ vectors: [{ layer: 2, vector: v }], mode });

function rows(t: { data: unknown; dims: readonly number[] }): number[][] {
  const d = Array.from(t.data as Float32Array);
  const n = t.dims[1] ?? 0;
  return Array.from({ length: n }, (_, i) => d.slice(i * H, (i + 1) * H));
}

test('steer feeds: every layer 0..L gets a tensor; unsteered layers get zeros [1,1,H]', () => {
  const feeds = buildSteerFeeds(plan('all'), L, H, { start: 0, length: 5, promptLength: 5 });
  assert.deepEqual(Object.keys(feeds).sort(), ['steer.0', 'steer.1', 'steer.2', 'steer.3']);
  for (const k of [0, 1, 3]) {
    assert.deepEqual(feeds[`steer.${k}`]?.dims, [1, 1, H]);
    assert.ok((feeds[`steer.${k}`]?.data as Float32Array).every((x) => x === 0));
  }
  assert.deepEqual(feeds['steer.2']?.dims, [1, 1, H], 'a wholly steered window broadcasts one row');
  assert.deepEqual(Array.from(feeds['steer.2']?.data as Float32Array), Array.from(v));
  const none = buildSteerFeeds(null, L, H, { start: 0, length: 5, promptLength: 5 });
  assert.ok(Object.values(none).every((t) => (t.data as Float32Array).every((x) => x === 0)));
});

test('steer feeds: position modes over a prompt window and over generated single-token windows', () => {
  const prompt = { start: 0, length: 4, promptLength: 4 };
  const gen = { start: 6, length: 1, promptLength: 4 };
  const Z = [0, 0, 0, 0];
  const V = Array.from(v);
  // prompt only: the whole prompt window, no generated step
  assert.deepEqual(buildSteerFeeds(plan('prompt'), L, H, prompt)['steer.2']?.dims, [1, 1, H]);
  assert.ok((buildSteerFeeds(plan('prompt'), L, H, gen)['steer.2']?.data as Float32Array).every((x) => x === 0));
  // generated only: nothing in the prompt, every generated step
  assert.ok((buildSteerFeeds(plan('generated'), L, H, prompt)['steer.2']?.data as Float32Array).every((x) => x === 0));
  assert.deepEqual(Array.from(buildSteerFeeds(plan('generated'), L, H, gen)['steer.2']?.data as Float32Array), V);
  // last prompt token: a per-position tensor with only row 3 set
  const last = buildSteerFeeds(plan('last-prompt-token'), L, H, prompt)['steer.2'];
  assert.ok(last);
  assert.deepEqual(last.dims, [1, 4, H]);
  assert.deepEqual(rows(last), [Z, Z, Z, V]);
  assert.ok((buildSteerFeeds(plan('last-prompt-token'), L, H, gen)['steer.2']?.data as Float32Array).every((x) => x === 0));
  // A full recompute window (prompt + 2 generated) in 'generated' mode steers rows 4 and 5 only.
  const full = buildSteerFeeds(plan('generated'), L, H, { start: 0, length: 6, promptLength: 4 })['steer.2'];
  assert.ok(full);
  assert.deepEqual(rows(full), [Z, Z, Z, Z, V, V]);
  assert.equal(isSteeredPosition('prompt', 3, 4), true);
  assert.equal(isSteeredPosition('prompt', 4, 4), false);
});

test('steer feeds: vectors at one layer add up; bad layers and sizes are typed errors', () => {
  const sum = vectorsByLayer({ vectors: [{ layer: 1, vector: v }, { layer: 1, vector: v }], mode: 'all' }, L, H);
  assert.deepEqual(Array.from(sum.get(1) ?? []), [2, -4, 6, 1]);
  assert.throws(() => vectorsByLayer({ vectors: [{ layer: 4, vector: v }], mode: 'all' }, L, H), (e: unknown) => e instanceof InvalidArgumentError && /outside 0\.\.3/.test(e.message));
  assert.throws(() => vectorsByLayer({ vectors: [{ layer: 1, vector: new Float32Array(3) }], mode: 'all' }, L, H), /3 values but the model's hidden size is 4/);
});
