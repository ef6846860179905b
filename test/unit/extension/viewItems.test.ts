/**
 * What the tree views, the status bar and the strength input show, from the VectorState and a recorded
 * analysis of the bundled model (test/fixtures/messages/analysis.json: "Le chat dort sur le rebord chaud de la
 * fenêtre.", fr-en on). Expected rows were counted by hand from the recorded `nearest` lists.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { PromptAnalysis } from '../../../src/protocol/engine';
import { VectorState } from '../../../src/extension/vectorState';
import { formatStrength, layerChoices, layerRows, parseStrength, statusBarModel, summarizeLayer, vectorItemModel, vectorsViewDescription } from '../../../src/extension/viewItems';

const REPO = path.resolve(__dirname, '..', '..', '..');
const recorded = JSON.parse(readFileSync(path.join(REPO, 'test', 'fixtures', 'messages', 'analysis.json'), 'utf8')) as { analysis: PromptAnalysis };
const analysis = recorded.analysis;

function state(): VectorState {
  const s = new VectorState();
  s.setBundled(
    {
      'fr-en': { source: 'fr', target: 'en', method: 'diffmean', layer: 3, strength: 0.7599, positions: 'all' },
      'en-fr': { source: 'en', target: 'fr', method: 'diffmean', layer: 3, strength: 1.5198, positions: 'lastPrompt' },
    },
    6,
  );
  return s;
}

test('a vector row: name, "k=3 · ×0.76", checkbox, menu context, tooltip with languages, method and origin', () => {
  const s = state();
  const m = vectorItemModel(s.get('bundled:fr-en')!);
  assert.deepEqual([m.label, m.description, m.contextValue, m.icon, m.checked], ['fr-en', 'k=3 · ×0.76', 'vector.bundled', 'package', false]);
  assert.match(m.tooltip, /fr → en \(French → English\)/);
  assert.match(m.tooltip, /Method: diffmean/);
  assert.match(m.tooltip, /Origin: bundled with the model/);
  assert.doesNotMatch(m.tooltip, /Default:/, 'no "default" line while the vector is at its default');
  // Off its default: Reset is offered (context value) and the tooltip says what the default was.
  s.set('bundled:fr-en', { layer: 5, strength: 2, enabled: true });
  const changed = vectorItemModel(s.get('bundled:fr-en')!);
  assert.deepEqual([changed.description, changed.contextValue, changed.checked], ['k=5 · ×2', 'vector.bundled.modified', true]);
  assert.match(changed.tooltip, /Default: k = 3, ×0\.76/);
  // Position modes other than "all" are named; a file's path is shown; a file can be removed (context value).
  assert.equal(vectorItemModel(s.get('bundled:en-fr')!).description, 'k=3 · ×1.52 · last prompt token');
  const file = s.addFile('/data/vecs/de-en.safetensors', 'computed', { layer: 4, strength: 0.61, method: 'pca' });
  const fm = vectorItemModel(file);
  assert.deepEqual([fm.label, fm.contextValue, fm.icon], ['de-en', 'vector.computed', 'beaker']);
  assert.match(fm.tooltip, /File: `\/data\/vecs\/de-en\.safetensors`/);
  assert.equal(vectorsViewDescription(s.entries()), '1 on');
  s.disableAll();
  assert.equal(vectorsViewDescription(s.entries()), undefined);
});

test('strengths are shown with at most two decimals and parsed with a reason when they cannot be', () => {
  assert.deepEqual([0.7599, 1.5, 2, -0.255, 12.3456].map(formatStrength), ['0.76', '1.5', '2', '-0.26', '12.35']);
  assert.deepEqual(parseStrength(' 0.75 '), { value: 0.75 });
  assert.deepEqual(parseStrength('×1,5'), { value: 1.5 });
  assert.deepEqual(parseStrength('-2'), { value: -2 });
  for (const bad of ['', 'abc', 'NaN', '1e400', '1001']) assert.ok('error' in parseStrength(bad), bad);
  assert.match((parseStrength('1001') as { error: string }).error, /between -1000 and 1000/);
});

test('layer choices name the embeddings, the last block, the current and default layers, and what llama.cpp cannot carry', () => {
  const c = layerChoices(6, 5, 3);
  assert.equal(c.length, 7);
  assert.match(c[0]!.description, /embeddings.*not exportable to llama\.cpp/);
  assert.match(c[1]!.description, /not exportable/);
  assert.doesNotMatch(c[2]!.description, /not exportable/);
  assert.equal(c[3]!.description, "the vector's default");
  assert.equal(c[5]!.description, 'current');
  assert.equal(c[6]!.description, 'last block');
});

test('layer rows from a recorded analysis: the majority nearest language of the prompt tokens (BOS left out) and its mean similarity', () => {
  const s = state();
  s.set('bundled:fr-en', { enabled: true });
  const rows = layerRows(analysis, s.active());
  assert.equal(rows.length, 7);
  assert.deepEqual(
    rows.map((r) => r.label),
    ['k = 0 · embeddings', 'k = 1', 'k = 2', 'k = 3', 'k = 4', 'k = 5', 'k = 6 · last block'],
  );
  // Counted by hand over the 17 prompt tokens: k = 0 has fr × 6 (zh × 4); k = 3 has en × 5 (fr × 4).
  assert.match(rows[0]!.description, /^fr 6\/17 · -?\d\.\d\d$/);
  assert.match(rows[3]!.description, /^en 5\/17 · -?\d\.\d\d · ⚡ fr-en$/);
  assert.deepEqual(rows[3]!.vectors, ['fr-en']);
  assert.deepEqual(rows[4]!.vectors, []);
  // The similarity shown is the mean over the prompt tokens of their similarity to that language.
  const en = analysis.centroids!.languages.indexOf('en');
  const column = analysis.layers[3]!.similarity!.slice(1).map((row) => row[en]!);
  const mean = column.reduce((a, b) => a + b, 0) / column.length;
  assert.ok(rows[3]!.description.includes(` · ${mean.toFixed(2)} · `), rows[3]!.description);
  // Tooltip: a table of the closest languages, base and steered, and how to open the inspector.
  assert.match(rows[3]!.tooltip, /5 of 17 prompt tokens are nearest to English here/);
  assert.match(rows[3]!.tooltip, /\| language \| mean similarity \| steered \|/);
  assert.match(rows[3]!.tooltip, /Click to open the layer inspector at k = 3/);
  // Ties: k = 0's steered tokens are the base ones, so no "→" is shown where steering changed nothing.
  assert.doesNotMatch(rows[0]!.description, /→/);
});

test('a layer whose steered tokens lean to another language shows "→ xx"; no centroids: said so', () => {
  // Built so that steering moves the majority from fr to en at k = 1 (3 content tokens after a BOS).
  const tokens = [{ id: 0, piece: '<s>', text: '', special: true }, ...['a', 'b', 'c'].map((t, i) => ({ id: i + 1, piece: t, text: t }))];
  const sim = (fr: number, en: number): number[][] => Array.from({ length: 4 }, () => [en, fr]);
  const layer = (k: number, nearest: string[], fr: number, en: number) => ({ layer: k, norms: [1, 1, 1, 1], nearest, similarity: sim(fr, en) });
  const a = {
    ...analysis,
    tokens,
    centroids: { languages: ['en', 'fr'], file: 'c', matchesModel: true },
    layers: [layer(0, ['en', 'fr', 'fr', 'en'], 0.5, 0.1), layer(1, ['en', 'fr', 'fr', 'fr'], 0.6, 0.2)],
    steered: { vectors: [], nextTokens: [], layers: [layer(0, ['en', 'fr', 'fr', 'en'], 0.5, 0.1), layer(1, ['en', 'en', 'en', 'fr'], 0.3, 0.4)] },
  } as PromptAnalysis;
  const rows = layerRows(a, []);
  assert.equal(rows[0]!.description, 'fr 2/3 · 0.50');
  assert.equal(rows[1]!.description, 'fr 3/3 · 0.60 · → en');
  const summary = summarizeLayer(a.layers[1], ['en', 'fr'], [1, 2, 3]);
  assert.deepEqual(summary?.ranking.map((r) => r.language), ['fr', 'en']);
  const bare = layerRows({ ...a, centroids: null, layers: a.layers.map((l) => ({ layer: l.layer, norms: l.norms })), steered: null }, []);
  assert.equal(bare[0]!.description, 'no language centroids');
});

test('status bar: model and active vectors, "no steering" when none, the rest counted', () => {
  const s = state();
  assert.equal(statusBarModel('tiny-polyglot', s.active()).text, '$(globe) tiny-polyglot · no steering');
  s.set('bundled:fr-en', { enabled: true });
  const one = statusBarModel('tiny-polyglot', s.active());
  assert.equal(one.text, '$(globe) tiny-polyglot · fr-en');
  assert.match(one.tooltip, /- fr-en: k=3 · ×0\.76/);
  s.set('bundled:en-fr', { enabled: true });
  s.addFile('/x/de-en.safetensors', 'workspace', { layer: 2, strength: 1, enabled: true });
  s.addFile('/x/it-en.safetensors', 'workspace', { layer: 2, strength: 1, enabled: true });
  assert.equal(statusBarModel('m', s.active()).text, '$(globe) m · en-fr, fr-en +2');
});
