/** Language names in VS Code's display language (ICU), English by default. */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { languageName, setDisplayLanguage } from '../../../src/extension/languageNames';

afterEach(() => setDisplayLanguage(undefined));

test('English by default and for en-*: the engine’s names; unknown codes stay as they are', () => {
  assert.equal(languageName('fr'), 'French');
  setDisplayLanguage('en-gb');
  assert.equal(languageName('de'), 'German');
  assert.equal(languageName('und'), 'und');
});

test('French and Chinese display languages name languages as those UIs do', () => {
  setDisplayLanguage('fr');
  assert.deepEqual(['de', 'zh', 'en'].map(languageName), ['allemand', 'chinois', 'anglais']);
  setDisplayLanguage('zh-cn');
  assert.deepEqual(['de', 'fr', 'ja'].map(languageName), ['德语', '法语', '日语']);
  // Not a language ICU knows, or not a code at all: the code itself.
  assert.equal(languageName('qqq'), 'qqq');
  assert.equal(languageName('not a code'), 'not a code');
});

test('a locale ICU rejects leaves the English names', () => {
  setDisplayLanguage('!!');
  assert.equal(languageName('fr'), 'French');
});
