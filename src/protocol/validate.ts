/**
 * Tiny runtime validators for protocol messages.
 *
 * Why hand-written: the protocol is a handful of flat messages, and this file is bundled into three
 * targets (extension host, engine worker, webview). A schema library would triple in size what these
 * ~100 lines do, and the declared TypeScript interfaces stay the single readable source of truth:
 * each validator is typed `Validator<ThatInterface>`, so the compiler rejects a validator that drifts.
 *
 * Validators return a fresh value containing only the declared fields (unknown keys are dropped), so
 * nothing unexpected travels further than the boundary where a message enters.
 */

/** Thrown when a message does not have the declared shape; `path` names the offending field. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ProtocolError';
  }
}

export type Validator<T> = (value: unknown, path: string) => T;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export const str: Validator<string> = (v, path) => {
  if (typeof v !== 'string') throw new ProtocolError(`expected string, got ${describe(v)}`, path);
  return v;
};

/** A finite number (NaN and Infinity are rejected: they do not survive JSON and signal a bug upstream). */
export const num: Validator<number> = (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(`expected finite number, got ${describe(v)}`, path);
  return v;
};

export const int: Validator<number> = (v, path) => {
  if (!Number.isSafeInteger(v)) throw new ProtocolError(`expected integer, got ${describe(v)}`, path);
  return v as number;
};

export const nonNegativeInt: Validator<number> = (v, path) => {
  const n = int(v, path);
  if (n < 0) throw new ProtocolError(`expected integer >= 0, got ${n}`, path);
  return n;
};

export const bool: Validator<boolean> = (v, path) => {
  if (typeof v !== 'boolean') throw new ProtocolError(`expected boolean, got ${describe(v)}`, path);
  return v;
};

export function literal<const L extends string | number>(...allowed: readonly L[]): Validator<L> {
  return (v, path) => {
    if (!allowed.includes(v as L)) throw new ProtocolError(`expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`, path);
    return v as L;
  };
}

export function arrayOf<T>(item: Validator<T>, maxLength = 1_000_000): Validator<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) throw new ProtocolError(`expected array, got ${describe(v)}`, path);
    if (v.length > maxLength) throw new ProtocolError(`array longer than ${maxLength}`, path);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
}

export function optional<T>(inner: Validator<T>): Validator<T | undefined> {
  return (v, path) => (v === undefined ? undefined : inner(v, path));
}

export function nullable<T>(inner: Validator<T>): Validator<T | null> {
  return (v, path) => (v === null ? null : inner(v, path));
}

type Shape = Record<string, Validator<unknown>>;
type FromShape<S extends Shape> = { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
  [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: ReturnType<S[K]>;
};

/** A plain object with exactly the fields of `shape` (extra fields are dropped, missing required ones rejected). */
export function object<S extends Shape>(shape: S): Validator<FromShape<S>> {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`expected object, got ${describe(v)}`, path);
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, validate] of Object.entries(shape)) {
      const value = validate(src[key], `${path}.${key}`);
      if (value !== undefined) out[key] = value;
    }
    return out as FromShape<S>;
  };
}

/**
 * A discriminated union: reads `value[key]` and hands the whole value to the validator registered for
 * that tag. The mapped type keeps the union exhaustive: every tag of `T` must have a validator.
 */
export function discriminated<T extends Record<K, string>, K extends string>(
  key: K,
  variants: { [Tag in T[K]]: Validator<Extract<T, Record<K, Tag>>> },
): Validator<T> {
  return (v, path) => {
    if (typeof v !== 'object' || v === null) throw new ProtocolError(`expected object, got ${describe(v)}`, path);
    const tag = (v as Record<string, unknown>)[key];
    if (typeof tag !== 'string' || !Object.prototype.hasOwnProperty.call(variants, tag)) {
      throw new ProtocolError(`unknown ${key} ${JSON.stringify(tag)}`, `${path}.${key}`);
    }
    return variants[tag as T[K]](v, path);
  };
}

/** Runs a validator and returns a result object instead of throwing (for message pumps that must not die). */
export function safeParse<T>(validate: Validator<T>, value: unknown, root = 'message'): { ok: true; value: T } | { ok: false; error: ProtocolError } {
  try {
    return { ok: true, value: validate(value, root) };
  } catch (err) {
    if (err instanceof ProtocolError) return { ok: false, error: err };
    throw err;
  }
}
