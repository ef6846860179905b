/** Composition with per-vector position modes: buildSteerFeeds sums each vector only where its own mode applies. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSteerFeeds } from '../../../../src/engine/model/steering';
import { createSteeringVector } from '../../../../src/engine/steering/vector';
import { steeringPlanFor } from '../../../../src/engine/steering/library';

test('vectors with different position modes are summed per position', () => {
  const H = 3;
  const plan = {
    mode: 'all' as const,
    vectors: [
      { layer: 2, vector: Float32Array.from([1, 0, 0]), mode: 'prompt' as const },
      { layer: 2, vector: Float32Array.from([0, 10, 0]), mode: 'generated' as const },
      { layer: 2, vector: Float32Array.from([0, 0, 100]), mode: 'last-prompt-token' as const },
      { layer: 1, vector: Float32Array.from([5, 5, 5]) },
    ],
  };
  // Window: absolute positions 2..5 of a sequence whose prompt is 4 tokens long (2, 3 prompt; 4, 5 generated).
  const feeds = buildSteerFeeds(plan, 3, H, { start: 2, length: 4, promptLength: 4 });
  assert.deepEqual(feeds['steer.2']!.dims, [1, 4, H]);
  assert.deepEqual([...(feeds['steer.2']!.data as Float32Array)], [1, 0, 0, 1, 0, 100, 0, 10, 0, 0, 10, 0]);
  assert.deepEqual([...(feeds['steer.1']!.data as Float32Array)], [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
  assert.deepEqual([...(feeds['steer.0']!.data as Float32Array)], [0, 0, 0]);
});

test('steeringPlanFor composes vectors with their own layer, strength, unit and positions', () => {
  const a = createSteeringVector({ directions: new Map([[2, Float32Array.from([3, 4])]]), meanActivationNorms: { 2: 10 }, sourceLanguage: 'fr', targetLanguage: 'en' });
  const b = createSteeringVector({ directions: new Map([[1, Float32Array.from([1, 0])], [2, Float32Array.from([0, 2])]]), meanActivationNorms: { 1: 1, 2: 1 }, sourceLanguage: 'de', targetLanguage: 'en' });
  const { plan, composed } = steeringPlanFor([
    { vector: a, layer: 2, strength: 0.5, unit: 'activationNorm', positions: 'prompt' },
    { vector: b, layer: 2, strength: 2, unit: 'raw', positions: 'generated' },
  ]);
  assert.equal(composed.terms.length, 2);
  // 0.5 × mean norm 10 along (3, 4)/5 = (3, 4); raw 2 × (0, 2) = (0, 4).
  const byMode = new Map(plan.vectors.map((v) => [v.mode, [...v.vector]]));
  assert.deepEqual(byMode.get('prompt'), [3, 4]);
  assert.deepEqual(byMode.get('generated'), [0, 4]);
});
