#!/usr/bin/env node
// `npm test`: builds the bundles, generates the test model, then runs every test file with Node's
// built-in test runner in ONE invocation, so its summary (tests / pass / fail) is the last thing printed.
//
//   node scripts/test.mjs                 unit + webview + e2e
//   node scripts/test.mjs unit webview    only those suites
//   node scripts/test.mjs test/e2e/steerPrompt.test.ts   only those files
//
// Files run one at a time (--test-concurrency=1): the e2e tests start a whole VS Code each, and the
// machines this runs on have 2 cores.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUITES = ['unit', 'webview', 'e2e'];

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => f.endsWith('.test.ts') && statSync(f).isFile())
    .sort();
}

const args = process.argv.slice(2);
const files = [];
for (const arg of args.length > 0 ? args : SUITES) {
  if (SUITES.includes(arg)) files.push(...testFiles(path.join(root, 'test', arg)));
  else if (existsSync(arg)) files.push(path.resolve(arg));
  else {
    console.error(`unknown suite or file: ${arg} (suites: ${SUITES.join(', ')})`);
    process.exit(2);
  }
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

function step(label, cmd, cmdArgs) {
  const started = Date.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    console.error(`${label} failed`);
    process.exit(r.status ?? 1);
  }
  console.log(`${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

step('built dist/', process.execPath, [path.join(root, 'scripts', 'build.mjs')]);
step('test model ready', process.execPath, ['--import', 'tsx', path.join(root, 'test', 'fixtures', 'testModel.ts')]);

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files.map((f) => path.relative(root, f))],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
