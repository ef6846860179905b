// Parallel corpora from TSV and JSONL. Schemas (also in README.md in this folder):
//
// TSV — UTF-8, one row per line, fields separated by a tab, no quoting (a field cannot contain a tab or a
// newline), blank lines ignored, a BOM ignored. Line 1 is a header, one of:
//   (a) language codes, one per column, e.g. `en<TAB>fr` or `en<TAB>fr<TAB>de` (multi-way), plus an optional `id` column;
//   (b) `source<TAB>target`, optionally with `source_lang<TAB>target_lang` columns and an `id` column; without
//       language columns the languages come from the caller's options.
// JSONL — UTF-8, one JSON object per line, blank lines ignored. Each object is either
//   (a) `{"en": "...", "fr": "..."}` (language codes as keys, string values; optional "id"), or
//   (b) `{"source": "...", "target": "...", "source_lang": "fr", "target_lang": "en"}` (languages may come from options).
// Every error names the file and the 1-based line.

import { CorpusError, readCorpusFile } from './errors.js';
import { normalizeLanguageCode } from './languages.js';

/** One aligned row: the same content in several languages (code → text). */
export interface ParallelRow {
  texts: Record<string, string>;
  /** Stable identifier (the file's `id` field, or `<file>:<line>`). */
  id: string;
  /** 1-based line in the source file (0 for generated corpora such as the UDHR). */
  line: number;
}

/** A parallel corpus: rows aligned across `languages` (a row may lack some languages). */
export interface ParallelCorpus {
  /** File path or bundled-set name, for messages. */
  name: string;
  /** Every language present in at least one row, in first-seen order. */
  languages: string[];
  rows: ParallelRow[];
}

/** A source/target pair for extraction and evaluation. */
export interface ParallelPair {
  source: string;
  target: string;
  sourceLang: string;
  targetLang: string;
  id: string;
}

/** Languages for `source/target` files that have no language columns or keys. */
export interface ParallelReadOptions {
  sourceLang?: string;
  targetLang?: string;
}

function langOrFail(code: string, file: string, line: number, what: string): string {
  const n = normalizeLanguageCode(code);
  if (n === null) {
    throw new CorpusError(file, line, `${what} ${JSON.stringify(code)} is not a language code.`, 'Use ISO 639-1 codes such as en, fr, zh.');
  }
  return n;
}

function optionLang(o: string | undefined, file: string, what: string): string | undefined {
  if (o === undefined || o === '') return undefined;
  const n = normalizeLanguageCode(o);
  if (n === null) throw new CorpusError(file, null, `option ${what} ${JSON.stringify(o)} is not a language code.`, 'Use ISO 639-1 codes such as en, fr, zh.');
  return n;
}

function collectLanguages(rows: readonly ParallelRow[]): string[] {
  const seen: string[] = [];
  for (const r of rows) for (const l of Object.keys(r.texts)) if (!seen.includes(l)) seen.push(l);
  return seen;
}

function splitLines(text: string): string[] {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
}

/** Parses TSV text (schema in this file's header comment); `file` is used in error messages. */
export function parseParallelTsv(text: string, file: string, options: ParallelReadOptions = {}): ParallelCorpus {
  const lines = splitLines(text);
  const headerLine = lines[0] ?? '';
  if (headerLine.trim() === '') {
    throw new CorpusError(file, 1, 'the first line must be a header naming the columns.', 'Start the file with e.g. `en<TAB>fr` or `source<TAB>target`.');
  }
  const header = headerLine.split('\t').map((h) => h.trim());
  const lower = header.map((h) => h.toLowerCase());
  const dup = lower.find((h, i) => lower.indexOf(h) !== i);
  if (dup !== undefined) throw new CorpusError(file, 1, `header names column ${JSON.stringify(dup)} twice.`);
  const idCol = lower.indexOf('id');
  const isSourceTarget = lower.includes('source') || lower.includes('target');
  const rows: ParallelRow[] = [];
  if (isSourceTarget) {
    const si = lower.indexOf('source');
    const ti = lower.indexOf('target');
    if (si < 0 || ti < 0) throw new CorpusError(file, 1, 'header has only one of `source` and `target`.', 'Name both columns.');
    const sli = lower.indexOf('source_lang');
    const tli = lower.indexOf('target_lang');
    const unknown = lower.filter((h) => !['source', 'target', 'source_lang', 'target_lang', 'id'].includes(h));
    if (unknown.length) throw new CorpusError(file, 1, `unknown header column(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')} in a source/target file.`, 'Allowed: source, target, source_lang, target_lang, id.');
    const optS = optionLang(options.sourceLang, file, 'sourceLang');
    const optT = optionLang(options.targetLang, file, 'targetLang');
    if ((sli < 0 && !optS) || (tli < 0 && !optT)) {
      throw new CorpusError(file, 1, 'a source/target file needs the languages: the header has no source_lang/target_lang columns and none were given.', 'Add those columns, use language codes as the header (e.g. `fr<TAB>en`), or pass --source-lang/--target-lang.');
    }
    for (let i = 1; i < lines.length; i++) {
      const raw = lines[i]!;
      if (raw.trim() === '') continue;
      const fields = raw.split('\t');
      const lineNo = i + 1;
      if (fields.length !== header.length) {
        throw new CorpusError(file, lineNo, `has ${fields.length} tab-separated fields but the header has ${header.length}.`, 'Fields cannot contain tabs; check for a missing or extra tab.');
      }
      const s = fields[si]!.trim();
      const t = fields[ti]!.trim();
      if (!s || !t) throw new CorpusError(file, lineNo, `the ${!s ? 'source' : 'target'} text is empty.`, 'Remove the row or fill it in.');
      const sl = sli >= 0 ? langOrFail(fields[sli]!.trim(), file, lineNo, 'source_lang') : optS!;
      const tl = tli >= 0 ? langOrFail(fields[tli]!.trim(), file, lineNo, 'target_lang') : optT!;
      if (sl === tl) throw new CorpusError(file, lineNo, `source and target are both ${sl}.`, 'A parallel pair needs two different languages.');
      rows.push({ texts: { [sl]: s, [tl]: t }, id: idCol >= 0 && fields[idCol]!.trim() ? fields[idCol]!.trim() : `${file}:${lineNo}`, line: lineNo });
    }
  } else {
    const langCols: Array<[number, string]> = [];
    header.forEach((h, i) => {
      if (i === idCol) return;
      const n = normalizeLanguageCode(h);
      if (n === null) {
        throw new CorpusError(file, 1, `header column ${JSON.stringify(h)} is neither a language code nor source/target/id.`, 'Use language codes (e.g. `en<TAB>fr`) or `source<TAB>target`.');
      }
      if (langCols.some(([, l]) => l === n)) throw new CorpusError(file, 1, `header names language ${n} twice (${JSON.stringify(h)}).`);
      langCols.push([i, n]);
    });
    if (langCols.length < 2) throw new CorpusError(file, 1, 'header names fewer than two languages.', 'A parallel file needs at least two language columns, e.g. `en<TAB>fr`.');
    for (let i = 1; i < lines.length; i++) {
      const raw = lines[i]!;
      if (raw.trim() === '') continue;
      const fields = raw.split('\t');
      const lineNo = i + 1;
      if (fields.length !== header.length) {
        throw new CorpusError(file, lineNo, `has ${fields.length} tab-separated fields but the header has ${header.length}.`, 'Fields cannot contain tabs; check for a missing or extra tab.');
      }
      const texts: Record<string, string> = {};
      for (const [col, lang] of langCols) {
        const t = fields[col]!.trim();
        if (t) texts[lang] = t;
      }
      if (Object.keys(texts).length < 2) throw new CorpusError(file, lineNo, 'has text in fewer than two languages.', 'Fill in at least two columns or remove the row.');
      rows.push({ texts, id: idCol >= 0 && fields[idCol]!.trim() ? fields[idCol]!.trim() : `${file}:${lineNo}`, line: lineNo });
    }
  }
  if (rows.length === 0) throw new CorpusError(file, null, 'has a header but no rows.', 'Add at least one aligned row.');
  return { name: file, languages: collectLanguages(rows), rows };
}

/** Descriptive fields of multi-way rows that are not languages (e.g. the demo model's `campaign`); ignored. */
const METADATA_KEYS: ReadonlySet<string> = new Set(['campaign', 'domain', 'split', 'source_name']);

/** Parses JSONL text (schema in this file's header comment); `file` is used in error messages. */
export function parseParallelJsonl(text: string, file: string, options: ParallelReadOptions = {}): ParallelCorpus {
  const lines = splitLines(text);
  const optS = optionLang(options.sourceLang, file, 'sourceLang');
  const optT = optionLang(options.targetLang, file, 'targetLang');
  const rows: ParallelRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      throw new CorpusError(file, lineNo, `is not valid JSON (${err instanceof Error ? err.message : String(err)}).`, 'Each line must be one JSON object.');
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new CorpusError(file, lineNo, 'is not a JSON object.', 'Each line must be an object such as {"en": "...", "fr": "..."}.');
    }
    const o = obj as Record<string, unknown>;
    const str = (key: string): string | undefined => {
      const v = o[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw new CorpusError(file, lineNo, `field ${JSON.stringify(key)} is a ${Array.isArray(v) ? 'array' : typeof v}, expected a string.`);
      return v;
    };
    const rawId = o['id'];
    const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : `${file}:${lineNo}`;
    if ('source' in o || 'target' in o) {
      const s = str('source')?.trim();
      const t = str('target')?.trim();
      if (!s || !t) throw new CorpusError(file, lineNo, `the ${!s ? 'source' : 'target'} text is missing or empty.`);
      const slRaw = str('source_lang');
      const tlRaw = str('target_lang');
      const sl = slRaw !== undefined ? langOrFail(slRaw, file, lineNo, 'source_lang') : optS;
      const tl = tlRaw !== undefined ? langOrFail(tlRaw, file, lineNo, 'target_lang') : optT;
      if (!sl || !tl) {
        throw new CorpusError(file, lineNo, `has no ${!sl ? 'source_lang' : 'target_lang'} and none was given.`, 'Add "source_lang"/"target_lang" fields, or pass --source-lang/--target-lang.');
      }
      if (sl === tl) throw new CorpusError(file, lineNo, `source and target are both ${sl}.`, 'A parallel pair needs two different languages.');
      const unknown = Object.keys(o).filter((k) => !['source', 'target', 'source_lang', 'target_lang', 'id'].includes(k));
      if (unknown.length) throw new CorpusError(file, lineNo, `unknown field(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')} in a source/target object.`, 'Allowed: source, target, source_lang, target_lang, id.');
      rows.push({ texts: { [sl]: s, [tl]: t }, id, line: lineNo });
      continue;
    }
    const texts: Record<string, string> = {};
    for (const key of Object.keys(o)) {
      if (key === 'id' || METADATA_KEYS.has(key)) continue;
      const lang = normalizeLanguageCode(key);
      if (lang === null) {
        throw new CorpusError(file, lineNo, `key ${JSON.stringify(key)} is neither a language code nor source/target/id.`, 'Use {"en": "...", "fr": "..."} or {"source": ..., "target": ..., "source_lang": ..., "target_lang": ...}.');
      }
      if (lang in texts) throw new CorpusError(file, lineNo, `language ${lang} appears twice (key ${JSON.stringify(key)}).`);
      const v = str(key)?.trim();
      if (v) texts[lang] = v;
    }
    if (Object.keys(texts).length < 2) throw new CorpusError(file, lineNo, 'has text in fewer than two languages.', 'Each object needs at least two non-empty language fields.');
    rows.push({ texts, id, line: lineNo });
  }
  if (rows.length === 0) throw new CorpusError(file, null, 'contains no JSON objects.', 'Add one object per line.');
  return { name: file, languages: collectLanguages(rows), rows };
}

/** Reads a .tsv or .jsonl/.ndjson parallel corpus from disk (format chosen by extension). */
export async function readParallelCorpus(filePath: string, options: ParallelReadOptions = {}): Promise<ParallelCorpus> {
  const text = await readCorpusFile(filePath);
  const lower = filePath.toLowerCase();
  if (lower.endsWith('.tsv') || lower.endsWith('.tab')) return parseParallelTsv(text, filePath, options);
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return parseParallelJsonl(text, filePath, options);
  throw new CorpusError(filePath, null, 'has an unknown extension for a parallel corpus.', 'Use .tsv (tab-separated with a header) or .jsonl (one JSON object per line).');
}

/** Source/target pairs from the rows that have both languages, in corpus order; errors if a language is absent. */
export function pairsFor(corpus: ParallelCorpus, sourceLang: string, targetLang: string): ParallelPair[] {
  const s = normalizeLanguageCode(sourceLang) ?? sourceLang;
  const t = normalizeLanguageCode(targetLang) ?? targetLang;
  for (const l of [s, t]) {
    if (!corpus.languages.includes(l)) {
      throw new CorpusError(corpus.name, null, `has no ${l} text (languages: ${corpus.languages.join(', ')}).`, 'Choose languages the corpus has.');
    }
  }
  const out: ParallelPair[] = [];
  for (const r of corpus.rows) {
    const a = r.texts[s];
    const b = r.texts[t];
    if (a !== undefined && b !== undefined) out.push({ source: a, target: b, sourceLang: s, targetLang: t, id: r.id });
  }
  return out;
}

/** Deterministic split of rows into named parts by fractions (seeded shuffle), e.g. {steer: 0.6, dev: 0.2, test: 0.2}. */
export function splitRows<T>(rows: readonly T[], fractions: Readonly<Record<string, number>>, seed = 1): Record<string, T[]> {
  const names = Object.keys(fractions);
  const total = names.reduce((a, n) => a + (fractions[n] ?? 0), 0);
  if (!(total > 0) || names.some((n) => !((fractions[n] ?? -1) >= 0))) throw new RangeError('splitRows: fractions must be non-negative and sum to a positive number.');
  const idx = rows.map((_, i) => i);
  let state = seed >>> 0 || 1;
  for (let i = idx.length - 1; i > 0; i--) {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = state % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const out: Record<string, T[]> = {};
  let start = 0;
  names.forEach((n, k) => {
    const end = k === names.length - 1 ? idx.length : start + Math.round((idx.length * (fractions[n] ?? 0)) / total);
    out[n] = idx.slice(start, end).sort((a, b) => a - b).map((i) => rows[i]!);
    start = end;
  });
  return out;
}
