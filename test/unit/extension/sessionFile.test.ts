/**
 * Session files: a saved VectorState comes back the same in a fresh state (paths relative to the session's
 * folder, so the folder can move), and broken files are refused with a message that names the field.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildSession, fromSessionPath, parseSession, SessionFileError, sessionFileName, sessionNameProblem, sessionText, toSessionPath } from '../../../src/extension/sessionFile';
import { VectorState } from '../../../src/extension/vectorState';
import { lensSession, SESSION_FORMAT } from '../../../src/protocol/session';
import { safeParse } from '../../../src/protocol/validate';

const INDEX = {
  'fr-en': { source: 'fr', target: 'en', method: 'diffmean', layer: 3, strength: 0.76, positions: 'all' },
  'en-fr': { source: 'en', target: 'fr', method: 'diffmean', layer: 3, strength: 1.52, positions: 'all' },
};
const ROOT = path.resolve('/work/project');

function saved(): { state: VectorState; text: string } {
  const state = new VectorState();
  state.setBundled(INDEX, 6);
  state.set('bundled:fr-en', { enabled: true, layer: 4, strength: 1.25 });
  state.addFile(path.join(ROOT, '.polyglot', 'vectors', 'de-en.safetensors'), 'computed', { layer: 5, strength: 0.5, enabled: true, positions: 'prompt' });
  state.addFile('/elsewhere/zh-en.gguf', 'workspace', { layer: 2, strength: 1 });
  const session = buildSession(
    {
      prompt: { prompt: 'Le chat dort.', origin: { kind: 'line', fileName: 'notes.txt', line: 2 } },
      modelDir: path.join(ROOT, 'models', 'mine'),
      modelName: 'mine',
      bundledModel: false,
      vectors: state.snapshot(),
      settings: { topK: 5, maxNewTokens: 24, temperature: 0.7, seed: 0 },
      createdAt: new Date('2026-01-02T03:04:05Z'),
    },
    ROOT,
  );
  return { state, text: sessionText(session) };
}

test('paths inside the session folder are stored relative (with /), others absolute, and resolve back', () => {
  assert.equal(toSessionPath(path.join(ROOT, 'a', 'b.safetensors'), ROOT), 'a/b.safetensors');
  assert.equal(toSessionPath('/other/x.gguf', ROOT), path.resolve('/other/x.gguf'));
  assert.equal(toSessionPath(path.join(ROOT, '..', 'sibling', 'x.gguf'), ROOT), path.resolve(ROOT, '..', 'sibling', 'x.gguf'));
  assert.equal(fromSessionPath('a/b.safetensors', ROOT), path.join(ROOT, 'a', 'b.safetensors'));
  assert.equal(fromSessionPath('/other/x.gguf', ROOT), path.resolve('/other/x.gguf'));
});

test('a saved session restores the same vectors into a fresh state, also after the folder moved', () => {
  const { state, text } = saved();
  const raw = JSON.parse(text) as { model: { path: string }; vectors: { ref: string }[]; format: string; createdAt: string };
  assert.equal(raw.format, SESSION_FORMAT);
  assert.equal(raw.createdAt, '2026-01-02T03:04:05.000Z');
  assert.equal(raw.model.path, 'models/mine');
  assert.deepEqual(raw.vectors.map((v) => v.ref), ['en-fr', 'fr-en', '.polyglot/vectors/de-en.safetensors', path.resolve('/elsewhere/zh-en.gguf')]);

  const parsed = parseSession(text, path.join(ROOT, 'demo.polyglot.json'));
  assert.equal(parsed.modelDir, path.join(ROOT, 'models', 'mine'));
  assert.equal(parsed.session.prompt, 'Le chat dort.');
  assert.deepEqual(parsed.session.origin, { kind: 'line', fileName: 'notes.txt', line: 2 });
  const fresh = new VectorState();
  fresh.setBundled(INDEX, 6);
  assert.deepEqual(fresh.restore(parsed.vectors), []);
  assert.deepEqual(fresh.specs(), state.specs());
  assert.deepEqual(fresh.snapshot(), state.snapshot());

  // The same file in another checkout: relative paths follow the folder.
  const moved = parseSession(text, '/home/someone/checkout/demo.polyglot.json');
  assert.equal(moved.modelDir, path.resolve('/home/someone/checkout/models/mine'));
  assert.equal(moved.vectors.entries[2]?.ref, path.resolve('/home/someone/checkout/.polyglot/vectors/de-en.safetensors'));
  assert.equal(moved.vectors.entries[2]?.id, `file:${path.resolve('/home/someone/checkout/.polyglot/vectors/de-en.safetensors')}`);
});

test('the bundled model is stored as an empty path; a session without a prompt is valid', () => {
  const state = new VectorState();
  state.setBundled(INDEX, 6);
  const text = sessionText(buildSession({ modelDir: '/ext/models/tiny-polyglot', modelName: 'tiny-polyglot', bundledModel: true, vectors: state.snapshot(), settings: { topK: 5, maxNewTokens: 0, temperature: 0, seed: 1 } }, ROOT));
  const parsed = parseSession(text, path.join(ROOT, 's.polyglot.json'));
  assert.equal(parsed.modelDir, undefined);
  assert.equal(parsed.session.prompt, '');
  assert.equal(parsed.session.origin, undefined);
});

test('broken session files are refused with the file and the offending field named', () => {
  const file = path.join(ROOT, 'bad.polyglot.json');
  const { text } = saved();
  const good = JSON.parse(text) as Record<string, unknown>;
  const cases: [unknown, RegExp][] = [
    [{ ...good, format: 'something-else' }, /bad\.polyglot\.json: is not a valid Polyglot Lens session: session\.format: not a Polyglot Lens session/],
    [{ ...good, version: 7 }, /session\.version: version 7 was written by a newer Polyglot Lens/],
    [{ ...good, createdAt: 'yesterday' }, /session\.createdAt: expected an ISO 8601 date/],
    [{ ...good, vectors: [{ ...(good['vectors'] as object[])[0], layer: -1 }] }, /session\.vectors\[0\]\.layer: expected integer >= 0, got -1/],
    [{ ...good, vectors: [{ ...(good['vectors'] as object[])[0], positions: 'everywhere' }] }, /session\.vectors\[0\]\.positions: expected one of/],
    [{ ...good, vectors: [{ ...(good['vectors'] as object[])[0], strength: 5000 }] }, /session\.vectors\[0\]\.strength: strength must be within -1000\.\.1000/],
    [{ ...good, vectors: [{ ...(good['vectors'] as object[])[0], ref: ' ' }] }, /session\.vectors\[0\]\.ref: empty vector reference/],
    [{ ...good, model: { name: 'x' } }, /session\.model\.path: expected string, got undefined/],
    [[1, 2], /session: expected object, got array/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseSession(JSON.stringify(value), file), (err: unknown) => err instanceof SessionFileError && pattern.test(err.message), String(pattern));
  }
  assert.throws(() => parseSession('{ "format": ', file), (err: unknown) => err instanceof SessionFileError && /bad\.polyglot\.json: is not valid JSON/.test(err.message));
  // Unknown fields are dropped at the boundary.
  const extra = safeParse(lensSession, { ...good, evil: '<script>' }, 'session');
  assert.ok(extra.ok && !('evil' in extra.value));
});

test('session names become file names; names that cannot be file names are refused', () => {
  assert.equal(sessionFileName('demo'), 'demo.polyglot.json');
  assert.equal(sessionFileName(' demo.polyglot.json '), 'demo.polyglot.json');
  assert.equal(sessionFileName('demo.json'), 'demo.polyglot.json');
  assert.equal(sessionNameProblem('my session'), undefined);
  assert.equal(sessionNameProblem('  '), 'empty');
  for (const bad of ['a/b', 'a\\b', 'what?', 'x:y', 'tab\there']) assert.equal(sessionNameProblem(bad), 'characters', bad);
});
