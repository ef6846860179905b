/** The extension manifest and the package layout: what VS Code and the Marketplace read. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DIST, ensureBuilt, REPO_ROOT } from '../helpers/build';

interface Manifest {
  name: string;
  displayName: string;
  main: string;
  bin: Record<string, string>;
  engines: { vscode: string };
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: boolean | 'limited'; restrictedConfigurations?: string[] } };
  contributes: { commands: { command: string; title: string; category: string }[]; configuration: { properties: Record<string, { default?: unknown }> } };
  devDependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
const nls = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;

/** A manifest string as VS Code shows it: `%key%` replaced from package.nls.json. */
function localized(s: string): string {
  const m = /^%([^%]+)%$/.exec(s);
  return m ? (nls[m[1] as string] ?? s) : s;
}

function minor(version: string): [number, number] {
  const m = /(\d+)\.(\d+)/.exec(version);
  assert.ok(m, version);
  return [Number(m[1]), Number(m[2])];
}

test('name, display name and the Steer Prompt command', () => {
  assert.equal(manifest.name, 'polyglot-lens');
  assert.equal(localized(manifest.displayName), 'Polyglot Lens');
  const steer = manifest.contributes.commands.find((c) => c.command === 'polyglotLens.steerPrompt');
  assert.deepEqual(steer && [localized(steer.title), localized(steer.category)], ['Steer Prompt', 'Polyglot Lens']);
});

test('activation is lazy', () => {
  assert.ok(manifest.activationEvents.length > 0);
  // onStartupFinished: after the window is up, so the prompt hover is registered before the first command;
  // activation itself loads no model and starts no worker (test/unit/extension/activation.test.ts).
  for (const e of manifest.activationEvents) assert.ok(e.startsWith('onCommand:') || e.startsWith('onWebviewPanel:') || e.startsWith('onView:') || e === 'onStartupFinished', `eager activation event ${e}`);
  assert.ok(!manifest.activationEvents.includes('*'), 'never "*"');
});

test('engines.vscode and @types/vscode are no newer than the VS Code the e2e tests run (1.139)', () => {
  const engine = minor(manifest.engines.vscode);
  const types = minor((JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', '@types', 'vscode', 'package.json'), 'utf8')) as { version: string }).version);
  assert.ok(engine[0] === 1 && engine[1] <= 139, `engines.vscode ${manifest.engines.vscode}`);
  assert.ok(types[0] === 1 && types[1] <= engine[1], '@types/vscode must not promise APIs newer than engines.vscode');
});

test('settings live under polyglotLens.*, and a workspace cannot point an untrusted folder at a model', () => {
  const keys = Object.keys(manifest.contributes.configuration.properties);
  assert.ok(keys.length >= 2);
  for (const k of keys) assert.match(k, /^polyglotLens\.[a-zA-Z]+(?:\.[a-zA-Z]+)?$/);
  assert.ok(keys.includes('polyglotLens.modelPath') && keys.includes('polyglotLens.threads'));
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ['polyglotLens.modelPath', 'polyglotLens.steeringVectors']);
});

test('every user-visible manifest string is a %key% of package.nls.json, and every key is used', () => {
  const raw = readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8');
  const used = new Set([...raw.matchAll(/"%([^%"]+)%"/g)].map((m) => m[1] as string));
  assert.deepEqual([...used].filter((k) => nls[k] === undefined), [], 'keys missing from package.nls.json');
  assert.deepEqual(Object.keys(nls).filter((k) => !used.has(k)), [], 'unused keys in package.nls.json');
  const plain: string[] = [];
  const visit = (v: unknown, where: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${where}[${i}]`));
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) visit(x, `${where}.${k}`);
    else if (typeof v === 'string' && /\.(title|name|description|markdownDescription|contents|contextualTitle|category|displayName)$|EnumDescriptions\[\d+\]$|enumDescriptions\[\d+\]$/.test(where) && !/^%[^%]+%$/.test(v)) plain.push(where);
  };
  visit({ displayName: manifest.displayName, description: (manifest as unknown as { description: string }).description, capabilities: manifest.capabilities, contributes: manifest.contributes }, 'package');
  assert.deepEqual(plain, [], 'strings shown to users must come from package.nls.json');
});

test('menus, keybindings and views name contributed commands; the activity bar has its views and icon', () => {
  const c = manifest.contributes as unknown as {
    commands: { command: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    keybindings: { command: string; key: string; mac?: string; when?: string }[];
    viewsContainers: { activitybar: { id: string; icon: string }[] };
    views: Record<string, { id: string }[]>;
    viewsWelcome: { view: string }[];
  };
  const ids = new Set(c.commands.map((x) => x.command));
  for (const [menu, items] of Object.entries(c.menus)) for (const item of items) assert.ok(ids.has(item.command), `${menu} names ${item.command}, which is not contributed`);
  assert.deepEqual(c.keybindings.find((k) => k.command === 'polyglotLens.steerPrompt'), { command: 'polyglotLens.steerPrompt', key: 'ctrl+alt+s', mac: 'cmd+alt+s', when: 'editorTextFocus' });
  const container = c.viewsContainers.activitybar.find((v) => v.id === 'polyglotLens');
  assert.ok(container !== undefined);
  assert.match(readFileSync(path.join(REPO_ROOT, container.icon), 'utf8'), /^<svg [^>]*viewBox="0 0 24 24"/);
  assert.deepEqual(c.views['polyglotLens']?.map((v) => v.id), ['polyglotLens.vectors', 'polyglotLens.layers']);
  assert.deepEqual(c.viewsWelcome.map((w) => w.view).sort(), ['polyglotLens.layers', 'polyglotLens.vectors']);
  for (const v of ['polyglotLens.vectors', 'polyglotLens.layers']) assert.ok(manifest.activationEvents.includes(`onView:${v}`));
});

test('main and bin point at the built bundles', () => {
  ensureBuilt();
  assert.equal(manifest.main, './dist/extension.js');
  assert.equal(manifest.bin['polyglot-lens'], './dist/cli.js');
  assert.ok(readFileSync(path.join(DIST, 'cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n'));
  assert.ok((statSync(path.join(DIST, 'cli.js')).mode & 0o111) !== 0, 'cli.js is executable');
  for (const b of ['extension.js', 'worker.js', 'webview.js', 'cli.js']) statSync(path.join(DIST, `${b}.map`));
});

test('the .vsix holds the bundles and only the linux-x64 onnxruntime binaries', () => {
  ensureBuilt();
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'ls'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout.split('\n').filter((l) => l !== '');
  for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/extension.js', 'dist/worker.js', 'dist/webview.js', 'media/panel.css', 'package.nls.json', 'media/activity-bar.svg', 'media/session.schema.json', 'models/tiny-polyglot/corpus/steer.jsonl', 'models/tiny-polyglot/corpus/dev.jsonl', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'node_modules/onnxruntime-common/dist/cjs/package.json', 'dist/fasttext/lid.176.ftz', 'dist/fasttext/fastText.node.wasm', 'dist/fasttext/THIRD_PARTY_NOTICES.md', 'THIRD_PARTY_NOTICES.md', 'package.nls.fr.json', 'package.nls.zh-cn.json', 'l10n/bundle.l10n.json', 'l10n/bundle.l10n.fr.json', 'l10n/bundle.l10n.zh-cn.json']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  const native = files.filter((f) => f.includes('/bin/napi-v6/'));
  assert.ok(native.every((f) => f.includes('/linux/x64/')), `other platforms' binaries: ${native.join(', ')}`);
  assert.ok(!files.some((f) => /^(src|test|scripts|\.cache|\.vscode-test|test-results)\//.test(f) || f.endsWith('.ts') || f.endsWith('.vsix')), 'no sources, tests or caches');
  assert.ok(!files.some((f) => f.startsWith('models/tiny-polyglot/train/')), 'no training code');
});
