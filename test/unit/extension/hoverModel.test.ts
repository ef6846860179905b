/**
 * The hover's pure part on a recorded real analysis (test/fixtures/messages/analysis.json: the bundled model
 * on "Le chat dort sur le rebord chaud de la fenêtre." with the fr-en vector). Expected strips are read off
 * the recording by hand, not computed by the code under test.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  codeSpan,
  hoverContent,
  hoverMarkdown,
  languageRuns,
  nearestByLayer,
  nextTokensAt,
  stripHtml,
  stripText,
  tokenIndexAt,
  tokenSpans,
  visibleToken,
} from '../../../src/extension/hoverModel';
import type { LensCandidate, PromptAnalysis, TokenInfo } from '../../../src/protocol/engine';

const recorded = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'messages', 'analysis.json'), 'utf8')) as { analysis: PromptAnalysis };
const analysis = recorded.analysis;
const PROMPT = 'Le chat dort sur le rebord chaud de la fenêtre.';

/** VS Code's markdown renderer keeps a span's style only when it matches this (src/vs/base/browser/markdownRenderer.ts). */
const VSCODE_SPAN_STYLE = /^(color:(#[0-9a-fA-F]+|var\(--vscode(-[a-zA-Z]+)+\));)?(background-color:(#[0-9a-fA-F]+|var\(--vscode(-[a-zA-Z]+)+\));)?(border-radius:[0-9]+px;)?$/;

test('the recorded tokens spell out the prompt, and a character offset finds its token', () => {
  assert.equal(analysis.prompt, PROMPT);
  const spans = tokenSpans(PROMPT, analysis.tokens);
  assert.deepEqual(spans[0], { start: 0, end: 0 }, 'BOS takes no characters');
  assert.deepEqual(spans[1], { start: 0, end: 2 }, 'Le');
  const o = PROMPT.indexOf('dort') + 1; // the "o" of dort
  const i = tokenIndexAt(spans, o);
  assert.equal(i, 5);
  assert.equal(analysis.tokens[5]?.text, 'ort');
  assert.equal(tokenIndexAt(spans, PROMPT.indexOf('dort')), 4, 'the d belongs to " d"');
  assert.equal(tokenIndexAt(spans, PROMPT.indexOf(' sur')), 6, 'a leading space belongs to its token');
  assert.equal(tokenIndexAt(spans, PROMPT.length - 1), analysis.tokens.length - 1);
  assert.equal(tokenIndexAt(spans, PROMPT.length), undefined);
});

test('golden strip: the nearest language per layer of "ort" (dort), base and steered, as recorded', () => {
  const languages = analysis.centroids?.languages ?? [];
  const base = nearestByLayer(analysis.layers, 5, languages);
  assert.equal(stripText(base), 'k0 it · k1–6 pt');
  assert.ok(analysis.steered !== null);
  const steered = nearestByLayer(analysis.steered.layers, 5, languages);
  assert.equal(stripText(steered), 'k0 it · k1–2 pt · k3–6 it', 'the fr-en vector at k3 moves "ort" away from pt');
  assert.deepEqual(
    languageRuns(steered).map((r) => [r.from, r.to, r.language]),
    [
      [0, 0, 'it'],
      [1, 2, 'pt'],
      [3, 6, 'it'],
    ],
  );
  // The similarity shown is the recorded one for the nearest language.
  const k0 = analysis.layers[0];
  assert.equal(base[0]?.similarity, k0?.similarity?.[5]?.[languages.indexOf('it')]);
  // "fenêtre": " fen" then "être" — the last token is ".".
  assert.equal(stripText(nearestByLayer(analysis.layers, 17, languages)), 'k0 en · k1–6 zh');
});

test('split characters, NFD prompts and a tokenizer that adds a leading space', () => {
  const tok = (text: string, special = false): TokenInfo => ({ id: 0, piece: text, text, ...(special ? { special } : {}) });
  // The engine reads '' for the first part of a character split over tokens, the whole character on the last.
  const cjk = tokenSpans('日本語', [tok('', true), tok(''), tok('日'), tok('本語')]);
  assert.deepEqual(cjk, [
    { start: 0, end: 0 },
    { start: 0, end: 0 },
    { start: 0, end: 1 },
    { start: 1, end: 3 },
  ]);
  assert.equal(tokenIndexAt(cjk, 0), 2);
  // The editor holds "é" decomposed (e + U+0301); the tokenizer normalised it to NFC.
  const nfd = 'fe\u0301e ok';
  const spans = tokenSpans(nfd, [tok('fé'), tok('e'), tok(' ok')]);
  assert.deepEqual(spans, [
    { start: 0, end: 3 },
    { start: 3, end: 4 },
    { start: 4, end: 7 },
  ]);
  // SentencePiece-style decoding with a dummy-prefix space.
  assert.deepEqual(tokenSpans('Hello world', [tok(' Hello'), tok(' world')]), [
    { start: 0, end: 5 },
    { start: 5, end: 11 },
  ]);
  // A token that cannot be placed gets an empty span; the rest still align.
  assert.deepEqual(tokenSpans('abc', [tok('a'), tok('ZZ'), tok('bc')]), [
    { start: 0, end: 1 },
    { start: 1, end: 1 },
    { start: 1, end: 3 },
  ]);
});

test('next tokens: the lens at the last layer per position when inspected; the analysis\' own at the end', () => {
  const last = analysis.tokens.length - 1;
  const atEnd = nextTokensAt(analysis, last, 3);
  assert.deepEqual(
    atEnd?.base.map((c) => c.id),
    analysis.nextTokens.slice(0, 3).map((c) => c.id),
  );
  assert.deepEqual(
    atEnd?.steered?.map((c) => c.id),
    analysis.steered?.nextTokens.slice(0, 3).map((c) => c.id),
  );
  assert.equal(nextTokensAt(analysis, 5, 3), null, 'mid-prompt candidates need the per-position lens');

  // With an inspection: lens[k][position] — only the last layer (k = L) is the model's own prediction.
  const candidate = (id: number, p: number): LensCandidate => ({ id, text: `t${id}`, probability: p, logit: 0 });
  const lens = (offset: number): LensCandidate[][][] => analysis.layers.map((_, k) => analysis.tokens.map((_, pos) => [candidate(offset + k * 100 + pos, 0.5), candidate(offset + 1, 0.25)]));
  const inspected: PromptAnalysis = {
    ...analysis,
    inspection: { lens: lens(0), projections: null },
    steered: analysis.steered && { ...analysis.steered, inspection: { lens: lens(10_000), projections: null } },
  };
  const next = nextTokensAt(inspected, 5, 1);
  assert.deepEqual(
    next?.base.map((c) => c.id),
    [600 + 5],
  );
  assert.deepEqual(
    next?.steered?.map((c) => c.id),
    [10_000 + 605],
  );
});

test('the hover markdown: token, the strip (spans VS Code keeps), the next-token table with the prompt\'s own next token in bold', () => {
  const next = {
    base: [
      { id: 16, text: '.', probability: 0.4 },
      { id: 201, text: '\n', probability: 0.05 },
    ],
    steered: [{ id: 7, text: ' the', probability: 0.2 }],
  };
  const content = hoverContent(analysis, 16, next);
  assert.equal(content.token.text, 'être');
  assert.equal(content.tokenNumber, 16);
  assert.equal(content.tokenCount, 17);
  assert.equal(content.actualNext?.text, '.');
  const md = hoverMarkdown(content);
  assert.match(md, /token `être` \(16 of 17\)/);
  assert.match(md, /\*\*nearest language\*\* per layer, k = 0 … 6/);
  assert.match(md, /\*\*next token\*\* after this token — the prompt continues with `\.`/);
  assert.ok(md.includes('`k0 zh · k1–6 fr`'), md);
  assert.ok(md.includes('`k0 zh · k1–2 fr · k3–6 es`'), md);
  assert.ok(md.includes('fr\\-en @ k3 × 0\\.306'), 'the applied vector, escaped');
  assert.match(md, /\| 1 \| \*\*`\.` 40 %\*\* \| `␣the` 20 % \|/);
  assert.match(md, /\| 2 \| `↵` 5\.0 % \| {2}\|/);
  const styles = [...md.matchAll(/<span style="([^"]*)">/g)].map((m) => m[1] as string);
  assert.equal(styles.length, 14, 'seven layers, base and steered');
  for (const s of styles) assert.match(s, VSCODE_SPAN_STYLE);
  assert.ok(!/<(?!span|\/span)/.test(md), 'no HTML but the strip spans');
});

test('the hover without vectors, without centroids, and where the candidates are unknown', () => {
  const plain: PromptAnalysis = { ...analysis, steered: null, centroids: null, layers: analysis.layers.map((l) => ({ layer: l.layer, norms: l.norms })) };
  const md = hoverMarkdown(hoverContent(plain, 3, null));
  assert.match(md, /\*\*nearest language\*\*: this model has no language centroids/);
  assert.match(md, /\*\*next token\*\*: not available for this position\. — the prompt continues with `␣d`/);
  assert.ok(!md.includes('steered'));
  const base = hoverMarkdown(hoverContent({ ...analysis, steered: null }, analysis.tokens.length - 1, nextTokensAt({ ...analysis, steered: null }, analysis.tokens.length - 1, 2)));
  assert.match(base, /\| \| base \|\n\|--:\|:--\|\n\| 1 \| `↵` 45 % \|/);
  assert.ok(!base.includes('the prompt continues'), 'nothing follows the last token');
});

test('strip cells: coloured by the panel palette, labelled up to 16 layers, squares beyond', () => {
  const cells = Array.from({ length: 3 }, (_, k) => ({ layer: k, language: k === 2 ? null : 'fr', similarity: null }));
  const html = stripHtml(cells, ['en', 'fr']);
  assert.equal((html.match(/>&nbsp;fr&nbsp;</g) ?? []).length, 2);
  assert.ok(html.includes('background-color:#6e6e6e;border-radius:3px;">&nbsp;?&nbsp;'), 'no verdict: grey');
  const many = Array.from({ length: 33 }, (_, k) => ({ layer: k, language: 'en', similarity: null }));
  assert.ok(!stripHtml(many, ['en']).includes('en'), 'a 32-layer model gets plain squares');
  assert.equal(stripText(many), 'k0–32 en');
});

test('code spans survive backticks, pipes and whitespace; tokens show their spaces', () => {
  assert.equal(visibleToken(' a\tb\n'), '␣a⇥b↵');
  assert.equal(visibleToken(''), '∅');
  assert.equal(codeSpan('a`b'), '``a`b``');
  assert.equal(codeSpan('`x'), '`` `x ``');
  assert.equal(codeSpan('a|b', true), '`a\\|b`');
});
