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
    [{ ...analyze, model: { dir: '/m', threads: -1 } }, /request\.model\.threads: must be within 0\.\.256, got -1/],
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
    layers: [{ layer: 0, norms: [1.5] }],
    centroids: null,
    steered: null,
    continuations: null,
    warnings: [],
  };
  const bad = safeParse(engineReply, { type: 'analysis', id: 1, analysis });
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error.message, /nextTokens\[0\]\.probability: expected finite number/);
  analysis.nextTokens[0] = { id: 2, text: 'b', probability: 0.5, logit: 1 };
  assert.equal(safeParse(engineReply, { type: 'analysis', id: 1, analysis }).ok, true);
});

test('the new requests: loadModel, analyze with vectors and generation, generate, logitLens', () => {
  const model = { dir: '/m', threads: 1, executionProviders: ['cuda', 'cpu'] };
  const generation = { maxNewTokens: 16, temperature: 0.7, topP: 0.9, seed: 3 };
  const vectors = [{ vector: 'fr-en' }, { vector: '/v/de-en.safetensors', layer: 4, strength: -1.5, positions: 'last-prompt-token' }];
  const full = { ...analyze, model, vectors, generation };
  assert.deepEqual(engineRequest(full, 'r'), full);
  assert.deepEqual(engineRequest({ type: 'loadModel', id: 1, model }, 'r'), { type: 'loadModel', id: 1, model });
  const gen = { type: 'generate', id: 2, model, prompt: 'Bonjour', generation, vectors };
  assert.deepEqual(engineRequest(gen, 'r'), gen);
  const lens = { type: 'logitLens', id: 3, model, prompt: 'Bonjour', topK: 5, position: 2 };
  assert.deepEqual(engineRequest(lens, 'r'), lens);
  const cases: [unknown, RegExp][] = [
    [{ ...full, vectors: [{ vector: '' }] }, /request\.vectors\[0\]\.vector: empty vector name/],
    [{ ...full, vectors: [{ vector: 'x', positions: 'everywhere' }] }, /request\.vectors\[0\]\.positions: expected one of/],
    [{ ...full, vectors: [{ vector: 'x', layer: -1 }] }, /request\.vectors\[0\]\.layer: must be within 0\.\.1024/],
    [{ ...full, vectors: [{ vector: 'x', strength: Number.NaN }] }, /request\.vectors\[0\]\.strength: expected finite number/],
    [{ ...full, vectors: Array.from({ length: 17 }, () => ({ vector: 'x' })) }, /request\.vectors: array longer than 16/],
    [{ ...full, generation: { ...generation, maxNewTokens: 513 } }, /request\.generation\.maxNewTokens: must be within 0\.\.512/],
    [{ ...full, generation: { ...generation, topP: 0 } }, /request\.generation\.topP: must be within \(0\.\.1/],
    [{ ...full, generation: { ...generation, temperature: -0.1 } }, /request\.generation\.temperature/],
    [{ ...full, model: { ...model, executionProviders: ['quantum'] } }, /request\.model\.executionProviders\[0\]: expected one of/],
    [{ ...gen, generation: undefined }, /request\.generation: expected object, got undefined/],
    [{ ...lens, position: -1 }, /request\.position: expected integer >= 0/],
    [{ type: 'loadModel', id: 1 }, /request\.model: expected object/],
  ];
  for (const [message, error] of cases) {
    const r = safeParse(engineRequest, message, 'request');
    assert.equal(r.ok, false, JSON.stringify(message).slice(0, 120));
    if (!r.ok) assert.match(r.error.message, error);
  }
});

test('progress events and the new replies are validated too', () => {
  const token = { type: 'progress', id: 4, event: { kind: 'token', stream: 'steered', index: 0, tokenId: 17, text: ' le' } };
  assert.deepEqual(engineReply(token, 'r'), token);
  assert.equal(safeParse(engineReply, { ...token, event: { kind: 'token', stream: 'sideways', index: 0, tokenId: 1, text: '' } }).ok, false);
  assert.equal(safeParse(engineReply, { type: 'progress', id: 4, event: { kind: 'stage', stage: 'loading' } }).ok, true);
  const generated = { type: 'generated', id: 5, result: { prompt: 'p', promptTokens: 2, vectors: [], continuation: { text: 'x', tokenIds: [3], stopReason: 'max-tokens' }, timings: { loadMs: 0, generationMs: 1 } } };
  assert.deepEqual(engineReply(generated, 'r'), generated);
  assert.equal(safeParse(engineReply, { ...generated, result: { ...generated.result, continuation: { text: 'x', tokenIds: [-1], stopReason: 'max-tokens' } } }).ok, false);
});

test('inspection: the inspect options of analyze requests, lens and projections of the analysis, continuation languages', () => {
  const request = { ...analyze, inspect: { lensTopK: 20, projection: false } };
  assert.deepEqual(engineRequest(request, 'r'), request);
  for (const [inspect, error] of [
    [{ lensTopK: 0, projection: true }, /request\.inspect\.lensTopK: must be within 1\.\.20/],
    [{ lensTopK: 21, projection: true }, /request\.inspect\.lensTopK: must be within 1\.\.20/],
    [{ lensTopK: 5 }, /request\.inspect\.projection: expected boolean/],
  ] as const) {
    const r = safeParse(engineRequest, { ...analyze, inspect }, 'request');
    assert.ok(!r.ok && error.test(r.error.message), r.ok ? 'accepted' : r.error.message);
  }
  const candidate = { id: 4, text: ' le', probability: 0.25, logit: 3.5 };
  const projection = { layer: 1, explained: [61.5, 20.25], centroids: [{ language: 'fr', x: 1, y: -2 }], tokens: [{ x: 0.5, y: 0.5 }] };
  const inspection = { lens: [[[candidate]], [[candidate]]], projections: [projection] };
  const continuation = { text: ' la', tokenIds: [3], stopReason: 'max-tokens', language: 'fr', confidence: 0.98 };
  const analysis = {
    prompt: 'a',
    tokens: [{ id: 1, piece: 'a', text: 'a' }],
    nextTokens: [],
    model: { dir: '/m', name: 'm', architecture: 'llama', hiddenSize: 8, numLayers: 1, vocabSize: 10, inputNames: [], outputNames: [] },
    timings: { loadMs: 0, tokenizeMs: 1, inferenceMs: 2, inspectionMs: 3 },
    layers: [],
    centroids: null,
    steered: { vectors: [], layers: [], nextTokens: [], inspection: { ...inspection, projections: null } },
    continuations: { base: continuation, steered: { ...continuation, language: 'und', confidence: undefined } },
    inspection,
    warnings: [],
  };
  const reply = { type: 'analysis', id: 1, analysis };
  assert.deepEqual(engineReply(JSON.parse(JSON.stringify(reply)), 'r'), JSON.parse(JSON.stringify(reply)));
  const bad = (patch: object, error: RegExp): void => {
    const r = safeParse(engineReply, { type: 'analysis', id: 1, analysis: { ...analysis, ...patch } });
    assert.ok(!r.ok && error.test(r.error.message), r.ok ? `accepted ${JSON.stringify(patch)}` : r.error.message);
  };
  bad({ inspection: { ...inspection, projections: [{ ...projection, explained: [50] }] } }, /inspection\.projections\[0\]\.explained: expected two percentages/);
  bad({ inspection: { ...inspection, projections: [{ ...projection, explained: [50, 20, 10] }] } }, /explained: array longer than 2/);
  bad({ inspection: { ...inspection, projections: [{ ...projection, explained: [150, 20] }] } }, /explained\[0\]: must be within 0\.\.100/);
  bad({ inspection: { ...inspection, lens: [[[{ ...candidate, probability: Number.NaN }]]] } }, /inspection\.lens\[0\]\[0\]\[0\]\.probability: expected finite number/);
  bad({ inspection: { lens: [[Array.from({ length: 21 }, () => candidate)]], projections: null } }, /inspection\.lens\[0\]\[0\]: array longer than 20/);
  bad({ continuations: { base: { ...continuation, confidence: 1.5 }, steered: null } }, /continuations\.base\.confidence: must be within 0\.\.1/);
  const generated = { type: 'generated', id: 5, result: { prompt: 'p', promptTokens: 2, vectors: [], continuation, timings: { loadMs: 0, generationMs: 1 }, warnings: ['lid unavailable'] } };
  assert.deepEqual(engineReply(generated, 'r'), generated);
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
