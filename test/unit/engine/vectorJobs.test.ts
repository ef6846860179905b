/**
 * The worker's vector jobs through the real request loop (EngineService, in-process) on the bundled demo
 * model and its corpus: every reply passes the protocol's reply validator; a computed vector equals what the
 * CLI's `extract` writes for the same inputs; a sweep reproduces the layer and strength `build-vectors` chose;
 * a sweep stops when cancelled; GGUF export refuses k = 0 / 1 with the llama.cpp reason and bakes the strength
 * into k ≥ 2; vector files are checked against the model.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { VECTOR_COMMANDS } from '../../../src/cli/commands/vectors';
import { EngineService } from '../../../src/engine/engineService';
import { defaultCacheDir } from '../../../src/engine/model/cache';
import { parseGgufControlVector } from '../../../src/engine/steering/gguf';
import { loadSteeringVector } from '../../../src/engine/steering/vectorFile';
import { l2Norm } from '../../../src/engine/steering/vector';
import { engineReply, type EngineReply, type ProgressEvent } from '../../../src/protocol/engine';
import { safeParse } from '../../../src/protocol/validate';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';

const REPO = path.resolve(__dirname, '..', '..', '..');
const TINY = path.join(REPO, 'models', 'tiny-polyglot');
const STEER = path.join(TINY, 'corpus', 'steer.jsonl');
const DEV = path.join(TINY, 'corpus', 'dev.jsonl');
const INDEX = JSON.parse(fs.readFileSync(path.join(TINY, 'vectors', 'index.json'), 'utf8')) as { modelHash: string; vectors: Record<string, { layer: number; strength: number; dev: { languageControl: number; chrF: number } }> };

let scratch: string;
let testModel: TestModelInfo;
before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'polyglot-lens-vector-jobs-'));
  testModel = await ensureTestModel();
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface Harness {
  service: EngineService;
  /** Final replies (progress excluded), each checked by the protocol's reply validator. */
  next: () => Promise<EngineReply>;
  progress: (id: number) => ProgressEvent[];
}

function harness(onReply?: (r: EngineReply, service: EngineService) => void): Harness {
  const finals: EngineReply[] = [];
  const events: { id: number; event: ProgressEvent }[] = [];
  let taken = 0;
  const service: EngineService = new EngineService((r) => {
    const checked = safeParse(engineReply, JSON.parse(JSON.stringify(r)), 'reply');
    assert.ok(checked.ok, `the worker's reply fails the protocol validator: ${checked.ok ? '' : checked.error.message}`);
    if (r.type === 'progress') events.push({ id: r.id, event: r.event });
    else finals.push(r);
    onReply?.(r, service);
  });
  return {
    service,
    next: async () => {
      const deadline = Date.now() + 600_000;
      while (finals.length <= taken) {
        if (Date.now() > deadline) throw new Error('no reply within 10 minutes');
        await new Promise((r) => setTimeout(r, 10));
      }
      return finals[taken++] as EngineReply;
    },
    progress: (id) => events.filter((e) => e.id === id).map((e) => e.event),
  };
}

const tiny = { dir: TINY, threads: 0 };

function expectError(reply: EngineReply, code: string): { message: string; hint?: string } {
  assert.equal(reply.type, 'error', `expected ${code}, got ${JSON.stringify(reply).slice(0, 300)}`);
  assert.ok(reply.type === 'error');
  assert.equal(reply.error.code, code, reply.error.message);
  return reply.error;
}

test('inspectCorpus lists the corpus languages with the rows that have each (counted independently), and explains a broken file', async () => {
  const { service, next } = harness();
  service.receive({ type: 'inspectCorpus', id: 1, file: STEER });
  const reply = await next();
  assert.ok(reply.type === 'corpusInfo', JSON.stringify(reply));
  const rows = fs.readFileSync(STEER, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(reply.info.rows, rows.length);
  const counted = new Map<string, number>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === 'string' && /^[a-z]{2}$/.test(k) && k !== 'id') counted.set(k, (counted.get(k) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(reply.info.languages.map((l) => [l.code, l.rows])), Object.fromEntries(counted));

  const bad = path.join(scratch, 'broken.jsonl');
  fs.writeFileSync(bad, '{"en": "Hello.", "fr": "Bonjour."}\n{"en": "oops"\n');
  service.receive({ type: 'inspectCorpus', id: 2, file: bad });
  const error = expectError(await next(), 'INVALID_REQUEST');
  assert.match(error.message, /broken\.jsonl:2/, 'the message names the file and the line');
  await service.dispose();
});

test('computeVector writes the vector the CLI extract writes for the same corpus, pairs and method, with its default setting', { timeout: 900_000 }, async () => {
  const { service, next, progress } = harness();
  const out = path.join(scratch, 'editor', 'fr-en.safetensors');
  const pairs = 24;
  service.receive({ type: 'computeVector', id: 1, model: tiny, corpus: STEER, source: 'fr', target: 'en', method: 'diffmean', sentences: pairs, out });
  const reply = await next();
  assert.ok(reply.type === 'vectorComputed', JSON.stringify(reply).slice(0, 400));
  const r = reply.result;
  assert.equal(r.file, out);
  assert.equal(r.pairs, pairs);
  const L = (JSON.parse(fs.readFileSync(path.join(TINY, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;
  assert.deepEqual(r.layers, Array.from({ length: L + 1 }, (_, k) => k));
  // Progress: fractions that only grow, ending at the total (the target's 24 sentences + the source's 24).
  const fractions = progress(1).filter((e): e is Extract<ProgressEvent, { kind: 'fraction' }> => e.kind === 'fraction');
  assert.ok(fractions.length >= 2);
  for (let i = 1; i < fractions.length; i++) assert.ok((fractions[i]?.done ?? 0) >= (fractions[i - 1]?.done ?? 0));
  assert.deepEqual([fractions.at(-1)?.done, fractions.at(-1)?.total], [2 * pairs, 2 * pairs]);

  // The file loads, and its default strength is the default layer's natural strength ‖v_k‖ / m_k.
  const mine = (await loadSteeringVector(out)).vector;
  const k = r.defaultLayer;
  assert.ok(k >= 2 && k <= L, `default layer ${k} is exportable to llama.cpp`);
  assert.equal(mine.metadata.defaultLayer, k);
  const natural = l2Norm(mine.directions.get(k)!) / (mine.metadata.meanActivationNorms[k] as number);
  assert.ok(Math.abs((mine.metadata.defaultStrength as number) - natural) < 1e-3, `${mine.metadata.defaultStrength} vs ${natural}`);
  assert.ok(Math.abs(r.defaultStrength - natural) < 1e-3);
  assert.ok(Math.abs((r.naturalStrengths[k] as number) - natural) < 1e-3);

  // The CLI, with its own model session, on the same inputs (its centroid side product goes to a scratch cache).
  const cliOut = path.join(scratch, 'cli');
  const cache = path.join(scratch, 'cache');
  fs.mkdirSync(cache, { recursive: true });
  const realCache = defaultCacheDir();
  if (fs.existsSync(path.join(realCache, 'surgered'))) fs.symlinkSync(path.join(realCache, 'surgered'), path.join(cache, 'surgered'));
  const previous = process.env.POLYGLOT_LENS_CACHE;
  process.env.POLYGLOT_LENS_CACHE = cache;
  const err: string[] = [];
  let code: number;
  try {
    const extract = VECTOR_COMMANDS.find((c) => c.name === 'extract')!;
    code = await extract.run(['--model', TINY, '--corpus', STEER, '--languages', 'fr', '--sentences', String(pairs), '--out', cliOut], { out: () => undefined, err: (s) => err.push(s) });
  } finally {
    if (previous === undefined) delete process.env.POLYGLOT_LENS_CACHE;
    else process.env.POLYGLOT_LENS_CACHE = previous;
  }
  assert.equal(code, 0, err.join('\n'));
  const cli = (await loadSteeringVector(path.join(cliOut, 'fr-en.safetensors'))).vector;
  assert.deepEqual([...mine.directions.keys()].sort(), [...cli.directions.keys()].sort());
  for (const [layer, d] of cli.directions) {
    const m = mine.directions.get(layer)!;
    let maxDiff = 0;
    for (let i = 0; i < d.length; i++) maxDiff = Math.max(maxDiff, Math.abs((m[i] as number) - (d[i] as number)));
    assert.ok(maxDiff <= 1e-6 * Math.max(1, l2Norm(d)), `layer ${layer}: max |Δ| ${maxDiff}`);
    assert.ok(Math.abs((mine.metadata.meanActivationNorms[layer] as number) - (cli.metadata.meanActivationNorms[layer] as number)) < 1e-5);
  }
  for (const key of ['method', 'sourceLanguage', 'targetLanguage', 'numPairs', 'modelHash', 'pooling', 'notes'] as const) assert.deepEqual(mine.metadata[key], cli.metadata[key], key);
  await service.dispose();
});

test('computeVector: the en→fr DiffMean is exactly the negated fr→en one (same rows); unknown languages are explained', { timeout: 900_000 }, async () => {
  const { service, next } = harness();
  const fwd = path.join(scratch, 'pair', 'fr-en.safetensors');
  const back = path.join(scratch, 'pair', 'en-fr.safetensors');
  service.receive({ type: 'computeVector', id: 1, model: tiny, corpus: STEER, source: 'fr', target: 'en', method: 'diffmean', sentences: 12, out: fwd });
  service.receive({ type: 'computeVector', id: 2, model: tiny, corpus: STEER, source: 'en', target: 'fr', method: 'diffmean', sentences: 12, out: back });
  service.receive({ type: 'computeVector', id: 3, model: tiny, corpus: STEER, source: 'xh', target: 'en', method: 'diffmean', out: path.join(scratch, 'pair', 'xh.safetensors') });
  assert.equal((await next()).type, 'vectorComputed');
  assert.equal((await next()).type, 'vectorComputed');
  const error = expectError(await next(), 'INVALID_REQUEST');
  assert.match(error.message, /no text in xh/);
  assert.match(error.hint ?? '', /\bfr\b.*\ben\b|\ben\b.*\bfr\b/, 'the hint lists the languages it has');
  assert.ok(!fs.existsSync(path.join(scratch, 'pair', 'xh.safetensors')));
  const a = (await loadSteeringVector(fwd)).vector;
  const b = (await loadSteeringVector(back)).vector;
  for (const [k, d] of a.directions) {
    const e = b.directions.get(k)!;
    for (let i = 0; i < d.length; i++) assert.ok(Math.abs((d[i] as number) + (e[i] as number)) < 1e-5, `layer ${k}, component ${i}`);
  }
  await service.dispose();
});

test('sweepVector on the dev split reproduces the layer and strength build-vectors chose for fr-en', { timeout: 900_000 }, async (t) => {
  const { service, next, progress } = harness();
  service.receive({ type: 'loadModel', id: 1, model: tiny });
  const loaded = await next();
  assert.ok(loaded.type === 'modelLoaded');
  if (loaded.model.modelHash !== INDEX.modelHash) {
    t.skip(`models/tiny-polyglot/model.onnx (${loaded.model.modelHash?.slice(0, 12)}) is newer than its bundled vectors (${INDEX.modelHash.slice(0, 12)}): run npm run build-vectors`);
    await service.dispose();
    return;
  }
  const chosen = INDEX.vectors['fr-en']!;
  // build-vectors' grid at the chosen layer: multiples 1, 2, 3 of the natural strength, 8 dev prompts, 20 tokens.
  service.receive({ type: 'sweepVector', id: 2, model: tiny, vector: 'fr-en', corpus: DEV, layers: [chosen.layer], multiples: [1, 2, 3], prompts: 8, maxNewTokens: 20 });
  const reply = await next();
  assert.ok(reply.type === 'sweepDone', JSON.stringify(reply).slice(0, 400));
  const report = reply.report;
  assert.deepEqual([report.source, report.target, report.prompts, report.layers, report.multiples], ['fr', 'en', 8, [chosen.layer], [1, 2, 3]]);
  assert.equal(report.cells.length, 3);
  // Strength grows with the multiple, in the same ratio.
  const [c1, c2, c3] = report.cells;
  assert.ok(c1 && c2 && c3 && Math.abs(c2.strength / c1.strength - 2) < 1e-6 && Math.abs(c3.strength / c1.strength - 3) < 1e-6);
  assert.equal(report.best.layer, chosen.layer);
  assert.ok(Math.abs(report.best.strength - chosen.strength) < 1e-3, `best strength ${report.best.strength} vs the bundle's ${chosen.strength}`);
  assert.ok(Math.abs(report.best.languageControl - chosen.dev.languageControl) <= 100 / 8 + 1e-9, `language control ${report.best.languageControl} vs ${chosen.dev.languageControl}`);
  const fractions = progress(2).filter((e) => e.kind === 'fraction');
  assert.ok(fractions.length > 0 && fractions.every((e) => e.kind === 'fraction' && e.total === 24), 'progress counts the 3 × 8 continuations');
  await service.dispose();
});

test('a cancelled sweep stops at its next batch and answers CANCELLED; the worker keeps serving', { timeout: 900_000 }, async () => {
  let cancelledAt: number | undefined;
  const { service, next, progress } = harness((r, s) => {
    if (r.type === 'progress' && r.id === 1 && r.event.kind === 'fraction' && cancelledAt === undefined) {
      cancelledAt = r.event.done;
      s.receive({ type: 'cancel', id: 9, target: 1 });
    }
  });
  const started = Date.now();
  // 6 layers × 4 multiples × 16 prompts = 384 continuations: minutes of work if it were not stopped.
  service.receive({ type: 'sweepVector', id: 1, model: tiny, vector: 'fr-en', corpus: DEV, prompts: 16, maxNewTokens: 24 });
  const error = expectError(await next(), 'CANCELLED');
  assert.ok(error);
  assert.ok(cancelledAt !== undefined);
  const fractions = progress(1).filter((e): e is Extract<ProgressEvent, { kind: 'fraction' }> => e.kind === 'fraction');
  assert.ok(fractions.every((e) => e.done <= (cancelledAt ?? 0)), 'no progress after the cancel');
  assert.ok((fractions[0]?.total ?? 0) === 384 && (cancelledAt ?? 0) < 384);
  service.receive({ type: 'inspectVectorFile', id: 2, model: tiny, file: path.join(TINY, 'vectors', 'fr-en.safetensors') });
  assert.equal((await next()).type, 'vectorFileInfo');
  assert.ok(Date.now() - started < 300_000);
  await service.dispose();
});

test('exportVector: k = 0 and k = 1 cannot become llama.cpp control vectors (clear error, no file); k = 3 bakes the strength into direction.2', { timeout: 600_000 }, async () => {
  const { service, next } = harness();
  const chosen = INDEX.vectors['fr-en']!;
  for (const k of [0, 1]) {
    const out = path.join(scratch, `fr-en-k${k}.gguf`);
    service.receive({ type: 'exportVector', id: k + 1, model: tiny, vector: 'fr-en', format: 'gguf', layer: k, strength: chosen.strength, out });
    const error = expectError(await next(), 'VECTOR_INVALID');
    assert.match(error.message, new RegExp(`Layer\\(s\\) ${k} cannot be exported to llama\\.cpp`));
    assert.match(error.message, /embeddings/);
    assert.match(error.hint ?? '', /k ≥ 2/);
    assert.ok(!fs.existsSync(out));
  }
  const out = path.join(scratch, 'fr-en.gguf');
  service.receive({ type: 'exportVector', id: 3, model: tiny, vector: 'fr-en', format: 'gguf', layer: 3, strength: chosen.strength, out });
  const reply = await next();
  assert.ok(reply.type === 'vectorExported', JSON.stringify(reply));
  assert.deepEqual([reply.result.layer, reply.result.direction], [3, 2]);
  const cv = parseGgufControlVector(new Uint8Array(fs.readFileSync(out)), out);
  assert.deepEqual([...cv.directions.keys()], [2]);
  // activationNorm units: the written offset's norm is strength × the layer's mean activation norm.
  const native = (await loadSteeringVector(path.join(TINY, 'vectors', 'fr-en.safetensors'))).vector;
  const expected = chosen.strength * (native.metadata.meanActivationNorms[3] as number);
  assert.ok(Math.abs(l2Norm(cv.directions.get(2)!) - expected) < 1e-3 * expected, `${l2Norm(cv.directions.get(2)!)} vs ${expected}`);

  const st = path.join(scratch, 'fr-en-k1.safetensors');
  service.receive({ type: 'exportVector', id: 4, model: tiny, vector: 'fr-en', format: 'safetensors', layer: 1, strength: 0.5, positions: 'prompt', out: st });
  assert.equal((await next()).type, 'vectorExported');
  const one = (await loadSteeringVector(st)).vector;
  assert.deepEqual([[...one.directions.keys()], one.metadata.defaultLayer, one.metadata.defaultStrength, one.metadata.defaultPositions], [[1], 1, 0.5, 'prompt']);
  await service.dispose();
});

test('inspectVectorFile describes a bundled vector as its index does, and rejects a corrupt file and another model’s vector', { timeout: 600_000 }, async () => {
  const { service, next } = harness();
  const chosen = INDEX.vectors['fr-en']!;
  service.receive({ type: 'inspectVectorFile', id: 1, model: tiny, file: path.join(TINY, 'vectors', 'fr-en.safetensors') });
  const reply = await next();
  assert.ok(reply.type === 'vectorFileInfo', JSON.stringify(reply));
  assert.deepEqual([reply.info.kind, reply.info.source, reply.info.target, reply.info.defaultLayer, reply.info.method], ['safetensors', 'fr', 'en', chosen.layer, 'diffmean']);
  assert.ok(Math.abs((reply.info.defaultStrength ?? 0) - chosen.strength) < 1e-4);
  assert.equal(reply.info.hiddenSize, 256);

  const corrupt = path.join(scratch, 'corrupt.safetensors');
  fs.writeFileSync(corrupt, 'not a vector at all');
  service.receive({ type: 'inspectVectorFile', id: 2, model: tiny, file: corrupt });
  assert.match(expectError(await next(), 'VECTOR_INVALID').message, /corrupt\.safetensors/);

  service.receive({ type: 'inspectVectorFile', id: 3, model: { dir: testModel.dir, threads: 1 }, file: path.join(TINY, 'vectors', 'fr-en.safetensors') });
  assert.match(expectError(await next(), 'VECTOR_INVALID').message, new RegExp(`hidden size 256 but the model's residual stream has ${testModel.hiddenSize}`));
  await service.dispose();
});
