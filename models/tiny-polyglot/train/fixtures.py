"""Reference fixtures for the engine's tests, computed by this training code's own PyTorch model.

Writes test/fixtures/tiny-polyglot/reference.json. Layer-index convention (the project's): hidden_states[k] for
k = 0..L, k = 0 the embeddings output, k = i + 1 the output of block i (after its MLP residual add, before the
final norm) — llama.cpp's `direction.{i}`. The "steered" case adds `vector` to hidden_states[k] at every
position (prompt and generated), and hidden_states[k] reports the steered value.

For the layer inspector: `lens_all` is the logit lens (final norm + lm_head) at every layer and position
(top-5 ids and logits, and log Z = logsumexp of the row, so probability = exp(logit - log Z)); `pca` is a
numpy reference of the per-layer 2-D picture (models/tiny-polyglot/vectors/centroids.safetensors): the top
two eigenvectors (numpy.linalg.eigh) of the covariance of the layer's language centroids around their
mean, each oriented so that the centroid farthest along it is positive; explained variance in percent;
centroids and each prompt's PyTorch hidden states (centred on the centroid mean) projected on them.

Run: /usr/bin/python3 fixtures.py [--ckpt PATH]
"""
import argparse
import json
import os
import struct

import numpy as np
import torch

from bpe import Encoder
from common import MODEL_DIR, REPO, WORK, check_tokenizer
from export import load

PROMPTS = [
    ("en", "The dwarves gathered in the great hall to hear the king"),
    ("fr", "Le dragon s'envola au-dessus des montagnes et"),
    ("de", "Die Elfen zogen sich in den Wald zurück, denn"),
    ("ru", "Мы должны найти способ пересечь реку, пока"),
    ("zh", "我们必须在天黑之前到达城堡，"),
    ("ja", "このコマンドはパッケージの一覧を表示します。"),
]
STEER_K = 3
GREEDY_TOKENS = 16
DIMS_EVERY = 16
LENS_TOP = 5
CENTROIDS = MODEL_DIR / "vectors" / "centroids.safetensors"


def read_centroids(path):
    """{layer: {language: float64 [d]}} from the engine's centroid file (safetensors, `centroid.<lang>.<k>`)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or not name.startswith("centroid."):
            continue
        assert info["dtype"] == "F32", info
        _, lang, k = name.split(".")
        a, b = info["data_offsets"]
        out.setdefault(int(k), {})[lang] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").astype(np.float64)
    return out


def pca_plane(centroids):
    """Mean, two oriented axes [2, d] and explained percent of one layer's centroids (numpy eigh)."""
    langs = sorted(centroids)
    c = np.stack([centroids[l] for l in langs])
    mean = c.mean(0)
    cc = c - mean
    vals, vecs = np.linalg.eigh(cc.T @ cc / len(langs))
    order = np.argsort(vals)[::-1][:2]
    axes = vecs[:, order].T
    xy = cc @ axes.T
    for a in range(2):
        if xy[np.argmax(np.abs(xy[:, a])), a] < 0:
            axes[a] = -axes[a]
            xy[:, a] = -xy[:, a]
    explained = [float(v / vals.sum() * 100) for v in vals[order]]
    return {"langs": langs, "mean": mean, "axes": axes, "explained": explained, "xy": xy}


def lens_all(model, hidden):
    """Top-LENS_TOP logit lens at every layer and position (ids, logits, log Z)."""
    ids, logits, log_z = [], [], []
    for h in hidden:
        lg = model.lm_head(model.model.norm(h[0]))  # [seq, vocab]
        top = torch.topk(lg, LENS_TOP, dim=-1)
        ids.append(top.indices.tolist())
        logits.append([[round(float(v), 5) for v in row] for row in top.values])
        log_z.append([round(float(v), 5) for v in torch.logsumexp(lg, dim=-1)])
    return {"top_ids": ids, "top_logits": logits, "log_z": log_z}


def subset(hidden, dims):
    return {"positions": list(range(hidden[0].shape[1])), "dims": dims,
            "values": [[[round(float(h[0, p, d]), 7) for d in dims] for p in range(h.shape[1])] for h in hidden],
            "norms": [[round(float(h[0, p].norm()), 6) for p in range(h.shape[1])] for h in hidden]}


def logits_summary(logits):
    last = logits[0, -1]
    top = torch.topk(last, 10)
    return {"top_ids": top.indices.tolist(), "top_values": [round(float(v), 6) for v in top.values],
            "ids": list(range(64)), "values": [round(float(v), 6) for v in last[:64]]}


@torch.no_grad()
def greedy(model, ids, steer, eos):
    out, past = [], None
    x = torch.tensor([ids])
    n = len(ids)
    for _ in range(GREEDY_TOKENS):
        total = n + len(out)
        t = x.shape[1]
        logits, past, _ = model(x, torch.ones(1, total, dtype=torch.long),
                                torch.arange(total - t, total)[None], past, steer=steer)
        nxt = int(logits[0, -1].argmax())
        if nxt == eos:
            break
        out.append(nxt)
        x = torch.tensor([[nxt]])
    return {"max_new_tokens": GREEDY_TOKENS, "ids": out}


@torch.no_grad()
def case(model, enc, lang, text, vector, planes):
    ids = enc.encode(text)
    x = torch.tensor([ids])
    L = model.config.num_hidden_layers
    dims = list(range(0, model.config.hidden_size, DIMS_EVERY))
    logits, _, hidden = model(x, return_hidden=True)
    lens = []
    for h in hidden:
        lg = model.lm_head(model.model.norm(h[0, -1]))
        lens.append(torch.topk(lg, 5).indices.tolist())
    steer = {STEER_K: vector}
    s_logits, _, s_hidden = model(x, steer=steer, return_hidden=True)
    tokens_xy = {str(k): [[round(float(v), 4) for v in row] for row in (h[0].double().numpy() - p["mean"]) @ p["axes"].T]
                 for k, p in planes.items() for h in [hidden[k]]}
    return {
        "lang": lang, "text": text, "input_ids": ids,
        "hidden_states": subset(hidden, dims),
        "logits_last": logits_summary(logits),
        "greedy": greedy(model, ids, None, enc.eos),
        "logit_lens": {"position": len(ids) - 1, "top_ids": lens},
        "lens_all": lens_all(model, hidden),
        "pca_tokens": tokens_xy,
        "steered": {"k": STEER_K, "positions": "all", "hidden_states": subset(s_hidden, dims),
                    "logits_last": logits_summary(s_logits), "greedy": greedy(model, ids, steer, enc.eos)},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=str(WORK / "run" / "ckpt" / "latest.pt"))
    args = ap.parse_args()
    model, ck = load(args.ckpt)
    check_tokenizer(ck, MODEL_DIR / "tokenizer.json", "fixtures.py")
    enc = Encoder(MODEL_DIR / "tokenizer.json")
    # A known steering vector: a seeded random direction scaled to the mean residual norm at STEER_K.
    with torch.no_grad():
        _, _, h = model(torch.tensor([enc.encode(PROMPTS[0][1])]), return_hidden=True)
        mean_norm = float(h[STEER_K][0].norm(dim=-1).mean())
    g = torch.Generator().manual_seed(7)
    direction = torch.randn(model.config.hidden_size, generator=g)
    vector = (direction / direction.norm() * mean_norm).float()
    vector = torch.tensor([round(float(v), 6) for v in vector])
    planes = {k: pca_plane(c) for k, c in sorted(read_centroids(CENTROIDS).items())}
    out = {
        "convention": "hidden_states[k], k = 0..L: k = 0 embeddings output, k = i + 1 output of block i (residual "
                      "stream before the final norm; llama.cpp direction.{i}). Steered: vector added to "
                      "hidden_states[k] at every position; hidden_states[k] is the steered value.",
        "generated_by": "models/tiny-polyglot/train/fixtures.py (PyTorch reference model)",
        "checkpoint_step": ck["step"],
        "num_layers": model.config.num_hidden_layers,
        "hidden_size": model.config.hidden_size,
        "steer_vector": {"k": STEER_K, "values": vector.tolist()},
        "pca": {
            "centroids_file": "models/tiny-polyglot/vectors/centroids.safetensors",
            "layers": {str(k): {"explained": [round(e, 4) for e in p["explained"]],
                                "centroids": {l: [round(float(v), 4) for v in p["xy"][i]] for i, l in enumerate(p["langs"])}}
                       for k, p in planes.items()},
        },
        "prompts": [case(model, enc, lang, text, vector, planes) for lang, text in PROMPTS],
    }
    for p in out["prompts"]:
        p["steered"]["vector"] = "steer_vector"  # one shared vector, stored once above
    dest = REPO / "test" / "fixtures" / "tiny-polyglot"
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / "reference.json.tmp"
    tmp.write_text(json.dumps(out) + "\n")
    os.replace(tmp, dest / "reference.json")
    print(f"wrote {dest / 'reference.json'} ({(dest / 'reference.json').stat().st_size / 1e3:.0f} kB)")
    for p in out["prompts"]:
        print(p["lang"], repr(enc.decode(p["greedy"]["ids"])), "| steered:", repr(enc.decode(p["steered"]["greedy"]["ids"])))


if __name__ == "__main__":
    main()
