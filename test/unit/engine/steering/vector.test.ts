import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SteeringInputError, VectorCompatibilityError } from '../../../../src/engine/steering/errors.js';
import {
  checkVectorCompatibility,
  composeSteering,
  createSteeringVector,
  offsetAt,
  positionKinds,
  steeringRows,
  strengthCoefficient,
} from '../../../../src/engine/steering/vector.js';

const f = (...xs: number[]): Float32Array => Float32Array.from(xs);

describe('createSteeringVector', () => {
  it('computes vector norms and keeps metadata', () => {
    const v = createSteeringVector({ directions: { 3: f(3, 4), 5: f(0, 2) }, method: 'diffmean', sourceLanguage: 'fr', targetLanguage: 'en', numPairs: 10, meanActivationNorms: { 3: 10 } });
    assert.equal(v.metadata.hiddenSize, 2);
    assert.deepEqual(v.metadata.vectorNorms, { 3: 5, 5: 2 });
    assert.deepEqual([...v.directions.keys()], [3, 5]);
    assert.match(v.metadata.createdAt, /^\d{4}-\d\d-\d\dT/);
  });

  it('rejects inconsistent lengths, non-finite values, bad layers and unknown defaults', () => {
    assert.throws(() => createSteeringVector({ directions: { 1: f(1, 2), 2: f(1) } }), /layer 2 has length 1, expected hidden size 2/);
    assert.throws(() => createSteeringVector({ directions: { 1: f(1, NaN) } }), /element 1 is NaN/);
    assert.throws(() => createSteeringVector({ directions: new Map([[-1, f(1)]]) }), /layer index -1 is not a non-negative integer/);
    assert.throws(() => createSteeringVector({ directions: {} }), SteeringInputError);
    assert.throws(() => createSteeringVector({ directions: { 1: f(1) }, defaultLayer: 4 }), /defaultLayer 4 has no direction; layers present: 1/);
  });
});

describe('checkVectorCompatibility', () => {
  const v = createSteeringVector({ directions: { 4: f(1, 0, 0) }, modelHint: 'llama', modelHash: 'aaaa1111' });
  it('accepts a matching model and unknown fields', () => {
    checkVectorCompatibility(v, { hiddenSize: 3, modelHint: 'LLaMA', modelHash: 'AAAA1111', numLayers: 6 });
    checkVectorCompatibility(v, { hiddenSize: 3 });
  });
  it('says what is wrong: hidden size, architecture, weights, layer range', () => {
    assert.throws(() => checkVectorCompatibility(v, { hiddenSize: 4 }, { label: 'fr-en' }), (e: unknown) => e instanceof VectorCompatibilityError && /fr-en has hidden size 3 but the model's residual stream has 4: it was made for another model \(llama\)/.test(e.message));
    assert.throws(() => checkVectorCompatibility(v, { hiddenSize: 3, modelHint: 'qwen2' }), /made for architecture 'llama' but the model is 'qwen2'/);
    assert.throws(() => checkVectorCompatibility(v, { hiddenSize: 3, modelHash: 'bbbb' }), /extracted from model aaaa1111… but this model is bbbb…/);
    checkVectorCompatibility(v, { hiddenSize: 3, modelHash: 'bbbb' }, { allowOtherModel: true });
    assert.throws(() => checkVectorCompatibility(v, { hiddenSize: 3, numLayers: 3 }), /direction at layer 4 but the model has 3 blocks \(valid layers 0\.\.3\)/);
  });
});

describe('composeSteering', () => {
  const a = createSteeringVector({ directions: { 2: f(3, 4), 3: f(1, 0) }, meanActivationNorms: { 2: 10, 3: 2 }, defaultLayer: 2, sourceLanguage: 'fr', targetLanguage: 'en' });
  const b = createSteeringVector({ directions: { 2: f(0, 1) } });

  it('strength units: activationNorm, absolute and raw', () => {
    assert.equal(strengthCoefficient(a, 2, 1, 'activationNorm'), 2); // 1·10/‖(3,4)‖
    assert.equal(strengthCoefficient(a, 2, 1, 'absolute'), 0.2);
    assert.equal(strengthCoefficient(a, 2, 1.5, 'raw'), 1.5);
    assert.throws(() => strengthCoefficient(b, 2, 1, 'activationNorm'), /no mean activation norm for layer 2.*'raw' or 'absolute'/);
  });

  it('sums vectors per layer and per position mode', () => {
    const c = composeSteering([
      { vector: a, strength: 0.5 }, // layer 2 (default), 0.5·10 along (0.6,0.8) = (3,4)
      { vector: b, strength: 2, unit: 'raw' }, // layer 2, (0,2)
      { vector: a, layer: 3, strength: -1, unit: 'absolute', positions: 'generated' }, // (-1, 0) on generated tokens
      { vector: b, strength: 1, unit: 'absolute', positions: 'lastPrompt' }, // (0,1) on the last prompt token
    ]);
    assert.deepEqual([...c.layers.keys()].sort(), [2, 3]);
    assert.deepEqual([...c.layers.get(2)!.get('all')!], [3, 6]);
    assert.deepEqual([...offsetAt(c, 2, 'prompt')!], [3, 6]);
    assert.deepEqual([...offsetAt(c, 2, 'lastPrompt')!], [3, 7]);
    assert.deepEqual([...offsetAt(c, 2, 'generated')!], [3, 6]);
    assert.equal(offsetAt(c, 3, 'prompt'), null);
    assert.deepEqual([...offsetAt(c, 3, 'generated')!], [-1, 0]);
    assert.equal(offsetAt(c, 7, 'generated'), null);
    assert.equal(c.terms.length, 4);
    assert.equal(c.terms[0]!.label, 'fr-en (#1)');
    assert.equal(c.terms[0]!.offsetNorm, 5);
  });

  it('lays out per-position rows for a steer input', () => {
    const c = composeSteering([{ vector: b, strength: 1, unit: 'raw', positions: 'prompt' }]);
    const kinds = positionKinds(3, 0, 5);
    assert.deepEqual(kinds, ['prompt', 'prompt', 'lastPrompt', 'generated', 'generated']);
    assert.deepEqual([...steeringRows(c, 2, kinds)], [0, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
    assert.deepEqual(positionKinds(3, 4, 1), ['generated']);
  });

  it('errors when a layer is missing or ambiguous, or sizes differ', () => {
    const multi = createSteeringVector({ directions: { 1: f(1, 0), 2: f(0, 1) } });
    assert.throws(() => composeSteering([{ vector: multi }]), /has directions at layers 1, 2 and no default layer: say which layer/);
    assert.throws(() => composeSteering([{ vector: a, layer: 9 }]), /no direction at layer 9; it has layers 2, 3/);
    const other = createSteeringVector({ directions: { 2: f(1, 2, 3) } });
    assert.throws(() => composeSteering([{ vector: a }, { vector: other, unit: 'raw' }]), VectorCompatibilityError);
    assert.throws(() => composeSteering([{ vector: b, strength: Infinity, unit: 'raw' }]), /strength must be a finite number/);
  });
});

describe('steeringVectorFromLayers', () => {
  it('turns per-layer method results into a vector whose activationNorm strength uses them', async () => {
    const { steeringVectorFromLayers } = await import('../../../../src/engine/steering/build.js');
    const v = steeringVectorFromLayers(
      new Map([[3, { direction: f(0, 2), meanActivationNorm: 8, counts: { en: 10, fr: 10 } }], [4, { direction: f(1, 0), meanActivationNorm: 4 }]]),
      { method: 'diffmean', sourceLanguage: 'fr', targetLanguage: 'en', numPairs: 10, pooling: 'mean', defaultLayer: 3 },
    );
    assert.deepEqual(v.metadata.meanActivationNorms, { 3: 8, 4: 4 });
    assert.deepEqual(v.metadata.tokenCounts, { en: 10, fr: 10 });
    const c = composeSteering([{ vector: v, strength: 0.5 }]);
    assert.deepEqual([...c.layers.get(3)!.get('all')!], [0, 4]); // 0.5 · 8 · (0, 1)
  });
});
