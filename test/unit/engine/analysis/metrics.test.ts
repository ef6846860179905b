import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chrF,
  corpusChrF,
  distinctNgramRatio,
  extractLastNumber,
  fastTextLanguageIdentifier,
  isDegenerate,
  languageControl,
  lidLabelToLanguage,
  multipleChoiceAccuracy,
  pairedBootstrap,
  relevanceFromNll,
  repetitionTokens,
  steeringScore,
  type LanguageIdentifier,
} from '../../../../src/engine/analysis/metrics.js';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

describe('chrF (sacreBLEU definition, n = 6, β = 2)', () => {
  it('matches the published sacreBLEU example (Hugging Face metric card: 61.576379378113785)', () => {
    close(chrF('The relationship between Obama and Netanyahu is not exactly friendly.', 'The ties between Obama and Netanyahu are not particularly friendly.'), 61.576379378113785, 1e-9);
  });

  it('matches hand-computed values', () => {
    close(chrF('abc', 'abc'), 100);
    close(chrF('a b c', 'abc'), 100); // whitespace is removed before extracting n-grams
    close(chrF('xyz', 'abc'), 0);
    close(chrF('', 'abc'), 0);
    // 'ab' vs 'abc': orders 1,2 present; P = 1, R = (2/3 + 1/2)/2 = 7/12; F2 = 5·(7/12)/(4 + 7/12) = 7/11.
    close(chrF('ab', 'abc'), 700 / 11);
  });

  it('matches an independent implementation on French, Chinese and corpus-level inputs', () => {
    close(chrF('Le chat dort sur le canapé.', 'Le chat dort sur le sofa.'), 71.18863566373852, 1e-9);
    close(chrF('猫在沙发上睡觉', '猫睡在沙发上'), 38.90342891822183, 1e-9);
    close(corpusChrF(['Le chat dort.', 'Il pleut.'], ['Le chat dort sur le sofa.', 'Il pleut beaucoup.']), 43.68692239422842, 1e-9);
  });
});

describe('degeneration rule', () => {
  it('splits CJK text into characters and other text into words', () => {
    assert.deepEqual(repetitionTokens('the cat  sat'), ['the', 'cat', 'sat']);
    assert.deepEqual(repetitionTokens('猫が 寝る'), ['猫', 'が', '寝', 'る']);
    assert.deepEqual(repetitionTokens('Привет мир'), ['Привет', 'мир']);
  });

  it('counts loops as failures (distinct-2-gram ratio < 0.5)', () => {
    close(distinctNgramRatio('the the the the'), 1 / 3);
    assert.equal(isDegenerate('the the the the the'), true);
    assert.equal(isDegenerate('e e e e'), true);
    assert.equal(isDegenerate('地地地地地'), true);
    assert.equal(isDegenerate('   '), true);
    assert.equal(isDegenerate('The cat sleeps on the sofa.'), false);
    assert.equal(isDegenerate('人人生而自由，在尊严和权利上一律平等。'), false);
    // "a b a b a b": bigrams ab, ba, ab, ba, ab → 2 distinct of 5 = 0.4 → degenerate; one word is fine.
    assert.equal(isDegenerate('a b a b a b'), true);
    assert.equal(isDegenerate('Bonjour'), false);
  });
});

describe('language control', () => {
  const stub: LanguageIdentifier = {
    identify: (text: string) => Promise.resolve(text.trim() === '' ? [] : [{ language: /[àéè]|le |la /.test(text) ? 'fr' : 'en', probability: 0.9 }]),
  };

  it('is the share labelled as the target and not degenerate', async () => {
    const r = await languageControl(['The cat sleeps on the sofa.', 'Le chat dort sur la chaise.', 'the the the the the', ''], 'en', stub);
    assert.equal(r.n, 4);
    assert.equal(r.successes, 1);
    assert.equal(r.rate, 0.25);
    assert.equal(r.degenerate, 2);
    assert.deepEqual(r.verdicts.map((v) => v.language), ['en', 'fr', 'en', null]);
  });

  it('works with fastText lid.176 offline and returns ISO 639-1 codes', async () => {
    const lid = await fastTextLanguageIdentifier();
    const texts: Array<[string, string]> = [
      ['All human beings are born free and equal in dignity and rights.', 'en'],
      ['Tous les êtres humains naissent libres et égaux en dignité et en droits.', 'fr'],
      ['Alle Menschen sind frei und gleich an Würde und Rechten geboren.', 'de'],
      ['Все люди рождаются свободными и равными в своем достоинстве и правах.', 'ru'],
      ['人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心。', 'zh'],
      ['すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。', 'ja'],
      ['Bütün insanlar hür, haysiyet ve haklar bakımından eşit doğarlar.', 'tr'],
    ];
    for (const [text, lang] of texts) {
      const [top] = await lid.identify(text, 3);
      assert.equal(top?.language, lang, text);
      assert.ok(top && top.probability > 0.5 && top.probability <= 1);
    }
    assert.deepEqual(await lid.identify('  \n '), []);
    // Newlines are flattened (fastText reads one line).
    assert.equal((await lid.identify('Bonjour à tous.\nComment allez-vous aujourd\'hui ?'))[0]?.language, 'fr');
    const r = await languageControl(['The weather is nice today and we go outside.', 'Il fait beau aujourd\'hui et nous sortons.'], 'fr', lid);
    assert.equal(r.rate, 0.5);
  });

  it('maps lid.176 labels without ISO 639-1 codes to project codes', () => {
    assert.equal(lidLabelToLanguage({ alpha2: 'zh', alpha3: 'zho' }), 'zh');
    assert.equal(lidLabelToLanguage({ alpha2: null, alpha3: 'yue' }), 'zh');
    assert.equal(lidLabelToLanguage({ alpha2: null, alpha3: 'arz' }), 'ar');
  });
});

describe('scores and intervals', () => {
  it('steering score is the harmonic mean in 0–100', () => {
    close(steeringScore(80, 50), 8000 / 130);
    assert.equal(steeringScore(0, 90), 0);
    assert.equal(steeringScore(100, 100), 100);
    assert.throws(() => steeringScore(0.8, 120), /relevance must be in 0–100/);
  });

  it('relevance from NLL is the per-token probability in percent', () => {
    close(relevanceFromNll(0), 100);
    close(relevanceFromNll(Math.LN2), 50);
  });

  it('paired bootstrap: exact for a constant shift, seeded, covers the true delta', () => {
    const base = [0.1, 0.5, 0.3, 0.9, 0.2];
    const r = pairedBootstrap(base, base.map((b) => b + 1), { samples: 200, seed: 3 });
    close(r.delta, 1, 1e-12);
    close(r.low, 1, 1e-12);
    close(r.high, 1, 1e-12);
    assert.equal(r.pNotBetter, 0);
    // Noisy: 200 items, treated = base + 0.1 + noise(±0.5).
    let s = 42;
    const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const b = Array.from({ length: 200 }, () => rnd());
    const t = b.map((x) => x + 0.1 + (rnd() - 0.5));
    const a1 = pairedBootstrap(b, t, { seed: 9 });
    const a2 = pairedBootstrap(b, t, { seed: 9 });
    assert.deepEqual(a1, a2);
    assert.ok(a1.low < a1.delta && a1.delta < a1.high);
    assert.ok(a1.low < 0.1 && 0.1 < a1.high, `[${a1.low}, ${a1.high}]`);
    assert.ok(a1.high - a1.low < 0.12 && a1.high - a1.low > 0.04);
    assert.throws(() => pairedBootstrap([1, 2], [1]), /must be paired/);
  });

  it('multiple choice by log-likelihood, raw and length-normalised', () => {
    const items = [
      { choiceLogLikelihoods: [-2, -1, -5], choiceLengths: [1, 1, 1], answerIndex: 1 },
      { choiceLogLikelihoods: [-4, -3], choiceLengths: [4, 1], answerIndex: 0 },
    ];
    const raw = multipleChoiceAccuracy(items);
    assert.deepEqual(raw.predictions, [1, 1]);
    assert.equal(raw.accuracy, 0.5);
    const norm = multipleChoiceAccuracy(items, { lengthNormalize: true });
    assert.deepEqual(norm.predictions, [1, 0]);
    assert.equal(norm.accuracy, 1);
    assert.throws(() => multipleChoiceAccuracy([{ choiceLogLikelihoods: [-1], answerIndex: 2 }]), /answer index 2 but 1 choices/);
  });

  it('extracts the last number', () => {
    assert.equal(extractLastNumber('So 3 apples plus 4 gives 1,234.5 total'), 1234.5);
    assert.equal(extractLastNumber('La réponse est -12.'), -12);
    assert.equal(extractLastNumber('none'), null);
  });
});
