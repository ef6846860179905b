/**
 * Finds the prompt under the cursor: the selection, else the enclosing string literal in a code file, else
 * the paragraph in a text or markdown file, else the line. Pure text functions (offsets in UTF-16 code
 * units, as VS Code's `document.offsetAt` gives them) so the rules are unit-tested without an editor.
 *
 * String literals are found by scanning the document with a small lexer per language family (comments,
 * Python prefixes and triple quotes, f-string and template-literal interpolations, escapes), not with a
 * regular expression: a quote inside a comment, an `${…}` holding quotes, or a literal spanning lines would
 * fool one. No maintained package does this for many languages at once without pulling in a full parser
 * (tree-sitter grammars are megabytes each); the editor's own tokens are not available to extensions.
 */

export type PromptKind = 'selection' | 'string' | 'paragraph' | 'line';
/** `auto`: paragraph in prose files, line in code files (after string literals). */
export type PromptScope = 'auto' | 'line' | 'paragraph';
export type DocumentKind = 'code' | 'prose';

export interface FoundPrompt {
  kind: PromptKind;
  /** What the model gets: escapes resolved in string literals, markdown markers stripped. */
  text: string;
  /** Document offsets of the prompt's source range, end exclusive. */
  start: number;
  end: number;
  /**
   * Document offset of each UTF-16 unit of `text` (plus one entry for the end), present only when `text`
   * is not the verbatim slice `start..end` of the document. See {@link promptIndexAt}.
   */
  offsets?: number[];
}

export interface PromptQuery {
  /** Whole document text. */
  text: string;
  /** Selection anchor/active as offsets; equal when nothing is selected (then it is the cursor). */
  selectionStart: number;
  selectionEnd: number;
  /** The `polyglotLens.promptScope` setting; default `auto`. */
  scope?: PromptScope;
  /**
   * VS Code's language id of the document (`plaintext`, `markdown`, `python`, `typescript`, …). Without it
   * string literals are guessed on the cursor's line alone and `auto` means the line.
   */
  languageId?: string;
}

/** Language ids whose documents are prose: the paragraph is the prompt, quotes are quotations. */
const PROSE_LANGUAGES = new Set(['plaintext', 'markdown', 'restructuredtext', 'asciidoc', 'latex', 'tex', 'git-commit', 'scminput', 'org', 'textile']);

/** Whether a document of `languageId` is prose (paragraph prompts) or code (string-literal prompts). */
export function documentKind(languageId: string): DocumentKind {
  return PROSE_LANGUAGES.has(languageId) ? 'prose' : 'code';
}

/** The prompt for a cursor/selection, or undefined when there is nothing but whitespace there. */
export function findPrompt(query: PromptQuery): FoundPrompt | undefined {
  const { text } = query;
  const scope = query.scope ?? 'auto';
  const start = Math.max(0, Math.min(query.selectionStart, query.selectionEnd));
  const end = Math.min(text.length, Math.max(query.selectionStart, query.selectionEnd));
  if (end > start) return trimmed('selection', text, start, end);

  const cursor = start;
  const line = lineBounds(text, cursor);
  const languageId = query.languageId;

  if (languageId === undefined) {
    const literal = enclosingStringLiteral(text.slice(line.start, line.end), cursor - line.start);
    if (literal !== undefined) {
      const found = trimmed('string', text, line.start + literal.start, line.start + literal.end);
      if (found !== undefined) return found;
    }
    if (scope === 'paragraph') return trimmed('paragraph', text, ...bounds(paragraphBounds(text, cursor)));
    return trimmed('line', text, line.start, line.end);
  }

  if (languageId === 'markdown') {
    const fence = fencedCodeBlock(text, cursor);
    if (fence !== undefined) {
      // A fenced code block is code in the fence's language: its string literals, else the line.
      const literal = findStringLiteral(text.slice(fence.start, fence.end), cursor - fence.start, fence.languageId);
      const found = literal !== undefined ? literalPrompt(text, literal, fence.start) : undefined;
      return found ?? trimmed('line', text, line.start, line.end);
    }
  }

  if (documentKind(languageId) === 'code') {
    const literal = findStringLiteral(text, cursor, languageId);
    const found = literal !== undefined ? literalPrompt(text, literal, 0) : undefined;
    if (found !== undefined) return found;
    if (scope === 'paragraph') return trimmed('paragraph', text, ...bounds(paragraphBounds(text, cursor)));
    return trimmed('line', text, line.start, line.end);
  }

  // Prose.
  const markdown = languageId === 'markdown';
  if (scope === 'line') return markdown ? strippedMarkdown('line', text, [line]) : trimmed('line', text, line.start, line.end);
  if (!markdown) return trimmed('paragraph', text, ...bounds(paragraphBounds(text, cursor)));
  return strippedMarkdown('paragraph', text, markdownBlockLines(text, cursor));
}

/**
 * Index into `found.text` of the character at document offset `offset`, or undefined when `offset` is
 * outside the prompt (or on a character that was stripped, such as a markdown list marker).
 */
export function promptIndexAt(found: FoundPrompt, offset: number): number | undefined {
  if (offset < found.start || offset >= found.end) return undefined;
  const offsets = found.offsets;
  if (offsets === undefined) return offset - found.start;
  // Last prompt unit whose source starts at or before `offset` (offsets is non-decreasing).
  let lo = 0;
  let hi = found.text.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((offsets[mid] as number) <= offset) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) return undefined;
  // Inside the source of unit `best` (an escape such as `\n` is two source units for one prompt unit)?
  const next = offsets[best + 1] as number;
  return offset < Math.max(next, (offsets[best] as number) + 1) ? best : undefined;
}

function bounds(b: { start: number; end: number }): [number, number] {
  return [b.start, b.end];
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
 * The contents of the string literal on `line` that contains column `column`, if any: the fallback for
 * documents of unknown language. Recognises "…", '…' and `…` with backslash escapes. A quote that is part
 * of a word (don't, l'homme) does not open a literal, so prose with apostrophes stays a line prompt.
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

// ---- string literals in code -------------------------------------------------------------------------

/** How a literal's escapes read: C/JS backslash escapes, Python's (the same set), or none (raw strings). */
type EscapeStyle = 'backslash' | 'none';

export interface StringLiteral {
  /** Offset of the opening quote (after any prefix such as `f` or `r`). */
  open: number;
  /** Content bounds, end exclusive (the closing quote is at `contentEnd`). */
  contentStart: number;
  contentEnd: number;
  /** Offset just after the closing quote. */
  close: number;
  escapes: EscapeStyle;
}

/** How a language family writes comments and strings. */
interface Syntax {
  lineComments: readonly string[];
  blockComments: readonly (readonly [string, string])[];
  /** Python: string prefixes (r, b, u, f and pairs), triple quotes, f-string `{…}` fields. */
  python?: boolean;
  /** JavaScript/TypeScript: backtick template literals with `${…}` fields, spanning lines. */
  templates?: boolean;
  /** Go: backtick raw strings spanning lines. */
  backtickRaw?: boolean;
  /** Rust: `'` opens a char literal only when one closes right after (otherwise it is a lifetime); r"…"/r#"…"# raw strings. */
  rust?: boolean;
  /** Single quotes open strings (false for JSON). */
  singleQuotes: boolean;
}

const C_LIKE: Syntax = { lineComments: ['//'], blockComments: [['/*', '*/']], singleQuotes: true };
const HASH: Syntax = { lineComments: ['#'], blockComments: [], singleQuotes: true };
const SYNTAX_BY_LANGUAGE: Record<string, Syntax> = {
  python: { lineComments: ['#'], blockComments: [], python: true, singleQuotes: true },
  javascript: { ...C_LIKE, templates: true },
  javascriptreact: { ...C_LIKE, templates: true },
  typescript: { ...C_LIKE, templates: true },
  typescriptreact: { ...C_LIKE, templates: true },
  vue: { ...C_LIKE, templates: true },
  svelte: { ...C_LIKE, templates: true },
  go: { ...C_LIKE, backtickRaw: true },
  rust: { ...C_LIKE, rust: true },
  c: C_LIKE,
  cpp: C_LIKE,
  csharp: C_LIKE,
  java: C_LIKE,
  kotlin: C_LIKE,
  scala: C_LIKE,
  swift: C_LIKE,
  dart: C_LIKE,
  php: { ...C_LIKE, lineComments: ['//', '#'] },
  'objective-c': C_LIKE,
  json: { lineComments: [], blockComments: [], singleQuotes: false },
  jsonc: { lineComments: ['//'], blockComments: [['/*', '*/']], singleQuotes: false },
  shellscript: HASH,
  ruby: HASH,
  perl: HASH,
  r: HASH,
  yaml: HASH,
  toml: HASH,
  powershell: HASH,
  makefile: HASH,
  dockerfile: HASH,
  julia: HASH,
  elixir: HASH,
  lua: { lineComments: ['--'], blockComments: [], singleQuotes: true },
  sql: { lineComments: ['--'], blockComments: [['/*', '*/']], singleQuotes: true },
};

/** Documents longer than this are not lexed from the top (the line heuristic is used instead). */
const MAX_LEXED_CHARS = 2_000_000;

/**
 * The string literal of a `languageId` document that contains `offset` (either quote included), if any.
 * Languages without a lexer here fall back to {@link enclosingStringLiteral} on the offset's line.
 */
export function findStringLiteral(text: string, offset: number, languageId: string): StringLiteral | undefined {
  const syntax = SYNTAX_BY_LANGUAGE[languageId];
  if (syntax === undefined || text.length > MAX_LEXED_CHARS) {
    const line = lineBounds(text, offset);
    const lit = enclosingStringLiteral(text.slice(line.start, line.end), offset - line.start);
    if (lit === undefined) return undefined;
    return { open: line.start + lit.start - 1, contentStart: line.start + lit.start, contentEnd: line.start + lit.end, close: line.start + lit.end + 1, escapes: 'backslash' };
  }
  return new Lexer(text, syntax).enclosing(offset);
}

class Lexer {
  constructor(
    private readonly text: string,
    private readonly syntax: Syntax,
  ) {}

  /** Scans top-level code from the start; returns the literal around `offset`, stopping once past it. */
  enclosing(offset: number): StringLiteral | undefined {
    let i = 0;
    while (i <= offset && i < this.text.length) {
      const skipped = this.skipComment(i);
      if (skipped !== i) {
        i = skipped;
        continue;
      }
      const lit = this.literalAt(i);
      if (lit !== undefined) {
        if (lit === 'unterminated') {
          i = lineBounds(this.text, i).end + 1;
          continue;
        }
        if (offset >= lit.open && offset <= lit.close) return lit;
        i = lit.close;
        continue;
      }
      i++;
    }
    return undefined;
  }

  /** Past the comment starting at `i`, or `i` itself. */
  private skipComment(i: number): number {
    const t = this.text;
    for (const c of this.syntax.lineComments) {
      if (t.startsWith(c, i)) {
        const nl = t.indexOf('\n', i);
        return nl < 0 ? t.length : nl;
      }
    }
    for (const [open, close] of this.syntax.blockComments) {
      if (t.startsWith(open, i)) {
        const end = t.indexOf(close, i + open.length);
        return end < 0 ? t.length : end + close.length;
      }
    }
    return i;
  }

  /** The literal starting at `i` (a prefix, then a quote), 'unterminated', or undefined when none starts there. */
  private literalAt(i: number): StringLiteral | 'unterminated' | undefined {
    const t = this.text;
    const s = this.syntax;
    const ch = t[i] as string;
    const prev = i > 0 ? (t[i - 1] as string) : '';
    const startsWord = !/[\p{L}\p{N}_$]/u.test(prev);
    if (s.python && startsWord) {
      const m = /^([rRbBuUfF]{0,2})("""|'''|"|')/.exec(t.slice(i, i + 5));
      if (m !== null && /^(?:[rR]?[bBfF]?|[bBfF]?[rR]?|[uU])$/.test(m[1] as string)) {
        const prefix = (m[1] as string).toLowerCase();
        const quote = m[2] as string;
        return this.quoted(i + prefix.length, quote, { multiline: quote.length === 3, escapes: prefix.includes('r') ? 'none' : 'backslash', fields: prefix.includes('f') ? 'python' : 'none' });
      }
      return undefined;
    }
    if (s.rust && startsWord && ch === 'r') {
      const m = /^r(#*)"/.exec(t.slice(i, i + 260));
      if (m !== null) {
        const hashes = m[1] as string;
        const open = i + 1 + hashes.length;
        const end = t.indexOf(`"${hashes}`, open + 1);
        if (end < 0) return 'unterminated';
        return { open, contentStart: open + 1, contentEnd: end, close: end + 1 + hashes.length, escapes: 'none' };
      }
    }
    if (ch === '`' && s.templates) return this.quoted(i, '`', { multiline: true, escapes: 'backslash', fields: 'template' });
    if (ch === '`' && s.backtickRaw) {
      const end = t.indexOf('`', i + 1);
      if (end < 0) return 'unterminated';
      return { open: i, contentStart: i + 1, contentEnd: end, close: end + 1, escapes: 'none' };
    }
    if (ch === '"' || (ch === "'" && s.singleQuotes)) {
      if (ch === "'" && s.rust && !/^'(?:\\.[^']{0,8}|[^'\\])'/u.test(t.slice(i, i + 12))) return undefined; // a lifetime
      return this.quoted(i, ch, { multiline: false, escapes: 'backslash', fields: 'none' });
    }
    return undefined;
  }

  /**
   * The literal opened by `quote` at `open`, up to the same quote: '…' and "…" end at their line's end (a
   * backslash before the newline continues them), Python's triple quotes and JS templates do not. A backslash
   * always skips the next character (in raw Python strings too: r"\"" is a backslash and a quote). Fields
   * (f-string `{…}`, template `${…}`) may hold strings, templates and braces of their own and are skipped whole.
   */
  private quoted(open: number, quote: string, o: { multiline: boolean; escapes: EscapeStyle; fields: 'none' | 'python' | 'template' }): StringLiteral | 'unterminated' {
    const t = this.text;
    const contentStart = open + quote.length;
    let j = contentStart;
    while (j < t.length) {
      const c = t[j];
      if (c === '\\') {
        j += 2;
        continue;
      }
      if (t.startsWith(quote, j)) return { open, contentStart, contentEnd: j, close: j + quote.length, escapes: o.escapes };
      if (c === '\n' && !o.multiline) return 'unterminated';
      if (o.fields === 'python' && c === '{' && t[j + 1] === '{') {
        j += 2; // `{{` is a literal brace
        continue;
      }
      // Where a field's body starts: after `{` in a Python f-string, after `${` in a JS template.
      const field = o.fields === 'python' && c === '{' ? j + 1 : o.fields === 'template' && c === '$' && t[j + 1] === '{' ? j + 2 : undefined;
      if (field !== undefined) {
        const end = this.skipField(field);
        if (end === undefined) return 'unterminated';
        j = end;
        continue;
      }
      j++;
    }
    return 'unterminated';
  }

  /** From just inside an interpolation's `{` to just past its matching `}` (nested literals skipped whole). */
  private skipField(from: number): number | undefined {
    const t = this.text;
    let depth = 1;
    let j = from;
    while (j < t.length) {
      const skipped = this.skipComment(j);
      if (skipped !== j) {
        j = skipped;
        continue;
      }
      const lit = this.literalAt(j);
      if (lit === 'unterminated') return undefined;
      if (lit !== undefined) {
        j = lit.close;
        continue;
      }
      const c = t[j];
      if (c === '{') depth++;
      else if (c === '}' && --depth === 0) return j + 1;
      j++;
    }
    return undefined;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f', v: '\v' };

/**
 * The literal's content as the program sees it (escapes resolved; `${…}` and `{…}` fields kept as written),
 * with the document offset of each resulting unit, then trimmed.
 */
function literalPrompt(doc: string, lit: StringLiteral, base: number): FoundPrompt | undefined {
  const src = doc.slice(base + lit.contentStart, base + lit.contentEnd);
  const out: string[] = [];
  const offsets: number[] = [];
  const at0 = base + lit.contentStart;
  const push = (s: string, at: number): void => {
    for (let k = 0; k < s.length; k++) {
      out.push(s[k] as string);
      offsets.push(at);
    }
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c !== '\\' || lit.escapes === 'none' || i + 1 >= src.length) {
      push(c, at0 + i);
      i++;
      continue;
    }
    const e = src[i + 1] as string;
    if (e === '\n') {
      i += 2; // line continuation
      continue;
    }
    if (e === '\r' && src[i + 2] === '\n') {
      i += 3;
      continue;
    }
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined && !(e === '0' && /[0-9]/.test(src[i + 2] ?? ''))) {
      push(simple, at0 + i);
      i += 2;
      continue;
    }
    const hex = e === 'x' ? /^[0-9a-fA-F]{2}/.exec(src.slice(i + 2)) : e === 'u' ? /^(?:[0-9a-fA-F]{4}|\{[0-9a-fA-F]{1,6}\})/.exec(src.slice(i + 2)) : e === 'U' ? /^[0-9a-fA-F]{8}/.exec(src.slice(i + 2)) : null;
    if (hex !== null) {
      const cp = parseInt(hex[0].replace(/[{}]/g, ''), 16);
      if (cp <= 0x10ffff) {
        push(String.fromCodePoint(cp), at0 + i);
        i += 2 + hex[0].length;
        continue;
      }
    }
    if (/["'`\\$?{}/]/.test(e)) {
      push(e, at0 + i);
      i += 2;
      continue;
    }
    // Unknown escape: kept as written (Python keeps the backslash; JS would drop it, a rare difference).
    push(c, at0 + i);
    i++;
  }
  return trimmedMapped('string', out.join(''), offsets, base + lit.contentEnd);
}

/** Trims a mapped prompt; `end` is the document offset after its last source unit. */
function trimmedMapped(kind: PromptKind, text: string, offsets: number[], end: number): FoundPrompt | undefined {
  let a = 0;
  let b = text.length;
  while (a < b && /\s/.test(text[a] as string)) a++;
  while (b > a && /\s/.test(text[b - 1] as string)) b--;
  if (b <= a) return undefined;
  const kept = offsets.slice(a, b);
  const endOffset = b < offsets.length ? (offsets[b] as number) : end;
  const start = kept[0] as number;
  const out = text.slice(a, b);
  // A verbatim slice needs no map.
  const verbatim = endOffset - start === out.length && kept.every((o, k) => o === start + k);
  return verbatim ? { kind, text: out, start, end: endOffset } : { kind, text: out, start, end: endOffset, offsets: [...kept, endOffset] };
}

// ---- markdown -----------------------------------------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}#{1,6}(?:[ \t]+|$)/;
const LIST_ITEM = /^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+\[[ xX]\])?(?:[ \t]+|$)/;
const QUOTE = /^ {0,3}(?:>[ \t]?)+/;
const THEMATIC_BREAK = /^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;

/** Markdown fence info strings that name a VS Code language id differently. */
const FENCE_LANGUAGES: Record<string, string> = { py: 'python', js: 'javascript', ts: 'typescript', sh: 'shellscript', bash: 'shellscript', rs: 'rust', yml: 'yaml', 'c++': 'cpp', 'c#': 'csharp', cs: 'csharp' };

/** The content lines of the fenced code block around `offset` (fences excluded), with its language id. */
function fencedCodeBlock(text: string, offset: number): { start: number; end: number; languageId: string } | undefined {
  let open: { fence: string; lang: string; contentStart: number } | undefined;
  let pos = 0;
  while (pos <= text.length) {
    const line = lineBounds(text, pos);
    const content = text.slice(line.start, line.end);
    const m = FENCE.exec(content);
    if (open === undefined) {
      if (m !== null) {
        if (offset >= line.start && offset <= line.end) return undefined; // on the fence itself
        open = { fence: m[1] as string, lang: (m[2] ?? '').toLowerCase(), contentStart: Math.min(text.length, line.end + 1) };
      } else if (line.start > offset) return undefined;
    } else if (m !== null && (m[1] as string)[0] === open.fence[0] && (m[1] as string).length >= open.fence.length && content.trim() === m[1]) {
      if (offset >= open.contentStart && offset < line.start) return { start: open.contentStart, end: line.start, languageId: FENCE_LANGUAGES[open.lang] ?? open.lang };
      if (offset >= line.start && offset <= line.end) return undefined;
      open = undefined;
    }
    const next = text.indexOf('\n', line.end);
    if (next < 0) break;
    pos = next + 1;
  }
  if (open !== undefined && offset >= open.contentStart) return { start: open.contentStart, end: text.length, languageId: FENCE_LANGUAGES[open.lang] ?? open.lang };
  return undefined;
}

type Line = { start: number; end: number };

/**
 * The lines of the markdown block around `offset`: a heading is a block of its own, a list item starts a
 * block (its continuation lines belong to it), blank lines, fences and thematic breaks end one.
 */
function markdownBlockLines(text: string, offset: number): Line[] {
  const here = lineBounds(text, offset);
  const content = (b: Line): string => text.slice(b.start, b.end);
  const isBreak = (b: Line): boolean => content(b).trim() === '' || FENCE.test(content(b)) || THEMATIC_BREAK.test(content(b)) || HEADING.test(content(b));
  if (FENCE.test(content(here)) || THEMATIC_BREAK.test(content(here))) return [];
  if (isBreak(here)) return [here];
  const lines: Line[] = [here];
  let first = here;
  while (!LIST_ITEM.test(content(first)) && first.start > 0) {
    const prev = lineBounds(text, first.start - 1);
    if (isBreak(prev)) break;
    lines.unshift(prev);
    first = prev;
  }
  let last = here;
  for (;;) {
    const nl = text.indexOf('\n', last.end);
    if (nl < 0) break;
    const next = lineBounds(text, nl + 1);
    if (isBreak(next) || LIST_ITEM.test(content(next))) break;
    lines.push(next);
    last = next;
  }
  return lines;
}

/** The lines' text without heading, list, task and quote markers or indents, joined by newlines; mapped to the document. */
function strippedMarkdown(kind: PromptKind, text: string, lines: Line[]): FoundPrompt | undefined {
  if (lines.length === 0) return undefined;
  const out: string[] = [];
  const offsets: number[] = [];
  lines.forEach((line, n) => {
    let from = line.start;
    const content = text.slice(line.start, line.end);
    const marker = QUOTE.exec(content)?.[0] ?? '';
    from += marker.length;
    const rest = text.slice(from, line.end);
    from += (HEADING.exec(rest)?.[0] ?? LIST_ITEM.exec(rest)?.[0] ?? '').length;
    while (from < line.end && (text[from] === ' ' || text[from] === '\t')) from++; // continuation indents
    let to = line.end;
    if (HEADING.test(rest)) to = from + text.slice(from, line.end).replace(/[ \t]+#+[ \t]*$/, '').length; // closing #s
    if (n > 0) {
      out.push('\n');
      offsets.push(line.start - 1);
    }
    for (let k = from; k < to; k++) {
      out.push(text[k] as string);
      offsets.push(k);
    }
  });
  const last = lines[lines.length - 1] as Line;
  return trimmedMapped(kind, out.join(''), offsets, last.end);
}
