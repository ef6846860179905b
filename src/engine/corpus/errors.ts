// Typed errors for corpus readers: each names the file and, where it applies, the 1-based line.

/** A corpus file is malformed or missing; the message says which file, which line, what was wrong and what to do. */
export class CorpusError extends Error {
  readonly code = 'CORPUS_INVALID';
  readonly file: string;
  /** 1-based line number, or null when the problem is not tied to a line. */
  readonly line: number | null;
  constructor(file: string, line: number | null, problem: string, remedy?: string) {
    super(`${file}${line === null ? '' : `:${line}`}: ${problem}${remedy ? ` ${remedy}` : ''}`);
    this.name = 'CorpusError';
    this.file = file;
    this.line = line;
  }
}
