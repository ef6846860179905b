/**
 * lengthSortedBatches: the grouping behind batched extraction, scoring and generation. Every index lands in
 * exactly one batch, rows come longest first, and a batch never exceeds its row limit or its padded-token
 * budget (rows × longest row), except a single row longer than the budget, which runs alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lengthSortedBatches } from '../../../../src/engine/model/batch';

describe('lengthSortedBatches', () => {
  const lengths = [12, 96, 7, 40, 40, 3, 33, 95, 18, 60, 22, 41, 9, 70, 5, 28];

  it('places every index once, longest first, within the row limit and the padded-token budget', () => {
    for (const [rows, tokens] of [
      [32, 4096],
      [32, 512],
      [4, 512],
      [16, 100],
    ] as const) {
      const batches = lengthSortedBatches(lengths, rows, tokens);
      assert.deepEqual(batches.flat().sort((a, b) => a - b), lengths.map((_, i) => i), `${rows}/${tokens}: each index once`);
      const order = batches.flat().map((i) => lengths[i] as number);
      assert.deepEqual(order, [...order].sort((a, b) => b - a), `${rows}/${tokens}: longest first`);
      for (const b of batches) {
        assert.ok(b.length <= rows, `${rows}/${tokens}: ${b.length} rows`);
        const padded = b.length * Math.max(...b.map((i) => lengths[i] as number));
        assert.ok(padded <= tokens || b.length === 1, `${rows}/${tokens}: ${padded} padded tokens in a batch of ${b.length}`);
      }
    }
  });

  it('a 512-token budget splits the long rows into small batches and keeps the short ones together', () => {
    const batches = lengthSortedBatches(lengths, 32, 512);
    // 96+95+70+60+41 → 5 rows of 96 = 480 tokens; then 40,40,33,28,22,18,12 … of ≤ 40 → 12 rows ≤ 480.
    assert.deepEqual(batches.map((b) => b.map((i) => lengths[i])), [
      [96, 95, 70, 60, 41],
      [40, 40, 33, 28, 22, 18, 12, 9, 7, 5, 3],
    ]);
    assert.equal(lengthSortedBatches(lengths, 32, 4096).length, 1, 'the old 4096 budget put all 16 rows (16 × 96 padded) in one run');
  });

  it('a row longer than the budget runs alone', () => {
    assert.deepEqual(lengthSortedBatches([200, 10, 10], 8, 64), [[0], [1, 2]]);
  });
});
