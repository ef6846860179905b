import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type * as vscode from 'vscode';
import { readSettings, resolveModelDir } from '../../../src/extension/settings';

const dirs = { extensionDir: '/ext', workspaceDir: '/ws', homeDir: '/home/ana' };

test('an empty modelPath means the bundled demo model', () => {
  assert.equal(resolveModelDir('', dirs), path.join('/ext', 'models', 'tiny-polyglot'));
});

test('absolute, home-relative and workspace-relative model paths', () => {
  assert.equal(resolveModelDir('/models/qwen/', dirs), '/models/qwen/');
  assert.equal(resolveModelDir('~/models/qwen', dirs), '/home/ana/models/qwen');
  assert.equal(resolveModelDir('~', dirs), '/home/ana');
  assert.equal(resolveModelDir('models/qwen', dirs), '/ws/models/qwen');
  assert.equal(resolveModelDir('models/qwen', { ...dirs, workspaceDir: undefined }), '/ext/models/qwen');
});

function config(values: Record<string, unknown>): vscode.WorkspaceConfiguration {
  return { get: (key: string) => values[key] } as unknown as vscode.WorkspaceConfiguration;
}

test('settings are clamped and defaulted instead of trusted', () => {
  const rest = { steeringVectors: [], maxNewTokens: 24, temperature: 0.7, seed: 0, executionProviders: ['cpu'] };
  assert.deepEqual(readSettings(config({})), { modelPath: '', threads: 0, promptScope: 'auto', topK: 5, ...rest });
  assert.deepEqual(readSettings(config({ modelPath: '  /m  ', threads: 99, promptScope: 'paragraph', topK: 0 })), { modelPath: '/m', threads: 64, promptScope: 'paragraph', topK: 1, ...rest });
  assert.deepEqual(readSettings(config({ modelPath: 3, threads: 'two', promptScope: 'page', topK: 7.6 })), { modelPath: '', threads: 0, promptScope: 'auto', topK: 8, ...rest });
  assert.equal(readSettings(config({ promptScope: 'line' })).promptScope, 'line');
  // Steering vectors: malformed entries are dropped, values clamped, unknown providers ignored.
  const s = readSettings(config({ steeringVectors: [{ vector: ' fr-en ', strength: 5000, positions: 'all' }, { vector: '' }, 'x', { vector: 'de-en', layer: -1, positions: 'everywhere' }], maxNewTokens: 9999, temperature: -1, executionProviders: ['cuda', 'quantum'] }));
  assert.deepEqual(s.steeringVectors, [{ vector: 'fr-en', strength: 1000, positions: 'all' }, { vector: 'de-en' }]);
  assert.equal(s.maxNewTokens, 512);
  assert.equal(s.temperature, 0);
  assert.deepEqual(s.executionProviders, ['cuda']);
});
