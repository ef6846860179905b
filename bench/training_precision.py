"""Training step time of tiny-polyglot in fp32 against bfloat16 autocast (train.py --precision), side by side.

Run: /usr/bin/python3 bench/training_precision.py [--rounds 5] [--steps 3]

Both variants train their own copy of the same initial model on the same batches (real tokens from the train
stream when ~/.cache/polyglot-lens/tiny-polyglot/train-tokens.npy exists, random ones otherwise). Each round runs
`--steps` optimizer steps of each variant back to back, in alternating order, so load from other jobs hits both
alike; the speed-up is the median over rounds of (fp32 time / bf16 time) within the round. The losses of the two
copies after the last round are printed too: bf16 matmuls must not change what the model learns.
Writes its section of docs/BENCHMARKS.md (a Python twin of bench/report.ts, since training is PyTorch).
"""
import argparse
import copy
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "models" / "tiny-polyglot" / "train"))
from model import Config, LlamaForCausalLM  # noqa: E402

HEADING = "## Training precision (tiny-polyglot)"
CTX, BATCH = 256, 8


def write_section(section):
    doc_path = REPO / "docs" / "BENCHMARKS.md"
    doc = doc_path.read_text() if doc_path.exists() else "# Benchmarks\n\n"
    start = doc.find(HEADING)
    if start >= 0:
        nxt = doc.find("\n## ", start + 5)
        doc = doc[:start] + (section.rstrip() + "\n\n" + doc[nxt + 1:] if nxt >= 0 else section)
    else:
        doc = doc.rstrip() + "\n\n" + section
    doc_path.write_text(doc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    hf = json.loads((REPO / "models" / "tiny-polyglot" / "config.json").read_text())
    cfg = Config(**{k: v for k, v in hf.items() if k in Config.__dataclass_fields__})
    tokens_file = Path.home() / ".cache" / "polyglot-lens" / "tiny-polyglot" / "train-tokens.npy"
    stream = np.load(tokens_file, mmap_mode="r") if tokens_file.exists() else None
    rng = np.random.default_rng(0)

    def batch():
        if stream is None:
            x = torch.randint(0, cfg.vocab_size, (BATCH, CTX + 1))
        else:
            starts = rng.integers(0, len(stream) - CTX - 1, size=BATCH)
            x = torch.tensor(np.stack([stream[s:s + CTX + 1] for s in starts]).astype(np.int64))
        return x[:, :-1], x[:, 1:]

    base = LlamaForCausalLM(cfg)
    variants = {}
    for name in ("fp32", "bf16"):
        m = copy.deepcopy(base)
        variants[name] = (m, torch.optim.AdamW(m.parameters(), lr=2e-3, betas=(0.9, 0.95), weight_decay=0.1))

    def step(name, x, y):
        m, opt = variants[name]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=name == "bf16"):
            logits, _, _ = m(x)
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return float(loss)

    batches = [batch() for _ in range(args.steps)]
    for name in variants:  # warm-up (oneDNN picks and caches its kernels on the first call)
        step(name, *batches[0])
    times = {name: [] for name in variants}
    ratios, losses = [], {}
    load0 = os.getloadavg()[0]
    for r in range(args.rounds):
        batches = [batch() for _ in range(args.steps)]
        order = ("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")
        spent = {}
        for name in order:
            t = time.perf_counter()
            for x, y in batches:
                losses[name] = step(name, x, y)
            spent[name] = (time.perf_counter() - t) / args.steps
            times[name].append(spent[name])
        ratios.append(spent["fp32"] / spent["bf16"])
        print(f"round {r}: fp32 {spent['fp32']:.2f} s/step, bf16 {spent['bf16']:.2f} s/step, {ratios[-1]:.2f}x", flush=True)
    load1 = os.getloadavg()[0]
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    units = ", ".join(f for f in ("amx_bf16", "avx512_bf16") if f in flags) or "none"
    total = 2 + args.rounds * args.steps
    med = {n: statistics.median(v) for n, v in times.items()}
    section = f"""{HEADING}

`/usr/bin/python3 bench/training_precision.py` — optimizer steps of tiny-polyglot ({sum(p.numel() for p in base.parameters()):,} parameters, batches of {BATCH} × {CTX} tokens) with fp32 matmuls against `torch.autocast` bfloat16 (`train.py --precision bf16`), two copies of the same initial model on the same batches; {args.rounds} rounds of {args.steps} steps each, alternating which goes first; PyTorch {torch.__version__}, {args.threads} threads, CPU bfloat16 units: {units}; load average {load0:.1f} at the start and {load1:.1f} at the end.

| variant | median s/step | tokens/s | speed-up (median of per-round ratios) |
|---|---|---|---|
| fp32 | {med['fp32']:.2f} | {BATCH * CTX / med['fp32']:.0f} | 1.00× |
| bf16 autocast | {med['bf16']:.2f} | {BATCH * CTX / med['bf16']:.0f} | **{statistics.median(ratios):.2f}×** |

After {total} steps from the same start the training losses are {losses['fp32']:.4f} (fp32) and {losses['bf16']:.4f} (bf16).

Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC.
"""
    write_section(section)
    print(section)


if __name__ == "__main__":
    main()
