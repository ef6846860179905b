/** The shared vector state: bundled entries from an index, toggles, engine specs, sessions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { languagesFromName, toSteerPositions, VectorState, type VectorStateSnapshot } from '../../../src/extension/vectorState';

const INDEX = {
  'fr-en': { source: 'fr', target: 'en', method: 'diffmean', layer: 3, strength: 0.76, positions: 'all' },
  'en-fr': { source: 'en', target: 'fr', method: 'diffmean', layer: 9, strength: 1.5, positions: 'lastPrompt' },
};

test('bundled vectors come off, at the index setting, layer clamped to the model', () => {
  const s = new VectorState();
  s.setBundled(INDEX, 6);
  assert.deepEqual(s.entries().map((e) => e.id), ['bundled:en-fr', 'bundled:fr-en']);
  assert.equal(s.get('bundled:en-fr')?.layer, 6);
  assert.equal(s.get('bundled:en-fr')?.positions, 'last-prompt-token');
  assert.deepEqual(s.specs(), []);
  assert.deepEqual(s.views()[0]?.layers, [0, 1, 2, 3, 4, 5, 6]);
});

test('toggling fires once per real change and yields engine specs', () => {
  const s = new VectorState();
  s.setBundled(INDEX, 6);
  let fired = 0;
  s.onDidChange(() => fired++);
  assert.equal(s.set('bundled:fr-en', { enabled: true }), true);
  assert.equal(s.set('bundled:fr-en', { enabled: true }), false);
  assert.equal(s.set('nope', { enabled: true }), false);
  assert.equal(fired, 1);
  assert.deepEqual(s.specs(), [{ vector: 'fr-en', layer: 3, strength: 0.76, positions: 'all' }]);
  s.set('bundled:fr-en', { layer: 99, strength: Number.NaN });
  assert.equal(s.get('bundled:fr-en')?.layer, 6);
  assert.equal(s.get('bundled:fr-en')?.strength, 0.76);
});

test('re-selecting the model keeps settings; files survive; bundled cannot be removed', () => {
  const s = new VectorState();
  s.setBundled(INDEX, 6);
  s.set('bundled:fr-en', { enabled: true, strength: 2 });
  const file = s.addFile('/tmp/de-en.safetensors', 'workspace', { layer: 2, strength: 1 });
  assert.equal(file.source, 'de');
  s.setBundled(INDEX, 6);
  assert.equal(s.get('bundled:fr-en')?.strength, 2);
  assert.equal(s.entries().length, 3);
  assert.equal(s.remove('bundled:fr-en'), false);
  assert.equal(s.remove(file.id), true);
});

test('a snapshot restores onto a fresh state; unknown bundled ids are reported', () => {
  const a = new VectorState();
  a.setBundled(INDEX, 6);
  a.set('bundled:en-fr', { enabled: true, layer: 2 });
  a.addFile('/tmp/my vec.gguf', 'computed', { layer: 4, strength: 3, enabled: true });
  const snap = JSON.parse(JSON.stringify(a.snapshot())) as VectorStateSnapshot;
  const b = new VectorState();
  b.setBundled({ 'en-fr': INDEX['en-fr'] }, 6);
  assert.deepEqual(b.restore({ entries: [...snap.entries, { ...snap.entries[0]!, id: 'bundled:xx-yy' }] }), ['bundled:fr-en', 'bundled:xx-yy']);
  assert.deepEqual(b.specs(), [
    { vector: 'en-fr', layer: 2, strength: 1.5, positions: 'last-prompt-token' },
    { vector: '/tmp/my vec.gguf', layer: 4, strength: 3, positions: 'all' },
  ]);
});

test('names and positions', () => {
  assert.deepEqual(languagesFromName('zh-en'), { source: 'zh', target: 'en' });
  assert.deepEqual(languagesFromName('my-vector'), { source: 'und', target: 'und' });
  assert.equal(toSteerPositions('bogus'), 'all');
});
