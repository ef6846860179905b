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
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

    // average.py: the smoke checkpoint and a copy of it shifted by 0.01 (at a later step) average to the
    // checkpoint + 0.005, keep the later step, drop the optimizer state, record both dev losses and the average's;
    // export.py carries that into config.json. Bad input is refused with a message.
    const trainDir = path.join(REPO_ROOT, 'models/tiny-polyglot/train');
    const smokeCkpt = path.join(work, 'smoke/ckpt/latest.pt');
    const shifted = path.join(work, 'shifted.pt');
    const averaged = path.join(work, 'averaged.pt');
    const prep = spawnSync(PYTHON, ['-c', `import sys, torch
ck = torch.load(sys.argv[1])
ck["model"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in ck["model"].items()}
ck["step"] += 10
torch.save(ck, sys.argv[2])
other = dict(ck); other["config"] = dict(ck["config"], hidden_size=ck["config"]["hidden_size"] * 2)
torch.save(other, sys.argv[3])`, smokeCkpt, shifted, path.join(work, 'other.pt')], { encoding: 'utf8' });
    assert.equal(prep.status, 0, prep.stderr);
    const average = (...args: string[]) => spawnSync(PYTHON, ['average.py', ...args], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    const devTokens = ['--dev-tokens', path.join(work, 'smoke/train.npy')];
    const avg = average('--out', averaged, ...devTokens, smokeCkpt, shifted);
    assert.equal(avg.status, 0, avg.stderr);
    assert.match(avg.stdout, /average of 2: dev loss \d+\.\d+/);
    const got = spawnSync(PYTHON, ['-c', `import json, sys, torch
a, avg = torch.load(sys.argv[1]), torch.load(sys.argv[2])
diff = max((avg["model"][k] - (v + 0.005)).abs().max().item() for k, v in a["model"].items() if v.is_floating_point())
print(json.dumps({"diff": diff, "step": avg["step"], "opt": "opt" in avg, "from": avg["averaged_from"], "dev_loss": avg["dev_loss"]}))`,
    smokeCkpt, averaged], { encoding: 'utf8' });
    assert.equal(got.status, 0, got.stderr);
    const a = JSON.parse(got.stdout) as { diff: number; step: number; opt: boolean; from: { step: number; mixture_from: number | null; dev_loss: number }[]; dev_loss: number };
    assert.ok(a.diff < 1e-6, `averaged weights differ from checkpoint + 0.005 by ${a.diff}`);
    assert.equal(a.step, 16);
    assert.equal(a.opt, false, 'an average carries no optimizer state');
    assert.deepEqual(a.from.map((e) => [e.step, e.mixture_from]), [[6, 3], [16, 3]]);
    for (const d of [...a.from.map((e) => e.dev_loss), a.dev_loss]) assert.ok(Number.isFinite(d) && d > 0, `dev loss ${d}`);
    assert.notEqual(a.dev_loss, a.from[0]!.dev_loss);
    // Into the smoke model's folder: export.py checks the export with the tokenizer it finds there.
    const exp = spawnSync(PYTHON, ['export.py', '--ckpt', averaged, '--out', model], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.equal(exp.status, 0, exp.stderr);
    const avgLens = (JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8')) as { polyglot_lens: Record<string, unknown> }).polyglot_lens;
    assert.equal(avgLens.trained_steps, 16);
    assert.deepEqual(avgLens.averaged_from, a.from.map(({ step, mixture_from, dev_loss }) => ({ step, mixture_from, dev_loss })));
    assert.equal(avgLens.dev_loss, a.dev_loss);
    assert.match(average('--out', path.join(work, 'x.pt'), ...devTokens, smokeCkpt, path.join(work, 'other.pt')).stderr, /another model configuration/);
    assert.match(average('--out', path.join(work, 'smoke/ckpt/latest.pt'), ...devTokens, smokeCkpt, shifted).stderr, /must not be a latest\.pt/);
    assert.match(average('--out', path.join(work, 'x.pt'), ...devTokens, smokeCkpt).stderr, /at least two checkpoints/);
    // train.py resumes only from its own checkpoints: an average (no optimizer state) in latest.pt is refused.
    copyFileSync(averaged, smokeCkpt);
    const resume = spawnSync(PYTHON, ['train.py', '--smoke', '--tokenizer', path.join(model, 'tokenizer.json')], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.notEqual(resume.status, 0);
    assert.match(resume.stderr, /has no optimizer state/);
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
