/**
 * The vector jobs as the extension runs them: EngineClient → the shipped dist/worker.js (fastText bundled for
 * the sweep's language identification) → validated replies, on the bundled demo model. Cancelling by the
 * command's key (what the progress notification's Cancel button does) stops a running sweep.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { ProgressEvent } from '../../../src/protocol/engine';
import { EngineError } from '../../../src/protocol/errors';
import { loadSteeringVector } from '../../../src/engine/steering/vectorFile';
import { REPO_ROOT } from '../helpers/build';
import { bundledEngineClient } from '../helpers/engineWorker';

const TINY = path.join(REPO_ROOT, 'models', 'tiny-polyglot');
const model = { dir: TINY, threads: 0 };
const client = bundledEngineClient();
let scratch: string;

before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'polyglot-lens-client-jobs-'));
});
after(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('compute → sweep → export through the shipped worker', { timeout: 600_000 }, async () => {
  const out = path.join(scratch, 'de-en.safetensors');
  const fractions: number[] = [];
  const computed = await client.computeVector(
    { model, corpus: path.join(TINY, 'corpus', 'steer.jsonl'), source: 'de', target: 'en', method: 'diffmean', sentences: 16, out },
    { onProgress: (e: ProgressEvent) => e.kind === 'fraction' && fractions.push(e.done) },
  );
  assert.equal(computed.file, out);
  assert.equal(fractions.at(-1), 32);
  const v = (await loadSteeringVector(out)).vector;
  assert.deepEqual([v.metadata.sourceLanguage, v.metadata.targetLanguage, v.metadata.numPairs, v.metadata.defaultLayer], ['de', 'en', 16, computed.defaultLayer]);

  const report = await client.sweepVector({ model, vector: out, corpus: path.join(TINY, 'corpus', 'dev.jsonl'), layers: [computed.defaultLayer], multiples: [0, 1], prompts: 4, maxNewTokens: 12 });
  assert.equal(report.cells.length, 2);
  assert.deepEqual(report.cells.map((c) => c.multiple), [0, 1]);
  assert.equal(report.cells[0]?.strength, 0);
  for (const c of report.cells) assert.ok(c.languageControl >= 0 && c.languageControl <= 100 && c.chrF >= 0);
  // Unsteered German continuations are not English; the natural-strength DiffMean moves at least some.
  assert.ok((report.cells[0]?.languageControl ?? 100) <= (report.cells[1]?.languageControl ?? 0), JSON.stringify(report.cells));

  const gguf = await client.exportVector({ model, vector: out, format: 'gguf', layer: computed.defaultLayer, strength: computed.defaultStrength, out: path.join(scratch, 'de-en.gguf') });
  assert.equal(gguf.direction, computed.defaultLayer - 1);
  const info = await client.inspectVectorFile({ model, file: gguf.file });
  assert.deepEqual([info.kind, info.layers, info.source, info.target], ['gguf', [computed.defaultLayer], 'de', 'en']);
});

test('cancelling by key stops a running sweep (CANCELLED), and the worker serves the next request', { timeout: 600_000 }, async () => {
  const key = 'job:sweep test';
  let first = true;
  const sweep = client.sweepVector(
    { model, vector: 'fr-en', corpus: path.join(TINY, 'corpus', 'dev.jsonl'), prompts: 16, maxNewTokens: 24 },
    {
      supersedeKey: key,
      onProgress: (e) => {
        if (e.kind === 'fraction' && first) {
          first = false;
          client.cancel(key);
        }
      },
    },
  );
  await assert.rejects(sweep, (err: unknown) => err instanceof EngineError && err.code === 'CANCELLED');
  const t0 = Date.now();
  const info = await client.inspectCorpus(path.join(TINY, 'corpus', 'dev.jsonl'));
  assert.ok(info.rows > 0);
  // Uncancelled, the 384 continuations would keep the worker busy for most of a minute.
  assert.ok(Date.now() - t0 < 15_000, `the cancelled sweep stopped at its next batch (next reply after ${Date.now() - t0} ms)`);
});
