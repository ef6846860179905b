/**
 * The analysis's `inspection` (logit lens at every layer and position, per-layer PCA pictures) and the
 * language of continuations, on the real engine:
 * - the bundled demo model against the PyTorch/numpy reference (test/fixtures/tiny-polyglot/reference.json,
 *   `lens_all`, `pca`, `pca_tokens`, written by models/tiny-polyglot/train/fixtures.py);
 * - the test model's built-in rule (the next token is last id + 1) at the last layer of every position;
 * - caching (no second forward pass, inspect options in the key), the steered pass, and LID failures.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelRuntime } from '../../../src/engine/modelRuntime';
import type { LanguageIdentifier } from '../../../src/engine/analysis/metrics';
import { promptAnalysis, type PromptAnalysis } from '../../../src/protocol/engine';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';

const REPO = path.resolve(__dirname, '..', '..', '..');
const TINY = path.join(REPO, 'models', 'tiny-polyglot');
const REFERENCE = path.join(REPO, 'test', 'fixtures', 'tiny-polyglot', 'reference.json');
const BUNDLED_CENTROIDS = path.join(TINY, 'vectors', 'centroids.safetensors');

interface LensAll {
  top_ids: number[][][]; // [L+1][seq][5]
  top_logits: number[][][];
  log_z: number[][];
}
interface PromptCase {
  lang: string;
  text: string;
  input_ids: number[];
  lens_all: LensAll;
  pca_tokens: Record<string, number[][]>; // layer -> [seq][2]
}
interface Reference {
  num_layers: number;
  pca: { layers: Record<string, { explained: [number, number]; centroids: Record<string, [number, number]> }> };
  prompts: PromptCase[];
}

const present = fs.existsSync(path.join(TINY, 'model.onnx')) && fs.existsSync(REFERENCE);
const skip = present ? false : 'models/tiny-polyglot or its reference fixture is missing';

let tiny: ModelRuntime | undefined;
let ref: Reference;
let info: TestModelInfo;
before(async () => {
  info = await ensureTestModel();
  if (present) {
    ref = JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as Reference;
    tiny = await ModelRuntime.open(TINY, { threads: 1 });
  }
});
after(async () => {
  await tiny?.dispose();
});

const INSPECT = { lensTopK: 5, projection: true };

test('tiny-polyglot: the logit lens at every layer and position equals PyTorch (ids, logits, probabilities)', { skip }, async () => {
  const rt = tiny!;
  for (const p of ref.prompts) {
    const a = await rt.analyze(p.text, { topK: 5, inspect: INSPECT });
    assert.deepEqual(a.tokens.map((t) => t.id), p.input_ids, p.lang);
    const lens = a.inspection!.lens;
    assert.equal(lens.length, ref.num_layers + 1);
    let worstLogit = 0;
    let worstLogProbability = 0;
    lens.forEach((layer, k) => {
      assert.equal(layer.length, p.input_ids.length, `${p.lang} layer ${k}: one row per position`);
      layer.forEach((candidates, t) => {
        const wantIds = p.lens_all.top_ids[k]![t]!;
        const wantLogits = p.lens_all.top_logits[k]![t]!;
        const logZ = p.lens_all.log_z[k]![t]!;
        // Ranks may only differ between (near-)tied logits.
        candidates.forEach((c, r) => {
          if (c.id !== wantIds[r]) {
            const i = wantIds.indexOf(c.id);
            assert.ok(i >= 0 && Math.abs(wantLogits[i]! - wantLogits[r]!) < 1e-3, `${p.lang} layer ${k} position ${t} rank ${r}: ${c.id} vs ${wantIds[r]}`);
          }
          worstLogit = Math.max(worstLogit, Math.abs(c.logit - wantLogits[r]!) / Math.max(1, Math.abs(wantLogits[r]!)));
          worstLogProbability = Math.max(worstLogProbability, Math.abs(Math.log(c.probability) - (wantLogits[r]! - logZ)) / Math.max(1, Math.abs(logZ)));
        });
      });
    });
    // Relative to the magnitude (logits and log Z reach tens in deep layers; float32 sums in another order).
    assert.ok(worstLogit < 1e-5, `${p.lang}: logits differ by ${worstLogit} (relative)`);
    assert.ok(worstLogProbability < 5e-5, `${p.lang}: log-probabilities differ by ${worstLogProbability} (relative to log Z)`);
    // Every candidate text is the token decoded on its own, as the logitLens request gives it.
    const last = await rt.logitLens(p.text, { topK: 5 });
    assert.deepEqual(last.layers.map((l) => l.candidates), lens.map((layer) => layer[layer.length - 1]));
  }
});

test('tiny-polyglot: every layer\'s projection (centroids, explained variance, prompt tokens) equals numpy', { skip }, async (t) => {
  const rt = tiny!;
  for (const p of ref.prompts) {
    const a = await rt.analyze(p.text, { topK: 5, inspect: INSPECT });
    const file = a.centroids?.file;
    if (file === undefined || !fs.readFileSync(file).equals(fs.readFileSync(BUNDLED_CENTROIDS))) {
      t.skip(`the engine uses centroids from ${file ?? 'nowhere'}, not the bundled ones the reference was computed on`);
      return;
    }
    const projections = a.inspection!.projections!;
    assert.deepEqual(projections.map((pr) => pr.layer), Object.keys(ref.pca.layers).map(Number));
    for (const pr of projections) {
      const want = ref.pca.layers[String(pr.layer)]!;
      const scale = Math.max(1, ...Object.values(want.centroids).flat().map(Math.abs));
      assert.ok(Math.abs(pr.explained[0] - want.explained[0]) < 1e-3 && Math.abs(pr.explained[1] - want.explained[1]) < 1e-3, `layer ${pr.layer} explained ${JSON.stringify(pr.explained)} vs ${JSON.stringify(want.explained)}`);
      assert.deepEqual(pr.centroids.map((c) => c.language), a.centroids!.languages);
      for (const c of pr.centroids) {
        const [x, y] = want.centroids[c.language]!;
        assert.ok(Math.hypot(c.x - x, c.y - y) < 1e-4 * scale, `layer ${pr.layer} ${c.language}: (${c.x}, ${c.y}) vs (${x}, ${y})`);
      }
      // Tokens: ORT's hidden states against PyTorch's (they agree to ~1e-4 of the state's scale).
      const tokens = p.pca_tokens[String(pr.layer)]!;
      assert.equal(pr.tokens.length, tokens.length);
      pr.tokens.forEach((tk, i) => {
        const [x, y] = tokens[i]!;
        assert.ok(Math.hypot(tk.x - x!, tk.y - y!) < 1e-3 * scale, `${p.lang} layer ${pr.layer} token ${i}: (${tk.x}, ${tk.y}) vs (${x}, ${y})`);
      });
    }
  }
});

test('tiny-polyglot: inspection is cached with the forward pass; its options are part of the key; a plain analysis has none', { skip }, async () => {
  const rt = tiny!;
  const prompt = 'Les enfants jouent dans le jardin pendant que';
  const plain = await rt.analyze(prompt, { topK: 3 });
  assert.equal(plain.inspection, undefined);
  assert.equal(plain.timings.inspectionMs, undefined);
  const runs = rt.forwardRuns;
  const first = await rt.analyze(prompt, { topK: 3, inspect: { lensTopK: 3, projection: false } });
  assert.equal(rt.forwardRuns, runs, 'the inspection reuses the cached forward pass');
  assert.equal(first.inspection!.projections, null, 'no projection asked for');
  assert.ok(first.inspection!.lens.every((layer) => layer.every((c) => c.length === 3)));
  const again = await rt.analyze(prompt, { topK: 3, inspect: { lensTopK: 3, projection: false } });
  assert.equal(again.inspection, first.inspection, 'the same cached inspection');
  const wider = await rt.analyze(prompt, { topK: 3, inspect: { lensTopK: 7, projection: true } });
  assert.equal(rt.forwardRuns, runs);
  assert.ok(wider.inspection!.lens.every((layer) => layer.every((c) => c.length === 7)));
  assert.deepEqual(wider.inspection!.lens.map((l) => l.map((c) => c.slice(0, 3))), first.inspection!.lens, 'a wider lens starts with the narrower one');
  assert.ok(wider.inspection!.projections!.length > 0);
  // What crosses the thread boundary is valid protocol.
  promptAnalysis(JSON.parse(JSON.stringify(wider)), 'analysis');
});

test('tiny-polyglot: with a vector on, the steered inspection comes from the steered pass (layers below the vector unchanged)', { skip }, async () => {
  const rt = tiny!;
  const prompt = "Le dragon s'envola au-dessus des montagnes et";
  const a = await rt.analyze(prompt, { topK: 3, vectors: [{ vector: 'fr-en' }], inspect: INSPECT });
  const k = a.steered!.vectors[0]!.layer;
  const base = a.inspection!;
  const steered = a.steered!.inspection!;
  assert.equal(steered.lens.length, base.lens.length);
  for (let layer = 0; layer < k; layer++) assert.deepEqual(steered.lens[layer], base.lens[layer], `layer ${layer} < ${k} is not steered`);
  for (let layer = k; layer < base.lens.length; layer++) assert.notDeepEqual(steered.lens[layer], base.lens[layer], `layer ${layer} >= ${k} is steered`);
  // Same axes (fitted on the centroids), different token positions from layer k on.
  const bp = base.projections!.find((p) => p.layer === k)!;
  const sp = steered.projections!.find((p) => p.layer === k)!;
  assert.deepEqual(sp.centroids, bp.centroids);
  assert.notDeepEqual(sp.tokens, bp.tokens);
});

test('tiny-polyglot: continuations carry the language lid.176 identifies, with its confidence', { skip }, async () => {
  const rt = tiny!;
  const fr = ref.prompts.find((p) => p.lang === 'fr')!;
  const a = await rt.analyze(fr.text, { topK: 3, generation: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 } });
  const c = a.continuations!.base;
  assert.equal(c.language, 'fr', c.text);
  assert.ok(c.confidence !== undefined && c.confidence > 0.5 && c.confidence <= 1, String(c.confidence));
  assert.deepEqual(a.warnings, []);
  const g = await rt.generate(fr.text, [], { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 });
  assert.equal(g.continuation.language, 'fr');
  assert.equal(g.warnings, undefined);
});

test('when language identification cannot load, continuations come back as \'und\' with a warning; analysis still succeeds', async () => {
  const failing = await ModelRuntime.open(info.dir, { threads: 1, languageIdentifier: () => Promise.reject(new Error('lid.176.ftz is missing')) });
  try {
    const generation = { maxNewTokens: 4, temperature: 0, topP: 1, seed: 0 };
    const a = await failing.analyze('the cat', { topK: 3, generation });
    assert.equal(a.continuations!.base.language, 'und');
    assert.equal(a.continuations!.base.confidence, undefined);
    assert.equal(a.continuations!.base.tokenIds.length, 4);
    assert.equal(a.warnings.filter((w) => /Language identification is unavailable.*lid\.176\.ftz is missing/.test(w)).length, 1, a.warnings.join('\n'));
    const g = await failing.generate('the dog', [], generation);
    assert.equal(g.continuation.language, 'und');
    assert.match((g.warnings ?? []).join('\n'), /Language identification is unavailable/);
  } finally {
    await failing.dispose();
  }
  // An identifier that loads but throws on a text, or finds nothing, labels it 'und' too.
  const flaky: LanguageIdentifier = { identify: () => Promise.reject(new Error('boom')) };
  const empty: LanguageIdentifier = { identify: () => Promise.resolve([]) };
  for (const lid of [flaky, empty]) {
    const rt = await ModelRuntime.open(info.dir, { threads: 1, languageIdentifier: () => Promise.resolve(lid) });
    try {
      const a = await rt.analyze('the cat', { topK: 3, generation: { maxNewTokens: 2, temperature: 0, topP: 1, seed: 0 } });
      assert.equal(a.continuations!.base.language, 'und');
      assert.deepEqual(a.warnings, []);
    } finally {
      await rt.dispose();
    }
  }
});

test('test model: the last layer\'s lens at every position predicts last id + 1; no centroids means no projections', async () => {
  const rt = await ModelRuntime.open(info.dir, { threads: 1, languageIdentifier: () => Promise.resolve({ identify: () => Promise.resolve([]) }) });
  try {
    const a: PromptAnalysis = await rt.analyze('Guten Morgen, wie geht es dir?', { topK: 3, inspect: { lensTopK: 4, projection: true } });
    const lens = a.inspection!.lens;
    assert.equal(lens.length, info.numLayers + 1);
    const last = lens[info.numLayers]!;
    assert.equal(last.length, a.tokens.length);
    last.forEach((candidates, t) => {
      assert.equal(candidates[0]!.id, (a.tokens[t]!.id + 1) % info.vocabSize, `position ${t}`);
      assert.ok(candidates.every((c, i) => i === 0 || c.logit <= candidates[i - 1]!.logit), 'best first');
      assert.ok(candidates.every((c) => c.probability > 0 && c.probability < 1));
    });
    assert.equal(a.centroids, null);
    assert.equal(a.inspection!.projections, null);
  } finally {
    await rt.dispose();
  }
});
