/**
 * Batched hidden-state extraction vs one sentence at a time, side by side in one run. One at a time =
 * `decoder.forward(ids)` per sentence (logits and every hidden state, as before batching) + mean pooling;
 * batched = `extractPooledStates`: length-sorted, right-padded batches of at most --batch-size rows and
 * --batch-tokens padded tokens through the extraction session (the inspect graph pruned to the hidden-state
 * outputs, so no LM head), once with one intra-op thread (as the one-at-a-time session has) and once with
 * the extraction session's default (every core). The sentences are measured in chunks of --chunk, and within
 * each chunk the variants run back to back in rotating order, so load from other processes on a
 * shared machine hits all of them alike; wall and process CPU time are summed per variant and round, and the
 * speed-up is the median over rounds of each round's ratio. Writes its table to docs/BENCHMARKS.md (section "Batched extraction").
 *
 *   node --import tsx bench/extraction.ts [--model DIR] [--sentences N] [--rounds N] [--batch-size N] [--batch-tokens N] [--chunk N]
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { measuredLine, writeBenchmarkSection } from './report';
import { EXTRACTION_BATCH_TOKENS, extractPooledStates, specialTokenIds } from '../src/engine/analysis/extract';
import { lengthSortedBatches, openExtractionSession, type BatchRunner } from '../src/engine/model/batch';
import { openModel } from '../src/engine/model/index';

const ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      sentences: { type: 'string', default: '192' },
      rounds: { type: 'string', default: '7' },
      'batch-size': { type: 'string', default: '32' },
      'batch-tokens': { type: 'string', default: String(EXTRACTION_BATCH_TOKENS) },
      chunk: { type: 'string', default: '64' },
    },
  });
  const dir = path.resolve(values.model ?? path.join(ROOT, 'models', 'tiny-polyglot'));
  const n = Number(values.sentences);
  const rounds = Number(values.rounds);
  const batchSize = Number(values['batch-size']);
  const batchTokens = Number(values['batch-tokens']);
  const chunk = Number(values.chunk);
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
  const oneAtATime = async (chunkTexts: readonly string[]): Promise<void> => {
    for (const t of chunkTexts) {
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
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const extractorOne = await openExtractionSession(model, { intraOpNumThreads: 1 });
  const extractorAll = await openExtractionSession(model);
  const batched = (extractor: BatchRunner) => async (chunkTexts: readonly string[]): Promise<void> => {
    await extractPooledStates({ ...model, extractor }, chunkTexts, { batchSize, maxBatchTokens: batchTokens });
  };
  const variants: [string, (t: readonly string[]) => Promise<void>][] = [
    ['one', oneAtATime],
    // Not a batched variant: one at a time through the extraction session, to split the gain into "no LM
    // head" and "batching".
    ['oneNoHead', async (chunkTexts) => void (await extractPooledStates({ ...model, extractor: extractorOne }, chunkTexts, { batchSize: 1 }))],
    ['batched1', batched(extractorOne)],
    ['batchedAll', batched(extractorAll)],
  ];
  for (const [, f] of variants) await f(texts.slice(0, chunk)); // warm-up
  const wall = new Map<string, number[]>(variants.map(([k]) => [k, []]));
  const cpu = new Map<string, number[]>(variants.map(([k]) => [k, []]));
  const loadStart = os.loadavg()[0] ?? NaN;
  let turn = 0;
  for (let r = 0; r < rounds; r++) {
    const w = new Map<string, number>();
    const c = new Map<string, number>();
    for (let s = 0; s < texts.length; s += chunk) {
      const part = texts.slice(s, s + chunk);
      for (let v = 0; v < variants.length; v++) {
        const [key, f] = variants[(v + turn) % variants.length]!;
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        await f(part);
        const dt = performance.now() - t0;
        const u = process.cpuUsage(u0);
        w.set(key, (w.get(key) ?? 0) + dt);
        c.set(key, (c.get(key) ?? 0) + (u.user + u.system) / 1000);
      }
      turn++;
    }
    for (const [key] of variants) {
      wall.get(key)!.push(w.get(key)!);
      cpu.get(key)!.push(c.get(key)!);
    }
    process.stderr.write(`round ${r + 1}: ${variants.map(([k]) => `${k} ${w.get(k)!.toFixed(0)} ms (cpu ${c.get(k)!.toFixed(0)})`).join(', ')}; load ${os.loadavg()[0]?.toFixed(1)}\n`);
  }
  const loadEnd = os.loadavg()[0] ?? NaN;
  const lens = texts.map((t) => model.folder.tokenizer.encode(t).ids.slice(0, 96).length);
  const padded = (bs: number, tokens: number): number => {
    let total = 0;
    for (let s = 0; s < lens.length; s += chunk) {
      const part = lens.slice(s, s + chunk);
      for (const b of lengthSortedBatches(part, bs, tokens)) total += b.length * Math.max(...b.map((i) => part[i] as number));
    }
    return total;
  };
  await extractorOne.session.release();
  await extractorAll.session.release();
  await model.dispose();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const m = (map: Map<string, number[]>, k: string): number => median(map.get(k)!);
  const one = m(wall, 'one');
  const cell = (k: string): string => `${m(wall, k).toFixed(0)} ms (${(m(wall, k) / texts.length).toFixed(1)} ms/sentence; CPU ${m(cpu, k).toFixed(0)} ms)`;
  // Paired per round: each round's one-at-a-time time over its batched time, then the median over rounds.
  const paired = (map: Map<string, number[]>, k: string): number => median(map.get('one')!.map((x, r) => x / (map.get(k)![r] as number)));
  const ratio = (k: string): string => `**${paired(wall, k).toFixed(2)}×** (CPU time ${paired(cpu, k).toFixed(2)}×)`;
  const realTokens = lens.reduce((a, b) => a + b, 0);
  const section = [
    '## Batched extraction',
    '',
    `\`node --import tsx bench/extraction.ts\` — ${texts.length} sentences (en fr de ru zh ja from the steer split, ≤ 96 tokens, ${realTokens} tokens), pooled states at all ${model.numLayers + 1} layers of tiny-polyglot. The sentences go in chunks of ${chunk}; within each chunk the four variants run back to back in rotating order, so load from other jobs hits them alike; medians of ${rounds} rounds of wall time, process CPU time beside it. ${cores} cores, load average ${loadStart.toFixed(1)} at the start and ${loadEnd.toFixed(1)} at the end (other jobs running make every column slower).`,
    '',
    `Batched = \`extractPooledStates\`: length-sorted right-padded batches of at most ${batchSize} rows and ${batchTokens} padded tokens (${padded(batchSize, batchTokens)} padded tokens in all; the old 4096-token cap gave ${padded(batchSize, 4096)}), extraction session without the LM head.`,
    '',
    'Speed-up = median over rounds of (one at a time ÷ batched) within the round, wall time (CPU time in brackets).',
    '',
    '| variant | median wall (CPU) | speed-up over one at a time |',
    '|---|---|---|',
    `| one sentence at a time (\`forward\`, 1 thread) | ${cell('one')} | 1.00× |`,
    `| one at a time through the extraction session (no LM head, 1 thread) | ${cell('oneNoHead')} | ${ratio('oneNoHead')} |`,
    `| batched, 1 thread | ${cell('batched1')} | ${ratio('batched1')} |`,
    `| batched, extraction session default (${cores} threads) | ${cell('batchedAll')} | ${ratio('batchedAll')} |`,
    '',
    measuredLine(),
    '',
  ].join('\n');
  writeBenchmarkSection('## Batched extraction', section);
  process.stdout.write(`speed-up ${paired(wall, 'batchedAll').toFixed(2)}× default, ${paired(wall, 'batched1').toFixed(2)}× one thread (CPU time ${paired(cpu, 'batchedAll').toFixed(2)}×, ${paired(cpu, 'batched1').toFixed(2)}×; one at a time ${one.toFixed(0)} ms)\n`);
}

void main();
