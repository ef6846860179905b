import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineReply, engineRequest, MAX_PROMPT_CHARS, salvageRequestId, type AnalyzeRequest } from '../../../src/protocol/engine';
import { EngineError, toEngineErrorInfo } from '../../../src/protocol/errors';
import { ProtocolError, safeParse } from '../../../src/protocol/validate';
import { hostToWebview, webviewToHost } from '../../../src/protocol/webview';

const analyze: AnalyzeRequest = { type: 'analyze', id: 3, model: { dir: '/m', threads: 0 }, prompt: 'Bonjour', topK: 5 };

test('a valid analyze request passes unchanged, and unknown fields are dropped at the boundary', () => {
  assert.deepEqual(engineRequest({ ...analyze, extra: 'x', model: { ...analyze.model, evil: true } }, 'request'), analyze);
});

test('invalid requests are rejected with the path of the offending field', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...analyze, id: 1.5 }, /request\.id: expected integer/],
    [{ ...analyze, prompt: 7 }, /request\.prompt: expected string, got number/],
    [{ ...analyze, model: { dir: '/m', threads: -1 } }, /request\.model\.threads: expected integer >= 0/],
    [{ ...analyze, topK: 0 }, /request\.topK: must be within 1\.\.50/],
    [{ ...analyze, prompt: 'x'.repeat(MAX_PROMPT_CHARS + 1) }, /request\.prompt: longer than/],
    [{ type: 'explode', id: 1 }, /request\.type: unknown type "explode"/],
    [null, /request: expected object, got null/],
    [[analyze], /request\.type: unknown type undefined/],
  ];
  for (const [message, error] of cases) {
    const r = safeParse(engineRequest, message, 'request');
    assert.equal(r.ok, false, JSON.stringify(message).slice(0, 80));
    if (!r.ok) {
      assert.ok(r.error instanceof ProtocolError);
      assert.match(r.error.message, error);
    }
  }
});

test('a cancel request names its target', () => {
  assert.deepEqual(engineRequest({ type: 'cancel', id: 9, target: 4 }, 'r'), { type: 'cancel', id: 9, target: 4 });
  assert.equal(safeParse(engineRequest, { type: 'cancel', id: 9 }, 'r').ok, false);
});

test('replies: error codes are a closed list; NaN probabilities are rejected', () => {
  assert.deepEqual(engineReply({ type: 'error', id: null, error: { code: 'CANCELLED', message: 'm' } }, 'r'), { type: 'error', id: null, error: { code: 'CANCELLED', message: 'm' } });
  assert.equal(safeParse(engineReply, { type: 'error', id: 1, error: { code: 'OOPS', message: 'm' } }).ok, false);
  const analysis = {
    prompt: 'a',
    tokens: [{ id: 1, piece: 'a', text: 'a' }],
    nextTokens: [{ id: 2, text: 'b', probability: Number.NaN, logit: 1 }],
    model: { dir: '/m', name: 'm', architecture: 'llama', hiddenSize: 8, numLayers: 2, vocabSize: 10, inputNames: ['input_ids'], outputNames: ['logits'] },
    timings: { loadMs: 0, tokenizeMs: 1, inferenceMs: 2 },
  };
  const bad = safeParse(engineReply, { type: 'analysis', id: 1, analysis });
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error.message, /nextTokens\[0\]\.probability: expected finite number/);
  analysis.nextTokens[0] = { id: 2, text: 'b', probability: 0.5, logit: 1 };
  assert.equal(safeParse(engineReply, { type: 'analysis', id: 1, analysis }).ok, true);
});

test('the id of an invalid message is salvaged for the error reply when it is an integer', () => {
  assert.equal(salvageRequestId({ type: 'analyze', id: 12 }), 12);
  assert.equal(salvageRequestId({ id: '12' }), null);
  assert.equal(salvageRequestId('junk'), null);
});

test('webview messages: only listed settings may be opened, unknown intents are rejected', () => {
  assert.deepEqual(webviewToHost({ type: 'ready' }, 'm'), { type: 'ready' });
  assert.deepEqual(webviewToHost({ type: 'openSettings', setting: 'polyglotLens.modelPath' }, 'm'), { type: 'openSettings', setting: 'polyglotLens.modelPath' });
  assert.equal(safeParse(webviewToHost, { type: 'openSettings', setting: 'terminal.integrated.shell.linux' }).ok, false);
  assert.equal(safeParse(webviewToHost, { type: 'runCommand', command: 'x' }).ok, false);
  assert.equal(safeParse(hostToWebview, { type: 'analyzing', requestId: 1, prompt: 'p', origin: { kind: 'cursor', fileName: 'f', line: 0 } }).ok, false);
});

test('errors round-trip through their serialisable form; foreign errors become INTERNAL', () => {
  const err = new EngineError('MODEL_NOT_FOUND', 'gone', 'look again');
  const back = EngineError.fromInfo(JSON.parse(JSON.stringify(err.toInfo())) as ReturnType<EngineError['toInfo']>);
  assert.equal(back.code, 'MODEL_NOT_FOUND');
  assert.equal(back.message, 'gone');
  assert.equal(back.hint, 'look again');
  assert.deepEqual(toEngineErrorInfo(new TypeError('x is undefined')).code, 'INTERNAL');
  assert.match(toEngineErrorInfo('boom').message, /boom/);
});
