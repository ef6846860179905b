import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { before, test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { DEMO_PROMPT, main } from '../../../src/cli/main';
import type { PromptAnalysis } from '../../../src/protocol/engine';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';
import { DIST, ensureBuilt } from '../helpers/build';
import { skipLoudly } from '../../e2e/harness/environment';

let info: TestModelInfo;
before(async () => {
  info = await ensureTestModel();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string; written: string }> {
  let out = '';
  let err = '';
  let written = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n'), write: (s) => (written += s), colour: false });
  return { code, out, err, written };
}

const REPO = path.resolve(__dirname, '..', '..', '..');
const TINY = path.join(REPO, 'models', 'tiny-polyglot');
const REFERENCE = path.join(REPO, 'test', 'fixtures', 'tiny-polyglot', 'reference.json');

test('--help documents the commands and exits 0', async () => {
  const r = await cli('--help');
  assert.equal(r.code, 0);
  assert.match(r.out, /polyglot-lens analyze --model DIR --prompt TEXT/);
  assert.match(r.out, /polyglot-lens demo/);
});

test('analyze --json prints the tokens and L + 1 layers of per-token norms', async () => {
  const r = await cli('analyze', '--model', info.dir, '--prompt', 'Hola amigo', '--json', '--top-k', '3');
  assert.equal(r.code, 0, r.err);
  const a = JSON.parse(r.out) as PromptAnalysis;
  assert.equal(a.tokens.map((t) => t.text).join(''), 'Hola amigo');
  assert.equal(a.layers.length, info.numLayers + 1);
  assert.deepEqual(a.layers.map((l) => l.layer), [...Array(info.numLayers + 1).keys()]);
  for (const l of a.layers) assert.equal(l.norms.length, a.tokens.length);
  assert.equal(a.centroids, null, 'the test model has no stored centroids');
  assert.equal(a.nextTokens.length, 3);
  assert.equal(a.nextTokens[0]?.id, ((a.tokens[a.tokens.length - 1]?.id as number) + 1) % info.vocabSize);
  assert.ok(a.timings.loadMs > 0, 'the CLI loads the model itself and says how long it took');
});

test('analyze --json on tiny-polyglot: the fixture’s tokens, L + 1 layers, language similarities from the stored centroids', async (t) => {
  if (!fs.existsSync(path.join(TINY, 'model.onnx')) || !fs.existsSync(REFERENCE)) return skipLoudly(t, 'models/tiny-polyglot/model.onnx or its reference fixtures are not in this checkout');
  const reference = JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as { num_layers: number; prompts: { text: string; input_ids: number[]; hidden_states: { norms: number[][] } }[] };
  const p = reference.prompts[1] as (typeof reference.prompts)[number];
  const r = await cli('analyze', '--model', TINY, '--prompt', p.text, '--json');
  assert.equal(r.code, 0, r.err);
  const a = JSON.parse(r.out) as PromptAnalysis;
  assert.deepEqual(a.tokens.map((tok) => tok.id), p.input_ids);
  assert.equal(a.layers.length, reference.num_layers + 1);
  a.layers.forEach((l, k) => l.norms.forEach((n, pos) => assert.ok(Math.abs(n - (p.hidden_states.norms[k]?.[pos] as number)) / Math.max(1, n) <= 1e-4)));
  if (a.centroids) {
    for (const l of a.layers) {
      assert.equal(l.nearest?.length, a.tokens.length);
      l.similarity?.forEach((row, i) => {
        assert.equal(row.length, a.centroids?.languages.length);
        // The nearest language is the one with the highest similarity.
        assert.equal(l.nearest?.[i], a.centroids?.languages[row.indexOf(Math.max(...row))]);
      });
    }
  }
});

test('analyze without --json prints tokens, ids, next tokens and a table per layer for people', async () => {
  const r = await cli('analyze', '--model', info.dir, '--prompt', 'the cat');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^model {4}polyglot-lens-test-model \(polyglot-test; hidden size 64, 2 layers, vocabulary \d+\)$/m);
  assert.match(r.out, /^tokens {3}4: \[t\] \[he\] \[·c\] \[at\]$/m, 'spaces inside tokens are shown as ·');
  assert.match(r.out, /^ids {6}(\d+ ){3}\d+$/m);
  assert.match(r.out, /^next {5}.+ \d+\.\d%( \| .+ \d+\.\d%){4}$/m);
  for (let k = 0; k <= info.numLayers; k++) assert.match(r.out, new RegExp(`^layer k=${k}`, 'm'));
});

test('generate streams the continuation; --json gives the tokens; greedy follows the test model’s rule', async () => {
  const r = await cli('generate', '--model', info.dir, '--prompt', 'the cat', '--max-tokens', '5', '--temperature', '0', '--json');
  assert.equal(r.code, 0, r.err);
  const g = JSON.parse(r.out) as { continuation: { tokenIds: number[]; text: string; stopReason: string } };
  assert.equal(g.continuation.tokenIds.length, 5);
  g.continuation.tokenIds.slice(1).forEach((id, i) => assert.equal(id, ((g.continuation.tokenIds[i] as number) + 1) % info.vocabSize));
  const streamed = await cli('generate', '--model', info.dir, '--prompt', 'the cat', '--max-tokens', '5', '--temperature', '0');
  assert.equal(streamed.code, 0, streamed.err);
  assert.equal(streamed.written, `the cat${g.continuation.text}\n`);
  assert.equal((await cli('generate', '--model', info.dir, '--prompt', 'x', '--top-p', '2')).code, 2);
});

test('usage errors exit 2, engine errors exit 1 with a hint', async () => {
  assert.equal((await cli('analyze', '--prompt', 'x')).code, 2);
  assert.match((await cli('analyze', '--prompt', 'x')).err, /analyze needs --model DIR/);
  assert.equal((await cli('frobnicate')).code, 2);
  assert.equal((await cli('analyze', '--model', info.dir, '--prompt', 'x', '--top-k', '0')).code, 2);
  assert.match((await cli('analyze', '--bogus')).err, /Unknown option '--bogus'/);
  const missing = await cli('analyze', '--model', '/no/model/here', '--prompt', 'x');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^error: Model folder not found: \/no\/model\/here$/m);
  assert.match(missing.err, /^hint: /m);
});

test('demo: heatmap rows for every layer, a legend or a note, base and steered side by side, and an HTML report', async () => {
  const html = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'polyglot-lens-demo-')), 'report.html');
  const r = await cli('demo', '--model', info.dir, '--max-tokens', '4', '--html', html);
  assert.equal(r.code, 0, r.err);
  for (let k = 0; k <= info.numLayers; k++) assert.match(r.out, new RegExp(`^k= ?${k} │`, 'm'));
  assert.match(r.out, /no language centroids for this model/);
  assert.match(r.out, /^base .*│ steered/m);
  assert.ok(r.out.includes(DEMO_PROMPT));
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /^<!DOCTYPE html>/);
  assert.equal((page.match(/<tr><th>k=\d+<\/th>/g) ?? []).length, info.numLayers + 1);
  assert.doesNotMatch(page, /<script/);
  assert.deepEqual(fs.readdirSync(path.dirname(html)), ['report.html'], 'written atomically: no temporary file left');
});

test('demo on tiny-polyglot colours cells by nearest language and steers with the bundled fr-en vector', async (t) => {
  if (!fs.existsSync(path.join(TINY, 'model.onnx'))) return skipLoudly(t, 'models/tiny-polyglot/model.onnx is not in this checkout');
  const r = await cli('demo', '--max-tokens', '6', '--json');
  assert.equal(r.code, 0, r.err);
  const a = JSON.parse(r.out) as PromptAnalysis;
  assert.equal(a.prompt, DEMO_PROMPT);
  assert.ok(a.continuations?.base);
  if (a.model.vectorNames?.includes('fr-en')) {
    assert.deepEqual(a.steered?.vectors.map((v) => v.name), ['fr-en']);
    assert.ok(a.continuations.steered);
  }
  const coloured = await main(['demo', '--max-tokens', '2'], { out: (s) => void (r.out = s), err: () => undefined, colour: true });
  assert.equal(coloured, 0);
});

test('the built dist/cli.js is an executable with a node shebang', () => {
  ensureBuilt();
  const r = spawnSync(path.join(DIST, 'cli.js'), ['analyze', '--model', info.dir, '--prompt', 'hi', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as PromptAnalysis).prompt, 'hi');
});
