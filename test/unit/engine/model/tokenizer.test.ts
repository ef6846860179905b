import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { StreamingDecoder, TextTokenizer } from '../../../../src/engine/model/tokenizer';
import { REPO } from './helpers';

const DEMO = path.join(REPO, 'models/tiny-polyglot');
const skip = fs.existsSync(path.join(DEMO, 'tokenizer.json')) ? false : 'the demo tokenizer is not in the repository';

test('demo tokenizer: BOS from the post-processor once, EOS from tokenizer_config, round trip', { skip }, () => {
  const tok = TextTokenizer.fromFolder(DEMO);
  assert.equal(tok.settings.bosToken, '<|bos|>');
  assert.equal(tok.bosTokenId, tok.tokenToId('<|bos|>'));
  assert.equal(tok.eosTokenId, tok.tokenToId('<|eos|>'));
  const text = 'Le dragon s’envola — 我们必须在天黑之前到达城堡。';
  const enc = tok.encode(text);
  assert.equal(enc.ids[0], tok.bosTokenId);
  assert.notEqual(enc.ids[1], tok.bosTokenId, 'add_bos_token does not add a second BOS');
  assert.equal(enc.ids.length, enc.tokens.length);
  assert.equal(tok.decode(enc.ids, { skipSpecialTokens: true }), text);
  assert.deepEqual(tok.encode(text, { addSpecialTokens: false }).ids, enc.ids.slice(1));
});

test('streaming decoder: multi-byte characters split across byte-level tokens never print U+FFFD', { skip }, () => {
  const tok = TextTokenizer.fromFolder(DEMO);
  const text = 'Мы должны найти способ — 城堡と竜 🐉 done';
  const ids = tok.encode(text, { addSpecialTokens: false }).ids;
  const s = new StreamingDecoder(tok);
  const pieces = ids.map((id) => s.push(id));
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')), JSON.stringify(pieces));
  assert.equal(pieces.join(''), text);
  assert.equal(s.text, text);
  assert.ok(pieces.some((p) => p === ''), 'some token ends mid-character (else the test proves nothing)');
});
