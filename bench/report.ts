/** Shared by the benchmarks: the measurement stamp, and writing one section of docs/BENCHMARKS.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const FILE = path.resolve(__dirname, '..', 'docs', 'BENCHMARKS.md');

/** `Measured YYYY-MM-DD HH:MM UTC.` */
export function measuredLine(): string {
  return `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`;
}

/** Replaces the section that starts with `heading` (`## …`) in docs/BENCHMARKS.md, or appends it. */
export function writeBenchmarkSection(heading: string, section: string): void {
  let doc = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# Benchmarks\n\nWritten by the scripts in `bench/` (see bench/README.md).\n\n';
  const start = doc.indexOf(heading);
  if (start >= 0) {
    const next = doc.indexOf('\n## ', start + 5);
    // A blank line before the next section, however the section ends.
    doc = doc.slice(0, start) + (next >= 0 ? section.trimEnd() + '\n\n' + doc.slice(next + 1) : section);
  } else doc = doc.trimEnd() + '\n\n' + section;
  writeFileSync(FILE, doc);
}
