/** The host's mapping of a real recorded analysis (bundled model, fr-en on) onto the panel's view model. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { canShowPanel, continuationPieces, toPanelViewModel } from '../../../src/extension/panelModel';
import type { PromptAnalysis } from '../../../src/protocol/engine';
import { panelViewModel } from '../../../src/webview/viewModel';

const recorded = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'messages', 'analysis.json'), 'utf8')) as { analysis: PromptAnalysis };
const analysis = recorded.analysis;

test('the BOS is left out; every other token is one heatmap column, per layer, base and steered', () => {
  assert.ok(canShowPanel(analysis));
  const vm = panelViewModel(toPanelViewModel(analysis, []), 'vm');
  assert.equal(analysis.tokens[0]?.special, true);
  assert.equal(vm.tokens.length, analysis.tokens.length - 1);
  assert.equal(vm.tokens.join(''), analysis.prompt);
  assert.equal(vm.layers.length, analysis.model.numLayers + 1);
  assert.equal(vm.steeredLayers?.length, vm.layers.length);
  assert.deepEqual(vm.languages.map((l) => l.code), analysis.centroids?.languages);
  assert.equal(vm.languages.find((l) => l.code === 'fr')?.name, 'French');
});

test('cells carry the engine nearest language and the similarity row, by language code', () => {
  const vm = toPanelViewModel(analysis, []);
  const langs = analysis.centroids!.languages;
  for (const k of [0, 3, 6]) {
    for (let t = 1; t < analysis.tokens.length; t++) {
      const cell = vm.layers[k]!.cells[t - 1]!;
      assert.equal(cell.nearest, analysis.layers[k]!.nearest![t]);
      const row = analysis.layers[k]!.similarity![t]!;
      assert.equal(cell.similarities['fr'], row[langs.indexOf('fr')]);
      assert.equal(cell.similarity, Math.max(...row));
    }
    const frMean = analysis.layers[k]!.similarity!.slice(1).reduce((s, r) => s + r[langs.indexOf('fr')]!, 0) / (analysis.tokens.length - 1);
    assert.ok(Math.abs(vm.layers[k]!.promptSimilarity['fr']! - frMean) < 1e-12);
  }
  const steeredCell = vm.steeredLayers![4]!.cells[2]!;
  assert.equal(steeredCell.nearest, analysis.steered!.layers[4]!.nearest![3]);
});

test('continuations keep their text; the diff pieces concatenate to it', () => {
  const vm = toPanelViewModel(analysis, []);
  assert.equal(vm.continuations?.base.text, analysis.continuations?.base.text);
  assert.equal(vm.continuations?.steered?.text, analysis.continuations?.steered?.text);
  assert.equal(vm.continuations?.base.tokens.join(''), analysis.continuations?.base.text);
  assert.equal(vm.continuations?.steered?.tokens.join(''), analysis.continuations?.steered?.text);
  assert.deepEqual(continuationPieces({ text: 'Le chat 传数 dort', tokenIds: [], stopReason: 'max-tokens' }), ['Le', ' chat', ' 传', '数', ' dort']);
});

test('without centroids there is no heatmap to show', () => {
  assert.equal(canShowPanel({ ...analysis, centroids: null }), false);
});
