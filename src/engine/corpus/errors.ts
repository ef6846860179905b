// Typed errors for corpus readers (each names the file and, where it applies, the 1-based line), and the file read
// that turns a missing or unreadable file into one.
import { promises as fs } from 'node:fs';

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

/** Reads a corpus file as UTF-8; a missing or unreadable file is a CorpusError that says so. */
export async function readCorpusFile(filePath: string): Promise<string> {
  try {
    return await fs.readFile(filePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CorpusError(filePath, null, code === 'ENOENT' ? 'does not exist.' : `cannot be read (${code ?? String(err)}).`, 'Check the path.');
  }
}
