"""Evaluate tiny-polyglot on the held-out test split (PyTorch): language fidelity, language separation in
the hidden states, and per-language perplexity. Writes eval.json beside this file (committed; the card
quotes it).

- Fidelity: 100 test prompts per language (the first half of a held-out sentence that fastText lid.176 itself
  identifies as the language: test catalogs hold identifiers and option strings such as "NT_PPC_TM_CFPR" or
  "-c, --core-" that are in no language, so they cannot have a "prompt's language" to keep; the prompts skipped
  are counted in eval.json, and `--prompt-filter none` restores the unfiltered protocol), 32-token continuations
  sampled at temperature 0.7, top-p 0.9, seed = prompt index; a continuation counts if fastText lid.176 names the
  prompt's language AND it is not mostly repetition (distinct-2-gram ratio >= 0.5; words for spaced scripts,
  characters for zh/ja).
- Separation: per-layer language centroids (mean over content tokens) from the steer split; nearest-centroid
  (cosine) classification of test sentences at each layer.
- Perplexity: per-language token-level perplexity of test-split sentences.

Run: /usr/bin/python3 evaluate.py [--ckpt PATH] [--prompts 100] [--split dev --only fidelity [--langs en pt] [--source gettext]]
(`--split dev` measures on the dev split, for choosing between checkpoints; the reported numbers use test.)
"""
import argparse
import itertools
import json
import math
import os
import random
import subprocess
import tempfile
from pathlib import Path
from collections import defaultdict

import torch

from bpe import Encoder
from common import HERE, LANGS, MODEL_DIR, REPO, SEED, WORK, check_tokenizer
from export import load


def read_split(split):
    path = WORK / "corpus" / f"{split}.jsonl"
    if not path.is_file():
        raise SystemExit(f"evaluate.py: no {split} split at {path}: run data.py first, or point POLYGLOT_TRAIN_DIR "
                         "at the work folder that holds the corpus")
    by_lang = defaultdict(list)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            u = json.loads(line)
            by_lang[u["lang"]].append(u)
    return by_lang


def is_cjk(ch):
    o = ord(ch)
    return 0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF


def distinct2(text, lang):
    toks = list(text.replace(" ", "")) if lang in ("zh", "ja") else text.split()
    grams = list(zip(toks, toks[1:]))
    return len(set(grams)) / len(grams) if grams else 0.0


@torch.no_grad()
def sample(model, ids, n, seed, temperature=0.7, top_p=0.9, eos=None):
    g = torch.Generator().manual_seed(seed)
    out, past, x = [], None, torch.tensor([ids])
    for _ in range(n):
        total = len(ids) + len(out)
        logits, past, _ = model(x, torch.ones(1, total, dtype=torch.long),
                                torch.arange(total - x.shape[1], total)[None], past)
        probs = torch.softmax(logits[0, -1] / temperature, -1)
        sp, si = torch.sort(probs, descending=True)
        keep = torch.cumsum(sp, 0) - sp < top_p
        sp = sp * keep
        nxt = int(si[torch.multinomial(sp / sp.sum(), 1, generator=g)])
        if nxt == eos:
            break
        out.append(nxt)
        x = torch.tensor([[nxt]])
    return out


def identify(texts):
    with tempfile.TemporaryDirectory() as d:
        inp, outp = os.path.join(d, "in.txt"), os.path.join(d, "out.txt")
        with open(inp, "w", encoding="utf-8") as fh:
            fh.write("".join(t.replace("\n", " ") + "\n" for t in texts))
        subprocess.run(["node", str(HERE / "lid.mjs"), inp, outp], check=True, cwd=REPO)
        return [line.split("\t")[0] for line in open(outp, encoding="utf-8").read().splitlines()]


def prompts_for(units, enc, n, rng, lang=None):
    """The first n test prompts (first halves of shuffled held-out sentences, Wesnoth dialogue listed first).
    With lang, a prompt is used only if lid.176 identifies its own text as lang. Returns (prompts, skipped texts),
    each prompt a (token ids, source of its sentence) pair. The filter looks only at the prompt, never at the
    model's output, and draws from the same shuffled order."""
    cands = [u for u in units if len(u["text"]) >= 40 and u["source"] == "wesnoth"]
    cands += [u for u in units if len(u["text"]) >= 40 and u["source"] != "wesnoth"]
    rng.shuffle(cands)
    # Encoded lazily: the test split has thousands of sentences per language and ~n of them are needed.
    prompts = ((ids[: max(8, len(ids) // 2)], u["source"]) for u, ids in ((u, enc.encode(u["text"])) for u in cands)
               if len(ids) >= 12)
    if lang is None:
        return list(itertools.islice(prompts, n)), []
    out, skipped = [], []
    # Identify in batches of 2n (one lid.mjs start each) until n prompts are kept.
    while len(out) < n and (batch := list(itertools.islice(prompts, 2 * n))):
        texts = [enc.decode(ids) for ids, _ in batch]
        for prompt, text, label in zip(batch, texts, identify(texts)):
            if len(out) == n:
                break
            if label == lang:
                out.append(prompt)
            else:
                skipped.append(f"{text} [{label}]")
    return out, skipped


@torch.no_grad()
def pooled(model, ids):
    _, _, hidden = model(torch.tensor([ids]), return_hidden=True)
    return [h[0, 1:].mean(0) for h in hidden]  # mean over content tokens (skip <|bos|>)


@torch.no_grad()
def perplexity(model, enc, units_by_lang, n, rng):
    """Token-level perplexity per language over n shuffled sentences of at least 20 characters (each with EOS)."""
    out = {}
    for lang in LANGS:
        nll, count = 0.0, 0
        units = [u for u in units_by_lang[lang] if len(u["text"]) >= 20]
        rng.shuffle(units)
        for u in units[:n]:
            ids = enc.encode(u["text"]) + [enc.eos]
            logits, _, _ = model(torch.tensor([ids[:-1]]))
            nll += float(torch.nn.functional.cross_entropy(logits[0], torch.tensor(ids[1:]), reduction="sum"))
            count += len(ids) - 1
        out[lang] = round(math.exp(nll / count), 2)
    return out


def save(result, out):
    """Write the results to out (nothing when out is None: an --only run without --out just prints)."""
    if out is not None:
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


def train_token_counts(work=WORK):
    """What the card says the model read from: train_tokens, the balanced train.txt as train.py tokenized it (only
    a run that read train.txt made that cache), and train_split_tokens, the whole train split per language as
    train.py's Mixture reads it (only a run on the mixture made those). Either may be absent."""
    import numpy as np
    out = {}
    if (work / "train-tokens.npy").exists():
        out["train_tokens"] = int(len(np.load(work / "train-tokens.npy", mmap_mode="r")))
    streams = sorted(work.glob("train-tokens-*.npy"))
    if streams:
        out["train_split_tokens"] = {p.stem.rsplit("-", 1)[1]: int(len(np.load(p, mmap_mode="r"))) for p in streams}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=str(WORK / "run" / "ckpt" / "latest.pt"))
    ap.add_argument("--prompts", type=int, default=100)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--prompt-filter", choices=["lid", "none"], default="lid",
                    help="lid (default): use only prompts that lid.176 identifies as their language; none: any prompt")
    ap.add_argument("--only", choices=["separation", "fidelity", "perplexity"],
                    help="compute only this part and print it (no eval.json)")
    ap.add_argument("--split", choices=["test", "dev"], default="test",
                    help="held-out split to measure on: test (what is reported) or dev (for choosing between "
                         "checkpoints without looking at the test split)")
    ap.add_argument("--out", help="where to write the results as JSON (default: eval.json beside this file for a full "
                                  "test-split run; with --only, only when given)")
    ap.add_argument("--dump", help="also write every fidelity prompt, continuation, identified language and verdict "
                                   "to this JSONL file (for reading the failures; not committed)")
    ap.add_argument("--tokenizer", default=str(MODEL_DIR / "tokenizer.json"),
                    help="the tokenizer.json the checkpoint was trained with (default: the committed one); a "
                         "candidate of a run with its own tokenizer is compared on dev with that one")
    ap.add_argument("--langs", nargs="+", choices=LANGS, help="with --only fidelity: sample only these languages "
                    "(their prompts are the same as in a run over all of them)")
    ap.add_argument("--source", choices=["wesnoth", "debian-handbook", "debian-reference", "gnome-user-docs", "gettext"],
                    help="with --only fidelity: draw prompts from this source only (e.g. gettext: the program "
                         "messages that are a third of the English test prompts but few of dev's)")
    args = ap.parse_args()
    if (args.langs or args.source) and args.only != "fidelity":
        ap.error("--langs and --source go with --only fidelity")
    if args.split != "test" and args.only is None and args.out is None:
        ap.error("eval.json holds the test-split numbers the card reports: with --split dev, pass --only or --out")
    torch.set_num_threads(2)
    model, ck = load(args.ckpt)
    check_tokenizer(ck, args.tokenizer, "evaluate.py")
    enc = Encoder(args.tokenizer)
    test = read_split(args.split)
    rng = random.Random(SEED)
    result = {"checkpoint_step": ck["step"], "split": args.split, "parameters": sum(p.numel() for p in model.parameters()), "fidelity": {}, "separation": {}, "perplexity": {}}

    if args.only == "perplexity":  # for comparing checkpoints on dev: try --sentences 1000
        result["perplexity"] = perplexity(model, enc, test, args.sentences, rng)
        print(json.dumps(result["perplexity"]))
        save(result, args.out)
        return

    # Fidelity
    if args.only in (None, "fidelity"):
        conts, meta, skipped, prompt_texts, sources = [], [], {}, [], []
        for lang in LANGS:
            units = [u for u in test[lang] if args.source in (None, u["source"])]
            # Every language's prompts are drawn (one shared random stream), sampled only for those asked for.
            prompts, skipped[lang] = prompts_for(units, enc, args.prompts, rng,
                                                 lang if args.prompt_filter == "lid" else None)
            if args.langs and lang not in args.langs:
                continue
            for i, (ids, source) in enumerate(prompts):
                conts.append(enc.decode(sample(model, ids, args.tokens, seed=i, eos=enc.eos)))
                meta.append(lang)
                prompt_texts.append(enc.decode(ids))
                sources.append(source)
        if not conts:
            raise SystemExit(f"evaluate.py: no prompts: the {args.split} split has no usable sentences"
                             + (f" from {args.source}" if args.source else "") + " in the languages asked for")
        labels = identify(conts)
        per = defaultdict(lambda: [0, 0, 0])
        by_source = defaultdict(lambda: defaultdict(lambda: [0, 0]))  # lang -> source -> [ok, n]
        rows = []
        for lang, prompt, source, text, label in zip(meta, prompt_texts, sources, conts, labels):
            rep = distinct2(text, lang) < 0.5
            ok = label == lang and not rep
            per[lang][0] += int(ok)
            per[lang][1] += 1
            per[lang][2] += int(rep)
            by_source[lang][source][0] += int(ok)
            by_source[lang][source][1] += 1
            rows.append({"lang": lang, "prompt": prompt, "source": source, "continuation": text, "identified": label,
                         "repetitive": rep, "ok": ok})
        if args.dump:
            with open(args.dump, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        result["fidelity"] = {l: {"rate": round(a / n, 3), "n": n, "repetitive": r} for l, (a, n, r) in per.items()}
        # Where the prompts came from (Wesnoth dialogue, documentation, program messages) and how each fared: the
        # card explains a language's shortfall with it.
        result["fidelity_by_source"] = {l: {src: {"ok": a, "n": n} for src, (a, n) in sorted(by_source[l].items())}
                                        for l in per}
        result["fidelity_examples"] = {l: conts[meta.index(l)] for l in per}
        result["fidelity_prompt_filter"] = args.prompt_filter
        if args.prompt_filter == "lid":
            result["fidelity_prompts_skipped"] = {l: {"count": len(s), "examples": s[:5]} for l, s in skipped.items()}
        if args.only == "fidelity":
            print(json.dumps({l: f["rate"] for l, f in result["fidelity"].items()}))
            short = {l: f["n"] for l, f in result["fidelity"].items() if f["n"] < args.prompts}
            if short:  # a small source (--source) may hold fewer usable sentences than --prompts
                print(f"prompts: {json.dumps(short)} (fewer than {args.prompts})")
            save(result, args.out)
            return

    # Separation: centroids from the steer split, classify test sentences.
    L = model.config.num_hidden_layers
    steer = read_split("steer")
    cents = {}
    for lang in LANGS:
        units = [u for u in steer[lang] if len(u["text"]) >= 20][: args.sentences]
        states = [pooled(model, enc.encode(u["text"])) for u in units]
        cents[lang] = [torch.stack([s[k] for s in states]).mean(0) for k in range(L + 1)]
    # Raw cosine, and the engine's mean-centred cosine (each layer's centroids minus their mean: the
    # direction every language shares drops out, src/engine/analysis/similarity.ts centroidMean).
    means = [torch.stack([cents[l][k] for l in LANGS]).mean(0) for k in range(L + 1)]
    correct = [0] * (L + 1)
    centred = [0] * (L + 1)
    total = 0
    for lang in LANGS:
        units = [u for u in test[lang] if len(u["text"]) >= 20]
        rng.shuffle(units)
        for u in units[: args.sentences]:
            s = pooled(model, enc.encode(u["text"]))
            total += 1
            for k in range(L + 1):
                sims = {l: float(torch.cosine_similarity(s[k], cents[l][k], dim=0)) for l in LANGS}
                correct[k] += int(max(sims, key=sims.get) == lang)
                sims = {l: float(torch.cosine_similarity(s[k] - means[k], cents[l][k] - means[k], dim=0)) for l in LANGS}
                centred[k] += int(max(sims, key=sims.get) == lang)
    result["separation"] = {"accuracy_by_layer": [round(c / total, 4) for c in correct],
                            "accuracy_by_layer_centred": [round(c / total, 4) for c in centred], "n": total}
    if args.only == "separation":
        print(json.dumps(result["separation"]))
        save(result, args.out)
        return

    # Tokenizer: characters per token, and CJK coverage (share of Han/kana characters that are never split
    # into byte pieces, i.e. every token covering them decodes to whole characters).
    result["tokenizer"] = {}
    for lang in LANGS:
        chars = toks = whole = cjk = 0
        for u in test[lang][: args.sentences]:
            ids = enc.encode(u["text"], bos=False)
            chars += len(u["text"])
            toks += len(ids)
            if lang in ("zh", "ja"):
                cjk += sum(1 for ch in u["text"] if is_cjk(ch))
                for i in ids:
                    piece = enc.decode([i])
                    if "\ufffd" not in piece:
                        whole += sum(1 for ch in piece if is_cjk(ch))
        entry = {"chars_per_token": round(chars / max(1, toks), 2)}
        if cjk:
            entry["cjk_chars_whole"] = round(whole / cjk, 3)
        result["tokenizer"][lang] = entry

    result["perplexity"] = perplexity(model, enc, test, args.sentences, rng)
    result.update(train_token_counts())
    save(result, args.out or HERE / "eval.json")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
