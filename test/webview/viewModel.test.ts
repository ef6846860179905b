/**
 * The view model's pure parts (no browser): validation of what the host sends, the token diff and what
 * steering changed in a cell. Expected values are worked out by hand.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ProtocolError } from '../../src/protocol/validate';
import { hostToWebview, panelIntent, type PanelMessage } from '../../src/protocol/webview';
import { argmaxLanguage, cellChange, diffTokens, layerFromNearest, panelViewModel, projectionFromPca, similarityDomain, visibleToken } from '../../src/webview/viewModel';
import { REPO_ROOT } from '../e2e/harness/environment';

const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'messages', 'panel.json'), 'utf8')) as PanelMessage;

test('the recorded panel message validates, and every cell names the argmax of its similarities', () => {
  const m = hostToWebview(fixture, 'fixture') as PanelMessage;
  assert.equal(m.type, 'panel');
  assert.equal(m.view.languages.length, 11);
  for (const layers of [m.view.layers, m.view.steeredLayers ?? []]) {
    for (const l of layers) {
      for (const c of l.cells) {
        assert.equal(argmaxLanguage(c.similarities, m.view.languages), c.nearest);
        assert.equal(c.similarities[c.nearest], c.similarity);
      }
    }
  }
});

test('a view model whose cells do not match its tokens or languages is rejected with the field named', () => {
  const tooFew = structuredClone(fixture.view);
  tooFew.layers[2]?.cells.pop();
  assert.throws(() => panelViewModel(tooFew, 'view'), (e: unknown) => e instanceof ProtocolError && e.path === 'view.layers[2].cells');
  const unknown = structuredClone(fixture.view);
  const cell = unknown.layers[0]?.cells[0];
  assert.ok(cell);
  cell.nearest = 'xx';
  assert.throws(() => panelViewModel(unknown, 'view'), (e: unknown) => e instanceof ProtocolError && e.path === 'view.layers[0].cells[0].nearest');
  const steered = structuredClone(fixture.view);
  steered.steeredLayers?.pop();
  assert.throws(() => panelViewModel(steered, 'view'), /as many steered layers/);
  const nan = structuredClone(fixture.view) as unknown as { layers: { cells: { similarity: unknown }[] }[] };
  const first = nan.layers[0]?.cells[0];
  assert.ok(first);
  first.similarity = 'high';
  assert.throws(() => panelViewModel(nan, 'view'), /expected finite number/);
});

test('setVector intents validate; anything else does not', () => {
  assert.deepEqual(panelIntent({ type: 'setVector', id: 'fr-en', enabled: true, layer: 3, strength: 0.5, extra: 1 }, 'm'), { type: 'setVector', id: 'fr-en', enabled: true, layer: 3, strength: 0.5 });
  assert.throws(() => panelIntent({ type: 'setVector', id: 'fr-en', enabled: true, layer: -1, strength: 0.5 }, 'm'));
  assert.throws(() => panelIntent({ type: 'setVector', id: 'fr-en', enabled: 'yes', layer: 1, strength: 0.5 }, 'm'));
  assert.throws(() => panelIntent({ type: 'deleteEverything' }, 'm'));
});

test('diffTokens keeps the longest common subsequence and marks the rest', () => {
  assert.deepEqual(diffTokens(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'd', 'e']), [
    { op: 'same', text: 'a' },
    { op: 'removed', text: 'b' },
    { op: 'added', text: 'x' },
    { op: 'same', text: 'c' },
    { op: 'same', text: 'd' },
    { op: 'added', text: 'e' },
  ]);
  assert.deepEqual(diffTokens([], ['a']), [{ op: 'added', text: 'a' }]);
  assert.deepEqual(diffTokens(['a'], []), [{ op: 'removed', text: 'a' }]);
  // Property: the kept-or-removed tokens rebuild the first sequence, kept-or-added the second.
  const a = [' Il', ' rê', 've', ' de', ' souris', '.'];
  const b = [' He', ' dreams', ' of', ' souris', '.'];
  const ops = diffTokens(a, b);
  assert.deepEqual(ops.filter((o) => o.op !== 'added').map((o) => o.text), a);
  assert.deepEqual(ops.filter((o) => o.op !== 'removed').map((o) => o.text), b);
  assert.equal(ops.filter((o) => o.op === 'same').length, 2);
});

test('cellChange says whether the nearest language moved and by how much the similarity did', () => {
  const base = { nearest: 'fr', similarity: 0.7, similarities: { fr: 0.7, en: 0.5 } };
  const steered = { nearest: 'en', similarity: 0.8, similarities: { fr: 0.6, en: 0.8 } };
  const c = cellChange(base, steered);
  assert.equal(c.changed, true);
  assert.equal(c.from, 'fr');
  assert.equal(c.to, 'en');
  assert.ok(Math.abs(c.delta - -0.1) < 1e-12);
  assert.ok(Math.abs(c.deltaTo - 0.3) < 1e-12);
  assert.equal(cellChange(base, base).changed, false);
  assert.deepEqual(similarityDomain([[{ k: 0, cells: [base, steered], promptSimilarity: {} }]]), [0.7, 0.8]);
  assert.deepEqual(similarityDomain([undefined]), [0, 1]);
  assert.equal(visibleToken(' a\tb\n'), '\u00b7a\u2192b\u21b5');
});

test('layerFromNearest and projectionFromPca turn engine-shaped results into a valid view model', () => {
  const languages = [
    { code: 'en', name: 'English' },
    { code: 'fr', name: 'French' },
  ];
  const layer = layerFromNearest(2, [
    { language: 'fr', cosine: 0.8, scores: { en: 0.4, fr: 0.8 } },
    { language: 'en', cosine: 0.6, scores: { en: 0.6, fr: 0.2 } },
  ], languages);
  assert.deepEqual(layer.cells.map((c) => [c.nearest, c.similarity]), [['fr', 0.8], ['en', 0.6]]);
  assert.ok(Math.abs((layer.promptSimilarity['en'] ?? 0) - 0.5) < 1e-12);
  assert.ok(Math.abs((layer.promptSimilarity['fr'] ?? 0) - 0.5) < 1e-12);
  layer.projection = projectionFromPca(new Float32Array([1, 2, 3, 4]), [0.5, -0.5, 0, 1], languages, [0.4, 0.25]);
  assert.deepEqual(layer.projection.centroids, [{ x: 1, y: 2, language: 'en' }, { x: 3, y: 4, language: 'fr' }]);
  assert.deepEqual(layer.projection.tokens, [{ x: 0.5, y: -0.5 }, { x: 0, y: 1 }]);
  assert.deepEqual(layer.projection.explained, [40, 25]);
  const vm = panelViewModel({ model: { name: 'm', numLayers: 2, hiddenSize: 8 }, tokens: ['Le', ' chat'], languages, layers: [layer], vectors: [] }, 'view');
  assert.equal(vm.layers[0]?.k, 2);
});
