import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CorpusError } from '../../../../src/engine/corpus/errors.js';
import { normalizeLanguageCode } from '../../../../src/engine/corpus/languages.js';
import { parseMonolingualText, readMonolingualText } from '../../../../src/engine/corpus/monolingual.js';
import { pairsFor, parseParallelJsonl, parseParallelTsv, readParallelCorpus, splitRows } from '../../../../src/engine/corpus/parallel.js';

const fx = (name: string): string => path.join(__dirname, 'fixtures', name);

function expectCorpusError(fn: () => unknown, file: string, line: number | null, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CorpusError, `expected CorpusError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.line, line);
    assert.match(err.message, pattern);
    return true;
  });
}

async function expectCorpusRejection(p: Promise<unknown>, file: string, line: number | null, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CorpusError, `expected CorpusError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.line, line);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('language codes', () => {
  it('folds tags to ISO 639-1', () => {
    assert.equal(normalizeLanguageCode('FR'), 'fr');
    assert.equal(normalizeLanguageCode('pt-BR'), 'pt');
    assert.equal(normalizeLanguageCode('zh_Hans'), 'zh');
    assert.equal(normalizeLanguageCode('deu'), 'de');
    assert.equal(normalizeLanguageCode('cmn'), 'zh');
    assert.equal(normalizeLanguageCode('source'), null);
    assert.equal(normalizeLanguageCode('e1'), null);
  });
});

describe('parallel TSV', () => {
  it('reads a language-code header with an id column, skipping blank lines', async () => {
    const c = await readParallelCorpus(fx('en-fr.tsv'));
    assert.deepEqual(c.languages, ['en', 'fr']);
    assert.equal(c.rows.length, 3);
    assert.deepEqual(c.rows[2], { texts: { en: 'Where is the station?', fr: 'Où est la gare ?' }, id: 'c3', line: 5 });
    const pairs = pairsFor(c, 'fr', 'en');
    assert.deepEqual(pairs[1], { source: 'Bonjour !', target: 'Good morning!', sourceLang: 'fr', targetLang: 'en', id: 'c2' });
  });

  it('reads source/target with per-row languages', async () => {
    const c = await readParallelCorpus(fx('mixed.tsv'));
    assert.deepEqual(c.languages, ['de', 'en', 'es']);
    assert.equal(pairsFor(c, 'de', 'en').length, 1);
    assert.equal(pairsFor(c, 'es', 'en')[0]!.source, 'El perro ladra.');
  });

  it('takes languages from options when a source/target file has no language columns', () => {
    const c = parseParallelTsv('source\ttarget\nHola\tHello\n', 'st.tsv', { sourceLang: 'es', targetLang: 'en' });
    assert.deepEqual(c.rows[0]!.texts, { es: 'Hola', en: 'Hello' });
    expectCorpusError(() => parseParallelTsv('source\ttarget\nHola\tHello\n', 'st.tsv'), 'st.tsv', 1, /needs the languages.*--source-lang/);
  });

  it('names file and line in every error', async () => {
    await expectCorpusRejection(readParallelCorpus(fx('bad-fields.tsv')), fx('bad-fields.tsv'), 3, /has 3 tab-separated fields but the header has 2/);
    expectCorpusError(() => parseParallelTsv('english\tfrench\na\tb\n', 'h.tsv'), 'h.tsv', 1, /header column "english" is neither a language code/);
    expectCorpusError(() => parseParallelTsv('en\ten\na\tb\n', 'd.tsv'), 'd.tsv', 1, /names column "en" twice/);
    expectCorpusError(() => parseParallelTsv('en\tfr\nHello\t \n', 'e.tsv'), 'e.tsv', 2, /text in fewer than two languages/);
    expectCorpusError(() => parseParallelTsv('en\tfr\n', 'n.tsv'), 'n.tsv', null, /has a header but no rows/);
    expectCorpusError(() => parseParallelTsv('source\ttarget\tsource_lang\ttarget_lang\na\tb\txx1\ten\n', 'l.tsv'), 'l.tsv', 2, /source_lang "xx1" is not a language code/);
    await expectCorpusRejection(readParallelCorpus(fx('missing.tsv')), fx('missing.tsv'), null, /does not exist/);
    await expectCorpusRejection(readParallelCorpus(fx('lines.txt')), fx('lines.txt'), null, /unknown extension.*\.tsv.*\.jsonl/);
  });
});

describe('parallel JSONL', () => {
  it('reads language-keyed and source/target objects', async () => {
    const c = await readParallelCorpus(fx('pairs.jsonl'));
    assert.deepEqual(c.languages, ['en', 'fr', 'de']);
    assert.equal(c.rows.length, 3);
    assert.equal(c.rows[0]!.id, 'h1');
    assert.equal(c.rows[1]!.line, 3);
    assert.deepEqual(pairsFor(c, 'fr', 'en').map((p) => p.source), ['La maison est rouge.', 'Il pleut.', 'Merci.']);
    assert.deepEqual(pairsFor(c, 'de', 'en').map((p) => p.target), ['The house is red.']);
    assert.throws(() => pairsFor(c, 'ja', 'en'), /has no ja text \(languages: en, fr, de\)/);
  });

  it('names file and line in every error', async () => {
    await expectCorpusRejection(readParallelCorpus(fx('bad.jsonl')), fx('bad.jsonl'), 2, /is not valid JSON/);
    expectCorpusError(() => parseParallelJsonl('["en","fr"]\n', 'a.jsonl'), 'a.jsonl', 1, /is not a JSON object/);
    expectCorpusError(() => parseParallelJsonl('{"en":"a","fr":"b"}\n{"en":"a","fr":3}\n', 'n.jsonl'), 'n.jsonl', 2, /field "fr" is a number, expected a string/);
    expectCorpusError(() => parseParallelJsonl('{"source":"a","target":"b"}\n', 's.jsonl'), 's.jsonl', 1, /has no source_lang and none was given/);
    expectCorpusError(() => parseParallelJsonl('{"english":"a","fr":"b"}\n', 'k.jsonl'), 'k.jsonl', 1, /key "english" is neither a language code/);
    expectCorpusError(() => parseParallelJsonl('\n\n', 'e.jsonl'), 'e.jsonl', null, /contains no JSON objects/);
  });
});

describe('monolingual text', () => {
  it('auto-detects one text per line', async () => {
    const c = await readMonolingualText(fx('lines.txt'), { lang: 'fr' });
    assert.equal(c.mode, 'lines');
    assert.deepEqual(c.texts, ['Première ligne.', 'Deuxième ligne.']);
  });

  it('auto-detects blank-line-separated paragraphs and joins their lines', async () => {
    const c = await readMonolingualText(fx('paragraphs.txt'), { lang: 'fra' });
    assert.equal(c.lang, 'fr');
    assert.equal(c.mode, 'paragraphs');
    assert.deepEqual(c.texts, ['Un paragraphe sur deux lignes.', 'Un autre paragraphe.']);
  });

  it('honours an explicit mode, minimum length and reports empty files', () => {
    assert.deepEqual(parseMonolingualText('a\n\nb c\n', 'x.txt', { lang: 'en', mode: 'lines' }).texts, ['a', 'b c']);
    assert.deepEqual(parseMonolingualText('a\nbbb\n', 'x.txt', { lang: 'en', minChars: 2 }).texts, ['bbb']);
    expectCorpusError(() => parseMonolingualText('\n \n', 'e.txt', { lang: 'en' }), 'e.txt', null, /contains no non-empty lines/);
    expectCorpusError(() => parseMonolingualText('x', 'e.txt', { lang: 'english' }), 'e.txt', null, /"english" is not a language code/);
  });
});

describe('reading corpus files', () => {
  it('a missing file or a folder is a CorpusError naming the path, for both readers', async () => {
    const missing = fx('no-such-corpus.jsonl');
    await expectCorpusRejection(readParallelCorpus(missing), missing, null, /does not exist\. Check the path\.$/);
    await expectCorpusRejection(readMonolingualText(missing, { lang: 'fr' }), missing, null, /does not exist\. Check the path\.$/);
    const folder = path.join(__dirname, 'fixtures');
    await expectCorpusRejection(readParallelCorpus(folder), folder, null, /cannot be read \(EISDIR\)\. Check the path\.$/);
    await expectCorpusRejection(readMonolingualText(folder, { lang: 'fr' }), folder, null, /cannot be read \(EISDIR\)\./);
  });
});

describe('splitRows', () => {
  it('is deterministic, disjoint and complete', () => {
    const rows = Array.from({ length: 100 }, (_, i) => i);
    const a = splitRows(rows, { steer: 0.6, dev: 0.2, test: 0.2 }, 7);
    const b = splitRows(rows, { steer: 0.6, dev: 0.2, test: 0.2 }, 7);
    assert.deepEqual(a, b);
    assert.deepEqual([a['steer']!.length, a['dev']!.length, a['test']!.length], [60, 20, 20]);
    assert.deepEqual([...a['steer']!, ...a['dev']!, ...a['test']!].sort((x, y) => x - y), rows);
    assert.notDeepEqual(a['dev'], splitRows(rows, { steer: 0.6, dev: 0.2, test: 0.2 }, 8)['dev']);
  });
});
