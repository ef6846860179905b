/** The worker's request loop, in-process: validation at entry, ordering, cancellation, model caching. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { CausalLm } from '../../../src/engine/causalLm';
import { EngineService, type ModelLoader } from '../../../src/engine/engineService';
import type { EngineReply } from '../../../src/protocol/engine';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';

let info: TestModelInfo;
before(async () => {
  info = await ensureTestModel();
});

function harness(loader?: ModelLoader): { service: EngineService; replies: EngineReply[]; settled: (n: number) => Promise<void>; loads: () => number } {
  const replies: EngineReply[] = [];
  let loads = 0;
  const counting: ModelLoader = (dir, options) => {
    loads++;
    return (loader ?? ((d, o) => CausalLm.load(d, o)))(dir, options);
  };
  const service = new EngineService((r) => replies.push(r), counting);
  const settled = async (n: number): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (replies.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${replies.length} of ${n} replies`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { service, replies, settled, loads: () => loads };
}

const request = (id: number, prompt: string, dir = info.dir): unknown => ({ type: 'analyze', id, model: { dir, threads: 1 }, prompt, topK: 3 });

test('invalid messages get a BAD_MESSAGE reply naming the request, and the loop keeps serving', async () => {
  const { service, replies, settled } = harness();
  service.receive({ type: 'analyze', id: 4, prompt: 'no model' });
  service.receive('garbage');
  service.receive(request(5, 'hello'));
  await settled(3);
  assert.deepEqual(replies.slice(0, 2).map((r) => [r.type, 'id' in r ? r.id : undefined, r.type === 'error' ? r.error.code : '']), [
    ['error', 4, 'BAD_MESSAGE'],
    ['error', null, 'BAD_MESSAGE'],
  ]);
  assert.equal(replies[2]?.type, 'analysis');
  await service.dispose();
});

test('requests are answered in order; the model is loaded once and reused', async () => {
  const { service, replies, settled, loads } = harness();
  service.receive(request(1, 'one'));
  service.receive(request(2, 'two'));
  service.receive(request(3, 'three'));
  await settled(3);
  assert.deepEqual(replies.map((r) => (r.type === 'analysis' ? [r.id, r.analysis.prompt] : r.type)), [
    [1, 'one'],
    [2, 'two'],
    [3, 'three'],
  ]);
  assert.equal(loads(), 1);
  const timings = replies.map((r) => (r.type === 'analysis' ? r.analysis.timings.loadMs : -1));
  assert.ok((timings[0] ?? 0) > 0 && timings[1] === 0 && timings[2] === 0, `load time reported once: ${timings.join(',')}`);
  await service.dispose();
});

test('cancel drops a queued request and replaces a running one’s result by CANCELLED', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const { service, replies, settled } = harness(async (dir, o) => {
    await gate; // hold the first request "running" until both cancels have arrived
    return CausalLm.load(dir, o);
  });
  service.receive(request(1, 'running'));
  service.receive(request(2, 'queued'));
  service.receive(request(3, 'kept'));
  service.receive({ type: 'cancel', id: 10, target: 2 });
  service.receive({ type: 'cancel', id: 11, target: 1 });
  service.receive({ type: 'cancel', id: 12, target: 99 }); // unknown: ignored
  release();
  await settled(3);
  assert.deepEqual(replies.map((r) => [r.type === 'error' ? r.error.code : r.type, 'id' in r ? r.id : null]), [
    ['CANCELLED', 2],
    ['CANCELLED', 1],
    ['analysis', 3],
  ]);
  await service.dispose();
});

test('a failed load is not cached: fixing the folder and retrying works', async () => {
  let fail = true;
  const { service, replies, settled } = harness(async (dir, o) => {
    if (fail) return CausalLm.load('/nonexistent/model', o);
    return CausalLm.load(dir, o);
  });
  service.receive(request(1, 'first'));
  await settled(1);
  assert.equal(replies[0]?.type === 'error' && replies[0].error.code, 'MODEL_NOT_FOUND');
  fail = false;
  service.receive(request(2, 'second'));
  await settled(2);
  assert.equal(replies[1]?.type, 'analysis');
  await service.dispose();
});

test('a missing model folder is reported before any load is attempted', async () => {
  const { service, replies, settled, loads } = harness();
  service.receive(request(1, 'x', '/definitely/not/here'));
  await settled(1);
  const r = replies[0];
  assert.ok(r?.type === 'error' && r.error.code === 'MODEL_NOT_FOUND' && /not\/here/.test(r.error.message));
  assert.equal(loads(), 0);
});
