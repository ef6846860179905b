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
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
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
torch.save(other, sys.argv[3])
retok = dict(ck); retok["tokenizer_sha256"] = "0" * 64
torch.save(retok, sys.argv[4])
print(ck.get("tokenizer_sha256"))`, smokeCkpt, shifted, path.join(work, 'other.pt'), path.join(work, 'retok.pt')], { encoding: 'utf8' });
    assert.equal(prep.status, 0, prep.stderr);
    // Every checkpoint records the sha256 of the tokenizer.json it was trained with.
    assert.equal(prep.stdout.trim(), createHash('sha256').update(readFileSync(path.join(model, 'tokenizer.json'))).digest('hex'));
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
    assert.match(average('--out', path.join(work, 'x.pt'), ...devTokens, smokeCkpt, path.join(work, 'retok.pt')).stderr, /trained with another tokenizer/);
    // Decays that read different train corpora (data.py options) and a hand-made schedule record: average.py keeps
    // one label per checkpoint and the record, export.py carries both into config.json for the card.
    const labelled = path.join(work, 'labelled.pt');
    const handSchedule = { stable: 6, branches: [4, 6], decay: 2, every: 1 };
    const lab = average('--out', labelled, ...devTokens, smokeCkpt, shifted, '--data', 'data.py', 'data.py --drop-option-help', '--schedule', JSON.stringify(handSchedule));
    assert.equal(lab.status, 0, lab.stderr);
    const labOut = path.join(work, 'labelled-model');
    mkdirSync(labOut);
    copyFileSync(path.join(model, 'tokenizer.json'), path.join(labOut, 'tokenizer.json'));
    const labExp = spawnSync(PYTHON, ['export.py', '--ckpt', labelled, '--out', labOut], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.equal(labExp.status, 0, labExp.stderr);
    const labLens = (JSON.parse(readFileSync(path.join(labOut, 'config.json'), 'utf8')) as { polyglot_lens: { averaged_from: { data?: string }[]; schedule: unknown } }).polyglot_lens;
    assert.deepEqual(labLens.averaged_from.map((e) => e.data), ['data.py', 'data.py --drop-option-help']);
    assert.deepEqual(labLens.schedule, handSchedule);
    assert.match(average('--out', path.join(work, 'x.pt'), ...devTokens, smokeCkpt, shifted, '--data', 'data.py').stderr, /one label per checkpoint \(2\), got 1/);
    assert.match(average('--out', path.join(work, 'x.pt'), ...devTokens, smokeCkpt, shifted, '--schedule', '{"stable": 6}').stderr, /--schedule needs stable, branches, decay and every/);
    // Another tokenizer (the committed demo model's) is refused wherever a checkpoint meets one, before any work:
    // its ids would stand for other tokens.
    const committedTokenizer = path.join(REPO_ROOT, 'models/tiny-polyglot/tokenizer.json');
    const otherOut = path.join(work, 'other-model');
    mkdirSync(otherOut);
    copyFileSync(committedTokenizer, path.join(otherOut, 'tokenizer.json'));
    const wrongTokenizer = /is not the tokenizer this checkpoint was trained with/;
    const refusedExport = spawnSync(PYTHON, ['export.py', '--ckpt', averaged, '--out', otherOut], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.notEqual(refusedExport.status, 0);
    assert.match(refusedExport.stderr, wrongTokenizer);
    assert.ok(!existsSync(path.join(otherOut, 'model.onnx')), 'a refused export writes no model');
    const refusedEval = spawnSync(PYTHON, ['evaluate.py', '--ckpt', averaged, '--tokenizer', committedTokenizer, '--split', 'dev', '--only', 'perplexity'], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.notEqual(refusedEval.status, 0);
    assert.match(refusedEval.stderr, wrongTokenizer);
    const cache = path.join(work, 'smoke/token-caches.json'); // rewritten whenever train.py checks the caches
    const cacheBefore = statSync(cache).mtimeMs;
    const refusedResume = spawnSync(PYTHON, ['train.py', '--smoke', '--tokenizer', committedTokenizer], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.notEqual(refusedResume.status, 0);
    assert.match(refusedResume.stderr, wrongTokenizer);
    assert.equal(statSync(cache).mtimeMs, cacheBefore, 'train.py refused before checking (and maybe remaking) the token caches');
    // evaluate.py on dev (the smoke corpus: debian-reference in en, fr, de): --langs samples a subset with the very
    // prompts and continuations of a run over every language; --source keeps one source, and one the split lacks
    // is a clear error.
    const evaluate = (...more: string[]) => spawnSync(PYTHON, ['evaluate.py', '--ckpt', smokeCkpt, '--tokenizer', path.join(model, 'tokenizer.json'),
      '--split', 'dev', '--only', 'fidelity', '--prompts', '4', ...more], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    const dumpRows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { lang: string; prompt: string; continuation: string; source: string });
    const committedEval = path.join(trainDir, 'eval.json');
    const committedEvalBefore = readFileSync(committedEval, 'utf8');
    const everyLang = evaluate('--dump', path.join(work, 'all.jsonl'));
    assert.equal(everyLang.status, 0, everyLang.stderr);
    assert.deepEqual(Object.keys(JSON.parse(everyLang.stdout.trim().split('\n')[0]!) as object), ['en', 'fr', 'de']);
    assert.equal(readFileSync(committedEval, 'utf8'), committedEvalBefore, 'an --only run without --out writes no file');
    // With --out, an --only run also writes its results (the same rates it prints, and the split they are on).
    const onlyFr = evaluate('--langs', 'fr', '--dump', path.join(work, 'fr.jsonl'), '--out', path.join(work, 'fr.json'));
    assert.equal(onlyFr.status, 0, onlyFr.stderr);
    const frPrinted = JSON.parse(onlyFr.stdout.trim().split('\n')[0]!) as Record<string, number>;
    assert.deepEqual(Object.keys(frPrinted), ['fr']);
    const frSaved = JSON.parse(readFileSync(path.join(work, 'fr.json'), 'utf8')) as { split: string; fidelity: Record<string, { rate: number; n: number }> };
    assert.equal(frSaved.split, 'dev');
    assert.deepEqual(Object.keys(frSaved.fidelity), ['fr']);
    assert.equal(frSaved.fidelity.fr!.rate, frPrinted.fr);
    assert.equal(frSaved.fidelity.fr!.n, 4);
    const frRows = dumpRows(path.join(work, 'fr.jsonl'));
    assert.equal(frRows.length, 4);
    assert.deepEqual(frRows, dumpRows(path.join(work, 'all.jsonl')).filter((r) => r.lang === 'fr'));
    const noSource = evaluate('--source', 'gettext');
    assert.notEqual(noSource.status, 0);
    assert.match(noSource.stderr, /no prompts: the dev split has no usable sentences from gettext/);
    assert.match(evaluate('--source', 'gettext', '--only', 'perplexity').stderr, /--langs and --source go with --only fidelity/);
    // run_schedule.py: a stable phase to step 9 with snapshots at 6 and 9, a 3-step decay branched off each, the
    // average of the two ends; results as parts that join back. Checked against the branches' own checkpoints.
    const sched = path.join(work, 'sched');
    const schedule = (out: string, ...more: string[]) => spawnSync(PYTHON, ['run_schedule.py', '--smoke', '--stable', '9', '--branch', '6', '9', '--decay', '3', '--every', '3',
      '--tokenizer', path.join(model, 'tokenizer.json'), '--out', out, ...more], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    const runs = (r: { stdout: string }) => [...r.stdout.matchAll(/^\$ train\.py --run (\S+)/gm)].map((m) => m[1]);
    // Out of time after the first stable segment (the speed probe, step 3): the stable phase ends there and is decayed.
    const hurried = schedule(path.join(work, 'hurried'), '--deadline-min', '0.0001');
    assert.equal(hurried.status, 0, `${hurried.stdout}\n${hurried.stderr}`);
    assert.deepEqual(runs(hurried), ['run', 'decay-3']);
    assert.match(hurried.stdout, /deadline: the stable phase stops at step 3/);
    const hurriedSummary = JSON.parse(readFileSync(path.join(work, 'hurried', 'summary.json'), 'utf8')) as { stable: number; best_single: { step: number } };
    assert.deepEqual([hurriedSummary.stable, hurriedSummary.best_single.step], [3, 6]);
    // Without a deadline the same schedule resumes: the stable phase goes on to 6 and 9, then both branches.
    const first = schedule(sched);
    assert.equal(first.status, 0, `${first.stdout}\n${first.stderr}`);
    assert.deepEqual(runs(first), ['run', 'run', 'decay-9', 'decay-6']);
    const again = schedule(sched);  // everything is finished: nothing is trained again
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(runs(again), []);
    const check = spawnSync(PYTHON, ['-c', `import json, sys, torch
from pathlib import Path
from run_schedule import join_parts, save_parts
w, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = lambda run: [l.split(",") for l in (w / run / "loss.csv").read_text().splitlines()[1:]]
ends = [torch.load(w / f"decay-{s}/ckpt/latest.pt", weights_only=False) for s in (6, 9)]
avg = join_parts(out / "averaged")
mean_diff = max((avg["model"][k] - (ends[0]["model"][k] + ends[1]["model"][k]) / 2).abs().max().item() for k in avg["model"])
best = join_parts(out / "best-single")
small = save_parts(ends[1], w / "split", limit=200000)
rejoined = join_parts(w / "split")
print(json.dumps({
  "stable": [r[0] for r in rows("run")], "d6": [r[0] for r in rows("decay-6")], "d9": [r[0] for r in rows("decay-9")],
  "shared": rows("decay-6")[:2] == rows("run")[:2], "lr": [float(r[4]) for r in rows("decay-9")],
  "ends": [ck["step"] for ck in ends], "avg_step": avg["step"], "mean_diff": mean_diff, "avg_opt": "opt" in avg,
  "best_is_an_end": any(all(torch.equal(best["model"][k], ck["model"][k]) for k in ck["model"]) for ck in ends),
  "parts": len(small), "part_sizes_ok": all(p.stat().st_size < 200000 + 4096 for p in small),
  "rejoined": all(torch.equal(rejoined["model"][k], v) for k, v in ends[1]["model"].items()) and rejoined["step"] == 12
    and list(rejoined["model"]) == list(ends[1]["model"]),
  "tied_once": rejoined["model"]["lm_head.weight"].data_ptr() == rejoined["model"]["model.embed_tokens.weight"].data_ptr()
    and sum(len(torch.load(p, weights_only=False)["model"]) for p in small) == len(ends[1]["model"]) - 1,
  "summary": json.loads((out / "summary.json").read_text()),
  "stamp": {k: avg.get(k) for k in ("schedule", "precision", "device")},
}))`, work, sched], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.equal(check.status, 0, check.stderr);
    const sc = JSON.parse(check.stdout.trim().split('\n').pop() ?? '{}') as {
      stable: string[]; d6: string[]; d9: string[]; shared: boolean; lr: number[]; ends: number[]; avg_step: number; mean_diff: number;
      avg_opt: boolean; best_is_an_end: boolean; parts: number; part_sizes_ok: boolean; rejoined: boolean; tied_once: boolean;
      summary: { branches: { step: number; dev_loss: number }[]; average_dev_loss: number };
      stamp: { schedule: Record<string, unknown>; precision: string; device: string };
    };
    assert.deepEqual(sc.stable, ['3', '6', '9'], 'the stable phase stops at --stable');
    assert.deepEqual(sc.d6, ['3', '6', '9'], 'the branch from 6 keeps the log up to 6 and decays to 9');
    assert.deepEqual(sc.d9, ['3', '6', '9', '12']);
    assert.ok(sc.shared, `a branch starts from the stable log: ${check.stdout}`);
    assert.ok(sc.lr[3]! < sc.lr[2]!, `the branch's learning rate decays: ${sc.lr.join(", ")}`);
    assert.deepEqual(sc.ends, [9, 12]);
    assert.equal(sc.avg_step, 12);
    assert.ok(sc.mean_diff < 1e-6, `averaged parts differ from the mean of the branch ends by ${sc.mean_diff}`);
    assert.equal(sc.avg_opt, false);
    assert.ok(sc.best_is_an_end, 'best-single is one of the end-of-decay checkpoints');
    assert.ok(sc.parts > 1 && sc.part_sizes_ok, `a small part limit splits the checkpoint (${sc.parts} parts)`);
    assert.ok(sc.rejoined, 'the parts join back into the same tensors, order and step');
    assert.ok(sc.tied_once, 'the tied embedding / lm_head is stored once and shared again when joined');
    assert.deepEqual(sc.summary.branches.map((b) => b.step), [12, 9]);
    assert.ok(Number.isFinite(sc.summary.average_dev_loss));
    // What the card describes (export.py copies it into config.json): the schedule and where it ran.
    assert.deepEqual(sc.stamp.schedule, { stable: 9, decay: 3, horizon: 12, every: 3, branches: [6, 9] });
    assert.equal(sc.stamp.precision, 'fp32');
    assert.match(sc.stamp.device, /CPU threads|NVIDIA/);
    // train.py resumes only from its own checkpoints: an average (no optimizer state) in latest.pt is refused.
    copyFileSync(averaged, smokeCkpt);
    const resume = spawnSync(PYTHON, ['train.py', '--smoke', '--tokenizer', path.join(model, 'tokenizer.json')], { cwd: trainDir, encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } });
    assert.notEqual(resume.status, 0);
    assert.match(resume.stderr, /has no optimizer state/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('train.py remakes token caches made with another tokenizer or corpus and refuses them where there is no corpus; run_schedule.py carries them', { timeout: 2 * 60_000 }, (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  const missing = checkTool('python3 with torch and numpy', probe.status === 0, 'Install them with `apt-get install -y python3-torch python3-numpy`.');
  if (missing !== undefined) return skipLoudly(t, missing);
  const work = mkdtempSync(path.join(tmpdir(), 'tiny-polyglot-caches-'));
  try {
    // Caches are stand-in files: check_token_caches looks only at their names and the tokenizer's and the corpus's bytes.
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
make(); (WORK / "corpus" / "train.jsonl").write_text("a\\nb\\n"); train.check_token_caches(WORK, tok_b); out["train.jsonl added"] = kept()
make(); (WORK / "corpus" / "train.jsonl").write_text("b\\na\\n"); train.check_token_caches(WORK, tok_b); out["reordered, same size"] = kept()
make(); train.check_token_caches(WORK, tok_b); out["unchanged"] = kept()
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
    assert.deepEqual(out['train.jsonl added'], none);
    assert.deepEqual(out['reordered, same size'], none, 'a corpus of the same size in another order (data.py --message-order) is another corpus');
    assert.deepEqual(out.unchanged, all);
    assert.deepEqual(out['no corpus, same tokenizer'], all);
    assert.match(String(out['no corpus, other tokenizer']), /made with another tokenizer and there is no corpus here/);
    assert.deepEqual(out['still there'], all, 'a refusal deletes nothing');

    // run_schedule.py --pack-caches / --caches: the caches and the tokenizer travel as one archive and unpack
    // byte for byte into another folder (a GPU machine without the corpus).
    const other = path.join(work, 'elsewhere');
    const trip = spawnSync(
      PYTHON,
      ['-c', `import json, os, subprocess, sys
from pathlib import Path
w, other = Path(sys.argv[1]), Path(sys.argv[2])
(w / "tok").mkdir(); (w / "tok" / "tokenizer.json").write_text('{"model": "a"}')
(w / "train-tokens-fr.npy").write_bytes(os.urandom(5000))
pack = subprocess.run([sys.executable, "run_schedule.py", "--pack-caches", str(w / "c.tar.xz"), "--tokenizer", str(w / "tok" / "tokenizer.json")], capture_output=True, text=True)
env = dict(os.environ, POLYGLOT_TRAIN_DIR=str(other))
import run_schedule
run_schedule.WORK = other
run_schedule.unpack_caches(w / "c.tar.xz")
names = ["train-tokens-en.npy", "train-tokens-fr.npy", "dev-tokens.npy", "train-chars.json", "token-caches.json"]
same = {n: (other / n).read_bytes() == (w / n).read_bytes() for n in names}
empty = subprocess.run([sys.executable, "run_schedule.py", "--pack-caches", str(w / "d.tar.xz")], capture_output=True, text=True, env=env | {"POLYGLOT_TRAIN_DIR": str(w / "none")})
print(json.dumps({"pack": pack.returncode, "same": same, "tokenizer": (other / "tokenizer" / "tokenizer.json").read_text(), "empty": empty.stderr.strip()}))`, work, other],
      { cwd: path.join(REPO_ROOT, 'models/tiny-polyglot/train'), encoding: 'utf8', env: { ...process.env, POLYGLOT_TRAIN_DIR: work } },
    );
    assert.equal(trip.status, 0, trip.stderr);
    const tr = JSON.parse(trip.stdout.trim().split('\n').pop() ?? '{}') as { pack: number; same: Record<string, boolean>; tokenizer: string; empty: string };
    assert.equal(tr.pack, 0);
    assert.deepEqual(Object.values(tr.same), [true, true, true, true, true], JSON.stringify(tr.same));
    assert.equal(tr.tokenizer, '{"model": "a"}');
    assert.match(tr.empty, /no token caches in/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('data.py --cleaning 2 removes every placeholder form that cleaning 1 keeps, and drops units left with an empty pair', { timeout: 60_000 }, (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
  const missing = checkTool('Debian python3', probe.status === 0, 'Install it with `apt-get install -y python3 python3-numpy`.');
  if (missing !== undefined) return skipLoudly(t, missing);
  // Real msgids from Debian 12's gettext catalogs (domain in the comment); the last is a constructed %% case.
  const cases: Array<[string, string, boolean]> = [
    // [source text, expected text after cleaning 2, usable after cleaning 2]
    ['%pB(%pA): error: reloc table entry %zu is empty', '(): error: reloc table entry is empty', false], // bfd
    ['Access has been granted (last access was %ld seconds ago).', 'Access has been granted (last access was seconds ago).', true], // Linux-PAM
    ['Downloading file %(current)li of %(total)li with %(speed)s/s', 'Downloading file of with /s', true], // python-apt
    ['could not access directory "%s": %m', 'could not access directory "":', false], // initdb-15
    ['Wrote %<PRIu64> bytes to <b>%s</b>', 'Wrote bytes to', true],
    ['File {0} not found in {}', 'File not found in', true],
    ['Progress: 100%% of %lu files', 'Progress: 100% of files', true],
  ];
  const run = spawnSync(
    PYTHON,
    ['-c', `import json, sys
from data import clean, usable
out = []
for text in json.loads(sys.argv[1]):
    c1, c2 = clean(text, 1), clean(text, 2)
    out.append([c1, c2, usable(c2, "en", 2)])
print(json.dumps(out))`, JSON.stringify(cases.map((c) => c[0]))],
    { cwd: path.join(REPO_ROOT, 'models/tiny-polyglot/train'), encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '[]') as Array<[string, string, boolean]>;
  cases.forEach(([source, expected, ok], i) => {
    const [c1, c2, usable2] = out[i] ?? ['', '', false];
    assert.equal(c2, expected, `cleaning 2 of ${JSON.stringify(source)}`);
    assert.equal(usable2, ok, `usable after cleaning 2: ${JSON.stringify(c2)}`);
    assert.match(c1, /%|\{/, `cleaning 1 (the shipped data) keeps a placeholder of ${JSON.stringify(source)}: ${JSON.stringify(c1)}`);
  });
});

test('data.py --message-order shuffled: each catalog\'s messages are permuted in place, other units keep their places, and neighbours stop sharing prefixes', { timeout: 60_000 }, (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
  const missing = checkTool('Debian python3', probe.status === 0, 'Install it with `apt-get install -y python3 python3-numpy`.');
  if (missing !== undefined) return skipLoudly(t, missing);
  // Two catalogs sorted by msgid as real ones are (four prefixes of ten messages each), interleaved with
  // Wesnoth dialogue and documentation, whose order is their text's order and must not change.
  type Unit = { lang: string; text: string; source: string; doc: string };
  const prefixes = ['Cannot open', 'Syntax error:', 'Unknown option', 'Warning:'];
  const catalog = (lang: string, doc: string): Unit[] => prefixes.flatMap((p) => Array.from({ length: 10 }, (_, i) => ({ lang, text: `${p} item ${i}`, source: 'gettext', doc })));
  const units: Unit[] = [];
  const a = catalog('en', 'coreutils');
  const b = catalog('fr', 'coreutils');
  for (let i = 0; i < 40; i++) {
    units.push(a[i]!, b[i]!);
    if (i % 8 === 0) units.push({ lang: 'en', text: `Line ${i} of the story.`, source: 'wesnoth', doc: 'httt' }, { lang: 'fr', text: `Paragraphe ${i}.`, source: 'debian-handbook', doc: 'fr/ch1' });
  }
  const run = () => spawnSync(PYTHON, ['-c', 'import json, sys\nfrom data import shuffle_messages\nprint(json.dumps(shuffle_messages(json.loads(sys.argv[1]))))', JSON.stringify(units)],
    { cwd: path.join(REPO_ROOT, 'models/tiny-polyglot/train'), encoding: 'utf8' });
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const out = JSON.parse(first.stdout.trim().split('\n').pop() ?? '[]') as Unit[];
  assert.deepEqual(out, JSON.parse(run().stdout.trim().split('\n').pop() ?? '[]'), 'the order is seeded');
  assert.equal(out.length, units.length);
  units.forEach((u, i) => {
    if (u.source !== 'gettext') assert.deepEqual(out[i], u, `unit ${i} (${u.source}) keeps its place`);
    else assert.deepEqual([out[i]!.lang, out[i]!.doc, out[i]!.source], [u.lang, u.doc, u.source], `slot ${i} holds a message of the same catalog`);
  });
  const sharedPrefix = (xs: Unit[]) => xs.slice(1).filter((x, i) => x.text.slice(0, 8) === xs[i]!.text.slice(0, 8)).length;
  for (const lang of ['en', 'fr']) {
    const before = units.filter((u) => u.source === 'gettext' && u.lang === lang);
    const after = out.filter((u) => u.source === 'gettext' && u.lang === lang);
    assert.deepEqual(after.map((u) => u.text).sort(), before.map((u) => u.text).sort(), `${lang}: the same messages`);
    assert.equal(sharedPrefix(before), 36);
    assert.ok(sharedPrefix(after) < 18, `${lang}: ${sharedPrefix(after)} of 39 neighbours share a prefix after shuffling (36 before)`);
  }
  const order = (lang: string) => out.filter((u) => u.source === 'gettext' && u.lang === lang).map((u) => u.text).join('|');
  assert.notEqual(order('en'), order('fr'), 'each language has its own order (the texts are the same in both)');
});

test('from_onnx.py rebuilds the released demo model as a checkpoint that reproduces the reference outputs of the training code', { timeout: 2 * 60_000 }, (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy'], { encoding: 'utf8' });
  const missing = checkTool('python3 with torch, onnx and numpy', probe.status === 0,
    'Install them with `apt-get install -y python3-torch python3-onnx python3-numpy libopenblas0-pthread`.');
  if (missing !== undefined) return skipLoudly(t, missing);
  const trainDir = path.join(REPO_ROOT, 'models/tiny-polyglot/train');
  const work = mkdtempSync(path.join(tmpdir(), 'tiny-polyglot-from-onnx-'));
  try {
    const ckpt = path.join(work, 'released.pt');
    const run = spawnSync(PYTHON, ['from_onnx.py', '--out', ckpt], { cwd: trainDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    // Against test/fixtures/tiny-polyglot/reference.json, which fixtures.py made with the training checkpoint
    // itself: last-position logits, every layer's hidden states at the kept positions/dimensions, greedy ids.
    const check = spawnSync(PYTHON, ['-c', `import json, sys, torch
from export import load
model, ck = load(sys.argv[1])
ref = json.load(open(sys.argv[2]))
out = {"step": ck["step"], "logits": 0.0, "hidden": 0.0, "greedy_same": True}
for p in ref["prompts"]:
    ids = p["input_ids"]
    with torch.no_grad():
        logits, _, hidden = model(torch.tensor([ids]), return_hidden=True)
    out["logits"] = max(out["logits"], max(abs(float(logits[0, -1, i]) - v) for i, v in zip(p["logits_last"]["ids"], p["logits_last"]["values"])))
    hs = p["hidden_states"]
    got = [[[float(h[0, q, d]) for d in hs["dims"]] for q in hs["positions"]] for h in hidden]
    out["hidden"] = max(out["hidden"], max(abs(a - b) for gl, rl in zip(got, hs["values"]) for gq, rq in zip(gl, rl) for a, b in zip(gq, rq)))
    seq = list(ids)
    for _ in range(p["greedy"]["max_new_tokens"]):
        with torch.no_grad():
            seq.append(int(model(torch.tensor([seq]))[0][0, -1].argmax()))
    out["greedy_same"] &= seq[len(ids):] == p["greedy"]["ids"]
print(json.dumps(out))`, ckpt, path.join(REPO_ROOT, 'test/fixtures/tiny-polyglot/reference.json')], { cwd: trainDir, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    const got = JSON.parse(check.stdout.trim().split('\n').pop() ?? '{}') as { step: number; logits: number; hidden: number; greedy_same: boolean };
    const config = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models/tiny-polyglot/config.json'), 'utf8')) as { polyglot_lens: { trained_steps: number } };
    assert.equal(got.step, config.polyglot_lens.trained_steps);
    assert.ok(got.logits <= 1e-4, `last-position logits differ from the reference by ${got.logits}`);
    assert.ok(got.hidden <= 1e-4, `hidden states differ from the reference by ${got.hidden}`);
    assert.equal(got.greedy_same, true, 'greedy continuations differ from the reference');
    const noModel = spawnSync(PYTHON, ['from_onnx.py', '--model', work, '--out', path.join(work, 'x.pt')], { cwd: trainDir, encoding: 'utf8' });
    assert.notEqual(noModel.status, 0);
    assert.match(noModel.stderr, /no model\.onnx in .*pass the folder export\.py wrote/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('data.py --drop-option-help: option help leaves the train split\'s program messages, prose that names an option stays', { timeout: 60_000 }, (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
  const missing = checkTool('Debian python3', probe.status === 0, 'Install it with `apt-get install -y python3 python3-numpy`.');
  if (missing !== undefined) return skipLoudly(t, missing);
  // Real messages of the kinds found in Debian 12's catalogs (coreutils, apt, adduser, avahi).
  const cases: [string, string, boolean][] = [
    ['gettext', '-A, --show-all equivalent to -vET -b, --number-nonblank number nonempty output lines', true],
    ['gettext', '[options] -h --help Show this help -V --version Show version', true],
    ['gettext', '--force-yes is deprecated, use one of the options starting with --allow instead.', true],
    ['gettext', '-r use BSD sum algorithm (the default), use 1K blocks -s, --sysv use System V sum algorithm', true],
    // A usage synopsis with a few options among its words (3 of 16) is below the density and stays.
    ['gettext', 'kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]', false],
    ['gettext', "Unmet dependencies. Try 'apt --fix-broken install' with no packages (or specify a solution).", false],
    ['gettext', "The maximum metadata cache age. Use -1 for 'never'.", false],
    ['gettext', 'Syntax error: unexpected end of file', false],
    ['gettext', '', false],
    // Not a program message: documentation that lists options is kept whatever it looks like.
    ['debian-reference', '-r, --recursive copy directories recursively', false],
  ];
  const units = cases.map(([source, text], i) => ({ lang: 'en', text, source, doc: `d${i}` }));
  const script = 'import json, sys\nfrom data import is_option_help, drop_option_help\nunits = json.loads(sys.argv[1])\n'
    + 'print(json.dumps({"each": [is_option_help(u["text"]) for u in units], "kept": drop_option_help(units)}))';
  const r = spawnSync(PYTHON, ['-c', script, JSON.stringify(units)], { cwd: path.join(REPO_ROOT, 'models/tiny-polyglot/train'), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { each: boolean[]; kept: typeof units };
  cases.forEach(([source, text, help], i) => {
    if (source === 'gettext') assert.equal(out.each[i], help, `${JSON.stringify(text)} is ${help ? '' : 'not '}option help`);
  });
  assert.deepEqual(out.kept, units.filter((u, i) => u.source !== 'gettext' || !cases[i]![2]), 'exactly the program messages that are option help are dropped, in order');
});
