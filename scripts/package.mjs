#!/usr/bin/env node
// Builds a production bundle and packages a platform-specific .vsix with @vscode/vsce.
// Only linux-x64 is packaged for now: .vscodeignore keeps the other platforms' onnxruntime binaries
// (~240 MB) out, and `--target` marks the .vsix so the Marketplace serves it only to linux-x64.
//
// Usage: node scripts/package.mjs [--out FILE]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { name, version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const target = 'linux-x64';
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : path.join(root, `${name}-${version}-${target}.vsix`);

mkdirSync(path.dirname(out), { recursive: true });

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

// vsce runs `vscode:prepublish` (the production build) itself before packaging.
run(process.execPath, [
  path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
  'package',
  '--target', target,
  '--out', out,
  '--allow-missing-repository',
  // README images are relative (docs/images/, shipped in the .vsix) and there is no repository URL to
  // make them absolute with: VS Code resolves them inside the installed extension.
  '--no-rewrite-relative-links',
]);
const mb = statSync(out).size / 1e6;
console.log(`\n${path.relative(process.cwd(), out)}: ${mb.toFixed(1)} MB (${target})`);
