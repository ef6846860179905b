/**
 * `polyglot-lens`: the engine from a terminal (bundled to dist/cli.js). Runs the engine in-process: a
 * terminal has no UI thread to keep responsive.
 *
 * Exit codes: 0 ok, 1 the engine reported an error (message + hint on stderr), 2 usage error.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CausalLm } from '../engine/causalLm';
import type { PromptAnalysis } from '../protocol/engine';
import { EngineError } from '../protocol/errors';
import { runSteeringCommand, STEERING_HELP, steeringCommandFor } from './commands/index';

const VERSION = '0.1.0';

const HELP = `polyglot-lens ${VERSION} — debug and steer how a language model handles languages other than English

Usage:
  polyglot-lens analyze --model DIR --prompt TEXT [--top-k N] [--threads N] [--json]
      Tokenize TEXT and run the model once: prints the tokens and the most likely next tokens.
  polyglot-lens demo [--model DIR] [--threads N] [--json]
      Analyze a few prompts in several languages with the bundled demo model (or DIR).
  polyglot-lens --help | --version

${STEERING_HELP}

A model folder holds config.json, tokenizer.json and model.onnx (or onnx/model.onnx).
Exit codes: 0 ok, 1 engine error (what went wrong and what to do is printed), 2 usage error.
`;

/** Prompts for `demo`: the same sentence in several languages and scripts. */
export const DEMO_PROMPTS: readonly { lang: string; prompt: string }[] = [
  { lang: 'en', prompt: 'The cat sleeps on the warm windowsill.' },
  { lang: 'fr', prompt: 'Le chat dort sur le rebord chaud de la fenêtre.' },
  { lang: 'de', prompt: 'Die Katze schläft auf der warmen Fensterbank.' },
  { lang: 'es', prompt: 'El gato duerme en el alféizar cálido.' },
  { lang: 'ru', prompt: 'Кошка спит на тёплом подоконнике.' },
  { lang: 'zh', prompt: '猫在温暖的窗台上睡觉。' },
];

class UsageError extends Error {}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

function intOption(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** Shows whitespace inside tokens so that token boundaries are visible in a terminal. */
function show(text: string): string {
  return JSON.stringify(text).slice(1, -1).replace(/ /g, '·');
}

export function formatAnalysis(a: PromptAnalysis): string {
  const lines = [`prompt   ${a.prompt}`, `tokens   ${a.tokens.length}: ${a.tokens.map((t) => `[${t.text === '' ? '…' : show(t.text)}]`).join(' ')}`, `ids      ${a.tokens.map((t) => t.id).join(' ')}`, 'next     ' + a.nextTokens.map((c) => `${show(c.text)} ${(c.probability * 100).toFixed(1)}%`).join(' | ')];
  return lines.join('\n');
}

function modelSummaryLine(a: PromptAnalysis): string {
  const m = a.model;
  return `model    ${m.name} (${m.architecture}; hidden size ${m.hiddenSize}, ${m.numLayers} layers, vocabulary ${m.vocabSize})`;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }): Promise<number> {
  const steeringCommand = steeringCommandFor(argv);
  if (steeringCommand) return runSteeringCommand(steeringCommand, argv, io);
  let lm: CausalLm | undefined;
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
        'top-k': { type: 'string' },
        threads: { type: 'string' },
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
    const threads = intOption(values.threads, 'threads', 0, 64, 0);
    const topK = intOption(values['top-k'], 'top-k', 1, 50, 5);
    switch (command) {
      case 'analyze': {
        if (values.model === undefined) throw new UsageError('analyze needs --model DIR');
        if (values.prompt === undefined) throw new UsageError('analyze needs --prompt TEXT');
        lm = await CausalLm.load(path.resolve(values.model), { threads });
        const analysis = await lm.analyze(values.prompt, topK);
        const withLoad = { ...analysis, timings: { ...analysis.timings, loadMs: lm.loadMs } };
        io.out(values.json === true ? JSON.stringify(withLoad, null, 2) : `${modelSummaryLine(withLoad)}\n${formatAnalysis(withLoad)}`);
        return 0;
      }
      case 'demo': {
        lm = await CausalLm.load(values.model !== undefined ? path.resolve(values.model) : bundledModelDir(), { threads }).catch((err: unknown) => {
          if (values.model === undefined && err instanceof EngineError && err.code === 'MODEL_NOT_FOUND') {
            throw new EngineError('MODEL_NOT_FOUND', `The bundled demo model is missing (${err.message})`, 'Pass --model DIR, or run `npm run demo` in the repository, which falls back to a generated test model.');
          }
          throw err;
        });
        const results: (PromptAnalysis & { lang: string })[] = [];
        for (const { lang, prompt } of DEMO_PROMPTS) results.push({ lang, ...(await lm.analyze(prompt, topK)) });
        if (values.json === true) {
          io.out(JSON.stringify(results, null, 2));
        } else {
          const first = results[0];
          if (first !== undefined) io.out(`${modelSummaryLine(first)}\nloaded in ${lm.loadMs.toFixed(0)} ms\n`);
          for (const r of results) io.out(`— ${r.lang} (${r.tokens.length} tokens, ${r.timings.inferenceMs.toFixed(1)} ms)\n${formatAnalysis(r)}\n`);
        }
        return 0;
      }
      case undefined:
        io.out(HELP);
        return 2;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
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
    await lm?.dispose();
  }
}

/** models/tiny-polyglot next to dist/ (in the repository and in the installed package alike). */
function bundledModelDir(): string {
  return path.resolve(__dirname, '..', 'models', 'tiny-polyglot');
}
