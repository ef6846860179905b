"""Train tiny-polyglot: seeded, resumable, checkpointing often; logs losses to loss.csv.

Run in the background (it takes hours on 2 cores):
  OMP_WAIT_POLICY=PASSIVE nohup /usr/bin/python3 train.py >> $WORK/train.log 2>&1 &
Re-running resumes from $WORK/ckpt/latest.pt. `--smoke` runs a few steps of a tiny configuration for CI.
`--device cuda` (the default when a GPU is present) trains on the GPU with the same batches and schedule; the
token caches ($WORK/train-tokens*.npy, dev-tokens.npy, train-chars.json) are all it reads of the corpus once they
exist, so they are what to copy to a machine without the corpus.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: OpenMP spin-waiting fights OpenBLAS on 2 cores

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bpe import Encoder
from common import MODEL_DIR, SEED, WORK, check_tokenizer, file_sha256
from model import Config, LlamaForCausalLM

CTX = 256


def check_token_caches(cache_dir, tokenizer_path):
    """Delete the token caches in cache_dir when they were made with another tokenizer or corpus: they are keyed by
    file name only, and a rebuilt corpus (data.py) or tokenizer (bpe.py) would otherwise be trained on stale ids.
    A machine that has the caches but no corpus (a GPU machine) keeps them if the tokenizer is the same."""
    # Hashes, not sizes: a corpus whose units are only reordered (data.py --message-order) has the same size.
    key = {"tokenizer_sha256": file_sha256(tokenizer_path),
           "corpus_sha256": {name: file_sha256(WORK / "corpus" / name)
                             for name in ("train.txt", "train.jsonl", "dev.jsonl") if (WORK / "corpus" / name).exists()}}
    stamp = cache_dir / "token-caches.json"
    old = json.loads(stamp.read_text()) if stamp.exists() else None
    if not key["corpus_sha256"]:
        if old is not None and old["tokenizer_sha256"] != key["tokenizer_sha256"]:
            raise SystemExit(f"train.py: the token caches in {cache_dir} were made with another tokenizer and there is "
                             "no corpus here to remake them: copy the caches made with this tokenizer.json")
        return
    if old is not None and old != key:
        stale = [c for c in [*cache_dir.glob("train-tokens*.npy"), cache_dir / "dev-tokens.npy",
                             cache_dir / "train-chars.json"] if c.exists()]
        print(f"token caches were made with another tokenizer or corpus: removing {len(stale)}", flush=True)
        for c in stale:
            c.unlink()
    stamp.write_text(json.dumps(key))


def tokenize_corpus(enc: Encoder, out_path, texts):
    """Encode documents as <|bos|> text <|eos|> into one uint16 stream (cached on disk; texts may be a function
    that returns them, called only when the cache is missing)."""
    if out_path.exists():
        return np.load(out_path, mmap_mode="r")
    texts = texts() if callable(texts) else texts
    ids = []
    for i, t in enumerate(texts):
        ids.extend(enc.encode(t, bos=True))
        ids.append(enc.eos)
        if i % 20000 == 0:
            print(f"  tokenized {i} documents, {len(ids)} tokens", flush=True)
    arr = np.array(ids, dtype=np.uint16)
    tmp = out_path.with_suffix(".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(out_path)
    return arr


def train_documents():
    text = (WORK / "corpus" / "train.txt").read_text(encoding="utf-8")
    return [d.strip() for d in text.split("\n\n") if d.strip()]


def mixture_documents(limit=None):
    """Every train-split document, per language: all of train.jsonl, not only the balanced selection in train.txt.
    A document is the units of one (source, doc) joined by newlines, as in train.txt."""
    docs = {}
    with open(WORK / "corpus" / "train.jsonl", encoding="utf-8") as fh:
        for line in fh:
            u = json.loads(line)
            docs.setdefault(u["lang"], {}).setdefault((u["source"], u["doc"]), []).append(u["text"])
    return {lang: ["\n".join(v) for _, v in sorted(d.items())][:limit] for lang, d in sorted(docs.items())}


class Mixture:
    """Batches drawn per row from one language's stream, with language probabilities that give each language the
    character share train.txt gives it (English `english_share`, the rest split evenly), over all the text.

    train.txt caps every language other than English at English's budget (English is a quarter of the characters
    and all of the English is used), so it holds only about a third of the Portuguese, Spanish, French... that
    the train split has, and the model re-reads that third every epoch. Past ~4 epochs repeated text is worth much
    less than new text (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models"); sampling from the
    whole split keeps the language mix and gives the model the rest of the text."""

    def __init__(self, enc, cache_dir, english_share, limit=None):
        self.langs, self.streams, weights = [], [], []
        # Characters per language, cached beside the token streams so that a machine with only the caches (a GPU
        # machine without the corpus) draws the same batches.
        chars_path = cache_dir / "train-chars.json"
        chars_of = json.loads(chars_path.read_text()) if chars_path.exists() else None
        if chars_of is None or not all((cache_dir / f"train-tokens-{l}.npy").exists() for l in chars_of):
            present = mixture_documents(limit)
            chars_of = {lang: sum(len(t) for t in texts) for lang, texts in present.items()}
            for lang, texts in present.items():
                tokenize_corpus(enc, cache_dir / f"train-tokens-{lang}.npy", texts)
            chars_path.write_text(json.dumps(chars_of))
        others = sum(1 for l in chars_of if l != "en")
        for lang, chars in chars_of.items():
            stream = np.load(cache_dir / f"train-tokens-{lang}.npy", mmap_mode="r")
            if len(stream) <= CTX + 1:
                continue
            share = english_share if lang == "en" else (1 - english_share) / others
            # Rows are drawn in tokens; tokens per character differ by language (CJK ~1, Latin ~0.3).
            weights.append(share * len(stream) / chars)
            self.langs.append(lang)
            self.streams.append(stream)
        self.p = np.array(weights) / sum(weights)
        print("mixture: " + ", ".join(f"{l} {len(s)} tokens p={p:.3f}" for l, s, p in
                                      zip(self.langs, self.streams, self.p)), flush=True)

    def draw(self, rng, bsz):
        """bsz windows of CTX + 1 tokens and the language of each."""
        langs, rows = rng.choice(len(self.streams), size=bsz, p=self.p), []
        for li in langs:
            s = self.streams[li]
            start = rng.integers(0, len(s) - CTX - 1)
            rows.append(s[start:start + CTX + 1])
        return [self.langs[li] for li in langs], np.stack(rows)

    def batch(self, rng, bsz):
        x = torch.from_numpy(self.draw(rng, bsz)[1].astype(np.int64))
        return x[:, :-1], x[:, 1:]


def dev_documents():
    docs = {}
    with open(WORK / "corpus" / "dev.jsonl", encoding="utf-8") as fh:
        for line in fh:
            u = json.loads(line)
            docs.setdefault((u["lang"], u["source"], u["doc"]), []).append(u["text"])
    return ["\n".join(v) for _, v in sorted(docs.items())]


def batch(stream, rng, bsz):
    starts = rng.integers(0, len(stream) - CTX - 1, size=bsz)
    x = np.stack([stream[s:s + CTX + 1] for s in starts]).astype(np.int64)
    x = torch.from_numpy(x)
    return x[:, :-1], x[:, 1:]


def lr_at(step, total, peak, warmup, decay):
    """Warmup-stable-decay: linear warmup, constant, then linear decay to 10 % over the last `decay` steps.
    The constant phase does not depend on `total`, so a later session can extend the run before decay starts."""
    if step < warmup:
        return peak * (step + 1) / warmup
    start = total - decay
    if step < start:
        return peak
    return peak * (1.0 - 0.9 * min(1.0, (step - start) / max(1, decay)))


@torch.no_grad()
def dev_loss(model, dev, n=24):
    model.eval()
    rng = np.random.default_rng(SEED + 7)  # the same windows every time
    x, y = batch(dev, rng, n)
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    logits, _, _ = model(x)
    model.train()
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()


def cpu_has_bf16():
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def save_atomic(obj, path):
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, help="total steps of the schedule (default 6000; --smoke: 6)")
    ap.add_argument("--decay", type=int, help="steps of final linear decay (default 1200; --smoke: 2)")
    ap.add_argument("--batch", type=int, help="sequences per step (default 8; --smoke: 2)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--every", type=int, help="checkpoint and dev-loss interval in steps (default 50; --smoke: 3)")
    ap.add_argument("--smoke", action="store_true", help="tiny model on 400 documents, 6 steps unless given, "
                    "folder smoke/ unless --run is given (CI)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="where to train (auto: cuda when a GPU is present). Same batches and schedule on either; "
                         "checkpoints load on both")
    ap.add_argument("--snapshot", type=int, action="append", default=[],
                    help="also keep the checkpoint of this step as ckpt/step<N>.pt (e.g. the end of the stable phase, "
                         "from which a later session branches off a longer run); repeatable")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default="bf16",
                    help="matmul precision under torch.autocast; weights, optimizer state, loss and dev loss stay fp32. "
                         "bf16 runs on AMX/AVX-512-BF16 through oneDNN: 3x the steps per second of fp32 or more on this "
                         "project's Xeon machines (bench/training_precision.py), with the same loss (dev loss of step 3650: 4.91579 fp32, "
                         "4.91584 bf16)")
    ap.add_argument("--tokenizer", default=str(MODEL_DIR / "tokenizer.json"))
    ap.add_argument("--mixture-from", type=int,
                    help="from this step on, draw batches from the whole train split per language (Mixture) instead "
                         "of train.txt (0: from the start). Without it a run reads train.txt throughout, and a resumed "
                         "run keeps the step its checkpoint recorded")
    ap.add_argument("--run", help="the run's folder under $WORK (loss.csv, config.json, ckpt/); "
                    "run_schedule.py gives each decay branch its own")
    ap.add_argument("--stop-at", type=int, help="stop after this step (with its checkpoint) although the schedule "
                    "is that of --steps: the stable phase of a longer run, from which decays branch off")
    ap.add_argument("--english-share", type=float, default=0.25, help="English's share of characters in the mixture "
                    "(as data.py's --english-share)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("train.py: --device cuda, but PyTorch sees no GPU (torch.cuda.is_available() is False)")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"device: {device} ({device_name})", flush=True)
    if device.type == "cpu" and args.precision == "bf16" and not cpu_has_bf16():
        # Without AMX / AVX-512-BF16 oneDNN emulates bfloat16, which is slower than fp32: not worth it.
        print("this CPU has no bfloat16 matrix units (amx_bf16 / avx512_bf16): training in fp32", flush=True)
        args.precision = "fp32"
    torch.manual_seed(SEED)

    for name, full, smoke in (("steps", 6000, 6), ("decay", 1200, 2), ("batch", 8, 2), ("every", 50, 3)):
        if getattr(args, name) is None:
            setattr(args, name, smoke if args.smoke else full)
    run_dir = WORK / (args.run or ("smoke" if args.smoke else "run"))
    (run_dir / "ckpt").mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "ckpt" / "latest.pt"
    log_path = run_dir / "loss.csv"
    ck = torch.load(ckpt_path, map_location=device, weights_only=False) if ckpt_path.exists() else {}  # our own file; torch >= 2.6 defaults to True
    check_tokenizer(ck, args.tokenizer, "train.py")  # before the token caches, which another tokenizer would remake
    enc = Encoder(args.tokenizer)
    check_token_caches(run_dir if args.smoke else WORK, args.tokenizer)
    if args.smoke:
        docs = train_documents()[:400]
        cfg = Config(vocab_size=len(enc.vocab), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, bos_token_id=enc.bos, eos_token_id=enc.eos,
                     pad_token_id=enc.pad)
        train_ids = tokenize_corpus(enc, run_dir / "train.npy", docs)
        dev_ids = train_ids
    else:
        cfg = Config(vocab_size=len(enc.vocab), bos_token_id=enc.bos, eos_token_id=enc.eos, pad_token_id=enc.pad)
        train_ids = None  # train.txt's stream: below, only for a run that still reads train.txt
        dev_ids = tokenize_corpus(enc, WORK / "dev-tokens.npy", dev_documents)

    model = LlamaForCausalLM(cfg).to(device)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"parameters: {nparams}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    step, elapsed = 0, 0.0
    if ck:
        if "opt" not in ck:  # average.py's output: weights only
            sys.exit(f"train.py: {ckpt_path} has no optimizer state (an averaged checkpoint?); training resumes only "
                     "from a checkpoint train.py wrote")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        print(f"resumed at step {step} ({elapsed / 3600:.2f} h)", flush=True)
    else:
        log_path.write_text("step,tokens,train_loss,dev_loss,lr,elapsed_s\n")
        (run_dir / "config.json").write_text(json.dumps(cfg.hf_config(), indent=1))
    # The first step that draws its batch from the Mixture, kept in every checkpoint (export.py writes it into
    # config.json, card.py describes it). A resumed run keeps its checkpoint's unless --mixture-from is given; a
    # step the run has already passed means "from now on".
    mixture_from = ck.get("mixture_from") if args.mixture_from is None else args.mixture_from
    if ck.get("mixture_from") is not None and ck["mixture_from"] <= step:
        mixture_from = ck["mixture_from"]
    elif mixture_from is not None:
        mixture_from = max(mixture_from, step)
    mixture = None
    if mixture_from is not None and mixture_from < args.steps:
        mixture = Mixture(enc, run_dir if args.smoke else WORK, args.english_share, limit=50 if args.smoke else None)
    if train_ids is None and (mixture is None or mixture_from > step):
        train_ids = tokenize_corpus(enc, WORK / "train-tokens.npy", train_documents)
    print(f"train tokens {'(mixture only)' if train_ids is None else len(train_ids)}, dev tokens {len(dev_ids)}", flush=True)

    tokenizer_sha256 = file_sha256(args.tokenizer)
    t0, losses = time.time(), []
    stop = min(args.steps, args.stop_at) if args.stop_at is not None else args.steps
    started, start_step = t0, step   # this process's pace (dev loss and saves included) gives the time left
    while step < stop:
        lr = lr_at(step, args.steps, args.lr, args.warmup, args.decay)
        for g in opt.param_groups:
            g["lr"] = lr
        rng = np.random.default_rng([SEED, step])  # batch depends only on the step: resuming is exact
        x, y = mixture.batch(rng, args.batch) if mixture is not None and step >= mixture_from else batch(train_ids, rng, args.batch)
        x, y = x.to(device), y.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits, _, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % args.every == 0 or step == stop:
            now = time.time()
            elapsed += now - t0
            t0 = now
            dl = dev_loss(model, dev_ids, 4 if args.smoke else 24)
            tokens = step * args.batch * CTX
            with open(log_path, "a") as fh:
                fh.write(f"{step},{tokens},{np.mean(losses):.4f},{dl:.4f},{lr:.6f},{elapsed:.0f}\n")
            left = (stop - step) * (time.time() - started) / (step - start_step) / 60
            print(f"step {step} train {np.mean(losses):.4f} dev {dl:.4f} lr {lr:.2e} "
                  f"{tokens / max(elapsed, 1e-9):.0f} tok/s {elapsed / 60:.1f} min, ~{left:.0f} min to step {stop}", flush=True)
            losses = []
            save_atomic({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                         "config": cfg.hf_config(), "mixture_from": mixture_from, "device": device_name,
                         "precision": args.precision, "torch": torch.__version__,
                         "tokenizer_sha256": tokenizer_sha256}, ckpt_path)
            if step in args.snapshot:
                shutil.copyfile(ckpt_path, ckpt_path.with_name(f"step{step}.pt"))
    print("done", flush=True)


if __name__ == "__main__":
    main()
