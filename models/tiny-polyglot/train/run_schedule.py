"""Run a whole warmup-stable-decay schedule with decays branched off the stable phase, then average them.

  /usr/bin/python3 run_schedule.py --stable 20000 --branch 14000 16000 18000 20000 --decay 2000 --out DIR

1. The stable phase: train.py up to step --stable (run folder `run`), keeping a snapshot at every branch step.
   Its learning rate is that of a run that would go on well past --stable, so the phase is the same whatever
   the branches are.
2. One decay per branch step S, latest first: the snapshot of S is copied into its own run folder `decay-S`
   (with the loss log up to S), and train.py decays the learning rate linearly to 10 % of its peak over steps S+1 .. S+D.
3. average.py averages the end-of-decay checkpoints (dev losses of each and of the average in its output).
4. DIR receives what a release needs, sized for a machine that returns files of at most 16 MiB (the GPU
   machine this project borrows): the averaged checkpoint and the single end-of-decay checkpoint with the lowest
   dev loss, each as `NAME.partK.pt` files (join them with `--join`), the loss logs as one `losses.tar.gz`
   (`run/loss.csv`, `decay-S/loss.csv`) and `summary.json`.

Every step is resumable: a re-run skips what is finished (a branch whose checkpoint has reached S+D) and train.py
resumes what is not. --deadline-min ends the stable phase early (and decays from where it stopped) and skips
branches when the time left at the measured speed is too short, so that a bounded call still returns a model.

  /usr/bin/python3 run_schedule.py --join DIR/averaged --out averaged.pt   # parts -> one checkpoint for release.sh

On a GPU machine that has the repository but not the corpus (no apt, no Node, no network), carry the caches:
  here:  train.py --mixture-from 0 --steps 1 --stop-at 0 --tokenizer T   # makes the token caches, trains nothing
         run_schedule.py --pack-caches work/caches.tar.xz --tokenizer T  # ~10 MB
  there: POLYGLOT_TRAIN_DIR=/tmp/w python3 run_schedule.py --caches work/caches.tar.xz --every 250 \
           --stable 20000 --branch 14000 16000 18000 20000 --decay 2000 --deadline-min 8 --out $OUT/sched
  here:  run_schedule.py --join sched/averaged --out averaged.pt; then evaluate.py --split dev, release.sh

Written by hand: it only strings train.py and average.py together and splits files; no library does that.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch

from common import WORK

HERE = Path(__file__).resolve().parent
PART_BYTES = 15 * 2**20   # below the device machine's 16 MiB per returned file, with room for pickle overhead
CACHES = ("train-tokens-*.npy", "dev-tokens.npy", "train-chars.json", "token-caches.json")  # train.py's, mixture runs


def pack_caches(archive, tokenizer):
    """train.py's token caches (per-language streams, dev stream, their stamps) and the tokenizer they were made
    with, as one .tar.xz: all a machine without the corpus needs (~10 MB instead of ~27 MB of .npy)."""
    files = sorted({p for pat in CACHES for p in WORK.glob(pat)})
    if not (WORK / "dev-tokens.npy").exists() or not list(WORK.glob("train-tokens-*.npy")):
        sys.exit(f"run_schedule.py: no token caches in {WORK}: make them with train.py --mixture-from 0 --steps 1 --stop-at 0")
    with tarfile.open(archive, "w:xz") as tar:
        for p in files:
            tar.add(p, arcname=p.name)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            if (Path(tokenizer).parent / name).exists():
                tar.add(Path(tokenizer).parent / name, arcname=f"tokenizer/{name}")
    print(f"packed {len(files)} caches and the tokenizer into {archive} ({Path(archive).stat().st_size / 2**20:.1f} MiB)")


def unpack_caches(archive):
    WORK.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:xz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(WORK, filter="data")
        else:  # Python < 3.11.4: our own archive, names checked by hand
            if any(m.name.startswith(("/", "..")) or ".." in Path(m.name).parts for m in tar.getmembers()):
                sys.exit(f"run_schedule.py: {archive} has paths outside the folder")
            tar.extractall(WORK)


def train(run, steps, decay, extra):
    cmd = [sys.executable, str(HERE / "train.py"), "--run", run, "--steps", str(steps), "--decay", str(decay), *extra]
    print("$ train.py", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True, cwd=HERE)


def ckpt_step(path):
    return torch.load(path, map_location="cpu", weights_only=False)["step"] if path.exists() else -1


def branch(stable_run, s, decay, extra):
    """Decay branched off snapshot step s of the stable run; returns its end-of-decay checkpoint."""
    src = WORK / stable_run
    dst = WORK / f"decay-{s}"
    latest = dst / "ckpt" / "latest.pt"
    if ckpt_step(latest) < 0:  # new branch: start it from the snapshot, with the loss log that led there
        snapshot = src / "ckpt" / f"step{s}.pt"
        if not snapshot.exists():
            sys.exit(f"run_schedule.py: no snapshot of step {s} in {snapshot.parent} (the stable phase ran without "
                     f"--snapshot {s}): drop {s} from --branch, or start the stable phase again in another $WORK")
        (dst / "ckpt").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(snapshot, latest)
        shutil.copyfile(src / "config.json", dst / "config.json")
        lines = (src / "loss.csv").read_text().splitlines()
        kept = [lines[0]] + [l for l in lines[1:] if int(l.split(",")[0]) <= s]
        (dst / "loss.csv").write_text("\n".join(kept) + "\n")
    if ckpt_step(latest) < s + decay:
        train(f"decay-{s}", s + decay, decay, extra)
    return latest


def save_parts(ck, stem, limit=PART_BYTES):
    """Write a checkpoint dict as stem.part0.pt, stem.part1.pt, ...: the tensors of "model" packed greedily into
    parts of at most `limit` bytes, everything else in part 0. A tensor that shares its storage with an earlier one
    or equals it (the tied embedding and lm_head) is stored once and recorded in part 0's "tied"."""
    parts, size, tied, stored = [{}], 0, {}, {}
    for k, v in ck["model"].items():
        same = [j for j, w in stored.items() if w.shape == v.shape and w.dtype == v.dtype and torch.equal(w, v)]
        if same:  # shared storage, or equal values (average.py's mean of tied tensors)
            tied[k] = same[0]
            continue
        stored[k] = v
        n = v.numel() * v.element_size()
        if n > limit:
            sys.exit(f"run_schedule.py: tensor {k} has {n:,} bytes, more than a part may hold ({limit:,})")
        if size + n > limit and parts[-1]:
            parts.append({})
            size = 0
        parts[-1][k] = v
        size += n
    meta = {k: v for k, v in ck.items() if k not in ("model", "opt")}
    paths = []
    for i, tensors in enumerate(parts):
        path = stem.parent / f"{stem.name}.part{i}.pt"
        extra = {**meta, "tied": tied, "order": list(ck["model"])} if i == 0 else {}
        torch.save({"model": tensors, "part": i, "parts": len(parts), **extra}, path)
        paths.append(path)
    return paths


def join_parts(stem):
    """The checkpoint dict that save_parts split, in the original key order (tied tensors shared again)."""
    paths = sorted(stem.parent.glob(f"{stem.name}.part*.pt"), key=lambda p: int(p.suffixes[-2][5:]))
    if not paths:
        sys.exit(f"run_schedule.py: no {stem.name}.part*.pt in {stem.parent}")
    loaded = [torch.load(p, map_location="cpu", weights_only=False) for p in paths]
    if len(loaded) != loaded[0]["parts"] or [d["part"] for d in loaded] != list(range(len(loaded))):
        sys.exit(f"run_schedule.py: {stem} has {len(loaded)} of {loaded[0]['parts']} parts: copy all of them")
    ck = {k: v for k, v in loaded[0].items() if k not in ("model", "part", "parts", "tied")}
    tensors = {k: v for d in loaded for k, v in d["model"].items()}
    tied = loaded[0].get("tied", {})
    order = loaded[0].get("order") or [*tensors, *tied]
    ck["model"] = {k: tensors[k] if k in tensors else tensors[tied[k]] for k in order}
    return ck


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stable", type=int, help="last step of the stable phase")
    ap.add_argument("--branch", type=int, nargs="+", help="snapshot steps to decay from (multiples of --every)")
    ap.add_argument("--decay", type=int, default=2000, help="steps of each linear decay")
    ap.add_argument("--horizon", type=int, help="the --steps the stable phase is scheduled for (default: "
                    "--stable + --decay: any later value gives the same stable phase)")
    ap.add_argument("--every", type=int, default=50, help="train.py's checkpoint and dev-loss interval")
    ap.add_argument("--mixture-from", type=int, default=0)
    ap.add_argument("--tokenizer", help="train.py's --tokenizer")
    ap.add_argument("--smoke", action="store_true", help="train.py --smoke: a tiny model on 400 documents (tests)")
    ap.add_argument("--deadline-min", type=float, help="end the stable phase early and skip branches so as to "
                    "finish in about this many minutes")
    ap.add_argument("--out", help="folder for the results (or, with --join, the joined checkpoint)")
    ap.add_argument("--join", help="join STEM.part*.pt into --out and exit")
    ap.add_argument("--pack-caches", metavar="ARCHIVE", help="write $WORK's token caches and --tokenizer's folder "
                    "into ARCHIVE (.tar.xz) and exit")
    ap.add_argument("--caches", metavar="ARCHIVE", help="unpack a --pack-caches archive into $WORK first (its "
                    "tokenizer is then the default --tokenizer)")
    args = ap.parse_args()
    if args.pack_caches:
        pack_caches(args.pack_caches, args.tokenizer or HERE.parent / "tokenizer.json")
        return
    if not args.out:
        ap.error("give --out")
    if args.join:
        ck = join_parts(Path(args.join))
        torch.save(ck, args.out)
        print(f"joined {args.join}.part*.pt -> {args.out} (step {ck['step']})")
        return
    if args.stable is None or not args.branch:
        ap.error("give --stable and --branch (or --join)")
    bad = [s for s in args.branch if s > args.stable or s % args.every]
    if bad:
        ap.error(f"branch steps must be multiples of --every ({args.every}) and at most --stable: {bad}")
    t_start = time.time()
    if args.caches:
        unpack_caches(args.caches)
        if not args.tokenizer and (WORK / "tokenizer" / "tokenizer.json").exists():
            args.tokenizer = str(WORK / "tokenizer" / "tokenizer.json")
    extra = ["--every", str(args.every), "--mixture-from", str(args.mixture_from)]
    if args.tokenizer:
        extra += ["--tokenizer", args.tokenizer]
    if args.smoke:
        extra += ["--smoke", "--batch", "2", "--warmup", "2"]
    horizon = args.horizon or args.stable + args.decay
    stable_ckpt = WORK / "run" / "ckpt" / "latest.pt"
    # Segment ends of the stable phase: the branch steps, and with a deadline an early one (about a tenth of the
    # way to the first branch) that measures the speed before the long segments start.
    ends_at = {*args.branch, args.stable}
    if args.deadline_min:
        ends_at.add(args.every * max(1, round(min(args.branch) / 10 / args.every)))
    snapshots = [a for s in sorted(ends_at) for a in ("--snapshot", str(s))]

    def left():
        return args.deadline_min * 60 - (time.time() - t_start) if args.deadline_min else float("inf")

    # The stable phase in segments: with a deadline, a segment starts only if it and one decay fit in the time left
    # at the speed measured so far; where it stops is then decayed too, so a slow machine still returns a model.
    per_step, reached = None, []
    for s in sorted(ends_at):
        done = max(ckpt_step(stable_ckpt), 0)
        if done < s:
            if per_step is not None and (s - done + args.decay) * per_step > left():
                print(f"deadline: the stable phase stops at step {done} ({left() / 60:.1f} min left)", flush=True)
                if done not in reached:
                    reached.append(done)
                break
            t0 = time.time()
            train("run", horizon, args.decay, [*extra, "--stop-at", str(s), *snapshots])
            per_step = (time.time() - t0) / (s - done)
        if s in args.branch:
            reached.append(s)
    ends = []
    for s in sorted(reached, reverse=True):
        if per_step is not None and ends and args.decay * per_step > left():
            print(f"deadline: skipping the branch from {s} ({left() / 60:.1f} min left)", flush=True)
            continue
        t0 = time.time()
        ends.append(branch("run", s, args.decay, extra))
        per_step = (time.time() - t0) / args.decay
    if not ends:
        sys.exit("run_schedule.py: no branch was decayed: the stable phase reached none of the --branch steps in time")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from average import average   # here: it imports train, which sets torch's threads
    import numpy as np
    # train.py's dev stream; a smoke run evaluates on its own 400 training documents, as train.py --smoke does
    dev = np.load(WORK / ("run/train.npy" if args.smoke else "dev-tokens.npy"), mmap_mode="r")
    summary = {"stable": max(ckpt_step(stable_ckpt), 0), "decay": args.decay, "horizon": horizon, "branches": []}
    # Stamped into what is returned (export.py copies it into config.json, card.py describes it).
    schedule = {"stable": summary["stable"], "decay": args.decay, "horizon": horizon, "every": args.every,
                "branches": sorted(int(p.parent.parent.name.split("-")[1]) for p in ends)}
    if len(ends) >= 2:
        avg = average([str(p) for p in ends], dev)
        summary["branches"] = avg["averaged_from"]
        summary["average_dev_loss"] = avg["dev_loss"]
        save_parts({**avg, "schedule": schedule}, out / "averaged")
        best = min(zip(ends, avg["averaged_from"]), key=lambda e: e[1]["dev_loss"])[0]
    else:
        best = ends[0]
    best_ck = torch.load(best, map_location="cpu", weights_only=False)
    summary["best_single"] = {"step": best_ck["step"], "branch": best.parent.parent.name}
    save_parts({**best_ck, "schedule": schedule}, out / "best-single")
    with tarfile.open(out / "losses.tar.gz", "w:gz") as tar:
        for run in ["run", *[p.parent.parent.name for p in ends]]:
            tar.add(WORK / run / "loss.csv", arcname=f"{run}/loss.csv")
    summary["minutes"] = round((time.time() - t_start) / 60, 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1), flush=True)


if __name__ == "__main__":
    main()
