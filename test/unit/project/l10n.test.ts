/**
 * Localisation: the manifest's strings (package.nls.json and its translations) and the code's strings
 * (l10n/bundle.l10n.json, exported by `npm run l10n` from every `vscode.l10n.t` / `l10n.t` call of the
 * extension host and the webview, and its translations). A new or changed string that is not exported or
 * not translated fails here, with the fix in the message.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { getL10nJson } from '@vscode/l10n-dev';
import { REPO_ROOT } from '../helpers/build';

/** The translations that ship: VS Code display-language ids. */
const LANGUAGES = ['fr', 'zh-cn'];

type Messages = Record<string, string | { message: string; comment: string[] }>;

function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, ...parts), 'utf8')) as T;
}

function text(v: Messages[string]): string {
  return typeof v === 'string' ? v : v.message;
}

function placeholders(s: string): string[] {
  return [...s.matchAll(/\{\d+\}/g)].map((m) => m[0]).sort();
}

/** What a translation must carry over verbatim: `code`, $(icons), command links, {n} placeholders. */
function verbatim(s: string): string[] {
  return [...s.matchAll(/`[^`]*`|\$\([a-z-]+\)|\(command:[^)]*\)|\{\d+\}/g)].map((m) => m[0]).sort();
}

const manifest = readJson<{ l10n?: string; scripts: Record<string, string> }>('package.json');
const manifestKeys = new Set([...readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8').matchAll(/"%([^%"]+)%"/g)].map((m) => m[1] as string));
const nls = readJson<Record<string, string>>('package.nls.json');
const bundle = readJson<Messages>('l10n', 'bundle.l10n.json');

test('the languages: a package.nls.<lang>.json and an l10n/bundle.l10n.<lang>.json for each, and nothing else', () => {
  const nlsFiles = readdirSync(REPO_ROOT).filter((f) => /^package\.nls\..+\.json$/.test(f)).sort();
  const bundles = readdirSync(path.join(REPO_ROOT, 'l10n')).filter((f) => /^bundle\.l10n\..+\.json$/.test(f)).sort();
  assert.deepEqual(nlsFiles, LANGUAGES.map((l) => `package.nls.${l}.json`).sort());
  assert.deepEqual(bundles, LANGUAGES.map((l) => `bundle.l10n.${l}.json`).sort());
  assert.equal(manifest.l10n, './l10n', 'package.json "l10n" tells VS Code where the bundles are');
});

for (const lang of LANGUAGES) {
  test(`package.nls.${lang}.json translates every %key% of package.json, keeps code and links, and has no stale keys`, () => {
    const translated = readJson<Record<string, string>>(`package.nls.${lang}.json`);
    assert.deepEqual([...manifestKeys].filter((k) => nls[k] === undefined), [], 'keys of package.json missing from package.nls.json');
    assert.deepEqual([...manifestKeys].filter((k) => translated[k] === undefined), [], `keys of package.json missing from package.nls.${lang}.json: translate them`);
    assert.deepEqual(Object.keys(translated).filter((k) => !manifestKeys.has(k)), [], `stale keys in package.nls.${lang}.json (no longer in package.json)`);
    for (const [key, en] of Object.entries(nls)) {
      const t = translated[key];
      if (t === undefined) continue;
      assert.ok(t.trim() !== '', `${key}: empty translation`);
      assert.deepEqual(verbatim(t), verbatim(en), `${key}: \`code\`, $(icons), command links and {n} must be kept as they are in package.nls.json`);
    }
  });

  test(`l10n/bundle.l10n.${lang}.json translates every string of the bundle with the same placeholders, and has no stale keys`, () => {
    const translated = readJson<Messages>('l10n', `bundle.l10n.${lang}.json`);
    const missing = Object.keys(bundle).filter((k) => translated[k] === undefined);
    assert.deepEqual(missing, [], `strings of l10n/bundle.l10n.json not translated in l10n/bundle.l10n.${lang}.json`);
    assert.deepEqual(Object.keys(translated).filter((k) => bundle[k] === undefined), [], `stale keys in l10n/bundle.l10n.${lang}.json (no longer in l10n/bundle.l10n.json)`);
    for (const [key, value] of Object.entries(translated)) {
      const t = text(value);
      assert.ok(t.trim() !== '', `${JSON.stringify(key)}: empty translation`);
      assert.deepEqual(placeholders(t), placeholders(text(bundle[key] ?? key)), `${JSON.stringify(key)}: the translation must use the same {n} placeholders`);
    }
  });
}

test('l10n/bundle.l10n.json is up to date with the code (npm run l10n)', async () => {
  // The folders the npm script exports from, read from the script itself so the two cannot drift apart.
  const script = manifest.scripts['l10n'];
  assert.ok(script !== undefined, 'package.json has an "l10n" script');
  const args = script.split(/\s+/).slice(2);
  const folders = args.filter((a, i) => !a.startsWith('-') && !args[i - 1]?.startsWith('-'));
  assert.ok(folders.includes('./src/extension') && folders.includes('./src/webview'), `the l10n script exports from ${folders.join(', ')}`);
  const files = folders.flatMap((folder) =>
    readdirSync(path.join(REPO_ROOT, folder), { recursive: true })
      .map(String)
      .filter((f) => /\.(ts|tsx|js|jsx)$/.test(f) && !f.endsWith('.d.ts'))
      .map((f) => path.join(REPO_ROOT, folder, f)),
  );
  // The same extraction `vscode-l10n-dev export` runs (it calls this function on each file's contents).
  const exported = await getL10nJson(files.map((f) => ({ contents: readFileSync(f, 'utf8'), extension: path.extname(f) })));
  const fresh = Object.keys(exported);
  const committed = Object.keys(bundle);
  assert.ok(fresh.length > 100, `only ${fresh.length} strings exported: did the extraction break?`);
  const notExported = fresh.filter((k) => bundle[k] === undefined);
  const gone = committed.filter((k) => exported[k] === undefined);
  const hint = 'run `npm run l10n`, then translate the new strings in l10n/bundle.l10n.fr.json and l10n/bundle.l10n.zh-cn.json (docs/CONTRIBUTING-l10n.md)';
  assert.deepEqual(notExported, [], `strings in the code but not in l10n/bundle.l10n.json: ${hint}`);
  assert.deepEqual(gone, [], `strings in l10n/bundle.l10n.json no longer in the code: ${hint}`);
});
