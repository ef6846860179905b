/** The rules of the house that can be checked mechanically (DESIGN.md). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DIST, ensureBuilt, REPO_ROOT } from '../helpers/build';

function sources(dir: string): string[] {
  const full = path.join(REPO_ROOT, dir);
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Module specifiers of static imports, re-exports, dynamic imports and require() calls. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

test('the engine, the protocol and the CLI never import vscode', () => {
  const offenders = ['src/engine', 'src/protocol', 'src/cli'].flatMap(sources).filter((f) => imports(f).includes('vscode'));
  assert.deepEqual(offenders, []);
});

test('the webview imports only the protocol and browser code', () => {
  for (const f of sources('src/webview')) {
    for (const spec of imports(f)) {
      assert.ok(!spec.startsWith('node:') && spec !== 'vscode' && !spec.includes('/engine/') && !spec.includes('/extension/'), `${path.relative(REPO_ROOT, f)} imports ${spec}`);
    }
  }
});

test('the bundles keep the boundaries: no vscode in the worker/CLI, no onnxruntime in the extension host', () => {
  ensureBuilt();
  const bundle = (name: string): string => readFileSync(path.join(DIST, name), 'utf8');
  assert.doesNotMatch(bundle('worker.js'), /require\("vscode"\)/);
  assert.doesNotMatch(bundle('cli.js'), /require\("vscode"\)/);
  assert.match(bundle('worker.js'), /require\("onnxruntime-node"\)/, 'onnxruntime stays external (native addon)');
  assert.doesNotMatch(bundle('extension.js'), /require\("onnxruntime|require\("@huggingface/);
  assert.doesNotMatch(bundle('webview.js'), /require\(/);
});
