import assert from 'node:assert/strict';
import { test } from 'node:test';
import { documentKind, enclosingStringLiteral, findPrompt, findStringLiteral, lineBounds, paragraphBounds, promptIndexAt, type FoundPrompt, type PromptScope } from '../../../src/extension/prompt';

/** `|` marks the cursor; `[` `]` mark a selection. Without a language id: the line heuristic (legacy callers). */
function at(marked: string, scope: PromptScope = 'line'): ReturnType<typeof findPrompt> {
  const start = marked.includes('[') ? marked.indexOf('[') : marked.indexOf('|');
  const text = marked.replace(/[|[\]]/g, '');
  const end = marked.includes(']') ? marked.indexOf(']') - 1 : start;
  return findPrompt({ text, selectionStart: start, selectionEnd: end, scope });
}

/** `‸` marks the cursor (a character none of the examples contains). */
function inDoc(languageId: string, marked: string, scope?: PromptScope): FoundPrompt | undefined {
  const cursor = marked.indexOf('‸');
  assert.ok(cursor >= 0, 'the example marks the cursor');
  const text = marked.replace('‸', '');
  return findPrompt({ text, selectionStart: cursor, selectionEnd: cursor, languageId, ...(scope !== undefined ? { scope } : {}) });
}

/** The document text each prompt unit came from, to check the offset map by hand. */
function sources(text: string, found: FoundPrompt): string[] {
  const offsets = found.offsets ?? [...Array(found.text.length + 1).keys()].map((k) => found.start + k);
  return [...found.text].map((_, k) => text.slice(offsets[k], offsets[k + 1]));
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

test('documents are prose or code by language id', () => {
  assert.equal(documentKind('plaintext'), 'prose');
  assert.equal(documentKind('markdown'), 'prose');
  assert.equal(documentKind('python'), 'code');
  assert.equal(documentKind('typescript'), 'code');
  assert.equal(documentKind('some-new-language'), 'code');
});

test('plain text: the paragraph by default, the line when the setting says so; quotes are quotations', () => {
  const doc = 'Title\n\nLe roi dit : "Bonjour".\nIl par‸tit.\n\nNext paragraph.';
  assert.deepEqual(inDoc('plaintext', doc), { kind: 'paragraph', text: 'Le roi dit : "Bonjour".\nIl partit.', start: 7, end: 41 });
  assert.equal(inDoc('plaintext', doc, 'line')?.text, 'Il partit.');
  assert.equal(inDoc('plaintext', 'Il dit "Bon‸jour" et part.')?.kind, 'paragraph', 'no string literals in prose');
  assert.equal(inDoc('plaintext', 'one\n   ‸\ntwo'), undefined, 'a blank line is no prompt');
});

test('code: the enclosing string literal, else the line (or the paragraph when the setting says so)', () => {
  assert.deepEqual(inDoc('python', 'x = 1\np = "Bonjour le mo‸nde"\n'), { kind: 'string', text: 'Bonjour le monde', start: 11, end: 27 });
  assert.deepEqual(inDoc('python', 'x = 1\nprint(p‸)\n\ny = 2'), { kind: 'line', text: 'print(p)', start: 6, end: 14 });
  assert.equal(inDoc('python', 'x = 1\nprint(p‸)\n\ny = 2', 'paragraph')?.text, 'x = 1\nprint(p)');
  assert.equal(inDoc('typescript', "const a = 'Hola ‸amigo';")?.text, 'Hola amigo');
  assert.equal(inDoc('typescript', 'const a = "x"; // the re‸st')?.kind, 'line');
  assert.equal(inDoc('python', 'p = "‸"')?.kind, 'line', 'an empty literal falls back to the line');
  assert.equal(inDoc('python', 'p = "unter‸minated\nq = 1')?.kind, 'line');
});

test('a cursor on either quote counts as inside; a quote in a comment does not open a literal', () => {
  assert.equal(inDoc('python', 'p = ‸"Guten Tag"')?.text, 'Guten Tag');
  assert.equal(inDoc('python', 'p = "Guten Tag"‸')?.text, 'Guten Tag');
  assert.equal(inDoc('python', '# don\'t\np = "Ciao a ‸tutti"  # it\'s Italian')?.text, 'Ciao a tutti');
  assert.equal(inDoc('typescript', '/* l\'homme */ const p = "Olá ‸mundo";')?.text, 'Olá mundo');
  assert.equal(inDoc('typescript', '// "not a ‸literal"')?.kind, 'line');
});

test('escaped quotes do not end a literal, and escapes are resolved in the prompt', () => {
  const doc = 'p = "Er sagte \\"Hallo\\" und ‸ging.\\nEnde"';
  const found = inDoc('python', doc);
  assert.equal(found?.text, 'Er sagte "Hallo" und ging.\nEnde');
  assert.ok(found !== undefined);
  const src = sources(doc.replace('‸', ''), found);
  assert.equal(src[9], '\\"', 'the quote came from the two characters \\"');
  assert.equal(src[26], '\\n', 'the newline came from \\n');
  assert.equal(inDoc('typescript', "const p = 'l\\'homme ‸dort';")?.text, "l'homme dort");
  assert.equal(inDoc('typescript', "const p = 'caf\\u00e9 \\u{1F600}‸';")?.text, 'café 😀');
  assert.equal(inDoc('python', 'p = r"C:\\dos\\n‸ew"')?.text, 'C:\\dos\\new', 'raw strings keep their backslashes');
});

test('Python triple-quoted strings span lines and may hold single quotes', () => {
  const doc = 'DOC = """\n    Ce paquet fournit l\'outil "lens".\n    Il est ‸simple.\n"""\nx = "other"';
  assert.equal(inDoc('python', doc)?.text, 'Ce paquet fournit l\'outil "lens".\n    Il est simple.');
  assert.equal(inDoc('python', "s = '''un ‸deux\ntrois'''")?.text, 'un deux\ntrois');
  assert.equal(inDoc('python', 'DOC = """a"""\nx = "other ‸one"')?.text, 'other one', 'scanning continues after a triple-quoted string');
});

test('Python f-strings: fields are kept as written, quotes inside fields do not end the string', () => {
  assert.equal(inDoc('python', 'p = f"Hallo {user[\'name\']}, wie ‸geht\'s?"')?.text, "Hallo {user['name']}, wie geht's?");
  assert.equal(inDoc('python', 'p = rf"Ciao {x!r:>{width}} ‸a tutti"')?.text, 'Ciao {x!r:>{width}} a tutti');
  assert.equal(inDoc('python', 'p = f"{{literal}} ‸braces"')?.text, '{{literal}} braces');
});

test('JS template literals span lines and keep ${…} fields whole, quotes and braces inside included', () => {
  const doc = 'const p = `Bonjour ${user.name ?? "ami"}, ${fmt({ a: \'}\' })}\nvoici le ‸paquet.`;\nconst q = "x";';
  assert.equal(inDoc('typescript', doc)?.text, 'Bonjour ${user.name ?? "ami"}, ${fmt({ a: \'}\' })}\nvoici le paquet.');
  assert.equal(inDoc('javascript', 'const p = `a ${`nested ${x}`} b ‸c`;')?.text, 'a ${`nested ${x}`} b c');
  assert.equal(inDoc('typescript', 'const p = `cost: \\${price} ‸now`;')?.text, 'cost: ${price} now', 'an escaped ${ is text');
});

test('other families: Go raw strings, Rust lifetimes and raw strings, JSON', () => {
  assert.equal(inDoc('go', 'p := `line one\nline ‸two`')?.text, 'line one\nline two');
  assert.equal(inDoc('rust', 'fn f<\'a>(x: &\'a str) { let p = "Hola ‸mundo"; }')?.text, 'Hola mundo');
  assert.equal(inDoc('rust', 'let p = r#"say "hi" ‸now"#;')?.text, 'say "hi" now');
  assert.equal(inDoc('rust', "let c = 'x'; let p = \"dos ‸tres\";")?.text, 'dos tres');
  assert.equal(inDoc('json', '{"fr": "Bonjour ‸tout le monde"}')?.text, 'Bonjour tout le monde');
  assert.equal(inDoc('haskell', 'main = putStrLn "Merhaba ‸dünya"')?.text, 'Merhaba dünya', 'an unknown language uses the line heuristic');
});

test('findStringLiteral gives the quote and content bounds', () => {
  assert.deepEqual(findStringLiteral('x = f"ab"', 7, 'python'), { open: 5, contentStart: 6, contentEnd: 8, close: 9, escapes: 'backslash' });
  assert.deepEqual(findStringLiteral("x = '''ab'''", 8, 'python'), { open: 4, contentStart: 7, contentEnd: 9, close: 12, escapes: 'backslash' });
  assert.equal(findStringLiteral('x = "ab" + y', 10, 'python'), undefined);
});

test('markdown: headings, list markers, task boxes and quote markers are stripped', () => {
  assert.deepEqual(inDoc('markdown', '# Fran‸çais\n\ntext'), { kind: 'paragraph', text: 'Français', start: 2, end: 10 });
  assert.equal(inDoc('markdown', '## Deutsch ##\nDer Hund ‸schläft.')?.text, 'Der Hund schläft.', 'a heading is a block of its own');
  assert.equal(inDoc('markdown', '## Deut‸sch ##\nDer Hund schläft.')?.text, 'Deutsch');
  const list = '- The cat sleeps.\n- Le chat ‸dort\n  sur la fenêtre.\n- Die Katze schläft.';
  const item = inDoc('markdown', list);
  assert.equal(item?.text, 'Le chat dort\nsur la fenêtre.', 'one list item, its continuation line included');
  assert.ok(item !== undefined);
  assert.equal(item.start, 20);
  assert.equal(promptIndexAt(item, list.indexOf('dort') - 1), item.text.indexOf('dort'));
  assert.equal(inDoc('markdown', '1. Uno\n2) Dos ‸tres')?.text, 'Dos tres');
  assert.equal(inDoc('markdown', '- [x] Hecho ‸está')?.text, 'Hecho está');
  assert.equal(inDoc('markdown', '> Citation ‸ici\n> et là')?.text, 'Citation ici\net là');
  assert.equal(inDoc('markdown', '- one\n- t‸wo', 'line')?.text, 'two');
  assert.equal(inDoc('markdown', 'a\n\n--‸-\n\nb'), undefined, 'a thematic break is no prompt');
});

test('markdown: inside a fenced code block the fence language\'s string literals apply', () => {
  const doc = 'Some text.\n\n```python\nprint("Ahoj ‸světe")\n```\n\nMore "text" here.';
  assert.deepEqual(inDoc('markdown', doc), { kind: 'string', text: 'Ahoj světe', start: 29, end: 39 });
  assert.equal(inDoc('markdown', '```\nplain ‸code line\n```')?.kind, 'line');
  assert.equal(inDoc('markdown', '```py\nx = 1\n```\n\nSay "hi" ‸now.')?.kind, 'paragraph', 'after the fence closes it is prose again');
  assert.equal(inDoc('markdown', '```ts\nconst a = 1;\n```‸'), undefined, 'a fence line is no prompt');
});

test('promptIndexAt maps document offsets into the prompt, verbatim or through the offset map', () => {
  const plain: FoundPrompt = { kind: 'line', text: 'abc', start: 10, end: 13 };
  assert.equal(promptIndexAt(plain, 11), 1);
  assert.equal(promptIndexAt(plain, 13), undefined);
  assert.equal(promptIndexAt(plain, 9), undefined);
  const doc = 'p = "a\\tb"';
  const found = findPrompt({ text: doc, selectionStart: 6, selectionEnd: 6, languageId: 'python' });
  assert.deepEqual(found, { kind: 'string', text: 'a\tb', start: 5, end: 9, offsets: [5, 6, 8, 9] });
  assert.ok(found !== undefined);
  assert.deepEqual([5, 6, 7, 8, 9].map((o) => promptIndexAt(found, o)), [0, 1, 1, 2, undefined], 'both characters of \\t map to the tab');
});

test('a selection wins in every kind of document', () => {
  const text = 'p = "ignored"\nselected text';
  assert.equal(findPrompt({ text, selectionStart: 14, selectionEnd: 22, languageId: 'python' })?.text, 'selected');
  assert.equal(findPrompt({ text, selectionStart: 22, selectionEnd: 14, languageId: 'markdown' })?.kind, 'selection');
});
