/**
 * EngineClient against the real bundled worker (dist/worker.js) and the real test model: lazy start,
 * typed errors across the thread boundary, supersede/cancel, and surviving a worker crash.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { before, test } from 'node:test';
import { EngineClient } from '../../../src/extension/engineClient';
import { EngineError } from '../../../src/protocol/errors';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';
import { DIST } from '../helpers/build';
import { bundledEngineClient } from '../helpers/engineWorker';

const client = bundledEngineClient();
let info: TestModelInfo;

before(async () => {
  info = await ensureTestModel();
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

test('generate streams tokens to the host as progress events and resolves with the same tokens', async () => {
  const tokens: number[] = [];
  const stages: string[] = [];
  const g = await client.generate(
    { model: { dir: info.dir, threads: 1 }, prompt: 'the cat', generation: { maxNewTokens: 6, temperature: 0, topP: 1, seed: 0 } },
    { onProgress: (e) => (e.kind === 'token' ? tokens.push(e.tokenId) : e.kind === 'stage' ? stages.push(e.stage) : undefined) },
  );
  assert.deepEqual(tokens, g.continuation.tokenIds);
  assert.equal(tokens.length, 6);
  const lens = await client.logitLens({ model: { dir: info.dir, threads: 1 }, prompt: 'the cat', topK: 2 });
  assert.equal(lens.layers.length, info.numLayers + 1);
});

test('no inference on the host thread: its event loop stays responsive during a long generation, and cancel stops it', async () => {
  let last = performance.now();
  let worstGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 2);
  try {
    let streamed = 0;
    const started = performance.now();
    const long = client.generate(
      { model: { dir: info.dir, threads: 1 }, prompt: 'the cat', generation: { maxNewTokens: 120, temperature: 0, topP: 1, seed: 0 } },
      { supersedeKey: 'long', onProgress: (e) => void (e.kind === 'token' && streamed++) },
    );
    const g = await long;
    const elapsed = performance.now() - started;
    assert.equal(g.continuation.tokenIds.length, 120);
    assert.ok(elapsed > 50, `the generation took long enough to matter (${elapsed.toFixed(0)} ms)`);
    assert.ok(worstGap < 60, `the host's event loop never stalled (worst gap ${worstGap.toFixed(1)} ms over ${elapsed.toFixed(0)} ms)`);
    assert.equal(streamed, 120);

    // Cancel from the host: the request rejects with CANCELLED at once and the worker stops generating.
    let after = 0;
    let cancelled = false;
    const doomed = client.generate(
      { model: { dir: info.dir, threads: 1 }, prompt: 'the cat', generation: { maxNewTokens: 400, temperature: 0, topP: 1, seed: 0 } },
      {
        supersedeKey: 'doomed',
        onProgress: (e) => {
          if (e.kind !== 'token') return;
          if (cancelled) after++;
          if (e.index === 3 && !cancelled) {
            cancelled = true;
            client.cancel('doomed');
          }
        },
      },
    );
    await assert.rejects(doomed, (e: unknown) => e instanceof EngineError && e.code === 'CANCELLED');
    // The next request is served promptly: the cancelled generation did not run to its end.
    const t0 = performance.now();
    await client.analyze(params('next'));
    assert.ok(performance.now() - t0 < elapsed, 'the worker stopped the cancelled generation');
    assert.equal(after, 0, 'no tokens reach the host after the cancel');
  } finally {
    clearInterval(timer);
  }
});

test('after dispose, requests are refused and no worker is left', async () => {
  const c = new EngineClient({ workerPath: path.join(DIST, 'worker.js') });
  await c.analyze(params('once'));
  await c.dispose();
  assert.equal(c.isRunning, false);
  await assert.rejects(c.analyze(params('again')), EngineError);
});
