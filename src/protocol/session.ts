/**
 * A saved session (`<name>.polyglot.json`): the prompt, the model, which steering vectors were on and how,
 * and the generation settings it was run with. Written by Save Session…, read back (and validated here,
 * where it enters) by Open Session….
 *
 * Paths are stored relative to the session file's folder when they are inside it (so a session committed to
 * a repository works in another checkout) and absolute otherwise; an empty model path is the bundled model.
 */
import { STEER_POSITIONS, type SteerPositions } from './engine';
import { arrayOf, bool, int, literal, nonNegativeInt, num, object, optional, ProtocolError, str, type Validator } from './validate';
import type { PromptOrigin } from './webview';

export const SESSION_FORMAT = 'polyglot-lens/session';
export const SESSION_VERSION = 1;
/** Session files end with this (the Explorer menu and the file picker look for it). */
export const SESSION_SUFFIX = '.polyglot.json';

/** One vector of the session: the VectorState snapshot entry, its file reference relative where possible. */
export interface SessionVector {
  id: string;
  name: string;
  origin: 'bundled' | 'workspace' | 'computed';
  /** A bundled vector name, or the vector file (relative to the session's folder, or absolute). */
  ref: string;
  source: string;
  target: string;
  enabled: boolean;
  layer: number;
  strength: number;
  positions: SteerPositions;
}

/** The settings the prompt was run with. */
export interface SessionSettings {
  topK: number;
  maxNewTokens: number;
  temperature: number;
  seed: number;
}

export interface LensSession {
  format: typeof SESSION_FORMAT;
  version: typeof SESSION_VERSION;
  /** ISO 8601. */
  createdAt: string;
  /** '' when no prompt was shown. */
  prompt: string;
  origin?: PromptOrigin;
  model: {
    /** '' = the bundled demo model; else the folder, relative to the session's folder where it is inside it. */
    path: string;
    /** For people reading the file and for messages. */
    name: string;
  };
  vectors: SessionVector[];
  settings: SessionSettings;
}

const MAX_SESSION_VECTORS = 1000;

const sessionVector: Validator<SessionVector> = (v, path) => {
  const r = object({
    id: str,
    name: str,
    origin: literal('bundled', 'workspace', 'computed'),
    ref: str,
    source: str,
    target: str,
    enabled: bool,
    layer: nonNegativeInt,
    strength: num,
    positions: literal(...STEER_POSITIONS),
  })(v, path);
  if (r.ref.trim() === '') throw new ProtocolError('empty vector reference', `${path}.ref`);
  if (Math.abs(r.strength) > 1000) throw new ProtocolError(`strength must be within -1000..1000, got ${r.strength}`, `${path}.strength`);
  return r;
};

const promptOrigin: Validator<PromptOrigin> = object({ kind: literal('selection', 'string', 'paragraph', 'line'), fileName: str, line: nonNegativeInt });

const isoDate: Validator<string> = (v, path) => {
  const s = str(v, path);
  if (Number.isNaN(Date.parse(s))) throw new ProtocolError(`expected an ISO 8601 date, got ${JSON.stringify(s)}`, path);
  return s;
};

/** Validates a parsed session file; the error names the offending field (e.g. `session.vectors[2].layer`). */
export const lensSession: Validator<LensSession> = (v, path) => {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const format = (v as Record<string, unknown>)['format'];
    if (format !== SESSION_FORMAT) throw new ProtocolError(`not a Polyglot Lens session (format ${JSON.stringify(format)}, expected ${JSON.stringify(SESSION_FORMAT)})`, `${path}.format`);
    const version = (v as Record<string, unknown>)['version'];
    if (typeof version === 'number' && version > SESSION_VERSION) throw new ProtocolError(`version ${version} was written by a newer Polyglot Lens; this one reads version ${SESSION_VERSION}`, `${path}.version`);
  }
  return object({
    format: literal(SESSION_FORMAT),
    version: literal(SESSION_VERSION),
    createdAt: isoDate,
    prompt: str,
    origin: optional(promptOrigin),
    model: object({ path: str, name: str }),
    vectors: arrayOf(sessionVector, MAX_SESSION_VECTORS),
    settings: object({ topK: int, maxNewTokens: nonNegativeInt, temperature: num, seed: nonNegativeInt }),
  })(v, path);
};
