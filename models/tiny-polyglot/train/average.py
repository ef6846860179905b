"""Average the weights of several checkpoints of one run into one checkpoint (checkpoint averaging, as in Polyak
averaging and in Llama 3's pre-training, which averages checkpoints taken during annealing).

  /usr/bin/python3 average.py --out avg.pt CKPT CKPT [CKPT ...]

The checkpoints must share a configuration and a lineage (decays branched off one stable phase); the average of
unrelated runs is meaningless and this script cannot tell, so it checks only that configurations and tensor shapes
agree. The output keeps the latest checkpoint's step, elapsed time and mixture step (release.sh pairs it with that
run's loss log), lists what it averaged with each input's dev loss and its own (the same 24 dev windows as the
loss log, train.dev_loss), and has no optimizer state: training does not resume from an average.

Written by hand: a mean of state dicts is a few lines, and torch.optim.swa_utils.AveragedModel averages during a
training run rather than checkpoints on disk.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

import train
from common import WORK
from export import model_of


def average(paths, dev=None, data=None):
    """The averaged checkpoint dict; with dev (a token stream), each input's dev loss and the average's in it; with
    data (one label per path), the train corpus that each input was trained on, for the card."""
    cks = [torch.load(p, map_location="cpu", weights_only=False) for p in paths]
    first = cks[0]
    for p, ck in zip(paths, cks):
        if ck["config"] != first["config"]:
            sys.exit(f"average.py: {p} has another model configuration than {paths[0]}; average checkpoints of one run")
        if ck.get("tokenizer_sha256") != first.get("tokenizer_sha256"):
            sys.exit(f"average.py: {p} was trained with another tokenizer than {paths[0]}; average checkpoints of one run")
        if {k: tuple(v.shape) for k, v in ck["model"].items()} != {k: tuple(v.shape) for k, v in first["model"].items()}:
            sys.exit(f"average.py: {p} has other tensors than {paths[0]}; average checkpoints of one run")
    latest = max(cks, key=lambda ck: ck["step"])
    model = {}
    for k, v in first["model"].items():
        if v.is_floating_point():
            model[k] = (sum(ck["model"][k].double() for ck in cks) / len(cks)).to(v.dtype)
        elif all(torch.equal(ck["model"][k], v) for ck in cks):
            model[k] = v
        else:
            sys.exit(f"average.py: the non-float tensor {k} differs between the checkpoints")
    out = {k: v for k, v in latest.items() if k not in ("model", "opt")}
    out["model"] = model
    out["averaged_from"] = [{"file": Path(p).name, "step": ck["step"], "mixture_from": ck.get("mixture_from")}
                            for p, ck in zip(paths, cks)]
    for entry, label in zip(out["averaged_from"], data or []):
        entry["data"] = label
    if dev is not None:
        for entry, ck in zip(out["averaged_from"], cks):
            entry["dev_loss"] = round(train.dev_loss(model_of(ck), dev), 4)
        out["dev_loss"] = round(train.dev_loss(model_of(out), dev), 4)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+", help="checkpoints to average (at least two)")
    ap.add_argument("--out", required=True, help="where to write the averaged checkpoint (not ckpt/latest.pt)")
    ap.add_argument("--dev-tokens", default=str(WORK / "dev-tokens.npy"),
                    help="the dev split's token stream that train.py caches (default: %(default)s)")
    ap.add_argument("--data", nargs="+", metavar="LABEL",
                    help="one label per checkpoint naming the train corpus its decay read (e.g. the data.py options), "
                         "when the checkpoints' decays read different corpora; the card lists them")
    ap.add_argument("--schedule", type=json.loads, metavar="JSON",
                    help="run_schedule.py's record for an average made by hand, e.g. "
                         "'{\"stable\": 14000, \"branches\": [12000, 14000], \"decay\": 2000, \"every\": 50}'")
    args = ap.parse_args()
    if len(args.checkpoints) < 2:
        ap.error("give at least two checkpoints")
    if args.data and len(args.data) != len(args.checkpoints):
        ap.error(f"--data needs one label per checkpoint ({len(args.checkpoints)}), got {len(args.data)}")
    if args.schedule is not None and not {"stable", "branches", "decay", "every"} <= set(args.schedule):
        ap.error("--schedule needs stable, branches, decay and every")
    for p in args.checkpoints:
        if not Path(p).is_file():
            ap.error(f"no checkpoint at {p}")
    if Path(args.out).resolve().name == "latest.pt":
        ap.error("--out must not be a latest.pt: train.py resumes from that file, and an average has no optimizer state")
    if not Path(args.dev_tokens).is_file():
        ap.error(f"no dev tokens at {args.dev_tokens}: run train.py once (it caches them) or pass --dev-tokens")
    torch.set_num_threads(2)
    dev = np.load(args.dev_tokens, mmap_mode="r")
    out = average(args.checkpoints, dev, args.data)
    if args.schedule is not None:
        out["schedule"] = args.schedule
    train.save_atomic(out, Path(args.out))
    for e in out["averaged_from"]:
        print(f"step {e['step']} ({e['file']}): dev loss {e['dev_loss']:.4f}")
    print(f"average of {len(args.checkpoints)}: dev loss {out['dev_loss']:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
