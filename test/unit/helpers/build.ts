/**
 * Some tests exercise the bundles that ship (dist/worker.js, dist/extension.js, dist/webview.js) rather
 * than the sources: this (re)builds them when a source file is newer than the bundle. `npm test` has
 * already built, so this is usually a no-op; it makes a single test file runnable on its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const DIST = path.join(REPO_ROOT, 'dist');
const BUNDLES = ['extension.js', 'worker.js', 'webview.js', 'cli.js'];
/** Files the build copies next to the bundles (language identification for the worker). */
const COPIED = ['fasttext/lid.176.ftz', 'fasttext/fastText.node.wasm'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let checked = false;

export function ensureBuilt(): void {
  if (checked) return;
  const oldest = Math.min(...BUNDLES.map((b) => (existsSync(path.join(DIST, b)) ? statSync(path.join(DIST, b)).mtimeMs : 0)));
  const stale = oldest < Math.max(newestSource(path.join(REPO_ROOT, 'src')), newestSource(path.join(REPO_ROOT, 'scripts')));
  if (stale || COPIED.some((f) => !existsSync(path.join(DIST, f)))) {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
  }
  checked = true;
}
