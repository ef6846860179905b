/**
 * The report's vector-method comparison: the sweep's choice rule (shared with build-vectors) and the
 * Markdown it writes — one row per pair, mean / min rows, the setting each method ran at, and a conclusion
 * that follows the numbers (DiffMean stays unless a method beats it by more than 5 points on the mean without
 * a worse minimum).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseCell } from '../../../src/engine/analysis/sweep';
import { renderMethodComparison, type MethodResult } from '../../../src/cli/commands/methodComparison';

const info = { testPrompts: 32, sweep: true, devPrompts: 8, devTokens: 20, sweepLayers: [3, 4, 5, 6], naturalMultiples: [1, 2, 3], projectionSigmas: [0.5, 1], steerSentences: 200, learned: { steps: 12, trainItems: 12, devItems: 16 }, seconds: 1800 };

function result(language: string, method: MethodResult['method'], languageControl: number, extra: Partial<MethodResult> = {}): MethodResult {
  return { language, method, setting: method === 'unsteered' ? null : 'dev sweep', layer: 4, strength: 1.05, positions: 'all', devLanguageControl: 100, languageControl, degenerate: 0, chrF: 14, alignmentBase: 0.3, alignmentSteered: 0.9, seconds: 1, ...extra };
}

describe('method comparison', () => {
  it('chooseCell takes the weakest cell within one prompt of the best language control', () => {
    const cells = [
      { layer: 3, strength: 0.8, languageControl: 70, degenerate: 0, chrF: 10 },
      { layer: 4, strength: 1.0, languageControl: 100, degenerate: 0, chrF: 11 },
      { layer: 4, strength: 2.0, languageControl: 100, degenerate: 0, chrF: 12 },
      { layer: 5, strength: 0.9, languageControl: 87, degenerate: 0, chrF: 13 },
    ];
    assert.deepEqual(chooseCell(cells, 8), cells[1], '87 % is more than one prompt (12.5 points) below 100 %');
    assert.deepEqual(chooseCell(cells, 4), cells[3], 'with 4 prompts 87 % is within one prompt (25 points) and the weakest such cell wins');
  });

  it('writes one row per pair with each method\'s layer and strength, mean and min rows, and keeps DiffMean when nothing beats it', () => {
    const rows = ['fr', 'zh'].flatMap((l, i) => [
      result(l, 'unsteered', 3 * i),
      result(l, 'diffmean', 100 - 10 * i, { setting: 'bundled sweep' }),
      result(l, 'pca', 97 - 10 * i),
      result(l, 'diffmean@prompt', 10),
      result(l, 'projection', 80, { layer: 5, strength: 0.5 }),
    ]);
    const md = renderMethodComparison(rows, ['learned fr-en: rejected'], info);
    assert.match(md, /\| language \| unsteered \| DiffMean \(bundled\) \| PCA \| DiffMean @prompt \| projection \(INCLINE\) \|/);
    assert.match(md, /\| fr-en \| 0 % \| 100 % \(k4, 1\.05\) \| 97 % \(k4, 1\.05\) \| 10 % \(k4, 1\.05\) \| 80 % \(k5, σ 0\.5\) \|/);
    assert.match(md, /\| \*\*mean\*\* \| \*\*2 %\*\* \| \*\*95 %\*\* \| \*\*92 %\*\* \| \*\*10 %\*\* \| \*\*80 %\*\* \|/);
    assert.match(md, /\| min \| 0 % \| 90 % \| 87 % \| 10 % \| 80 % \|/);
    assert.match(md, /We keep \*\*DiffMean toward English/);
    assert.match(md, /PCA within 5 points/);
    assert.match(md, /- learned fr-en: rejected/);
  });

  it('names a method that beats DiffMean by more than 5 points on the mean without a worse minimum', () => {
    const rows = ['fr', 'zh'].flatMap((l) => [result(l, 'unsteered', 0), result(l, 'diffmean', 70), result(l, 'probe', 90)]);
    const md = renderMethodComparison(rows, [], info);
    assert.match(md, /probe beats DiffMean by more than 5 points/);
    assert.doesNotMatch(md, /We keep \*\*DiffMean/);
  });
});
