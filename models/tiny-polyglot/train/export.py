"""Export a checkpoint to models/tiny-polyglot/model.onnx in the Hugging Face Optimum "with past" layout.

Inputs: input_ids [b, t], attention_mask [b, past + t], position_ids [b, t],
        past_key_values.{i}.key / .value [b, kv_heads, past, head_dim] (past may be 0)
Outputs: logits [b, t, vocab], present.{i}.key / .value [b, kv_heads, past + t, head_dim]
A plain export: no steering inputs or hidden-state outputs (the engine adds those by graph surgery).
Checks: onnx.checker (full), then onnxruntime-node against this PyTorch model on a prompt and a KV-cache
decode step (max abs diff <= 1e-4), via check_onnx.mjs.

Run: /usr/bin/python3 export.py [--ckpt PATH] [--out DIR]
"""
import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import onnx
import torch

from bpe import Encoder
from common import HERE, MODEL_DIR, REPO, WORK, check_tokenizer
from model import Config, LlamaForCausalLM


class WithPast(LlamaForCausalLM):
    """The same module tree with a flat (input_ids, attention_mask, position_ids, *past) signature, so that
    parameter and node names are exactly the Hugging Face ones (`model.layers.0...`, `/model/layers.0/Add_1`)."""

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents, _ = super().forward(input_ids, attention_mask, position_ids, past)
        return (logits, *[t for kv in presents for t in kv])


def model_of(ck, cls=LlamaForCausalLM):
    """The model (in eval mode) that a loaded checkpoint dict describes."""
    c = ck["config"]
    model = cls(Config(**{k: c[k] for k in Config.__dataclass_fields__}))
    model.load_state_dict(ck["model"])
    model.eval()
    return model


def load(ckpt_path, cls=LlamaForCausalLM):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    return model_of(ck, cls), ck


def export(model, path):
    cfg = model.config
    L, kv, hd = cfg.num_hidden_layers, cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
    b, t, past = 1, 3, 2  # traced with a non-empty past; the graph is shape-generic (checked below with 0)
    ids = torch.randint(0, cfg.vocab_size, (b, t))
    mask = torch.ones(b, past + t, dtype=torch.long)
    pos = torch.arange(past, past + t)[None]
    pkv = [torch.zeros(b, kv, past, hd) for _ in range(2 * L)]
    in_names = ["input_ids", "attention_mask", "position_ids"] + [
        f"past_key_values.{i}.{n}" for i in range(L) for n in ("key", "value")]
    out_names = ["logits"] + [f"present.{i}.{n}" for i in range(L) for n in ("key", "value")]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(L):
        for n in ("key", "value"):
            axes[f"past_key_values.{i}.{n}"] = {0: "batch_size", 2: "past_sequence_length"}
            axes[f"present.{i}.{n}"] = {0: "batch_size", 2: "total_sequence_length"}
    tmp = Path(str(path) + ".tmp")
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask, pos, *pkv), str(tmp), input_names=in_names,
                          output_names=out_names, dynamic_axes=axes, opset_version=17, do_constant_folding=False)
    m = onnx.load(str(tmp))
    onnx.checker.check_model(m, full_check=True)
    os.replace(tmp, path)
    return m


@torch.no_grad()
def check_cases(model, enc):
    """PyTorch outputs for a prompt (past 0) and one KV-cache decode step, for check_onnx.mjs."""
    cfg = model.config
    ids = enc.encode("Le dragon s'envola au-dessus des montagnes.")
    x = torch.tensor([ids])
    n = len(ids)
    forward = super(WithPast, model).forward if isinstance(model, WithPast) else model
    logits, presents, _ = forward(x, torch.ones(1, n, dtype=torch.long), torch.arange(n)[None], None)
    nxt = int(logits[0, -1].argmax())
    logits2, presents2, _ = forward(torch.tensor([[nxt]]), torch.ones(1, n + 1, dtype=torch.long),
                                  torch.tensor([[n]]), presents)
    flat = lambda ps: [t.flatten().tolist() for kv in ps for t in kv]
    return {"layers": cfg.num_hidden_layers, "kv_heads": cfg.num_key_value_heads,
            "head_dim": cfg.hidden_size // cfg.num_attention_heads,
            "prompt": {"ids": ids, "logits": logits.flatten().tolist(), "presents": flat(presents)},
            "decode": {"id": nxt, "logits": logits2.flatten().tolist(), "presents": flat(presents2)}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=str(WORK / "run" / "ckpt" / "latest.pt"))
    ap.add_argument("--out", default=str(MODEL_DIR))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model, ck = load(args.ckpt, WithPast)
    # The tokenizer the export ships with (out's own, else the committed one that is copied there below).
    check_tokenizer(ck, out / "tokenizer.json" if (out / "tokenizer.json").exists() else MODEL_DIR / "tokenizer.json",
                    "export.py")
    export(model, out / "model.onnx")
    cfg = model.config.hf_config()
    cfg["polyglot_lens"] = {"trained_steps": ck["step"], "training_seconds": round(ck["elapsed"])}
    if ck.get("mixture_from") is not None:  # the step from which batches came from train.py's Mixture
        cfg["polyglot_lens"]["mixture_from"] = ck["mixture_from"]
    for key in ("device", "precision", "torch", "schedule"):  # train.py's record; run_schedule.py's schedule
        if ck.get(key) is not None:
            cfg["polyglot_lens"][key] = ck[key]
    if ck.get("averaged_from"):  # average.py's output: the steps averaged, their dev losses and the average's
        cfg["polyglot_lens"]["averaged_from"] = [
            {k: e.get(k) for k in ("step", "mixture_from", "dev_loss", "data") if k != "data" or "data" in e}
            for e in ck["averaged_from"]]
        cfg["polyglot_lens"]["dev_loss"] = ck.get("dev_loss")
    (out / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    gen = {"bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"],
           "pad_token_id": cfg["pad_token_id"], "do_sample": True, "temperature": 0.7, "top_p": 0.9,
           "max_new_tokens": 64}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=1) + "\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if not (out / name).exists():
            (out / name).write_bytes((MODEL_DIR / name).read_bytes())
    enc = Encoder(out / "tokenizer.json")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(check_cases(model, enc), fh)
    subprocess.run(["node", str(HERE / "check_onnx.mjs"), str(out / "model.onnx"), fh.name], check=True, cwd=REPO)
    os.unlink(fh.name)
    print(f"exported {out / 'model.onnx'} ({(out / 'model.onnx').stat().st_size / 1e6:.1f} MB), step {ck['step']}")


if __name__ == "__main__":
    main()
