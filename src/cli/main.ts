/**
 * `polyglot-lens`: the engine from a terminal (bundled to dist/cli.js). Runs the engine in-process (the same
 * ModelRuntime the worker serves requests with): a terminal has no UI thread to keep responsive.
 *
 * Exit codes: 0 ok, 1 the engine reported an error (message + hint on stderr), 2 usage error.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { toEngineError } from '../engine/engineErrors';
import { writeFileAtomic } from '../engine/model/cache';
import { ModelRuntime } from '../engine/modelRuntime';
import type { GenerationSpec, PromptAnalysis, SteeringSpec } from '../protocol/engine';
import { EngineError } from '../protocol/errors';
import { bundledModelDir } from './commands/common';
import { runSteeringCommand, STEERING_HELP, steeringCommandFor } from './commands/index';
import { demoHtml, layerTable, sideBySide, terminalHeatmap } from './demo';

const VERSION = '0.1.0';

const HELP = `polyglot-lens ${VERSION} — debug and steer how a language model handles languages other than English

Usage:
  polyglot-lens analyze --model DIR --prompt TEXT [--vector NAME|FILE]... [--top-k N] [--threads N] [--json]
      Tokens and, for every layer k = 0..L, each token's hidden-state norm and (when the model has stored
      language centroids) its similarity to each language and the nearest one. With --vector, the steered
      variant too. --json: {tokens, layers: [L + 1 entries], nextTokens, centroids, steered, ...}.
  polyglot-lens generate --model DIR --prompt TEXT [--max-tokens N] [--temperature T] [--top-p P] [--seed S]
                         [--vector NAME|FILE]... [--threads N] [--json]
      Continue TEXT (streamed to stdout; temperature 0 = greedy).
  polyglot-lens demo [--model DIR] [--prompt TEXT] [--vector NAME|FILE] [--max-tokens N] [--seed S]
                     [--html FILE] [--no-color] [--json]
      On the bundled demo model: a heatmap of the nearest language per layer × token for a non-English
      prompt, and the base and steered (bundled fr-en vector) continuations side by side. --html FILE writes
      the same as a standalone HTML report.
  Common: --threads N (onnxruntime threads, 0 = default), --provider cpu|cuda|... (execution provider;
          see README "GPU"), --layer K / --strength A / --positions MODE apply to every --vector.
  polyglot-lens --help | --version

${STEERING_HELP}

A model folder holds config.json, tokenizer.json and model.onnx (or onnx/model.onnx).
Exit codes: 0 ok, 1 engine error (what went wrong and what to do is printed), 2 usage error.
`;

/** Default prompt of `demo`: French, so the fr-en vector has something to do. */
export const DEMO_PROMPT = "Le dragon s'envola au-dessus des montagnes et";

class UsageError extends Error {}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Writes without a newline (streaming); default: process.stdout. */
  write?: (s: string) => void;
  /** Whether stdout is a colour terminal; default: process.stdout.isTTY and no NO_COLOR. */
  colour?: boolean;
}

function numberOption(value: string | undefined, name: string, min: number, max: number, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Shows whitespace inside tokens so that token boundaries are visible in a terminal. */
function show(text: string): string {
  return JSON.stringify(text).slice(1, -1).replace(/ /g, '·');
}

export function formatAnalysis(a: PromptAnalysis): string {
  const lines = [
    `prompt   ${a.prompt}`,
    `tokens   ${a.tokens.length}: ${a.tokens.map((t) => `[${t.special ? t.piece : t.text === '' ? '…' : show(t.text)}]`).join(' ')}`,
    `ids      ${a.tokens.map((t) => t.id).join(' ')}`,
    'next     ' + a.nextTokens.map((c) => `${show(c.text)} ${(c.probability * 100).toFixed(1)}%`).join(' | '),
  ];
  if (a.steered) lines.push('steered  ' + a.steered.nextTokens.map((c) => `${show(c.text)} ${(c.probability * 100).toFixed(1)}%`).join(' | '));
  return lines.join('\n');
}

function modelSummaryLine(a: PromptAnalysis): string {
  const m = a.model;
  return `model    ${m.name} (${m.architecture}; hidden size ${m.hiddenSize}, ${m.numLayers} layers, vocabulary ${m.vocabSize})`;
}

const PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }): Promise<number> {
  const steeringCommand = steeringCommandFor(argv);
  if (steeringCommand) return runSteeringCommand(steeringCommand, argv, io);
  let runtime: ModelRuntime | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        model: { type: 'string', short: 'm' },
        prompt: { type: 'string', short: 'p' },
        vector: { type: 'string', multiple: true },
        layer: { type: 'string' },
        strength: { type: 'string' },
        positions: { type: 'string' },
        'top-k': { type: 'string' },
        threads: { type: 'string' },
        provider: { type: 'string', multiple: true },
        'max-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        seed: { type: 'string' },
        html: { type: 'string' },
        'no-color': { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
    const command = positionals[0];
    if (values.help === true || command === 'help') {
      io.out(HELP);
      return 0;
    }
    if (values.version === true) {
      io.out(VERSION);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    const threads = numberOption(values.threads, 'threads', 0, 64, 0);
    const topK = numberOption(values['top-k'], 'top-k', 1, 50, 5);
    const providers = (values.provider ?? []).map((p) => {
      if (!(PROVIDERS as readonly string[]).includes(p)) throw new UsageError(`--provider must be one of ${PROVIDERS.join(', ')}, got ${JSON.stringify(p)}`);
      return p as (typeof PROVIDERS)[number];
    });
    const positions = values.positions;
    if (positions !== undefined && !['all', 'prompt', 'generated', 'last-prompt-token'].includes(positions)) {
      throw new UsageError(`--positions must be all, prompt, generated or last-prompt-token, got ${JSON.stringify(positions)}`);
    }
    const vectorSpec = (vector: string): SteeringSpec => ({
      vector,
      ...(values.layer !== undefined ? { layer: numberOption(values.layer, 'layer', 0, 1024, 0) } : {}),
      ...(values.strength !== undefined ? { strength: numberOption(values.strength, 'strength', -1000, 1000, 1, false) } : {}),
      ...(positions !== undefined ? { positions: positions as SteeringSpec['positions'] & string } : {}),
    });
    const vectors = (values.vector ?? []).map(vectorSpec);
    const generation = (defaults: { maxNewTokens: number; temperature: number }): GenerationSpec => ({
      maxNewTokens: numberOption(values['max-tokens'], 'max-tokens', 0, 512, defaults.maxNewTokens),
      temperature: numberOption(values.temperature, 'temperature', 0, 10, defaults.temperature, false),
      topP: numberOption(values['top-p'], 'top-p', 0.01, 1, 0.9, false),
      seed: numberOption(values.seed, 'seed', 0, 2 ** 32 - 1, 0),
    });
    const open = (dir: string): Promise<ModelRuntime> => ModelRuntime.open(dir, { threads, ...(providers.length ? { executionProviders: providers } : {}) });
    const colour = io.colour ?? (process.stdout.isTTY === true && process.env.NO_COLOR === undefined);
    switch (command) {
      case 'analyze': {
        if (values.model === undefined) throw new UsageError('analyze needs --model DIR');
        if (values.prompt === undefined) throw new UsageError('analyze needs --prompt TEXT');
        runtime = await open(path.resolve(values.model));
        const analysis = await runtime.analyze(values.prompt, { topK, vectors });
        const withLoad = { ...analysis, timings: { ...analysis.timings, loadMs: runtime.loadMs } };
        if (values.json === true) {
          io.out(JSON.stringify(withLoad, null, 2));
        } else {
          io.out(`${modelSummaryLine(withLoad)}\n${formatAnalysis(withLoad)}\n`);
          withLoad.warnings.forEach((w) => io.err(`warning: ${w}`));
          if (!withLoad.centroids) io.out('(no language centroids stored for this model: norms only; run `polyglot-lens extract` to add them)\n');
          io.out(layerTable(withLoad));
          if (withLoad.steered) io.out(`\nsteered by ${withLoad.steered.vectors.map((v) => `${v.name} (k=${v.layer}, strength ${v.strength})`).join(', ')}\n${layerTable({ ...withLoad, layers: withLoad.steered.layers })}`);
        }
        return 0;
      }
      case 'generate': {
        if (values.model === undefined) throw new UsageError('generate needs --model DIR');
        if (values.prompt === undefined) throw new UsageError('generate needs --prompt TEXT');
        runtime = await open(path.resolve(values.model));
        const write = io.write ?? ((s: string) => void process.stdout.write(s));
        const json = values.json === true;
        if (!json) write(values.prompt);
        const result = await runtime.generate(values.prompt, vectors, generation({ maxNewTokens: 48, temperature: 0.7 }), {
          onProgress: (e) => {
            if (!json && e.kind === 'token') write(e.text);
          },
        });
        if (json) io.out(JSON.stringify({ ...result, timings: { ...result.timings, loadMs: runtime.loadMs } }, null, 2));
        else write('\n');
        return 0;
      }
      case 'demo': {
        const dir = values.model !== undefined ? path.resolve(values.model) : bundledModelDir();
        runtime = await open(dir).catch((err: unknown) => {
          const e = toEngineError(err);
          if (values.model === undefined && e instanceof EngineError && e.code === 'MODEL_NOT_FOUND') {
            throw new EngineError('MODEL_NOT_FOUND', `The bundled demo model is missing (${e.message})`, 'Pass --model DIR, or run `npm run demo` in the repository, which falls back to a generated test model.');
          }
          throw err;
        });
        const summary = await runtime.summary();
        // The bundled fr-en vector when the model has one; an explicit --vector always.
        const demoVectors = vectors.length > 0 ? vectors : summary.vectorNames?.includes('fr-en') ? [vectorSpec('fr-en')] : [];
        const prompt = values.prompt ?? DEMO_PROMPT;
        const analysis = await runtime.analyze(prompt, { topK, vectors: demoVectors, generation: generation({ maxNewTokens: 32, temperature: 0.7 }) });
        if (values.html !== undefined) {
          writeFileAtomic(path.resolve(values.html), demoHtml(analysis));
          io.err(`wrote ${path.resolve(values.html)}`);
        }
        if (values.json === true) {
          io.out(JSON.stringify(analysis, null, 2));
          return 0;
        }
        const style = { colour: colour && values['no-color'] !== true };
        io.out(`${modelSummaryLine(analysis)}\nprompt   ${prompt}\n`);
        analysis.warnings.forEach((w) => io.err(`warning: ${w}`));
        io.out(terminalHeatmap(analysis, style) + '\n');
        const width = Math.max(30, Math.floor(((process.stdout.columns ?? 100) - 3) / 2));
        const steeredTitle = analysis.steered ? `steered: ${analysis.steered.vectors.map((v) => `${v.name} k=${v.layer} ×${v.strength}`).join(', ')}` : 'steered: (no bundled fr-en vector for this model)';
        const base = analysis.continuations?.base.text ?? '';
        const steered = analysis.continuations?.steered?.text ?? '—';
        io.out(sideBySide('base', prompt + base, steeredTitle, analysis.continuations?.steered ? prompt + steered : steered, width));
        return 0;
      }
      case undefined:
        io.out(HELP);
        return 2;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (caught) {
    const err = toEngineError(caught);
    if (err instanceof EngineError) {
      io.err(`error: ${err.message}`);
      if (err.hint !== undefined) io.err(`hint: ${err.hint}`);
      return 1;
    }
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`error: ${err.message}\nRun polyglot-lens --help for usage.`);
      return 2;
    }
    throw err;
  } finally {
    await runtime?.dispose();
  }
}
