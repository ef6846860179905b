/**
 * The layer inspector's 2-D PCA picture (src/engine/analysis/layerProjection.ts): against numpy on a fixed
 * matrix and on the bundled model's real centroids (reference.json's `pca`, numpy.linalg.eigh in
 * models/tiny-polyglot/train/fixtures.py), and by the properties a PCA must have.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadCentroids } from '../../../../src/engine/analysis/centroids';
import { layerPicture } from '../../../../src/engine/analysis/layerProjection';
import { matrixFromRows } from '../../../../src/engine/analysis/matrix';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');

const close = (got: number, want: number, tol: number, what: string): void => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want} (tol ${tol})`);

// The same matrix through numpy (fixtures.py's pca_plane, as a one-off):
//   C = [[2,0,1,-1],[0,3,-1,2],[-1,-2,0,1],[4,1,2,0],[1,-1,-3,2]]; m = C.mean(0)
//   vals, vecs = np.linalg.eigh((C-m).T @ (C-m) / 5), top two, each axis flipped so the centroid farthest along it is positive
// gives eigenvalues 5.70420667, 2.98638773, 1.31543645, 0.23396915 and the numbers below.
const C = [
  [2, 0, 1, -1],
  [0, 3, -1, 2],
  [-1, -2, 0, 1],
  [4, 1, 2, 0],
  [1, -1, -3, 2],
];
const T = [
  [1, 1, 1, 1],
  [-2, 0, 3, -1],
];
const NUMPY = {
  explained: [55.705143, 29.163943],
  centroids: [
    [1.920237, -0.947192],
    [-1.05368, 3.063307],
    [-1.828638, -2.141939],
    [3.636731, 0.189946],
    [-2.67465, -0.164121],
  ],
  tokens: [
    [0.758118, 0.539011],
    [0.741357, -1.593415],
  ],
};

test('a fixed matrix: explained variance, centroid and token coordinates equal numpy', () => {
  const langs = ['a', 'b', 'c', 'd', 'e'];
  const picture = layerPicture(new Map(langs.map((l, i) => [l, C[i] as number[]] as const)), matrixFromRows(T));
  close(picture.explained[0], NUMPY.explained[0] as number, 1e-4, 'explained 1');
  close(picture.explained[1], NUMPY.explained[1] as number, 1e-4, 'explained 2');
  assert.deepEqual(picture.centroids.map((c) => c.language), langs, 'centroids keep the map order');
  picture.centroids.forEach((c, i) => {
    close(c.x, NUMPY.centroids[i]![0]!, 1e-4, `centroid ${i} x`);
    close(c.y, NUMPY.centroids[i]![1]!, 1e-4, `centroid ${i} y`);
  });
  picture.tokens.forEach((t, i) => {
    close(t.x, NUMPY.tokens[i]![0]!, 1e-4, `token ${i} x`);
    close(t.y, NUMPY.tokens[i]![1]!, 1e-4, `token ${i} y`);
  });
});

test('properties: centred, uncorrelated axes; variance along each axis is its share of the total; sorted; oriented', () => {
  // A random-looking but fixed cloud in 16 dimensions (no seeded helper needed: a deterministic formula).
  const rows = Array.from({ length: 9 }, (_, i) => Array.from({ length: 16 }, (_, j) => Math.sin(1 + i * 7.3 + j * j * 0.37) * (1 + (j % 5))));
  const picture = layerPicture(new Map(rows.map((r, i) => [`l${i}`, r] as const)), matrixFromRows(rows));
  const xs = picture.centroids.map((c) => c.x);
  const ys = picture.centroids.map((c) => c.y);
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  close(mean(xs), 0, 1e-4, 'x mean');
  close(mean(ys), 0, 1e-4, 'y mean');
  const n = rows.length;
  const varX = xs.reduce((a, x) => a + x * x, 0) / n;
  const varY = ys.reduce((a, y) => a + y * y, 0) / n;
  const cov = xs.reduce((a, x, i) => a + x * (ys[i] as number), 0) / n;
  let total = 0;
  const colMean = Array.from({ length: 16 }, (_, j) => mean(rows.map((r) => r[j] as number)));
  for (const r of rows) r.forEach((v, j) => (total += (v - (colMean[j] as number)) ** 2 / n));
  close(cov, 0, 1e-4 * total, 'axes are uncorrelated (orthogonal principal directions)');
  close((100 * varX) / total, picture.explained[0], 1e-3, 'axis 1 variance = its explained share');
  close((100 * varY) / total, picture.explained[1], 1e-3, 'axis 2 variance = its explained share');
  assert.ok(picture.explained[0] >= picture.explained[1] && picture.explained[0] + picture.explained[1] <= 100 + 1e-9);
  // Projecting the fitted rows as tokens gives the centroid coordinates again.
  picture.tokens.forEach((t, i) => close(Math.hypot(t.x - (xs[i] as number), t.y - (ys[i] as number)), 0, 1e-4, `token ${i}`));
  // Orientation: the point farthest along each axis is on its positive side.
  const far = (v: number[]): number => v.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
  assert.ok(far(xs) > 0 && far(ys) > 0);
});

interface PcaReference {
  pca: { layers: Record<string, { explained: [number, number]; centroids: Record<string, [number, number]> }> };
}
const REFERENCE = path.join(REPO, 'test/fixtures/tiny-polyglot/reference.json');
const CENTROIDS = path.join(REPO, 'models/tiny-polyglot/vectors/centroids.safetensors');
const present = fs.existsSync(REFERENCE) && fs.existsSync(CENTROIDS);

test('the bundled model\'s centroids: every layer\'s picture equals numpy', { skip: present ? false : 'tiny-polyglot reference or centroids missing' }, async () => {
  const ref = (JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as PcaReference).pca.layers;
  const centroids = await loadCentroids(CENTROIDS);
  assert.deepEqual(Object.keys(ref).map(Number), centroids.layers);
  for (const k of centroids.layers) {
    const byLanguage = centroids.centroids.get(k)!;
    const picture = layerPicture(byLanguage, matrixFromRows([...byLanguage.values()]));
    const want = ref[String(k)]!;
    close(picture.explained[0], want.explained[0], 1e-3, `layer ${k} explained 1`);
    close(picture.explained[1], want.explained[1], 1e-3, `layer ${k} explained 2`);
    // The residual stream grows with depth (coordinates in the hundreds): agreement relative to the spread.
    const scale = Math.max(1, ...Object.values(want.centroids).flat().map(Math.abs));
    for (const c of picture.centroids) {
      const [x, y] = want.centroids[c.language]!;
      close(c.x, x, 1e-4 * scale, `layer ${k} ${c.language} x`);
      close(c.y, y, 1e-4 * scale, `layer ${k} ${c.language} y`);
    }
  }
});
