/**
 * The hover's data path on the real worker (dist/worker.js) and the real test model: the one analyze request
 * the hover sends (inspect: per-position logit lens), the character offset of a hovered word mapped to its
 * token, and that token's next-token candidates.
 *
 * The expectation does not come from the code under test: the test model is built so that the most likely
 * next token after any token is (its id + 1) mod vocab (test/fixtures/testModel.ts), and the token ids come
 * from the tokenizer file read directly with @huggingface/tokenizers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { hoverContent, hoverMarkdown, nextTokensAt, tokenIndexAt, tokenSpans } from '../../../src/extension/hoverModel';
import { findPrompt, promptIndexAt } from '../../../src/extension/prompt';
import { ensureTestModel, type TestModelInfo } from '../../fixtures/testModel';
import { bundledEngineClient } from '../helpers/engineWorker';

const client = bundledEngineClient();
let info: TestModelInfo;

before(async () => {
  info = await ensureTestModel();
});

test('hovering a word of a Python string: its token, and the model\'s next token there', { timeout: 120_000 }, async () => {
  const doc = 'greeting = "Guten Morgen, die Katze schläft."\n';
  const hovered = doc.indexOf('Katze') + 2; // the "t" of Katze
  const found = findPrompt({ text: doc, selectionStart: hovered, selectionEnd: hovered, languageId: 'python' });
  assert.equal(found?.text, 'Guten Morgen, die Katze schläft.');
  assert.ok(found !== undefined);

  const analysis = await client.analyze({ model: { dir: info.dir, threads: 1 }, prompt: found.text, topK: 3, inspect: { lensTopK: 3, projection: false } }, { supersedeKey: 'hover' });
  const index = promptIndexAt(found, hovered);
  assert.equal(index, found.text.indexOf('Katze') + 2);
  const spans = tokenSpans(analysis.prompt, analysis.tokens);
  const position = tokenIndexAt(spans, index);
  assert.ok(position !== undefined);

  // The tokenizer, read directly: which token holds the hovered character.
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(path.join(info.dir, 'tokenizer.json'), 'utf8')) as object, {});
  const ids = tokenizer.encode(found.text, { add_special_tokens: false }).ids;
  let at = 0;
  let expectedId = -1;
  for (const id of ids) {
    const text = tokenizer.decode([id]);
    if (at <= index && index < at + text.length) expectedId = id;
    at += text.length;
  }
  assert.equal(analysis.tokens[position]?.id, expectedId, 'the hovered character is in the token the tokenizer puts it in');

  const next = nextTokensAt(analysis, position, 3);
  assert.ok(next !== null, 'the per-position lens gives candidates mid-prompt');
  assert.equal(next.base[0]?.id, (expectedId + 1) % info.vocabSize, 'the test model predicts id + 1 after every token');
  assert.equal(next.steered, null);
  const md = hoverMarkdown(hoverContent(analysis, position, next));
  assert.match(md, /\*\*next token\*\*/);
  assert.match(md, /\| 1 \| /);
});
