// Monolingual text files for DiffMean-from-monolingual-means and for language centroids.
// Format: UTF-8 plain text. `lines` mode: one text per non-blank line. `paragraphs` mode: texts separated by
// one or more blank lines; the lines of a paragraph are joined with a single space. `auto` (default) picks
// `paragraphs` when the file contains a blank line between two non-blank lines, else `lines`.

import { CorpusError, readCorpusFile } from './errors.js';
import { normalizeLanguageCode } from './languages.js';

/** Texts in one language. */
export interface MonolingualCorpus {
  name: string;
  lang: string;
  texts: string[];
  /** How the file was split into texts. */
  mode: 'lines' | 'paragraphs';
}

/** How to split a monolingual file. */
export interface MonolingualReadOptions {
  lang: string;
  mode?: 'auto' | 'lines' | 'paragraphs';
  /** Drop texts shorter than this many characters (after trimming); default 1. */
  minChars?: number;
}

/** Splits monolingual text into texts (see the format at the top of this file); `file` names it in errors. */
export function parseMonolingualText(text: string, file: string, options: MonolingualReadOptions): MonolingualCorpus {
  const lang = normalizeLanguageCode(options.lang);
  if (lang === null) throw new CorpusError(file, null, `language ${JSON.stringify(options.lang)} is not a language code.`, 'Use ISO 639-1 codes such as en, fr, zh.');
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  const requested = options.mode ?? 'auto';
  const mode: 'lines' | 'paragraphs' = requested === 'auto' ? (/\S[^\S\n]*\r?\n(?:[^\S\n]*\r?\n)+[^\S\n]*\S/.test(body) ? 'paragraphs' : 'lines') : requested;
  const minChars = options.minChars ?? 1;
  const texts: string[] = [];
  if (mode === 'lines') {
    for (const l of lines) {
      const t = l.trim();
      if (t.length >= minChars && t.length > 0) texts.push(t);
    }
  } else {
    let cur: string[] = [];
    const flush = (): void => {
      const t = cur.join(' ').replace(/\s+/g, ' ').trim();
      if (t.length >= minChars && t.length > 0) texts.push(t);
      cur = [];
    };
    for (const l of lines) {
      if (l.trim() === '') flush();
      else cur.push(l.trim());
    }
    flush();
  }
  if (texts.length === 0) throw new CorpusError(file, null, `contains no ${mode === 'lines' ? 'non-empty lines' : 'paragraphs'}${minChars > 1 ? ` of at least ${minChars} characters` : ''}.`, 'Check the file and its encoding (UTF-8).');
  return { name: file, lang, texts, mode };
}

/** Reads a monolingual UTF-8 text file from disk. */
export async function readMonolingualText(filePath: string, options: MonolingualReadOptions): Promise<MonolingualCorpus> {
  const text = await readCorpusFile(filePath);
  return parseMonolingualText(text, filePath, options);
}
