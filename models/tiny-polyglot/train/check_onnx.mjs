// Checks an exported model.onnx with onnxruntime-node against PyTorch outputs written by export.py:
// a prompt with an empty past, then one KV-cache decode step. Fails if any |diff| > 1e-4.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath, casePath] = process.argv.slice(2);
const c = JSON.parse(readFileSync(casePath, 'utf8'));
const session = await ort.InferenceSession.create(modelPath);
const i64 = (a, dims) => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), dims);

function feeds(ids, pastLen, pos0, past) {
  const f = {
    input_ids: i64(ids, [1, ids.length]),
    attention_mask: i64(new Array(pastLen + ids.length).fill(1), [1, pastLen + ids.length]),
    position_ids: i64(ids.map((_, i) => pos0 + i), [1, ids.length]),
  };
  for (let l = 0; l < c.layers; l++) {
    for (const [j, n] of ['key', 'value'].entries()) {
      f[`past_key_values.${l}.${n}`] = past
        ? past[`present.${l}.${n}`]
        : new ort.Tensor('float32', new Float32Array(0), [1, c.kv_heads, 0, c.head_dim]);
    }
  }
  return f;
}

function maxDiff(got, want) {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
}

function compare(label, out, ref) {
  let worst = maxDiff(out.logits.data, ref.logits);
  for (let l = 0; l < c.layers; l++) {
    worst = Math.max(worst, maxDiff(out[`present.${l}.key`].data, ref.presents[2 * l]));
    worst = Math.max(worst, maxDiff(out[`present.${l}.value`].data, ref.presents[2 * l + 1]));
  }
  console.log(`${label}: max |onnx - torch| = ${worst.toExponential(2)}`);
  if (!(worst <= 1e-4)) throw new Error(`${label}: difference ${worst} exceeds 1e-4`);
}

const n = c.prompt.ids.length;
const out1 = await session.run(feeds(c.prompt.ids, 0, 0, null));
compare('prompt (past 0)', out1, c.prompt);
const out2 = await session.run(feeds([c.decode.id], n, n, out1));
compare('decode step (past ' + n + ')', out2, c.decode);
