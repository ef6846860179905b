/** Vectors by name (index.json), position-mode parsing and the report's SVG heatmap: pure, no model needed. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { heatmapSvg } from '../../../../src/engine/analysis/heatmapSvg';
import { SteeringInputError } from '../../../../src/engine/steering/errors';
import { parsePositionMode, readVectorIndex, resolveVector, writeVectorIndex } from '../../../../src/engine/steering/library';
import { createSteeringVector } from '../../../../src/engine/steering/vector';
import { saveSteeringVector } from '../../../../src/engine/steering/vectorFile';

test('a bundled name resolves through vectors/index.json; unknown names list the known ones', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pl-lib-'));
  try {
    fs.mkdirSync(path.join(dir, 'vectors'));
    const v = createSteeringVector({ directions: new Map([[2, Float32Array.from([1, 2, 3, 4])]]), meanActivationNorms: { 2: 5 }, sourceLanguage: 'fr', targetLanguage: 'en', defaultLayer: 2, defaultStrength: 0.5 });
    await saveSteeringVector(path.join(dir, 'vectors', 'fr-en.safetensors'), v);
    await writeVectorIndex(dir, { format: 'polyglot-lens/vector-index', version: 1, modelHash: 'abc', createdAt: '2026-01-01T00:00:00Z', vectors: { 'fr-en': { file: 'fr-en.safetensors', source: 'fr', target: 'en', method: 'diffmean', layer: 2, strength: 0.5, positions: 'all' } } });
    assert.equal((await readVectorIndex(dir))?.modelHash, 'abc');
    const r = await resolveVector(dir, 'fr-en');
    assert.equal(r.entry?.layer, 2);
    assert.deepEqual([...r.vector.directions.get(2)!], [1, 2, 3, 4]);
    await assert.rejects(resolveVector(dir, 'de-en'), (e: unknown) => e instanceof SteeringInputError && /Bundled names: fr-en/.test(e.message));
    await assert.rejects(resolveVector(path.join(dir, 'nothing'), 'fr-en'), /no bundled vectors/);
    await assert.rejects(resolveVector(dir, path.join(dir, 'missing.safetensors')), /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('position modes as typed on a command line', () => {
  assert.equal(parsePositionMode('last-prompt-token'), 'lastPrompt');
  assert.equal(parsePositionMode('generated'), 'generated');
  assert.throws(() => parsePositionMode('sometimes'), /Unknown position mode/);
});

test('the heatmap SVG has one cell per value and escapes labels', () => {
  const svg = heatmapSvg({ title: 'a < b', rowLabels: ['fr', 'de'], columnLabels: ['k=0', 'k=1', 'k=2'], values: [[0.1, 0.5, 0.9], [0.2, NaN, 0.3]] });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 6);
  assert.match(svg, /a &lt; b/);
  assert.match(svg, />0\.90</);
});
