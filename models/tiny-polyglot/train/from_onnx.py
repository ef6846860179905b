"""Rebuild a training-code checkpoint from an exported model folder (model.onnx + config.json + tokenizer.json).

The released demo model ships as ONNX; its PyTorch checkpoint lives only on the machine that trained it. To
measure the released model with evaluate.py on another machine (for instance on a split rebuilt by
`data.py --cleaning 2`, as the baseline that a new run's candidates must beat on dev), this reads its weights back
from the ONNX initializers, which export.py writes under the PyTorch parameter names (do_constant_folding=False
keeps every weight an initializer). The result has no optimizer state: it is for evaluate.py, fixtures.py and
export.py, not for resuming training.

Run: /usr/bin/python3 from_onnx.py [--model DIR] --out CKPT
"""
import argparse
import json
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from common import MODEL_DIR, file_sha256
from export import model_of
from model import Config, LlamaForCausalLM


def checkpoint_from(model_dir):
    model_dir = Path(model_dir)
    for name in ("model.onnx", "config.json", "tokenizer.json"):
        if not (model_dir / name).is_file():
            raise SystemExit(f"from_onnx.py: no {name} in {model_dir}: pass the folder export.py wrote (--model)")
    cfg = json.loads((model_dir / "config.json").read_text())
    missing = [k for k in Config.__dataclass_fields__ if k not in cfg]
    if missing:
        raise SystemExit(f"from_onnx.py: {model_dir / 'config.json'} lacks {', '.join(missing)}: not a tiny-polyglot export")
    graph = onnx.load(str(model_dir / "model.onnx")).graph
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    lens = cfg.get("polyglot_lens", {})
    ck = {"config": {k: v for k, v in cfg.items() if k != "polyglot_lens"}, "step": lens.get("trained_steps", 0),
          "elapsed": lens.get("training_seconds", 0.0), "tokenizer_sha256": file_sha256(model_dir / "tokenizer.json"),
          "from_onnx": str(model_dir / "model.onnx"),
          **{k: lens[k] for k in ("mixture_from", "device", "precision", "torch", "schedule") if k in lens}}
    # The module tree names every tensor; the tied lm_head is the embedding (one initializer in the graph).
    names = list(LlamaForCausalLM(Config(**{k: cfg[k] for k in Config.__dataclass_fields__})).state_dict())
    absent = [n for n in names if n not in weights and not (n == "lm_head.weight" and cfg.get("tie_word_embeddings"))]
    if absent:
        raise SystemExit(f"from_onnx.py: {model_dir / 'model.onnx'} has no initializer {absent[0]} (and {len(absent) - 1} "
                         "more): export it with export.py, which keeps the PyTorch parameter names")
    ck["model"] = {n: weights[n] if n in weights else weights["model.embed_tokens.weight"] for n in names}
    model_of(ck)  # load_state_dict is strict: shapes and names must fit the configuration
    return ck


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(MODEL_DIR), help="exported model folder (default: the committed demo model)")
    ap.add_argument("--out", required=True, help="checkpoint to write (not a run's ckpt/latest.pt)")
    args = ap.parse_args()
    if Path(args.out).name == "latest.pt":
        ap.error("--out must not be a latest.pt: train.py resumes from that file, and this checkpoint has no optimizer state")
    ck = checkpoint_from(args.model)
    torch.save(ck, args.out)
    n = sum(v.numel() for k, v in ck["model"].items() if k != "lm_head.weight" or not ck["config"].get("tie_word_embeddings"))
    print(f"{args.out}: step {ck['step']}, {n:,} parameters, from {ck['from_onnx']}")


if __name__ == "__main__":
    main()
