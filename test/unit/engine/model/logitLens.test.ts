import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { openModel } from '../../../../src/engine/model/openModel';
import { steerInputName } from '../../../../src/engine/model/surgery';
import { floats, promptFeeds, requireOnnx, SYN, SYNTHETIC_CASES, syntheticModel, tempDir } from './helpers';

const PROMPT = [1, 9, 22, 4, 41, 18];
const cacheDir = tempDir();

function topK(row: Float32Array, k: number): number[] {
  return Array.from(row.keys())
    .sort((a, b) => (row[b] as number) - (row[a] as number) || a - b)
    .slice(0, k);
}

function logSumExp(row: Float32Array): number {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
}

for (const c of SYNTHETIC_CASES) {
  test(`logit lens (${c}): at k = L it reproduces the model's own logits; at k < L the model's logits with the residual at L replaced`, async (t) => {
    if (!requireOnnx(t)) return;
    const m = await openModel(syntheticModel(c), { cacheDir, session: { intraOpNumThreads: 1 } });
    try {
      const base = await m.inspect.forward(PROMPT);
      const hs = base.hiddenStates;
      assert.ok(hs && hs.length === SYN.L + 1);
      const V = base.vocabSize;
      const K = 5;
      for (const pos of [0, PROMPT.length - 1]) {
        const lens = await m.lens.atPosition(hs, pos, K);
        assert.equal(lens.length, SYN.L + 1);
        for (let k = 0; k <= SYN.L; k++) {
          // Independent expectation: the model itself, steered at layer L by (h_k - h_L) at every position,
          // so the residual entering its final norm is h_k; its logits are then what the lens must give.
          let logits: Float32Array;
          if (k === SYN.L) {
            logits = base.logits;
          } else {
            const hL = hs[SYN.L] as Float32Array;
            const hk = hs[k] as Float32Array;
            const delta = hk.map((x, i) => x - (hL[i] as number));
            logits = (await runWithSteer(m.inspect.session, PROMPT, c, delta)).logits;
          }
          const row = logits.subarray(pos * V, (pos + 1) * V);
          const want = topK(row, K);
          const got = lens[k];
          assert.ok(got);
          assert.deepEqual(got.ids, want, `${c} layer ${k} position ${pos}`);
          // h_L + (h_k - h_L) rounds back to h_k only approximately. The float16 model computes in float16
          // (the lens rounds its float32 input to float16; the model may keep some values in float32).
          const tol = c === 'fp16' ? 2e-2 : k === SYN.L ? 1e-6 : 1e-4;
          got.logits.forEach((v, i) => assert.ok(Math.abs(v - (row[want[i] as number] as number)) < tol, `logit ${i}: ${v}`));
          const lz = logSumExp(row);
          got.logProbs.forEach((lp, i) => assert.ok(Math.abs(lp - ((row[want[i] as number] as number) - lz)) < tol * 10, `log-prob ${i}`));
          assert.ok(got.logProbs.every((lp, i) => i === 0 || lp <= (got.logProbs[i - 1] as number)), 'best first');
        }
      }
      // Rows at other layers differ: the lens is not returning one row for all.
      const lens = await m.lens.atPosition(hs, PROMPT.length - 1, 5);
      assert.ok(new Set(lens.map((r) => r.ids.join())).size > 1);
      await assert.rejects(m.lens.atPosition(hs, PROMPT.length, 5), /outside the 6 tokens/);
      await assert.rejects(m.lens.topK(new Float32Array(SYN.H + 1), 5), /multiple of the hidden size 16/);
    } finally {
      await m.dispose();
    }
  });
}

async function runWithSteer(session: ort.InferenceSession, ids: number[], c: string, deltaAtL: Float32Array): Promise<{ logits: Float32Array }> {
  const feeds = promptFeeds(ids, { ifMerged: c === 'ifmerged', fp16: c === 'fp16', steerZeros: SYN.L });
  feeds[steerInputName(SYN.L)] = new ort.Tensor('float32', deltaAtL, [1, ids.length, SYN.H]);
  const out = await session.run(feeds);
  return { logits: floats(out.logits) };
}
