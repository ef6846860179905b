/**
 * CI smoke test of the demo model's build pipeline (models/tiny-polyglot/train/smoke.sh): real Debian source
 * packages (a small subset), cleaning + language identification, BPE training, a few training steps of a
 * 2-layer model, ONNX export, onnx.checker, and the onnxruntime-node vs PyTorch check (≤ 1e-4) inside
 * export.py. The exported folder is then checked here for the Optimum "with past" layout with Debian's
 * python3-onnx. Needs python3-torch/onnx/numpy and apt (downloads ~6 MB of .debs); skipped loudly
 * elsewhere, an error under CI=true.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkTool, REPO_ROOT, skipLoudly } from '../../e2e/harness/environment';

const PYTHON = '/usr/bin/python3';

test('tiny-polyglot pipeline: data → BPE → train → export → checks, on a tiny configuration', { timeout: 10 * 60_000 }, (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy'], { encoding: 'utf8' });
  const missing = checkTool(
    'python3 with torch, onnx and numpy',
    probe.status === 0,
    'Install them with `apt-get install -y python3-torch python3-onnx python3-numpy libopenblas0-pthread`.',
  );
  if (missing !== undefined) return skipLoudly(t, missing);

  const work = mkdtempSync(path.join(tmpdir(), 'tiny-polyglot-smoke-'));
  try {
    const run = spawnSync('bash', [path.join(REPO_ROOT, 'models/tiny-polyglot/train/smoke.sh'), work], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 9 * 60_000,
    });
    assert.equal(run.status, 0, `smoke.sh failed:\n${run.stdout}\n${run.stderr}`);
    // export.py prints the ORT-vs-PyTorch agreement for a prompt and a KV-cache decode step.
    const diffs = [...run.stdout.matchAll(/max \|onnx - torch\| = ([0-9.e+-]+)/g)].map((m) => Number(m[1]));
    assert.equal(diffs.length, 2, run.stdout);
    for (const d of diffs) assert.ok(d <= 1e-4, `ORT vs PyTorch difference ${d} exceeds 1e-4`);

    const model = path.join(work, 'model');
    const config = JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.model_type, 'llama');
    assert.equal(config.num_hidden_layers, 2);
    // smoke.sh trains steps 4–6 on the mixture (--mixture-from 3): the checkpoint and config.json say so.
    const lens = config.polyglot_lens as Record<string, unknown>;
    assert.equal(lens.trained_steps, 6);
    assert.equal(lens.mixture_from, 3);
    const layout = spawnSync(
      PYTHON,
      ['-c', `import onnx, sys, json
m = onnx.load(sys.argv[1])
print(json.dumps({"inputs": [i.name for i in m.graph.input], "outputs": [o.name for o in m.graph.output],
  "opset": m.opset_import[0].version, "nodes": [n.name for n in m.graph.node if n.op_type == "Gather" and "model.embed_tokens.weight" in n.input]}))`,
      path.join(model, 'model.onnx')],
      { encoding: 'utf8' },
    );
    assert.equal(layout.status, 0, layout.stderr);
    const g = JSON.parse(layout.stdout) as { inputs: string[]; outputs: string[]; opset: number; nodes: string[] };
    assert.deepEqual(g.inputs, [
      'input_ids', 'attention_mask', 'position_ids',
      'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value',
    ]);
    assert.deepEqual(g.outputs, ['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    assert.equal(g.opset, 17);
    // Hugging Face / Optimum node naming, which the residual-stream locator's error messages refer to.
    assert.match(g.nodes[0] ?? '', /^\/model\/embed_tokens\//);

    // The training mixture (train.py's Mixture, over all of the smoke run's train split): of the characters in
    // the batches it draws, English gets a quarter and the other languages (here fr, de) split the rest evenly,
    // although their streams differ in length and in characters per token. Counted on decoded batches.
    const mix = spawnSync(
      PYTHON,
      ['-c', `import json, sys, numpy as np
from bpe import Encoder
from common import WORK
import train
enc = Encoder(sys.argv[1])
m = train.Mixture(enc, WORK / "smoke", 0.25, limit=50)
rng = np.random.default_rng(7)
chars = dict.fromkeys(m.langs, 0)
for _ in range(500):
    langs, rows = m.draw(rng, 8)
    for lang, row in zip(langs, rows):
        chars[lang] += len(enc.decode(row[:-1].tolist()))
total = sum(chars.values())
print(json.dumps({l: c / total for l, c in chars.items()}))`, path.join(model, 'tokenizer.json')],
      { cwd: path.join(REPO_ROOT, 'models/tiny-polyglot/train'), encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } },
    );
    assert.equal(mix.status, 0, mix.stderr);
    const share = JSON.parse(mix.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    assert.deepEqual(Object.keys(share).sort(), ['de', 'en', 'fr']);
    assert.ok(Math.abs((share.en ?? 0) - 0.25) < 0.03, `English share of mixture characters ${share.en}`);
    for (const l of ['fr', 'de']) assert.ok(Math.abs((share[l] ?? 0) - 0.375) < 0.03, `${l} share ${share[l]}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('train.py remakes token caches made with another tokenizer or corpus, and refuses them where there is no corpus', { timeout: 2 * 60_000 }, (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  const missing = checkTool('python3 with torch and numpy', probe.status === 0, 'Install them with `apt-get install -y python3-torch python3-numpy`.');
  if (missing !== undefined) return skipLoudly(t, missing);
  const work = mkdtempSync(path.join(tmpdir(), 'tiny-polyglot-caches-'));
  try {
    // Caches are stand-in files: check_token_caches looks only at their names, the tokenizer's bytes and the corpus sizes.
    const run = spawnSync(
      PYTHON,
      ['-c', `import json, shutil
from common import WORK
import train
tok_a, tok_b = WORK / "a.json", WORK / "b.json"
tok_a.write_text('{"model": "a"}'); tok_b.write_text('{"model": "b"}')
(WORK / "corpus").mkdir(); (WORK / "corpus" / "train.txt").write_text("x" * 10)
caches = [WORK / n for n in ("train-tokens.npy", "train-tokens-en.npy", "dev-tokens.npy", "train-chars.json")]
def make():
    for c in caches: c.write_text("c")
def kept(): return [c.exists() for c in caches]
out = {}
make(); train.check_token_caches(WORK, tok_a); out["first"] = kept()
train.check_token_caches(WORK, tok_a); out["same"] = kept()
train.check_token_caches(WORK, tok_b); out["other tokenizer"] = kept()
make(); (WORK / "corpus" / "train.txt").write_text("y" * 11); train.check_token_caches(WORK, tok_b); out["other corpus"] = kept()
make(); shutil.rmtree(WORK / "corpus"); train.check_token_caches(WORK, tok_b); out["no corpus, same tokenizer"] = kept()
try:
    train.check_token_caches(WORK, tok_a); out["no corpus, other tokenizer"] = "accepted"
except SystemExit as e:
    out["no corpus, other tokenizer"] = str(e)
out["still there"] = kept()
print(json.dumps(out))`],
      { cwd: path.join(REPO_ROOT, 'models/tiny-polyglot/train'), encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } },
    );
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Record<string, boolean[] | string>;
    const all = [true, true, true, true];
    const none = [false, false, false, false];
    assert.deepEqual(out.first, all, 'caches without a stamp are adopted');
    assert.deepEqual(out.same, all);
    assert.deepEqual(out['other tokenizer'], none);
    assert.deepEqual(out['other corpus'], none);
    assert.deepEqual(out['no corpus, same tokenizer'], all);
    assert.match(String(out['no corpus, other tokenizer']), /made with another tokenizer and there is no corpus here/);
    assert.deepEqual(out['still there'], all, 'a refusal deletes nothing');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
