/**
 * The steering workflow on the demo model (skipped until models/tiny-polyglot/model.onnx is in the tree):
 * batched extraction equals one sentence at a time, batched generation equals `generate`, DiffMean from the
 * engine equals a hand computation from per-sentence forward passes, and a fr→en vector moves French
 * hidden states toward the English centroid after the steering layer.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractPooledStates, specialTokenIds } from '../../../../src/engine/analysis/extract';
import { cosineSimilarity } from '../../../../src/engine/analysis/similarity';
import { forwardBatch, generateBatch, openExtractionSession } from '../../../../src/engine/model/batch';
import { generate } from '../../../../src/engine/model/generate';
import { openModel, type OpenedModel } from '../../../../src/engine/model/openModel';
import { steeringPlanFor } from '../../../../src/engine/steering/library';
import { vectorFromStates } from '../../../../src/engine/steering/methods';
import { applyProjection } from '../../../../src/engine/analysis/directions';
import { forwardWithProjection, generateWithProjection } from '../../../../src/engine/steering/projection';
import { REPO, tempDir } from '../model/helpers';

const MODEL_DIR = process.env.POLYGLOT_LENS_TINY_MODEL ?? path.join(REPO, 'models/tiny-polyglot');
const present = fs.existsSync(path.join(MODEL_DIR, 'model.onnx'));
const skip = present ? false : 'models/tiny-polyglot/model.onnx is not in the repository yet';

const rows = present
  ? fs.readFileSync(path.join(MODEL_DIR, 'corpus', 'steer.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>).filter((r) => r['fr'] && r['en'])
  : [];

describe('steering workflow on tiny-polyglot', { skip }, () => {
  let model: OpenedModel;
  before(async () => {
    model = await openModel(MODEL_DIR, { cacheDir: tempDir() });
  });
  after(async () => {
    await model?.dispose();
  });

  it('a padded batch gives every row the states of a one-at-a-time pass (within 1e-5)', async () => {
    const texts = rows.slice(0, 6).flatMap((r) => [r['fr'] as string, r['en'] as string]);
    const ids = texts.map((t) => model.folder.tokenizer.encode(t).ids);
    assert.ok(new Set(ids.map((x) => x.length)).size > 2, 'the rows have different lengths, so padding is exercised');
    const batch = await forwardBatch(model.inspect, ids, { padTokenId: 2, wantLogits: true });
    const H = model.hiddenSize;
    let worst = 0;
    for (let b = 0; b < ids.length; b++) {
      const single = await model.inspect.forward(ids[b] as number[]);
      for (let k = 0; k <= model.numLayers; k++) {
        const h = batch.hiddenStates.get(k)!;
        const s = single.hiddenStates![k]!;
        for (let t = 0; t < (ids[b] as number[]).length; t++) {
          for (let j = 0; j < H; j++) {
            const a = h[(b * batch.paddedLength + t) * H + j] as number;
            const e = s[t * H + j] as number;
            worst = Math.max(worst, Math.abs(a - e) / Math.max(1, Math.abs(e)));
          }
        }
      }
      const V = batch.vocabSize;
      const last = (ids[b] as number[]).length - 1;
      for (let v = 0; v < V; v += 97) assert.ok(Math.abs((batch.logits![(b * batch.paddedLength + last) * V + v] as number) - (single.logits[last * V + v] as number)) < 1e-4);
    }
    assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
  });

  it('pooled extraction (mean over content tokens, BOS excluded) does not depend on the batch size', async () => {
    const texts = rows.slice(0, 9).map((r) => r['fr'] as string);
    const one = await extractPooledStates(model, texts, { batchSize: 1 });
    const many = await extractPooledStates(model, texts, { batchSize: 4 });
    // A padded-token budget smaller than the longest rows × 4 splits the batches unevenly (the default
    // budget, EXTRACTION_BATCH_TOKENS, does the same on longer corpora).
    const budget = await extractPooledStates(model, texts, { batchSize: 8, maxBatchTokens: 60 });
    for (const other of [many, budget]) {
      for (const k of one.layers) {
        const a = one.states.get(k)!.data;
        const b = other.states.get(k)!.data;
        for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) <= 1e-5 * Math.max(1, Math.abs(a[i] as number)), `layer ${k} value ${i}`);
      }
      assert.deepEqual(one.tokenCounts, other.tokenCounts);
    }
    const maxLength = Math.max(...texts.map((t) => model.folder.tokenizer.encode(t).ids.length));
    assert.ok(maxLength * 2 > 60, `the 60-token budget forces single-row batches for the longest sentences (longest ${maxLength})`);
    assert.equal(one.tokenCounts[0], model.folder.tokenizer.encode(texts[0] as string).ids.length - 1, 'BOS is not a content token');
  });

  it('the extraction session (inspect graph without the LM head) gives the same pooled states', async () => {
    const extractor = await openExtractionSession(model);
    try {
      const texts = rows.slice(0, 5).map((r) => r['de'] ?? (r['en'] as string));
      const a = await extractPooledStates(model, texts, { batchSize: 5 });
      const b = await extractPooledStates({ ...model, extractor }, texts, { batchSize: 5 });
      for (const k of a.layers) {
        const x = a.states.get(k)!.data;
        const y = b.states.get(k)!.data;
        for (let i = 0; i < x.length; i++) assert.ok(Math.abs((x[i] as number) - (y[i] as number)) <= 1e-5 * Math.max(1, Math.abs(x[i] as number)), `layer ${k} value ${i}`);
      }
      assert.ok(!extractor.session.outputNames.includes('logits'), 'the LM head is pruned');
    } finally {
      await extractor.session.release();
    }
  });

  it('DiffMean from the engine equals a hand computation from per-sentence forward passes', async () => {
    const pairs = rows.slice(0, 5);
    const fr = await extractPooledStates(model, pairs.map((r) => r['fr'] as string), { batchSize: 3 });
    const en = await extractPooledStates(model, pairs.map((r) => r['en'] as string), { batchSize: 3 });
    const v = vectorFromStates('diffmean', fr, en, { sourceLanguage: 'fr', targetLanguage: 'en', modelHash: 'x', modelHint: 'llama' });
    const special = specialTokenIds(model.folder);
    const H = model.hiddenSize;
    const k = model.numLayers - 1;
    const meanOf = async (texts: string[]): Promise<Float64Array> => {
      const acc = new Float64Array(H);
      for (const t of texts) {
        const ids = model.folder.tokenizer.encode(t).ids;
        const out = await model.inspect.forward(ids);
        const h = out.hiddenStates![k]!;
        const content = ids.map((id, p) => (special.has(id) ? -1 : p)).filter((p) => p >= 0);
        for (const p of content) for (let j = 0; j < H; j++) acc[j] = (acc[j] as number) + (h[p * H + j] as number) / content.length / texts.length;
      }
      return acc;
    };
    const mEn = await meanOf(pairs.map((r) => r['en'] as string));
    const mFr = await meanOf(pairs.map((r) => r['fr'] as string));
    const d = v.directions.get(k)!;
    for (let j = 0; j < H; j++) {
      const want = (mEn[j] as number) - (mFr[j] as number);
      assert.ok(Math.abs((d[j] as number) - want) <= 1e-4 * Math.max(1, Math.abs(want)), `component ${j}: ${d[j]} vs ${want}`);
    }
    assert.ok(v.metadata.meanActivationNorms[k]! > 0);
    assert.equal(v.metadata.numPairs, 5);
  });

  it('a fr→en vector moves French states toward the English centroid after the steering layer', async () => {
    const train = rows.slice(0, 40);
    const fr = await extractPooledStates(model, train.map((r) => r['fr'] as string), { batchSize: 8 });
    const en = await extractPooledStates(model, train.map((r) => r['en'] as string), { batchSize: 8 });
    const v = vectorFromStates('diffmean', fr, en, { sourceLanguage: 'fr', targetLanguage: 'en', modelHash: model.prepared.modelSha256, modelHint: 'llama' });
    const k = model.numLayers - 2;
    const { plan } = steeringPlanFor([{ vector: v, layer: k, strength: 1, unit: 'raw' }]);
    const held = rows.slice(40, 52).map((r) => r['fr'] as string);
    const base = await extractPooledStates(model, held, { batchSize: 6 });
    const steered = await extractPooledStates(model, held, { batchSize: 6, steering: new Map([[k, plan.vectors[0]!.vector]]) });
    const enCentroid = (kk: number): Float64Array => {
      const m = en.states.get(kk)!;
      const c = new Float64Array(m.cols);
      for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) c[j] = (c[j] as number) + (m.data[i * m.cols + j] as number) / m.rows;
      return c;
    };
    for (let kk = k; kk <= model.numLayers; kk++) {
      const c = enCentroid(kk);
      const mean = (p: typeof base): number => {
        const m = p.states.get(kk)!;
        let s = 0;
        for (let i = 0; i < m.rows; i++) s += cosineSimilarity(m.data.subarray(i * m.cols, (i + 1) * m.cols), c);
        return s / m.rows;
      };
      assert.ok(mean(steered) > mean(base), `layer ${kk}: steered ${mean(steered)} vs unsteered ${mean(base)}`);
    }
    // At the steering layer itself the raw DiffMean offset is an exact translation of every token state.
    const b0 = base.states.get(k - 1)!.data;
    const s0 = steered.states.get(k - 1)!.data;
    assert.deepEqual([...s0.slice(0, 8)], [...b0.slice(0, 8)], 'layers before the steering layer are untouched');
  });

  it('projection steering is exact: the state at k becomes a + σ(aW − a), layers before k are untouched', async () => {
    const fr = await extractPooledStates(model, rows.slice(0, 30).map((r) => r['fr'] as string));
    const en = await extractPooledStates(model, rows.slice(0, 30).map((r) => r['en'] as string));
    const k = model.numLayers - 2;
    const v = vectorFromStates('projection', fr, en, { sourceLanguage: 'fr', targetLanguage: 'en', modelHash: '', modelHint: '' }, { layers: [k] });
    const w = v.projections.get(k)!;
    const ids = model.folder.tokenizer.encode(rows[40]!['fr'] as string).ids;
    const plain = await model.inspect.forward(ids);
    const { hiddenStates } = await forwardWithProjection(model, ids, { layer: k, w, sigma: 0.7 }, [k - 1, k]);
    const want = applyProjection({ rows: ids.length, cols: model.hiddenSize, data: plain.hiddenStates![k]! }, w, 0.7);
    const got = hiddenStates.get(k)!;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs((got[i] as number) - (want[i] as number)) <= 1e-4 * Math.max(1, Math.abs(want[i] as number)), `value ${i}`);
    assert.deepEqual([...hiddenStates.get(k - 1)!.slice(0, 16)], [...plain.hiddenStates![k - 1]!.slice(0, 16)]);
  });

  it('projection generation on a KV cache gives the tokens of the full two-pass recompute', async () => {
    const fr = await extractPooledStates(model, rows.slice(0, 30).map((r) => r['fr'] as string));
    const en = await extractPooledStates(model, rows.slice(0, 30).map((r) => r['en'] as string));
    const k = model.numLayers - 2;
    const v = vectorFromStates('projection', fr, en, { sourceLanguage: 'fr', targetLanguage: 'en', modelHash: '', modelHint: '' }, { layers: [k] });
    const p = { layer: k, w: v.projections.get(k)!, sigma: 1 };
    for (const [i, r] of rows.slice(40, 43).entries()) {
      const ids = model.folder.tokenizer.encode(r['fr'] as string).ids.slice(0, 20);
      const options = { maxNewTokens: 12, sampling: { temperature: 0.7, topP: 0.9, seed: 5 + i }, stopTokenIds: model.folder.stopTokenIds };
      const before = model.inspect.runCount;
      const cached = await generateWithProjection(model, ids, p, options);
      const runs = model.inspect.runCount - before;
      const full = await generateWithProjection(model, ids, p, { ...options, useKvCache: false });
      assert.deepEqual(cached, full, `prompt ${i}`);
      assert.ok(cached.length > 0);
      // Two runs for the prompt, then two single-token runs per generated token except the last (unless a stop token ended it).
      assert.equal(runs, 2 * cached.length + (cached.length < 12 ? 2 : 0), 'two runs per token');
    }
  });

  it('batched generation (left padding, KV cache, per-row steering) equals generate() row by row', async () => {
    const prompts = rows.slice(0, 4).map((r) => model.folder.tokenizer.encode(r['fr'] as string).ids.slice(0, 12 + (r['fr']!.length % 7)));
    const fr = await extractPooledStates(model, rows.slice(0, 10).map((r) => r['fr'] as string));
    const en = await extractPooledStates(model, rows.slice(0, 10).map((r) => r['en'] as string));
    const v = vectorFromStates('diffmean', fr, en, { sourceLanguage: 'fr', targetLanguage: 'en', modelHash: '', modelHint: '' });
    const { plan } = steeringPlanFor([{ vector: v, layer: model.numLayers - 1, strength: 0.5, unit: 'activationNorm', positions: 'all' }]);
    const sampling = { temperature: 0.7, topP: 0.9, seed: 11 };
    const rowPlans = prompts.map((_, i) => (i % 2 === 0 ? plan : null));
    const batch = await generateBatch(model.generator, prompts, { maxNewTokens: 10, sampling, seeds: prompts.map((_, i) => 100 + i), rowSteering: rowPlans, padTokenId: 2, stopTokenIds: model.folder.stopTokenIds });
    for (let i = 0; i < prompts.length; i++) {
      const single = await generate(model.generator, prompts[i] as number[], { maxNewTokens: 10, sampling: { ...sampling, seed: 100 + i }, steering: rowPlans[i] ?? null, stopTokenIds: model.folder.stopTokenIds });
      assert.deepEqual(batch[i]!.tokenIds, single.tokenIds, `row ${i}`);
    }
  });
});
