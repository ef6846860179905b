import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CentroidAccumulator, contentTokenMask, loadCentroids, poolStates, saveCentroids } from '../../../../src/engine/analysis/centroids.js';
import {
  applyProjection,
  diffMean,
  diffMeanMonolingual,
  fitProjectionMap,
  logisticProbe,
  pcaOfPairedDifferences,
  vectorCosineTable,
} from '../../../../src/engine/analysis/directions.js';
import { AnalysisInputError } from '../../../../src/engine/analysis/errors.js';
import { cholesky, choleskySolve, principalComponents } from '../../../../src/engine/analysis/linalg.js';
import { matrix, matrixFromRows, seededRandom, type Matrix } from '../../../../src/engine/analysis/matrix.js';
import { fitPca2d, pca2d, projectPca2d } from '../../../../src/engine/analysis/projection2d.js';
import {
  centredCosine,
  cosineSimilarity,
  languageSimilarityByLayer,
  languageSimilarityMatrix,
  nearestLanguageByLayer,
  nearestLanguagePerToken,
  retrievalPrecisionAt1,
} from '../../../../src/engine/analysis/similarity.js';

const close = (a: number, b: number, eps = 1e-6): void => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
const m = (rows: number[][]): Matrix => matrixFromRows(rows);

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
}

/** n random rows of width d (standard normal · scale). */
function randomMatrix(n: number, d: number, seed: number, scale = 1): Matrix {
  const rnd = seededRandom(seed);
  return matrix(Float32Array.from({ length: n * d }, () => scale * gaussian(rnd)), d);
}

function addRow(x: Matrix, v: ArrayLike<number>, scale = 1): Matrix {
  const out = Float32Array.from(x.data);
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) out[i * x.cols + j] = (out[i * x.cols + j] as number) + scale * (v[j] as number);
  return matrix(out, x.cols);
}

describe('cosines and similarity tables', () => {
  it('cosine and centred cosine on hand values', () => {
    close(cosineSimilarity([1, 0], [1, 1]), Math.SQRT1_2);
    close(cosineSimilarity([1, 2, 3], [-1, -2, -3]), -1);
    assert.equal(cosineSimilarity([0, 0], [1, 1]), 0);
    close(centredCosine([11, 10], [10, 11], [10, 10]), 0); // (1,0)·(0,1)
    assert.throws(() => cosineSimilarity([1], [1, 2]), AnalysisInputError);
  });

  it('mean-centring removes a shared component', () => {
    // en and fr share a huge common vector (100, 100, 0, 0); their own parts are orthogonal.
    const en = m([[100 + 1, 100, 0, 0], [100, 100 + 1, 0, 0]]);
    const fr = m([[100, 100, 1, 0], [100, 100, 0, 1]]);
    const raw = languageSimilarityMatrix(new Map([['en', en], ['fr', fr]]));
    const centred = languageSimilarityMatrix(new Map([['en', en], ['fr', fr]]), { meanCentred: true });
    assert.ok(raw.values[0]![1]! > 0.99);
    assert.ok(centred.values[0]![1]! < 0);
    assert.equal(centred.values[1]![1], 1);
  });

  it('language × layer matrix: fr aligns with en only at the later layer', () => {
    const en = randomMatrix(20, 8, 1);
    const offset = Float32Array.from([5, -5, 5, -5, 5, -5, 5, -5]);
    const pooled = new Map([
      [1, new Map([['en', en], ['fr', addRow(en, offset)]])],
      [2, new Map([['en', en], ['fr', addRow(en, offset, 0.01)]])],
    ]);
    const t = languageSimilarityByLayer(pooled, 'en');
    assert.deepEqual(t.layers, [1, 2]);
    assert.deepEqual(t.languages, ['fr']);
    assert.ok(t.values[0]![0]! < 0.5, String(t.values[0]![0]));
    assert.ok(t.values[0]![1]! > 0.99, String(t.values[0]![1]));
    assert.throws(() => languageSimilarityByLayer(pooled, 'de'), /no de states/);
    const bad = new Map([[1, new Map([['en', en], ['fr', randomMatrix(19, 8, 2)]])]]);
    assert.throws(() => languageSimilarityByLayer(bad), /20 vs 19 rows; paired inputs need one row per pair/);
  });

  it('nearest language per token and per layer', () => {
    const centroids = new Map([['en', [1, 0, 0]], ['fr', [0, 1, 0]], ['zh', [0, 0, 1]]]);
    const states = m([[0.9, 0.1, 0], [0.1, 0.2, 3], [0, 2, 1]]);
    const r = nearestLanguagePerToken(states, centroids);
    assert.deepEqual(r.map((x) => x.language), ['en', 'zh', 'fr']);
    close(r[0]!.scores['fr']!, 0.1 / Math.hypot(0.9, 0.1));
    const byLayer = nearestLanguageByLayer(new Map([[3, states]]), new Map([[3, centroids]]), { meanCentred: true });
    assert.deepEqual(byLayer.get(3)!.map((x) => x.language), ['en', 'zh', 'fr']);
    assert.throws(() => nearestLanguageByLayer(new Map([[4, states]]), new Map([[3, centroids]])), /no centroids for layer 4/);
  });

  it('retrieval P@1 is 1 for translations and low for a shuffled pairing', () => {
    const en = randomMatrix(30, 16, 3);
    const fr = addRow(en, Float32Array.from({ length: 16 }, () => 0.3));
    assert.equal(retrievalPrecisionAt1(fr, en).precisionAt1, 1);
    const perm = Array.from({ length: 30 }, (_, i) => (i + 1) % 30);
    const shuffled = matrixFromRows(perm.map((p) => en.data.subarray(p * 16, (p + 1) * 16)));
    const r = retrievalPrecisionAt1(fr, shuffled);
    assert.equal(r.hits, 0);
    assert.equal(r.nearest[0], 29);
  });
});

describe('pooling and centroids', () => {
  const states = m([[100, 100], [1, 2], [3, 4], [5, 6], [-50, -50]]);
  const mask = contentTokenMask([1, 17, 18, 19, 2], new Set([1, 2])); // BOS 1, EOS 2

  it('mean over content tokens excludes BOS/EOS; last takes the last content token', () => {
    assert.deepEqual([...mask], [0, 1, 1, 1, 0]);
    assert.deepEqual([...poolStates(states, 'mean', mask)], [3, 4]);
    assert.deepEqual([...poolStates(states, 'last', mask)], [5, 6]);
    assert.deepEqual([...poolStates(states, 'last')], [-50, -50]);
    assert.throws(() => poolStates(states, 'mean', [0, 0, 0, 0, 0]), /no content tokens/);
  });

  it('accumulates per-language centroids with counts and mean norms, and round-trips through a file', async () => {
    const acc = new CentroidAccumulator(2, 'mean', 'abc');
    acc.addPooled('en', 1, [3, 4]);
    acc.addPooled('en', 1, [1, 0]);
    acc.addPooled('fr', 1, [0, 2]);
    acc.addPooled('en', 2, [6, 8]);
    assert.throws(() => acc.addTokens('en', 1, states), /do not mix/);
    const c = acc.finish();
    assert.deepEqual(c.layers, [1, 2]);
    assert.deepEqual(c.languages, ['en', 'fr']);
    assert.deepEqual([...c.centroids.get(1)!.get('en')!], [2, 2]);
    assert.equal(c.counts.get(1)!.get('en'), 2);
    assert.equal(c.meanNorms.get(1)!.get('en'), 3); // (5 + 1) / 2
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pl-centroids-'));
    try {
      const p = path.join(dir, 'centroids.safetensors');
      await saveCentroids(p, c);
      const back = await loadCentroids(p);
      assert.deepEqual(back, c);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('all-token accumulation uses the mask', () => {
    const acc = new CentroidAccumulator(2);
    acc.addTokens('fr', 0, states, mask);
    const c = acc.finish();
    assert.deepEqual([...c.centroids.get(0)!.get('fr')!], [3, 4]);
    assert.equal(c.counts.get(0)!.get('fr'), 3);
    assert.equal(c.pooling, 'all-tokens');
  });
});

describe('linear algebra', () => {
  it('Cholesky factors and solves a hand-checked system', () => {
    const l = cholesky(Float64Array.from([4, 2, 2, 3]), 2);
    close(l[0]!, 2); close(l[1]!, 0); close(l[2]!, 1); close(l[3]!, Math.SQRT2);
    const x = choleskySolve(l, 2, Float64Array.from([2, 1]), 1); // [[4,2],[2,3]] x = [2,1] → x = [0.5, 0]
    close(x[0]!, 0.5); close(x[1]!, 0);
    assert.throws(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2), /not positive definite.*increase the ridge/);
  });

  it('principal components of hand-made points', () => {
    const pc = principalComponents(m([[3, 0], [-3, 0], [0, 1], [0, -1]]), 2);
    close(pc.variances[0]!, 4.5);
    close(pc.variances[1]!, 0.5);
    close(pc.totalVariance, 5);
    close(Math.abs(pc.components[0]![0]!), 1);
    close(Math.abs(pc.components[1]![1]!), 1);
  });

  it('principal components with close variances come out as the exact eigenvectors', () => {
    // Rows ±a_i·q_i for an orthonormal basis q: the covariance's eigenvectors are the q_i, with variances 2a_i²/n.
    // λ₂/λ₁ = 0.94 and λ₃/λ₂ = 0.96: power iteration converges slowly and a loose stopping rule leaves the
    // components rotated (the 1e-10 default left ~2e-4 rad here).
    const d = 8;
    const rnd = seededRandom(3);
    const basis: Float64Array[] = [];
    while (basis.length < d) {
      const v = Float64Array.from({ length: d }, () => gaussian(rnd));
      for (const u of basis) {
        const s = v.reduce((acc, x, j) => acc + x * u[j]!, 0);
        for (let j = 0; j < d; j++) v[j] = v[j]! - s * u[j]!;
      }
      const norm = Math.hypot(...v);
      basis.push(v.map((x) => x / norm));
    }
    const a = [1, 0.97, 0.95, 0.6, 0.5, 0.4, 0.3, 0.2];
    const rows = basis.flatMap((q, i) => [1, -1].map((sign) => Array.from(q, (x) => sign * a[i]! * x)));
    const pc = principalComponents(m(rows), 3);
    for (let i = 0; i < 3; i++) {
      const cos = pc.components[i]!.reduce((acc, x, j) => acc + x * basis[i]![j]!, 0);
      const angle = Math.acos(Math.min(1, Math.abs(cos)));
      assert.ok(angle < 2e-5, `component ${i} is ${angle} rad off its eigenvector`);
      close(pc.variances[i]!, (2 * a[i]! ** 2) / rows.length, 1e-6);
    }
  });
});

describe('vector methods', () => {
  const d = 12;
  const rnd = seededRandom(5);
  const offset = Float32Array.from({ length: d }, () => gaussian(rnd));
  const xx = randomMatrix(200, d, 11, 1); // source-language states
  const en = addRow(xx, offset); // their English translations: the same content plus a language offset

  it('DiffMean recovers a known offset exactly on paired clusters', () => {
    const r = diffMean(en, xx);
    for (let j = 0; j < d; j++) close(r.direction[j]!, offset[j]!, 1e-4);
    close(r.norm, Math.hypot(...offset), 1e-4);
    assert.equal(r.targetCount, 200);
    assert.ok(r.meanActivationNorm > 0);
  });

  it('DiffMean from monolingual means is unit length and points toward the target', () => {
    // Unpaired monolingual sets: different content, same language offset.
    const mono = addRow(randomMatrix(400, d, 12), offset);
    const r = diffMeanMonolingual(mono, randomMatrix(400, d, 13));
    close(Math.hypot(...r.direction), 1, 1e-6);
    assert.ok(cosineSimilarity(r.direction, offset) > 0.97, String(cosineSimilarity(r.direction, offset)));
    assert.throws(() => diffMeanMonolingual(xx, xx), /identical means/);
  });

  it('PCA of paired differences finds the offset (uncentred) and its sign points to the target', () => {
    const noisy = addRow(addRow(xx, offset), Float32Array.from({ length: d }, () => 0)); // en = xx + offset
    const jitter = randomMatrix(200, d, 14, 0.2);
    const target = matrix(Float32Array.from(noisy.data, (v, i) => v + (jitter.data[i] as number)), d);
    const r = pcaOfPairedDifferences(target, xx);
    assert.ok(cosineSimilarity(r.direction, offset) > 0.99);
    assert.ok(r.explainedVarianceRatio > 0.9);
    close(r.meanProjection, Math.hypot(...offset), 0.1);
    // Centred (repeng style) removes the mean offset: what is left is noise, not the offset.
    const c = pcaOfPairedDifferences(target, xx, { centre: true });
    assert.ok(Math.abs(cosineSimilarity(c.direction, offset)) < 0.9);
  });

  it('logistic probe separates separable languages along the offset', () => {
    // Offset ×3 puts the two clouds ~10 standard deviations apart along it: linearly separable.
    const far = addRow(xx, offset, 3);
    const r = logisticProbe(far, xx, { epochs: 300 });
    assert.equal(r.trainAccuracy, 1);
    assert.ok(cosineSimilarity(r.direction, offset) > 0.8, String(cosineSimilarity(r.direction, offset)));
    // The probe's own decision: target rows score positive.
    let s = r.bias;
    for (let j = 0; j < d; j++) s += r.weights[j]! * far.data[j]!;
    assert.ok(s > 0);
    // Overlapping clouds (offset ×1): still better than chance and the same direction.
    const overlap = logisticProbe(en, xx);
    assert.ok(overlap.trainAccuracy > 0.9 && overlap.trainAccuracy < 1);
    assert.ok(cosineSimilarity(overlap.direction, offset) > 0.8);
  });

  it('ridge projection recovers a known linear map (n ≥ d, primal)', () => {
    const M = Float32Array.from({ length: d * d }, (_, i) => Math.sin(i + 1));
    const X = randomMatrix(100, d, 21);
    const Y = new Float32Array(100 * d);
    for (let r = 0; r < 100; r++) for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += X.data[r * d + i]! * M[i * d + j]!;
      Y[r * d + j] = s;
    }
    const p = fitProjectionMap(X, matrix(Y, d), { lambda: 1e-6 });
    for (let i = 0; i < d * d; i++) close(p.w[i]!, M[i]!, 1e-3);
    assert.ok(p.relativeResidual < 1e-5);
  });

  it('the dual path (n < d) satisfies the ridge normal equations (XᵀX + λI) W = XᵀY', () => {
    const n = 5;
    const X = randomMatrix(n, d, 31);
    const Y = randomMatrix(n, d, 32);
    const lambda = 0.7;
    const { w } = fitProjectionMap(X, Y, { lambda });
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let lhs = lambda * w[i * d + j]!;
      for (let r = 0; r < n; r++) {
        let xw = 0;
        for (let k = 0; k < d; k++) xw += X.data[r * d + k]! * w[k * d + j]!;
        lhs += X.data[r * d + i]! * xw;
      }
      let rhs = 0;
      for (let r = 0; r < n; r++) rhs += X.data[r * d + i]! * Y.data[r * d + j]!;
      close(lhs, rhs, 1e-3);
    }
  });

  it("applies a' = a + σ(aW − a)", () => {
    const w = Float32Array.from([0, 1, 1, 0]); // swap the two coordinates
    assert.deepEqual([...applyProjection(Float32Array.from([1, 3]), w, 0)], [1, 3]);
    assert.deepEqual([...applyProjection(Float32Array.from([1, 3]), w, 1)], [3, 1]);
    assert.deepEqual([...applyProjection(m([[1, 3], [2, 0]]), w, 0.5)], [2, 2, 1, 1]);
    assert.throws(() => applyProjection(Float32Array.from([1, 2, 3]), w, 1), /W has 4 values but the states need 3×3/);
  });

  it('cosine between languages\' vectors', () => {
    const t = vectorCosineTable(new Map([['fr', [1, 0]], ['es', [1, 0.1]], ['zh', [0, 1]]]));
    assert.deepEqual(t.labels, ['fr', 'es', 'zh']);
    close(t.values[0]![1]!, 1 / Math.hypot(1, 0.1));
    close(t.values[0]![2]!, 0);
  });
});

describe('2-D PCA view', () => {
  it('projects points lying in a plane without distortion', () => {
    // Points in span{u, v} of R^4, u ⟂ v unit vectors.
    const u = [0.5, 0.5, 0.5, 0.5];
    const v = [0.5, -0.5, 0.5, -0.5];
    const coords = [[0, 0], [4, 0], [0, 2], [4, 2], [2, 1]];
    const pts = m(coords.map(([a, b]) => u.map((x, i) => a! * x + b! * v[i]! + 10)));
    const plane = fitPca2d(pts);
    close(plane.explainedVarianceRatio[0] + plane.explainedVarianceRatio[1], 1, 1e-6);
    assert.ok(plane.explainedVarianceRatio[0] > plane.explainedVarianceRatio[1]);
    const xy = projectPca2d(plane, pts);
    const dist = (a: number, b: number): number => Math.hypot(xy[2 * a]! - xy[2 * b]!, xy[2 * a + 1]! - xy[2 * b + 1]!);
    close(dist(0, 3), Math.hypot(4, 2), 1e-4);
    close(dist(1, 2), Math.hypot(4, 2), 1e-4);
    const both = pca2d(pts, [m([u.map((x) => x + 10)])]);
    assert.equal(both.others[0]!.length, 2);
    close(Math.hypot(both.others[0]![0]! - both.fitted[0]!, both.others[0]![1]! - both.fitted[1]!), 1, 1e-4);
  });
});
