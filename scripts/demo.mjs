#!/usr/bin/env node
// `npm run demo`: builds the CLI and runs `polyglot-lens demo` on the bundled demo model
// (models/tiny-polyglot). Until that model is in the checkout, it generates the small test model
// (test/fixtures/testModel.ts, pure Node, ~0.5 MB, a second) and runs on that instead, saying so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;

function run(args, options = {}) {
  const r = spawnSync(node, args, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run([path.join(root, 'scripts', 'build.mjs'), '--quiet']);

const bundled = path.join(root, 'models', 'tiny-polyglot');
const complete = ['config.json', 'tokenizer.json', 'model.onnx'].every((f) => existsSync(path.join(bundled, f)));
let model = bundled;
if (!complete) {
  model = path.join(root, '.cache', 'test-model');
  console.log('The bundled demo model (models/tiny-polyglot) is not in this checkout yet: using the generated test model.\n');
  run(['--import', 'tsx', path.join(root, 'test', 'fixtures', 'testModel.ts'), model]);
}
run([path.join(root, 'dist', 'cli.js'), 'demo', '--model', model, ...process.argv.slice(2)]);
