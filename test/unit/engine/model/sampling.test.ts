import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleFromLogits as sampleFast } from '../../../../src/engine/model/sampling';
// The nucleus path of sampleFromLogits sorts natively instead of with a comparator; it must draw exactly what
// the general algorithm (a full comparator sort, kept as the topK path) draws.
test('nucleus sampling draws the same token as the comparator-sort algorithm', () => {
  const reference = (logits: Float32Array, t: number, topP: number, u: number): number => {
    const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
    const max = logits[order[0] as number] as number;
    const w = order.map((i) => Math.exp(((logits[i] as number) - max) / t));
    let total = w.reduce((a, b) => a + b, 0);
    let keep = w.length;
    let cum = 0;
    for (let j = 0; j < w.length; j++) {
      cum += w[j] as number;
      if (cum / total >= topP) {
        keep = j + 1;
        break;
      }
    }
    total = w.slice(0, keep).reduce((a, b) => a + b, 0);
    let target = u * total;
    for (let j = 0; j < keep; j++) {
      target -= w[j] as number;
      if (target < 0) return order[j] as number;
    }
    return order[keep - 1] as number;
  };
  let s = 12345;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 300; trial++) {
    const n = 50 + (trial % 7) * 40;
    const logits = Float32Array.from({ length: n }, () => Math.round((rnd() * 8 - 4) * (trial % 3 === 0 ? 2 : 100)) / (trial % 3 === 0 ? 2 : 100));
    const t = [0.3, 0.7, 1.3][trial % 3] as number;
    const p = [0.5, 0.9, 1][trial % 3] as number;
    const u = rnd();
    assert.equal(sampleFast(logits, { temperature: t, topP: p, seed: 0 }, u), reference(logits, t, p, u), `trial ${trial}`);
  }
});
