/**
 * Activation of the shipped bundle (dist/extension.js) with a recording stand-in for the `vscode` module:
 * it registers the commands, the panel serializer, the tree views and the status bar item, and loads nothing
 * heavy — no worker thread, no onnxruntime, no model. The Steering Vectors view lists the bundled model's
 * vectors as its index describes them, and checking one turns it on (status bar follows). (The commands
 * themselves are exercised in a real VS Code by test/e2e.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
  treeViews: Map<string, { provider: FakeTreeProvider; checkbox?: (e: { items: [unknown, number][] }) => void; view: { description?: string; badge?: unknown } }>;
  statusItems: { text: string; command?: unknown; shown: boolean }[];
}

interface FakeTreeProvider {
  getChildren(element?: unknown): unknown[];
  getTreeItem(element: unknown): { label: string; description?: string; contextValue?: string; checkboxState?: { state: number }; command?: { command: string; arguments?: unknown[] } };
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
  class TreeItem {
    description?: string;
    contextValue?: string;
    checkboxState?: { state: number };
    constructor(
      readonly label: string,
      readonly collapsibleState: number,
    ) {}
  }
  class ThemeIcon {
    constructor(readonly id: string) {}
  }
  class MarkdownString {
    constructor(readonly value: string) {}
  }
  const memento = { get: (_key: string, fallback?: unknown) => fallback, update: () => Promise.resolve(), keys: () => [] };
  return {
    EventEmitter,
    TreeItem,
    ThemeIcon,
    MarkdownString,
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    TreeItemCheckboxState: { Unchecked: 0, Checked: 1 },
    StatusBarAlignment: { Left: 1, Right: 2 },
    memento,
    l10n: { t: (message: string, ...args: unknown[]) => message.replace(/\{(\d+)\}/g, (_: string, i: string) => String(args[Number(i)])) },
    env: { language: 'en' },
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
      showWarningMessage: (m: string) => {
        rec.messages.push(m);
        return Promise.resolve(undefined);
      },
      activeTextEditor: undefined,
      onDidChangeTextEditorSelection: () => disposable,
      createTreeView: (id: string, options: { treeDataProvider: FakeTreeProvider }) => {
        const view = {
          visible: false,
          description: undefined as string | undefined,
          badge: undefined as unknown,
          onDidChangeCheckboxState: (fn: (e: { items: [unknown, number][] }) => void) => {
            entry.checkbox = fn;
            return disposable;
          },
          onDidChangeVisibility: () => disposable,
          dispose: () => undefined,
        };
        const entry: { provider: FakeTreeProvider; checkbox?: (e: { items: [unknown, number][] }) => void; view: typeof view } = { provider: options.treeDataProvider, view };
        rec.treeViews.set(id, entry);
        return view;
      },
      createStatusBarItem: () => {
        const item = { text: '', command: undefined as unknown, shown: false, show: () => (item.shown = true), dispose: () => undefined };
        rec.statusItems.push(item);
        return item;
      },
    },
    workspace: {
      getConfiguration: () => ({ get: () => undefined }),
      onDidChangeConfiguration: () => disposable,
      onDidGrantWorkspaceTrust: () => disposable,
      isTrusted: true,
      workspaceFolders: undefined,
    },
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
  const rec: Recorded = { commands: new Map(), serializers: [], messages: [], hoverSelectors: [], treeViews: new Map(), statusItems: [] };
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
    const memento = (vscode as { memento: unknown }).memento;
    const context = { subscriptions, extensionPath: REPO_ROOT, extensionUri: { fsPath: REPO_ROOT }, asAbsolutePath: (p: string) => path.join(REPO_ROOT, p), workspaceState: memento, globalState: memento };
    const api = ext.activate(context);

    for (const id of ['polyglotLens.steerPrompt', 'polyglotLens.inspectLayers']) assert.ok(rec.commands.has(id), `${id} is registered`);
    // Every command the manifest contributes has a handler (a menu or keybinding never points at nothing).
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: { commands: { command: string }[] } };
    assert.deepEqual(manifest.contributes.commands.map((c) => c.command).filter((id) => !rec.commands.has(id)), [], 'contributed but not registered');
    assert.deepEqual([...rec.treeViews.keys()], ['polyglotLens.vectors', 'polyglotLens.layers']);
    assert.equal(rec.statusItems.length, 1);
    assert.ok(rec.statusItems[0]?.shown);
    assert.deepEqual(rec.statusItems[0]?.command, { command: 'polyglotLens.steerPrompt', title: 'Open the Polyglot Lens panel' });
    assert.deepEqual(rec.serializers, ['polyglotLens.steerPanel']);
    assert.deepEqual(rec.hoverSelectors, [[{ scheme: 'file' }, { scheme: 'untitled' }]], 'the prompt hover, for files and untitled documents');
    assert.equal(api.isEngineRunning(), false);
    assert.equal(workersStarted, 0, 'no worker thread at activation');
    const loaded = Object.keys(requireHere.cache);
    assert.ok(!loaded.some((f) => f.includes(`${path.sep}onnxruntime-`)), 'onnxruntime is never loaded into the extension host');
    assert.ok(!loaded.some((f) => f.includes('@huggingface')), 'nor the tokenizer');

    // The Steering Vectors view lists the bundled vectors (two JSON reads, no engine), each as its index says.
    const vectorsView = rec.treeViews.get('polyglotLens.vectors')!;
    const deadline = Date.now() + 10_000;
    while (vectorsView.provider.getChildren().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const index = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models', 'tiny-polyglot', 'vectors', 'index.json'), 'utf8')) as { vectors: Record<string, { layer: number; strength: number }> };
    const rows = vectorsView.provider.getChildren();
    assert.deepEqual(rows.map((e) => vectorsView.provider.getTreeItem(e).label).sort(), Object.keys(index.vectors).sort());
    const frEn = rows.find((e) => vectorsView.provider.getTreeItem(e).label === 'fr-en')!;
    const item = vectorsView.provider.getTreeItem(frEn);
    const expected = index.vectors['fr-en']!;
    assert.equal(item.description, `k=${expected.layer} · ×${Number(expected.strength.toFixed(2))}`);
    assert.equal(item.contextValue, 'vector.bundled');
    assert.equal(item.checkboxState?.state, 0);
    assert.match(rec.statusItems[0]?.text ?? '', /^\$\(globe\) tiny-polyglot · no steering$/);
    // Checking the box turns the vector on: the row and the status bar follow.
    vectorsView.checkbox?.({ items: [[frEn, 1]] });
    const checked = vectorsView.provider.getChildren().find((e) => vectorsView.provider.getTreeItem(e).label === 'fr-en')!;
    assert.equal(vectorsView.provider.getTreeItem(checked).checkboxState?.state, 1);
    assert.equal(rec.statusItems[0]?.text, '$(globe) tiny-polyglot · fr-en');
    assert.equal(vectorsView.view.description, '1 on');
    assert.deepEqual(rec.treeViews.get('polyglotLens.layers')?.provider.getChildren(), [], 'no layers before an analysis (the welcome view shows)');
    assert.equal(workersStarted, 0);

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
