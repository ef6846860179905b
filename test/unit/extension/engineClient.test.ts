/**
 * EngineClient against the real bundled worker (dist/worker.js) and the real test model: lazy start,
 * typed errors across the thread boundary, supersede/cancel, and surviving a worker crash.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { EngineClient } from '../../../src/extension/engineClient';
import { EngineError } from '../../../src/protocol/errors';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';
import { DIST, ensureBuilt } from '../helpers/build';

let info: TestModelInfo;
let client: EngineClient;

before(async () => {
  ensureBuilt();
  info = await ensureTestModel();
  client = new EngineClient({ workerPath: path.join(DIST, 'worker.js') });
});

after(async () => {
  await client.dispose();
});

const params = (prompt: string, dir = info.dir): Parameters<EngineClient['analyze']>[0] => ({ model: { dir, threads: 1 }, prompt, topK: 5 });

test('no worker thread exists until the first request', async () => {
  assert.equal(client.isRunning, false);
  const a = await client.analyze(params('Guten Morgen'));
  assert.equal(client.isRunning, true);
  assert.equal(a.tokens.map((t) => t.text).join(''), 'Guten Morgen');
  const last = a.tokens[a.tokens.length - 1]?.id as number;
  assert.equal(a.nextTokens[0]?.id, (last + 1) % info.vocabSize);
});

test('engine errors arrive as typed EngineErrors and the worker keeps serving', async () => {
  await assert.rejects(client.analyze(params('x', '/no/such/model')), (e: unknown) => e instanceof EngineError && e.code === 'MODEL_NOT_FOUND' && e.hint !== undefined);
  assert.equal((await client.analyze(params('still here'))).prompt, 'still here');
});

test('a newer request with the same key supersedes the pending one', async () => {
  const first = client.analyze(params('first'), 'panel');
  const second = client.analyze(params('second'), 'panel');
  const other = client.analyze(params('other key'), 'hover');
  await assert.rejects(first, (e: unknown) => e instanceof EngineError && e.code === 'CANCELLED');
  assert.equal((await second).prompt, 'second');
  assert.equal((await other).prompt, 'other key');
});

test('a crashed worker fails its pending requests with WORKER_CRASHED and the next request starts a new one', async () => {
  const lines: string[] = [];
  const c = new EngineClient({ workerPath: path.join(DIST, 'worker.js'), log: (l) => lines.push(l) });
  try {
    // A fresh worker must load the model first, so this request is certainly still in flight when the
    // thread disappears without replying (as on a native crash).
    const pending = c.analyze(params('doomed'));
    void (c as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await assert.rejects(pending, (e: unknown) => e instanceof EngineError && e.code === 'WORKER_CRASHED');
    assert.equal(c.isRunning, false);
    assert.equal((await c.analyze(params('reborn'))).prompt, 'reborn');
    assert.equal(lines.filter((l) => l.startsWith('starting engine worker')).length, 2, lines.join('\n'));
  } finally {
    await c.dispose();
  }
});

test('after dispose, requests are refused and no worker is left', async () => {
  const c = new EngineClient({ workerPath: path.join(DIST, 'worker.js') });
  await c.analyze(params('once'));
  await c.dispose();
  assert.equal(c.isRunning, false);
  await assert.rejects(c.analyze(params('again')), EngineError);
});
