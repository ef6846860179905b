// Injected into the CommonJS worker bundle by scripts/build.mjs: `import.meta.url` in bundled ESM code
// (fasttext.wasm.js) becomes the bundle's own file URL, which a CommonJS module knows as __filename.
/* global __filename -- defined in the CommonJS bundle this file is injected into */
import { pathToFileURL } from 'node:url';

export const importMetaUrl = pathToFileURL(__filename).href;
