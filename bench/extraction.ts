/**
 * Batched hidden-state extraction vs one sentence at a time, side by side in one run (interleaved rounds, so
 * load from other processes hits both alike). One at a time = `decoder.forward(ids)` per sentence (logits and
 * every hidden state, as before batching) + mean pooling; batched = `extractPooledStates` with length-sorted,
 * right-padded batches through the extraction session (the inspect graph pruned to the hidden-state outputs,
 * so no LM head). Writes its table to docs/BENCHMARKS.md (section "Batched extraction").
 *
 *   node --import tsx bench/extraction.ts [--model DIR] [--sentences N] [--rounds N] [--batch-size N]
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { measuredLine, writeBenchmarkSection } from './report';
import { extractPooledStates, specialTokenIds } from '../src/engine/analysis/extract';
import { openExtractionSession } from '../src/engine/model/batch';
import { openModel } from '../src/engine/model/index';

const ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, sentences: { type: 'string', default: '192' }, rounds: { type: 'string', default: '3' }, 'batch-size': { type: 'string', default: '32' } } });
  const dir = path.resolve(values.model ?? path.join(ROOT, 'models', 'tiny-polyglot'));
  const n = Number(values.sentences);
  const rounds = Number(values.rounds);
  const batchSize = Number(values['batch-size']);
  const rows = readFileSync(path.join(dir, 'corpus', 'steer.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const langs = ['en', 'fr', 'de', 'ru', 'zh', 'ja'];
  const texts: string[] = [];
  for (let i = 0; texts.length < n && i < rows.length * langs.length; i++) {
    const t = rows[Math.floor(i / langs.length)]?.[langs[i % langs.length] as string];
    if (t) texts.push(t);
  }
  const model = await openModel(dir);
  const special = specialTokenIds(model.folder);
  const H = model.hiddenSize;
  const oneAtATime = async (): Promise<void> => {
    for (const t of texts) {
      const ids = model.folder.tokenizer.encode(t).ids.slice(0, 96);
      const out = await model.inspect.forward(ids);
      for (const h of out.hiddenStates ?? []) {
        const acc = new Float64Array(H);
        let c = 0;
        ids.forEach((id, p) => {
          if (special.has(id)) return;
          c++;
          for (let j = 0; j < H; j++) acc[j] = (acc[j] as number) + (h[p * H + j] as number);
        });
        void c;
      }
    }
  };
  // The batched path uses the extraction session (inspect graph without the LM head, see batch.ts).
  const extractor = await openExtractionSession(model);
  const batched = async (): Promise<void> => {
    await extractPooledStates({ ...model, extractor }, texts, { batchSize });
  };
  await batched(); // warm-up both paths
  await oneAtATime();
  const tOne: number[] = [];
  const tBatch: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    await oneAtATime();
    tOne.push(performance.now() - t);
    t = performance.now();
    await batched();
    tBatch.push(performance.now() - t);
    process.stderr.write(`round ${r + 1}: one at a time ${tOne[r]!.toFixed(0)} ms, batched ${tBatch[r]!.toFixed(0)} ms\n`);
  }
  await extractor.session.release();
  await model.dispose();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const one = median(tOne);
  const bat = median(tBatch);
  const ratio = one / bat;
  const load = os.loadavg()[0]?.toFixed(1) ?? '?';
  const section = [
    '## Batched extraction',
    '',
    `\`node --import tsx bench/extraction.ts\` — ${texts.length} sentences (en fr de ru zh ja from the steer split, ≤ 96 tokens), pooled states at all ${model.numLayers + 1} layers of tiny-polyglot, median of ${rounds} interleaved rounds; ${os.cpus().length} cores, load average ${load} at the end (other jobs running make both columns slower alike).`,
    '',
    '| one sentence at a time (`forward`) | batched (`extractPooledStates`, batch ' + batchSize + ', extraction session without the LM head) | speed-up |',
    '|---|---|---|',
    `| ${one.toFixed(0)} ms (${(one / texts.length).toFixed(1)} ms/sentence) | ${bat.toFixed(0)} ms (${(bat / texts.length).toFixed(1)} ms/sentence) | **${ratio.toFixed(2)}×** |`,
    '',
    measuredLine(),
    '',
  ].join('\n');
  writeBenchmarkSection('## Batched extraction', section);
  process.stdout.write(`speed-up ${ratio.toFixed(2)}× (one at a time ${one.toFixed(0)} ms, batched ${bat.toFixed(0)} ms)\n`);
}

void main();
