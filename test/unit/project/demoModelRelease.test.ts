/**
 * The bundled demo model is released as a set (models/tiny-polyglot/train/release.sh): model.onnx, its vectors and
 * centroids, the engine's reference fixtures, eval.json, the model card and docs/EVALUATION.md. A release that
 * commits only part of that set leaves numbers in the docs that belong to another checkpoint; these tests catch it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/build';

const MODEL = path.join(REPO_ROOT, 'models/tiny-polyglot');
/** A JSON file's top-level object; the tests check the fields they read. */
const json = <T = Record<string, unknown>>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

interface Eval {
  checkpoint_step: number;
  fidelity: Record<string, { rate: number; n: number; repetitive: number }>;
  fidelity_by_source?: Record<string, Record<string, { ok: number; n: number }>>;
}

test('model.onnx, the bundled vectors and docs/evaluation.json name the same model hash', () => {
  const hash = createHash('sha256').update(readFileSync(path.join(MODEL, 'model.onnx'))).digest('hex');
  assert.equal(json(path.join(MODEL, 'vectors/index.json')).modelHash, hash, 'vectors/index.json: run `npm run build-vectors`');
  assert.equal(json(path.join(REPO_ROOT, 'docs/evaluation.json')).modelHash, hash, 'docs/evaluation.json: run `npm run evaluate-vectors`');
});

test('config.json, eval.json, the reference fixtures and the card name the same checkpoint step', () => {
  const lens = json<{ polyglot_lens: { trained_steps: number; averaged_from?: { step: number }[] } }>(path.join(MODEL, 'config.json')).polyglot_lens;
  const step = lens.trained_steps;
  const ev = json<Eval>(path.join(MODEL, 'train/eval.json'));
  assert.equal(ev.checkpoint_step, step);
  assert.equal(json(path.join(REPO_ROOT, 'test/fixtures/tiny-polyglot/reference.json')).checkpoint_step, step);
  const card = readFileSync(path.join(MODEL, 'MODEL_CARD.md'), 'utf8');
  if (lens.averaged_from) {
    // average.py's output: the latest averaged checkpoint's step, and the card names every step averaged.
    const steps = lens.averaged_from.map((e) => e.step);
    assert.equal(Math.max(...steps), step);
    // Decays on variant train corpora can end at the same step: the card names it once with a count, "16,000 (×3)".
    const counts = new Map<number, number>();
    for (const s of steps) counts.set(s, (counts.get(s) ?? 0) + 1);
    const named = [...counts].map(([s, n]) => s.toLocaleString('en-US') + (n > 1 ? ` (×${n})` : ''));
    const list = named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named[named.length - 1]}` : named[0]!;
    assert.ok(card.includes(`**Status: the average of the checkpoints of steps ${list} `), `card status names steps ${list}`);
    assert.ok(card.includes(`weights averaged over steps ${list})`), 'evaluation heading');
  } else {
    assert.match(card, new RegExp(`\\*\\*Status: checkpoint of step ${step.toLocaleString('en-US')} `));
    assert.match(card, new RegExp(`checkpoint step ${step}\\)`));
  }
  const report = readFileSync(path.join(REPO_ROOT, 'docs/EVALUATION.md'), 'utf8');
  assert.match(report, new RegExp(`\\(${step} training steps\\)`));
});

/**
 * The 95 % Wilson score interval (Wilson 1927; z = 1.96), written from its textbook form here so that the card's
 * interval column (card.py) is checked against an implementation it does not share.
 */
function wilson95(k: number, n: number): [number, number] {
  const z = 1.959964;
  const p = k / n;
  const denominator = 1 + (z * z) / n;
  const centre = p + (z * z) / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, (centre - spread) / denominator), Math.min(1, (centre + spread) / denominator)];
}

test('the card’s fidelity table and target count are eval.json’s numbers', () => {
  const ev = json<Eval>(path.join(MODEL, 'train/eval.json'));
  const card = readFileSync(path.join(MODEL, 'MODEL_CARD.md'), 'utf8');
  const langs = Object.keys(ev.fidelity);
  assert.ok(langs.length >= 11, 'eval.json covers every language');
  for (const lang of langs) {
    const row = new RegExp(`^\\| [^|]+ \\(\`${lang}\`\\) \\| (\\d+) % \\| (\\d+)/(\\d+) \\| (\\d+)–(\\d+) % \\|`, 'm').exec(card);
    assert.ok(row, `no fidelity row for ${lang} in MODEL_CARD.md`);
    const f = ev.fidelity[lang]!;
    assert.equal(Number(row[1]), Math.round(f.rate * 100), lang);
    assert.equal(Number(row[2]), f.repetitive, lang);
    assert.equal(Number(row[3]), f.n, lang);
    const [low, high] = wilson95(Math.round(f.rate * f.n), f.n);
    assert.deepEqual([Number(row[4]), Number(row[5])], [Math.round(low * 100), Math.round(high * 100)], `${lang}: 95 % interval`);
    // Per-source counts add up to the language's totals.
    const bySource = ev.fidelity_by_source?.[lang];
    if (bySource) {
      const counts = Object.values(bySource);
      assert.equal(counts.reduce((a, c) => a + c.n, 0), f.n, `${lang}: prompts by source`);
      assert.equal(counts.reduce((a, c) => a + c.ok, 0), Math.round(f.rate * f.n), `${lang}: kept by source`);
    }
  }
  const met = langs.filter((l) => ev.fidelity[l]!.rate >= 0.9).length;
  assert.match(card, new RegExp(`language fidelity ≥ 90 % is met for ${met} of ${langs.length} languages`));
  for (const lang of langs.filter((l) => ev.fidelity[l]!.rate < 0.9)) {
    if (ev.fidelity_by_source) assert.match(card, new RegExp(`fidelity is ${Math.round(ev.fidelity[lang]!.rate * 100)} % on the test split; continuations kept per prompt source`));
  }
});
