/**
 * The steering-workflow commands of `polyglot-lens` (extract, analyze --corpus, evaluate, sweep, export, steer,
 * build-vectors, report), registered with the dispatcher in ../main.ts.
 */
import { BUNDLE_COMMANDS } from './bundle';
import type { Command, CommandIo } from './common';
import { STUDY_COMMANDS } from './study';
import { VECTOR_COMMANDS } from './vectors';

const ALL: readonly Command[] = [...VECTOR_COMMANDS, ...STUDY_COMMANDS, ...BUNDLE_COMMANDS];

/** The command for an argv (without node and script), or null when main.ts handles it (`analyze` without --corpus). */
export function steeringCommandFor(argv: readonly string[]): Command | null {
  const name = argv[0];
  const c = ALL.find((x) => x.name === name) ?? null;
  if (c?.name === 'analyze' && !argv.some((a) => a === '--corpus' || a.startsWith('--corpus='))) return null;
  return c;
}

/** Help lines for the main usage text. */
export const STEERING_HELP = `Steering workflow (each command has --help; progress goes to stderr, results to stdout, --json for machines):
${ALL.map((c) => `  polyglot-lens ${c.name.padEnd(14)} ${c.summary}`).join('\n')}
  e.g. polyglot-lens steer --prompt "Le roi est mort." --vector fr-en --json`;

/** Runs a steering command; returns its exit code. */
export function runSteeringCommand(command: Command, argv: readonly string[], io: CommandIo): Promise<number> {
  return command.run(argv.slice(1), io);
}
