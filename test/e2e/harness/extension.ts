/**
 * The extension under test, built fresh: a .vsix packaged exactly as `npm run package` does (so the
 * e2e tests also prove that .vscodeignore keeps everything the extension needs at run time).
 * Re-packaged only when a source, asset or manifest is newer than the last package.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './environment';

const VSIX = path.join(REPO_ROOT, '.cache', 'e2e', 'polyglot-lens-e2e.vsix');
const INPUTS = ['src', 'media', 'l10n', 'models/tiny-polyglot', 'package.json', 'package.nls.json', 'package.nls.fr.json', 'package.nls.zh-cn.json', '.vscodeignore', path.join('scripts', 'build.mjs'), path.join('scripts', 'package.mjs')];

function newestMtime(p: string): number {
  const full = path.join(REPO_ROOT, p);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(full)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/** Path of a .vsix built from the current working tree. */
export function ensureVsix(): string {
  const stale = !existsSync(VSIX) || INPUTS.some((p) => newestMtime(p) > statSync(VSIX).mtimeMs);
  if (stale) {
    process.stderr.write('[e2e] packaging the extension (.vsix) …\n');
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'package.mjs'), '--out', VSIX], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`packaging failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return VSIX;
}
