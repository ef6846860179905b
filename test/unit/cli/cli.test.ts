import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { DEMO_PROMPTS, main } from '../../../src/cli/main';
import type { PromptAnalysis } from '../../../src/protocol/engine';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';
import { DIST, ensureBuilt } from '../helpers/build';

let info: TestModelInfo;
before(async () => {
  info = await ensureTestModel();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

test('--help documents the commands and exits 0', async () => {
  const r = await cli('--help');
  assert.equal(r.code, 0);
  assert.match(r.out, /polyglot-lens analyze --model DIR --prompt TEXT/);
  assert.match(r.out, /polyglot-lens demo/);
});

test('analyze --json prints the real analysis of the prompt', async () => {
  const r = await cli('analyze', '--model', info.dir, '--prompt', 'Hola amigo', '--json', '--top-k', '3');
  assert.equal(r.code, 0, r.err);
  const a = JSON.parse(r.out) as PromptAnalysis;
  assert.equal(a.tokens.map((t) => t.text).join(''), 'Hola amigo');
  assert.equal(a.nextTokens.length, 3);
  assert.equal(a.nextTokens[0]?.id, ((a.tokens[a.tokens.length - 1]?.id as number) + 1) % info.vocabSize);
  assert.ok(a.timings.loadMs > 0, 'the CLI loads the model itself and says how long it took');
});

test('analyze without --json prints tokens, ids and next tokens for people', async () => {
  const r = await cli('analyze', '--model', info.dir, '--prompt', 'the cat');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^model {4}polyglot-lens-test-model \(polyglot-test; hidden size 64, 2 layers, vocabulary \d+\)$/m);
  assert.match(r.out, /^tokens {3}4: \[t\] \[he\] \[·c\] \[at\]$/m, 'spaces inside tokens are shown as ·');
  assert.match(r.out, /^ids {6}(\d+ ){3}\d+$/m);
  assert.match(r.out, /^next {5}.+ \d+\.\d%( \| .+ \d+\.\d%){4}$/m);
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

test('demo analyses every demo prompt with the given model', async () => {
  const r = await cli('demo', '--model', info.dir, '--json');
  assert.equal(r.code, 0, r.err);
  const results = JSON.parse(r.out) as (PromptAnalysis & { lang: string })[];
  assert.deepEqual(results.map((x) => x.lang), DEMO_PROMPTS.map((p) => p.lang));
  for (const x of results) assert.equal(x.tokens.map((t) => t.text).join(''), x.prompt);
});

test('the built dist/cli.js is an executable with a node shebang', () => {
  ensureBuilt();
  const r = spawnSync(path.join(DIST, 'cli.js'), ['analyze', '--model', info.dir, '--prompt', 'hi', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as PromptAnalysis).prompt, 'hi');
});
