/**
 * Finds the prompt under the cursor: selection > enclosing string literal > paragraph or line (setting).
 * Pure text functions (offsets in UTF-16 code units, as VS Code's `document.offsetAt` gives them) so the
 * rules are unit-tested without an editor.
 */

export type PromptKind = 'selection' | 'string' | 'paragraph' | 'line';
export type PromptScope = 'line' | 'paragraph';

export interface FoundPrompt {
  kind: PromptKind;
  text: string;
  /** Offsets of `text` in the document, end exclusive. */
  start: number;
  end: number;
}

export interface PromptQuery {
  /** Whole document text. */
  text: string;
  /** Selection anchor/active as offsets; equal when nothing is selected (then it is the cursor). */
  selectionStart: number;
  selectionEnd: number;
  scope: PromptScope;
}

/** The prompt for a cursor/selection, or undefined when there is nothing but whitespace there. */
export function findPrompt(query: PromptQuery): FoundPrompt | undefined {
  const { text, scope } = query;
  const start = Math.max(0, Math.min(query.selectionStart, query.selectionEnd));
  const end = Math.min(text.length, Math.max(query.selectionStart, query.selectionEnd));
  if (end > start) return trimmed('selection', text, start, end);

  const cursor = start;
  const line = lineBounds(text, cursor);
  const literal = enclosingStringLiteral(text.slice(line.start, line.end), cursor - line.start);
  if (literal !== undefined) {
    const found = trimmed('string', text, line.start + literal.start, line.start + literal.end);
    if (found !== undefined) return found;
  }
  if (scope === 'paragraph') {
    const para = paragraphBounds(text, cursor);
    return trimmed('paragraph', text, para.start, para.end);
  }
  return trimmed('line', text, line.start, line.end);
}

/** Trims surrounding whitespace (including the newline of a selected line); undefined if nothing is left. */
function trimmed(kind: PromptKind, text: string, start: number, end: number): FoundPrompt | undefined {
  while (start < end && /\s/.test(text[start] as string)) start++;
  while (end > start && /\s/.test(text[end - 1] as string)) end--;
  if (end <= start) return undefined;
  return { kind, text: text.slice(start, end), start, end };
}

/** Start and end (exclusive, before the line break) of the line containing `offset`. */
export function lineBounds(text: string, offset: number): { start: number; end: number } {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  let end = text.indexOf('\n', offset);
  if (end < 0) end = text.length;
  if (end > start && text[end - 1] === '\r') end--;
  return { start, end };
}

/** The block of non-blank lines around `offset` (a blank line alone is its own, empty, paragraph). */
export function paragraphBounds(text: string, offset: number): { start: number; end: number } {
  const isBlank = (b: { start: number; end: number }): boolean => text.slice(b.start, b.end).trim() === '';
  const here = lineBounds(text, offset);
  if (isBlank(here)) return here;
  let first = here;
  while (first.start > 0) {
    const prev = lineBounds(text, first.start - 1);
    if (isBlank(prev)) break;
    first = prev;
  }
  let last = here;
  for (;;) {
    const nextStart = text.indexOf('\n', last.end);
    if (nextStart < 0) break;
    const next = lineBounds(text, nextStart + 1);
    if (isBlank(next)) break;
    last = next;
  }
  return { start: first.start, end: last.end };
}

/**
 * The contents of the string literal on `line` that contains column `column`, if any.
 * Recognises "…", '…' and `…` with backslash escapes. A quote that is part of a word (don't, l'homme)
 * does not open a literal, so prose with apostrophes stays a line prompt.
 */
export function enclosingStringLiteral(line: string, column: number): { start: number; end: number } | undefined {
  let i = 0;
  while (i < line.length) {
    const ch = line[i] as string;
    if (ch === '"' || ch === "'" || ch === '`') {
      const prev = i > 0 ? (line[i - 1] as string) : '';
      if (ch === "'" && /[\p{L}\p{N}]/u.test(prev)) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < line.length && line[j] !== ch) j += line[j] === '\\' ? 2 : 1;
      if (j >= line.length) return undefined; // unterminated on this line
      // Cursor on either quote or anywhere between them counts as inside.
      if (column >= i && column <= j + 1) return { start: i + 1, end: j };
      i = j + 1;
      continue;
    }
    i++;
  }
  return undefined;
}
