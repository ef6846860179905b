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

function minor(version: string): [number, number] {
  const m = /(\d+)\.(\d+)/.exec(version);
  assert.ok(m, version);
  return [Number(m[1]), Number(m[2])];
}

test('name, display name and the Steer Prompt command', () => {
  assert.equal(manifest.name, 'polyglot-lens');
  assert.equal(manifest.displayName, 'Polyglot Lens');
  assert.deepEqual(manifest.contributes.commands.find((c) => c.command === 'polyglotLens.steerPrompt'), { command: 'polyglotLens.steerPrompt', title: 'Steer Prompt', category: 'Polyglot Lens' });
});

test('activation is lazy', () => {
  assert.ok(manifest.activationEvents.length > 0);
  for (const e of manifest.activationEvents) assert.ok(e.startsWith('onCommand:') || e.startsWith('onWebviewPanel:') || e.startsWith('onView:'), `eager activation event ${e}`);
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
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ['polyglotLens.modelPath']);
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
  for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/extension.js', 'dist/worker.js', 'dist/webview.js', 'media/panel.css', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'node_modules/onnxruntime-common/dist/cjs/package.json', 'dist/fasttext/lid.176.ftz', 'dist/fasttext/fastText.node.wasm', 'dist/fasttext/THIRD_PARTY_NOTICES.md', 'THIRD_PARTY_NOTICES.md']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  const native = files.filter((f) => f.includes('/bin/napi-v6/'));
  assert.ok(native.every((f) => f.includes('/linux/x64/')), `other platforms' binaries: ${native.join(', ')}`);
  assert.ok(!files.some((f) => /^(src|test|scripts|\.cache|\.vscode-test|test-results)\//.test(f) || f.endsWith('.ts') || f.endsWith('.vsix')), 'no sources, tests or caches');
  assert.ok(!files.some((f) => f.startsWith('models/tiny-polyglot/train/')), 'no training code');
});
