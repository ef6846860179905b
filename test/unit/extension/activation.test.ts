/**
 * Activation of the shipped bundle (dist/extension.js) with a recording stand-in for the `vscode` module:
 * it registers the command and the panel serializer and loads nothing heavy — no worker thread, no
 * onnxruntime, no model. (The command itself is exercised in a real VS Code by test/e2e.)
 */
import assert from 'node:assert/strict';
import Module from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import * as path from 'node:path';
import { test } from 'node:test';
import { DIST, ensureBuilt, REPO_ROOT } from '../helpers/build';

// The module object itself (an ES namespace import would be read-only), so Worker can be wrapped.
const requireHere = Module.createRequire(__filename);
const workerThreads = requireHere('node:worker_threads') as typeof WorkerThreads;

interface Recorded {
  commands: Map<string, (...args: unknown[]) => unknown>;
  serializers: string[];
  messages: string[];
  hoverSelectors: unknown[];
}

function fakeVscode(rec: Recorded): unknown {
  const disposable = { dispose: () => undefined };
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, dispose: () => undefined };
  // Enough of vscode.EventEmitter for what activation constructs (events are never fired here).
  class EventEmitter {
    readonly event = () => disposable;
    fire(): void {}
    dispose(): void {}
  }
  return {
    EventEmitter,
    l10n: { t: (message: string, ...args: unknown[]) => message.replace(/\{(\d+)\}/g, (_: string, i: string) => String(args[Number(i)])) },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        rec.commands.set(id, fn);
        return disposable;
      },
      executeCommand: () => Promise.resolve(),
    },
    window: {
      createOutputChannel: () => log,
      registerWebviewPanelSerializer: (viewType: string) => {
        rec.serializers.push(viewType);
        return disposable;
      },
      showInformationMessage: (m: string) => {
        rec.messages.push(m);
        return Promise.resolve(undefined);
      },
      activeTextEditor: undefined,
      onDidChangeTextEditorSelection: () => disposable,
    },
    workspace: { getConfiguration: () => ({ get: () => undefined }), onDidChangeConfiguration: () => disposable },
    languages: {
      registerHoverProvider: (selector: unknown) => {
        rec.hoverSelectors.push(selector);
        return disposable;
      },
    },
  };
}

test('activation registers Steer Prompt and the panel serializer, and starts no engine', async () => {
  ensureBuilt();
  const rec: Recorded = { commands: new Map(), serializers: [], messages: [], hoverSelectors: [] };
  const vscode = fakeVscode(rec);
  const realLoad = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
  let workersStarted = 0;
  const RealWorker = workerThreads.Worker;
  (workerThreads as { Worker: unknown }).Worker = class extends RealWorker {
    constructor(...args: ConstructorParameters<typeof RealWorker>) {
      super(...args);
      workersStarted++;
    }
  };
  (Module as unknown as { _load: unknown })._load = (request: string, ...rest: unknown[]) => (request === 'vscode' ? vscode : realLoad(request, ...rest));
  try {
    const ext = requireHere(path.join(DIST, 'extension.js')) as { activate: (ctx: unknown) => { isEngineRunning(): boolean } };
    const subscriptions: { dispose(): unknown }[] = [];
    const context = { subscriptions, extensionPath: REPO_ROOT, extensionUri: { fsPath: REPO_ROOT }, asAbsolutePath: (p: string) => path.join(REPO_ROOT, p) };
    const api = ext.activate(context);

    for (const id of ['polyglotLens.steerPrompt', 'polyglotLens.inspectLayers']) assert.ok(rec.commands.has(id), `${id} is registered`);
    assert.deepEqual(rec.serializers, ['polyglotLens.steerPanel']);
    assert.deepEqual(rec.hoverSelectors, [[{ scheme: 'file' }, { scheme: 'untitled' }]], 'the prompt hover, for files and untitled documents');
    assert.equal(api.isEngineRunning(), false);
    assert.equal(workersStarted, 0, 'no worker thread at activation');
    const loaded = Object.keys(requireHere.cache);
    assert.ok(!loaded.some((f) => f.includes(`${path.sep}onnxruntime-`)), 'onnxruntime is never loaded into the extension host');
    assert.ok(!loaded.some((f) => f.includes('@huggingface')), 'nor the tokenizer');

    // Without an editor the command explains what to do, and still starts nothing.
    await rec.commands.get('polyglotLens.steerPrompt')?.();
    assert.match(rec.messages[0] ?? '', /open a file and put the cursor on a prompt/);
    assert.equal(workersStarted, 0);

    for (const s of subscriptions) await s.dispose();
  } finally {
    (Module as unknown as { _load: unknown })._load = realLoad;
    (workerThreads as { Worker: unknown }).Worker = RealWorker;
  }
});
