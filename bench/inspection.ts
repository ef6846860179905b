/**
 * What the layer inspector's data costs: `analyze` of a 30-token prompt on tiny-polyglot without and with
 * `inspect` (logit lens at every layer and position through the lens graph's TopK, and the per-layer PCA
 * pictures), side by side in interleaved rounds. Every measurement uses a prompt not analysed before, so
 * nothing comes from the runtime's cache. Writes its table to docs/BENCHMARKS.md (section "Layer inspection").
 *
 *   node --import tsx bench/inspection.ts [--model DIR] [--prompts N] [--rounds N] [--tokens N]
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { measuredLine, writeBenchmarkSection } from './report';
import { ModelRuntime } from '../src/engine/modelRuntime';
import type { InspectOptions } from '../src/protocol/engine';

const ROOT = path.resolve(__dirname, '..');

const VARIANTS: { label: string; inspect?: InspectOptions }[] = [
  { label: 'plain analyze' },
  { label: 'lens top-5, no projection', inspect: { lensTopK: 5, projection: false } },
  { label: 'lens top-5 + projections', inspect: { lensTopK: 5, projection: true } },
  { label: 'lens top-20 + projections', inspect: { lensTopK: 20, projection: true } },
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, prompts: { type: 'string', default: '6' }, rounds: { type: 'string', default: '3' }, tokens: { type: 'string', default: '30' } } });
  const dir = path.resolve(values.model ?? path.join(ROOT, 'models', 'tiny-polyglot'));
  const perRound = Number(values.prompts);
  const rounds = Number(values.rounds);
  const tokens = Number(values.tokens);
  const runtime = await ModelRuntime.open(dir, { threads: 0 });
  // Prompts of exactly `tokens` tokens (BOS included): corpus sentences cut to tokens − 1 content tokens,
  // kept when the cut text tokenizes back to the same length.
  const rows = readFileSync(path.join(dir, 'corpus', 'steer.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const langs = ['en', 'fr', 'de', 'ru', 'zh', 'ja'];
  const tok = runtime.model.folder.tokenizer;
  const needed = (rounds + 1) * VARIANTS.length * perRound;
  const prompts: string[] = [];
  for (let i = 0; prompts.length < needed && i < rows.length * langs.length; i++) {
    const text = rows[Math.floor(i / langs.length)]?.[langs[i % langs.length] as string];
    if (!text) continue;
    const ids = runtime.tokenize(text).ids;
    const content = ids.filter((id) => id !== tok.bosTokenId);
    if (content.length < tokens - (ids.length - content.length)) continue;
    const cut = tok.decode(content.slice(0, tokens - (ids.length - content.length)), { skipSpecialTokens: true });
    if (!cut.includes('\uFFFD') && runtime.tokenize(cut).ids.length === tokens && !prompts.includes(cut)) prompts.push(cut);
  }
  if (prompts.length < needed) throw new Error(`only ${prompts.length} prompts of ${tokens} tokens in the steer split; ${needed} are needed`);
  const total: number[][] = VARIANTS.map(() => []);
  const inspection: number[][] = VARIANTS.map(() => []);
  const bytes: number[] = VARIANTS.map(() => 0);
  let next = 0;
  for (let r = 0; r <= rounds; r++) {
    for (let p = 0; p < perRound; p++) {
      for (const [v, variant] of VARIANTS.entries()) {
        const prompt = prompts[next++] as string;
        const t0 = performance.now();
        const a = await runtime.analyze(prompt, { topK: 5, ...(variant.inspect ? { inspect: variant.inspect } : {}) });
        const ms = performance.now() - t0;
        if (r === 0) continue; // round 0 warms up every path
        total[v]!.push(ms);
        inspection[v]!.push(a.timings.inspectionMs ?? 0);
        bytes[v] = a.inspection ? JSON.stringify(a.inspection).length : 0;
      }
    }
    if (r > 0) process.stderr.write(`round ${r}: ${VARIANTS.map((v, i) => `${v.label} ${median(total[i]!.slice(-perRound)).toFixed(0)} ms`).join(', ')}\n`);
  }
  await runtime.dispose();
  const base = median(total[0]!);
  const load = os.loadavg()[0]?.toFixed(1) ?? '?';
  const L = runtime.numLayers + 1;
  const vocab = runtime.model.folder.config.vocabSize ?? tok.vocabSize;
  const section = [
    '## Layer inspection',
    '',
    `\`node --import tsx bench/inspection.ts\` — \`analyze\` of ${tokens}-token prompts on tiny-polyglot (${L} layers × ${tokens} positions × ${vocab} vocabulary through the logit lens), ${perRound} fresh prompts per variant in each of ${rounds} interleaved rounds (after a warm-up round), medians; ${os.cpus().length} cores, load average ${load} at the end (other jobs running make every column slower alike).`,
    '',
    '| variant | analyze | of which inspection | vs plain | inspection JSON |',
    '|---|---|---|---|---|',
    ...VARIANTS.map((v, i) => `| ${v.label} | ${median(total[i]!).toFixed(0)} ms | ${v.inspect ? `${median(inspection[i]!).toFixed(0)} ms` : '–'} | ${(median(total[i]!) / base).toFixed(2)}× | ${bytes[i] ? `${(bytes[i] / 1024).toFixed(0)} KiB` : '–'} |`),
    '',
    measuredLine(),
    '',
  ].join('\n');
  writeBenchmarkSection('## Layer inspection', section);
  process.stdout.write(section);
}

function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}

void main();
