/**
 * Session files (`<name>.polyglot.json`, format in src/protocol/session.ts) to and from the extension's state:
 * paths made relative to the session's folder when inside it, resolved back when read, validation errors
 * worded for people. Free of `vscode` imports so it is unit-tested in plain Node.
 */
import * as path from 'node:path';
import { lensSession, SESSION_FORMAT, SESSION_SUFFIX, SESSION_VERSION, type LensSession, type SessionSettings, type SessionVector } from '../protocol/session';
import { safeParse } from '../protocol/validate';
import type { PromptOrigin } from '../protocol/webview';
import type { VectorStateSnapshot } from './vectorState';

/** `dir`-relative (with `/`) when `p` is inside `dir`, else absolute. */
export function toSessionPath(p: string, dir: string): string {
  const rel = path.relative(dir, p);
  if (rel === '') return '.';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return path.resolve(p);
  return rel.split(path.sep).join('/');
}

/** A session path back to an absolute one. */
export function fromSessionPath(p: string, dir: string): string {
  return path.isAbsolute(p) ? path.normalize(p) : path.resolve(dir, ...p.split('/'));
}

/** A file name for a session: the name as typed, `.polyglot.json` added once. */
export function sessionFileName(name: string): string {
  const base = name.trim().replace(/\.polyglot\.json$/i, '').replace(/\.json$/i, '');
  return `${base}${SESSION_SUFFIX}`;
}

/** Why a session name cannot be a file name, or undefined when it can. */
export function sessionNameProblem(name: string): string | undefined {
  const base = name.trim();
  if (base === '') return 'empty';
  if (/[\\/:*?"<>|]/.test(base) || [...base].some((c) => c.charCodeAt(0) < 0x20)) return 'characters';
  return undefined;
}

export interface SessionInput {
  prompt?: { prompt: string; origin: PromptOrigin };
  /** Absolute model folder, and whether it is the bundled one (stored as ''). */
  modelDir: string;
  modelName: string;
  bundledModel: boolean;
  vectors: VectorStateSnapshot;
  settings: SessionSettings;
  createdAt?: Date;
}

/** The session to write into `sessionDir`. */
export function buildSession(input: SessionInput, sessionDir: string): LensSession {
  return {
    format: SESSION_FORMAT,
    version: SESSION_VERSION,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    prompt: input.prompt?.prompt ?? '',
    ...(input.prompt !== undefined ? { origin: input.prompt.origin } : {}),
    model: { path: input.bundledModel ? '' : toSessionPath(input.modelDir, sessionDir), name: input.modelName },
    vectors: input.vectors.entries.map(
      (e): SessionVector => ({
        id: e.id,
        name: e.name,
        origin: e.origin,
        ref: e.origin === 'bundled' ? e.ref : toSessionPath(e.ref, sessionDir),
        source: e.source,
        target: e.target,
        enabled: e.enabled,
        layer: e.layer,
        strength: e.strength,
        positions: e.positions,
      }),
    ),
    settings: input.settings,
  };
}

/** A session's text, as written (stable key order, two-space indent, final newline). */
export function sessionText(session: LensSession): string {
  return `${JSON.stringify(session, null, 2)}\n`;
}

/** Thrown for a session file that cannot be used; the message names the file and what is wrong. */
export class SessionFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${path.basename(file)}: ${problem}`);
    this.name = 'SessionFileError';
  }
}

export interface ParsedSession {
  session: LensSession;
  /** The model folder (absolute), or undefined for the bundled model. */
  modelDir: string | undefined;
  /** The VectorState snapshot, file references absolute, ids recomputed for files (`file:<abs>`). */
  vectors: VectorStateSnapshot;
}

/** Parses and validates a session file's text; paths are resolved against the file's folder. */
export function parseSession(text: string, file: string): ParsedSession {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SessionFileError(file, `is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  const parsed = safeParse(lensSession, raw, 'session');
  if (!parsed.ok) throw new SessionFileError(file, `is not a valid Polyglot Lens session: ${parsed.error.message}.`);
  const session = parsed.value;
  const dir = path.dirname(path.resolve(file));
  return {
    session,
    modelDir: session.model.path === '' ? undefined : fromSessionPath(session.model.path, dir),
    vectors: {
      entries: session.vectors.map((v) => {
        if (v.origin === 'bundled') return { ...v };
        const ref = fromSessionPath(v.ref, dir);
        return { ...v, ref, id: `file:${ref}` };
      }),
    },
  };
}
