import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { locateResidualStream } from '../../../../src/engine/model/locator';
import { encodeModel, readModelFile } from '../../../../src/engine/model/onnxProto';
import { surgerModel, variantOptions } from '../../../../src/engine/model/surgery';
import { ortSessionOptions } from '../../../../src/engine/model/session';
import { SurgeryError } from '../../../../src/engine/model/errors';
import {
  bitIdentical,
  floats,
  maxAbsDiff,
  rawBytes,
  onnxCheck,
  promptFeeds,
  requireOnnx,
  SYN,
  SYNTHETIC_CASES,
  syntheticModel,
  testVector,
} from './helpers';

const PROMPT = [1, 5, 17, 9, 30, 44, 3];

/** Surgered variants written next to the original (so external data locations stay valid). */
function surgered(c: string): { dir: string; original: string; inspect: string; steer: string } {
  const dir = syntheticModel(c as never);
  const original = path.join(dir, 'model.onnx');
  const inspect = path.join(dir, 'surgered_inspect.onnx');
  const steer = path.join(dir, 'surgered_steer.onnx');
  if (!fs.existsSync(inspect)) {
    const model = readModelFile(original);
    const layout = locateResidualStream(model, { numLayers: SYN.L });
    fs.writeFileSync(inspect, encodeModel(surgerModel(model, layout, variantOptions('inspect'))));
    fs.writeFileSync(steer, encodeModel(surgerModel(model, layout, variantOptions('steer'))));
  }
  return { dir, original, inspect, steer };
}

async function session(file: string, level: 'basic' | 'all' = 'basic'): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, ortSessionOptions({ graphOptimizationLevel: level, intraOpNumThreads: 1 }));
}

const data = floats;
const same = (a: ort.Tensor | undefined, b: ort.Tensor | undefined): boolean => rawBytes(a).equals(rawBytes(b));

for (const c of SYNTHETIC_CASES) {
  test(`surgery (${c}): both variants pass onnx.checker full_check`, (t) => {
    if (!requireOnnx(t)) return;
    const s = surgered(c);
    assert.equal(onnxCheck([s.inspect, s.steer]), '');
  });

  test(`surgery (${c}): a zero steer is an exact no-op on logits and KV outputs`, async (t) => {
    if (!requireOnnx(t)) return;
    const s = surgered(c);
    const ifMerged = c === 'ifmerged';
    const fp16 = c === 'fp16';
    const base = await (await session(s.original)).run(promptFeeds(PROMPT, { ifMerged, fp16 }));
    for (const variant of [s.inspect, s.steer]) {
      const out = await (await session(variant)).run(promptFeeds(PROMPT, { ifMerged, fp16, steerZeros: SYN.L }));
      assert.ok(same(base.logits, out.logits), `${path.basename(variant)}: logits bit-identical`);
      for (let i = 0; i < SYN.L; i++) {
        assert.ok(same(base[`present.${i}.key`], out[`present.${i}.key`]), `present.${i}.key`);
        assert.ok(same(base[`present.${i}.value`], out[`present.${i}.value`]), `present.${i}.value`);
      }
    }
    const inspectOut = (await session(s.inspect)).outputNames;
    const steerOut = (await session(s.steer)).outputNames;
    assert.deepEqual(
      inspectOut.filter((n) => n.startsWith('hidden_states.')),
      Array.from({ length: SYN.L + 1 }, (_, k) => `hidden_states.${k}`),
    );
    assert.equal(steerOut.filter((n) => n.startsWith('hidden_states.')).length, 0, 'the generation variant exposes no hidden states');
  });

  test(`surgery (${c}): a steer at layer k moves hidden_states.k by exactly the vector and nothing before it`, async (t) => {
    if (!requireOnnx(t)) return;
    const s = surgered(c);
    const ifMerged = c === 'ifmerged';
    const fp16 = c === 'fp16';
    const sess = await session(s.inspect);
    const zero = await sess.run(promptFeeds(PROMPT, { ifMerged, fp16, steerZeros: SYN.L }));
    for (const k of [0, 2, SYN.L]) {
      const v = testVector(SYN.H, 100 + k, 0.75);
      const feeds = { ...promptFeeds(PROMPT, { ifMerged, fp16, steerZeros: SYN.L }), [`steer.${k}`]: new ort.Tensor('float32', v, [1, 1, SYN.H]) };
      const out = await sess.run(feeds);
      for (let j = 0; j < k; j++) {
        assert.ok(bitIdentical(data(zero[`hidden_states.${j}`]), data(out[`hidden_states.${j}`])), `layer ${j} < ${k} untouched`);
      }
      const h0 = data(zero[`hidden_states.${k}`]);
      const h1 = data(out[`hidden_states.${k}`]);
      assert.equal(h1.length, PROMPT.length * SYN.H);
      let worst = 0;
      for (let i = 0; i < h1.length; i++) {
        // float32 addition rounds: (h + v) - h equals v up to half an ulp of the sum.
        const err = Math.abs((h1[i] as number) - (h0[i] as number) - (v[i % SYN.H] as number));
        worst = Math.max(worst, err / Math.max(1, Math.abs(h1[i] as number)));
      }
      // float16 models add in float16 (half an ulp: 2^-11 relative).
      assert.ok(worst < (fp16 ? 5e-4 : 3e-7), `layer ${k}: delta equals the vector (worst relative error ${worst})`);
      assert.ok(maxAbsDiff(data(zero.logits), data(out.logits)) > 1e-3, `steering layer ${k} changes the logits`);
      if (k < SYN.L) {
        assert.ok(maxAbsDiff(h0, h1) > 0 && maxAbsDiff(data(zero[`hidden_states.${k + 1}`]), data(out[`hidden_states.${k + 1}`])) > 0, 'later layers see the steered residual');
      }
      // The generation variant computes the same logits for the same steer.
      const gen = await (await session(s.steer)).run(feeds);
      assert.ok(same(out.logits, gen.logits), 'steer-only variant agrees with the inspect variant');
    }
  });

  test(`surgery (${c}): a per-position steer ([1, seq, H]) moves only the chosen positions`, async (t) => {
    if (!requireOnnx(t)) return;
    const s = surgered(c);
    const ifMerged = c === 'ifmerged';
    const fp16 = c === 'fp16';
    const sess = await session(s.inspect);
    const zero = await sess.run(promptFeeds(PROMPT, { ifMerged, fp16, steerZeros: SYN.L }));
    const v = testVector(SYN.H, 7, 1);
    const perPos = new Float32Array(PROMPT.length * SYN.H);
    perPos.set(v, (PROMPT.length - 1) * SYN.H); // last position only
    const k = 1;
    const out = await sess.run({ ...promptFeeds(PROMPT, { ifMerged, fp16, steerZeros: SYN.L }), [`steer.${k}`]: new ort.Tensor('float32', perPos, [1, PROMPT.length, SYN.H]) });
    const h0 = data(zero[`hidden_states.${k}`]);
    const h1 = data(out[`hidden_states.${k}`]);
    const last = (PROMPT.length - 1) * SYN.H;
    assert.ok(bitIdentical(h0.subarray(0, last), h1.subarray(0, last)), 'earlier positions untouched');
    assert.ok(maxAbsDiff(h0.subarray(last), h1.subarray(last)) > 0.1, 'last position moved');
    // Causal attention: logits before the last position are unchanged too.
    const V = SYN.V;
    assert.ok(bitIdentical(data(zero.logits).subarray(0, (PROMPT.length - 1) * V), data(out.logits).subarray(0, (PROMPT.length - 1) * V)), 'earlier logits untouched');
  });
}

for (const c of ['plain', 'scaled', 'fused', 'layernorm', 'external', 'fp16']) {
  test(`surgery (${c}): hidden_states.k equal the residual tensors exposed independently by onnx.helper`, async (t) => {
    if (!requireOnnx(t)) return;
    const s = surgered(c);
    const fp16 = c === 'fp16';
    const ref = await (await session(path.join(s.dir, 'reference_outputs.onnx'))).run(promptFeeds(PROMPT, { fp16 }));
    const out = await (await session(s.inspect)).run(promptFeeds(PROMPT, { fp16, steerZeros: SYN.L }));
    // hidden_states are float32 whatever the model's precision (float16 converts exactly).
    assert.equal(out['hidden_states.0']?.type, 'float32');
    for (let k = 0; k <= SYN.L; k++) {
      const want = data(ref[`ref.${k}`]);
      const got = data(out[`hidden_states.${k}`]);
      if (fp16) {
        // ORT's CPU provider runs float16 graphs partly in float32 (it inserts Casts around kernels it only
        // has in float32 and removes Cast pairs), so the float32 hidden state can be the unrounded value of
        // which the float16 tensor is the rounding: equal to within half a float16 ulp.
        want.forEach((w, i) => assert.ok(Math.abs(w - (got[i] as number)) <= Math.abs(w) * 2 ** -11 + 2 ** -24, `layer ${k}[${i}]: ${w} vs ${got[i]}`));
      } else {
        assert.ok(bitIdentical(want, got), `layer ${k}`);
      }
      assert.deepEqual(out[`hidden_states.${k}`]?.dims, [1, PROMPT.length, SYN.H]);
    }
  });
}

test('surgery at optimisation level "all": exact where ORT fuses both graphs alike, within 1e-5 where it does not', async (t) => {
  if (!requireOnnx(t)) return;
  for (const c of SYNTHETIC_CASES) {
    const s = surgered(c);
    const ifMerged = c === 'ifmerged';
    const fp16 = c === 'fp16';
    const base = await (await session(s.original, 'all')).run(promptFeeds(PROMPT, { ifMerged, fp16 }));
    const out = await (await session(s.inspect, 'all')).run(promptFeeds(PROMPT, { ifMerged, fp16, steerZeros: SYN.L }));
    if (c === 'layernorm') {
      // ORT fuses the unmodified graph's last Add + LayerNormalization into SkipLayerNormalization, whose
      // kernel rounds differently; in the surgered graph that Add also feeds hidden_states.L and is not fused.
      assert.ok(maxAbsDiff(data(base.logits), data(out.logits)) < 1e-5, c);
    } else {
      assert.ok(same(base.logits, out.logits), c);
    }
  }
});

test('surgery leaves the input model unchanged and refuses to surger twice', (t) => {
  if (!requireOnnx(t)) return;
  const model = readModelFile(path.join(syntheticModel('fused'), 'model.onnx'));
  const before = Buffer.from(encodeModel(model));
  const layout = locateResidualStream(model, { numLayers: SYN.L });
  const once = surgerModel(model, layout, variantOptions('inspect'));
  assert.ok(Buffer.from(encodeModel(model)).equals(before), 'input model bytes unchanged');
  assert.throws(() => surgerModel(once, layout, variantOptions('inspect')), (e: unknown) => e instanceof SurgeryError && /surgered already/.test(e.message));
});
