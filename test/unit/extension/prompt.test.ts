import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enclosingStringLiteral, findPrompt, lineBounds, paragraphBounds, type PromptScope } from '../../../src/extension/prompt';

/** `|` marks the cursor; `[` `]` mark a selection. */
function at(marked: string, scope: PromptScope = 'line'): ReturnType<typeof findPrompt> {
  const start = marked.includes('[') ? marked.indexOf('[') : marked.indexOf('|');
  const text = marked.replace(/[|[\]]/g, '');
  const end = marked.includes(']') ? marked.indexOf(']') - 1 : start;
  return findPrompt({ text, selectionStart: start, selectionEnd: end, scope });
}

test('a selection wins and is trimmed', () => {
  assert.deepEqual(at('say "hi" and [ Guten Tag \n]bye'), { kind: 'selection', text: 'Guten Tag', start: 14, end: 23 });
});

test('inside a string literal the literal is the prompt', () => {
  assert.equal(at('const p = "Bonjour le mon|de";')?.text, 'Bonjour le monde');
  assert.equal(at("t('Hola |amigo')")?.kind, 'string');
  assert.equal(at('x = `Hallo| Welt` + y')?.text, 'Hallo Welt');
  assert.equal(at('s = "say \\"hi\\" |now"')?.text, 'say \\"hi\\" now', 'escaped quotes do not end the literal');
});

test('outside a literal, or when quotes are apostrophes, the line is the prompt', () => {
  assert.deepEqual(at('a = "x"; the re|st'), { kind: 'line', text: 'a = "x"; the rest', start: 0, end: 17 });
  assert.equal(at("l'homme qu'on |voit")?.kind, 'line', 'French elisions are not string literals');
  assert.equal(at("don't stop |me")?.text, "don't stop me");
  assert.equal(at('first\n  second li|ne  \nthird')?.text, 'second line');
});

test('CRLF line endings do not leak into the prompt', () => {
  assert.equal(at('one\r\ntw|o\r\nthree')?.text, 'two');
  assert.deepEqual(lineBounds('one\r\ntwo\r\n', 6), { start: 5, end: 8 });
});

test('paragraph scope takes the block of non-blank lines around the cursor', () => {
  const text = 'title\n\nline one\nline t|wo\nline three\n\nnext';
  assert.equal(at(text, 'paragraph')?.text, 'line one\nline two\nline three');
  assert.equal(at(text, 'paragraph')?.kind, 'paragraph');
  assert.equal(at(text, 'line')?.text, 'line two');
  assert.deepEqual(paragraphBounds('a\nb', 0), { start: 0, end: 3 });
});

test('a blank line or an empty document gives no prompt', () => {
  assert.equal(at('text\n   |\nmore'), undefined);
  assert.equal(at('|'), undefined);
  assert.equal(at('a\n\n|\nb', 'paragraph'), undefined);
  assert.equal(at('x = "|"')?.kind, 'line', 'an empty literal falls back to the line');
});

test('an unterminated quote is not a literal; a cursor on a quote counts as inside', () => {
  assert.equal(enclosingStringLiteral('say "unfinished', 6), undefined);
  assert.deepEqual(enclosingStringLiteral('a "bc" d', 2), { start: 3, end: 5 });
  assert.deepEqual(enclosingStringLiteral('a "bc" d', 6), { start: 3, end: 5 });
  assert.equal(enclosingStringLiteral('a "bc" d', 7), undefined);
});
