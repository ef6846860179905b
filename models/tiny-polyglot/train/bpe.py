"""Byte-level BPE: train on the train split and write the standard Hugging Face `tokenizer.json`.

Hand-written because Debian 12 packages no `tokenizers` for Python and PyPI is unreachable here; the output is
the standard format (ByteLevel pre-tokenizer + BPE model + TemplateProcessing adding <|bos|>) that
`@huggingface/tokenizers` and `transformers` load. The engine's tests check that Node produces the same ids
as `encode` below for the reference prompts.

Run: /usr/bin/python3 bpe.py [--vocab 12288] [--sample-chars 12000000]
"""
import argparse
import json
import heapq
import re
from collections import Counter, defaultdict
from pathlib import Path

from common import MODEL_DIR, WORK

SPECIALS = ["<|bos|>", "<|eos|>", "<|pad|>"]
# GPT-2's pre-tokenizer pattern. \p{L} is written [^\W\d_] and \p{N} \d for Python's re; the Rust/JS
# implementations use the \p classes, which differ only on rare characters (e.g. superscript digits).
GPT2_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (the ByteLevel alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHAR = bytes_to_unicode()


def pretokenize(text):
    return ["".join(BYTE_CHAR[b] for b in piece.encode("utf-8")) for piece in GPT2_SPLIT.findall(text)]


def train(texts, vocab_size):
    counts = Counter()
    for t in texts:
        counts.update(pretokenize(t))
    words = [list(w) for w in counts]
    freqs = list(counts.values())
    alphabet = sorted(set(BYTE_CHAR.values()))
    vocab = {tok: i for i, tok in enumerate(SPECIALS + alphabet)}
    pair_counts = Counter()
    where = defaultdict(set)
    for wi, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += freqs[wi]
            where[(a, b)].add(wi)
    # A max-heap of (count, pair) with lazy invalidation: entries whose count is stale are skipped on pop.
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    while len(vocab) < vocab_size and heap:
        negc, (a, b) = heapq.heappop(heap)
        c = pair_counts.get((a, b), 0)
        if c != -negc:
            continue
        if c < 2:
            break
        merged = a + b
        merges.append((a, b))
        vocab[merged] = len(vocab)
        changed = Counter()
        for wi in where[(a, b)]:
            w, f = words[wi], freqs[wi]
            if not any(w[i] == a and w[i + 1] == b for i in range(len(w) - 1)):
                continue  # stale index entry: an earlier merge already consumed the pair in this word
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for p in zip(w, w[1:]):
                changed[p] -= f
            for p in zip(out, out[1:]):
                changed[p] += f
                where[p].add(wi)
        for p, d in changed.items():
            if d == 0:
                continue
            pair_counts[p] += d
            if pair_counts[p] <= 0:
                del pair_counts[p]
            else:
                heapq.heappush(heap, (-pair_counts[p], p))
        del where[(a, b)]
        pair_counts.pop((a, b), None)
        if len(merges) % 1000 == 0:
            print(f"  {len(merges)} merges", flush=True)
    return vocab, merges


def tokenizer_json(vocab, merges):
    bos = vocab["<|bos|>"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for t in SPECIALS
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<|bos|>": {"id": "<|bos|>", "ids": [bos], "tokens": ["<|bos|>"]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }


class Encoder:
    """Encodes with a trained tokenizer.json exactly as the BPE model does (lowest merge rank first)."""

    def __init__(self, path=MODEL_DIR / "tokenizer.json"):
        tj = json.loads(open(path, encoding="utf-8").read())
        self.vocab = tj["model"]["vocab"]
        self.ranks = {tuple(m): i for i, m in enumerate(tj["model"]["merges"])}
        self.inverse = {i: t for t, i in self.vocab.items()}
        self.char_byte = {c: b for b, c in BYTE_CHAR.items()}
        self.cache = {}
        self.bos, self.eos, self.pad = (self.vocab[t] for t in SPECIALS)

    def word(self, w):
        hit = self.cache.get(w)
        if hit is not None:
            return hit
        parts = list(w)
        while len(parts) > 1:
            best = min(range(len(parts) - 1), key=lambda i: self.ranks.get((parts[i], parts[i + 1]), 1 << 30))
            if (parts[best], parts[best + 1]) not in self.ranks:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        ids = [self.vocab[p] for p in parts]
        if len(self.cache) < 2_000_000:
            self.cache[w] = ids
        return ids

    def encode(self, text, bos=True):
        import unicodedata
        ids = [self.bos] if bos else []
        for w in pretokenize(unicodedata.normalize("NFC", text)):
            ids.extend(self.word(w))
        return ids

    def decode(self, ids):
        data = bytes(self.char_byte[c] for i in ids if i not in (self.bos, self.eos, self.pad)
                     for c in self.inverse[i])
        return data.decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=12288)
    ap.add_argument("--sample-chars", type=int, default=12_000_000)
    ap.add_argument("--out", default=str(MODEL_DIR), help="folder for tokenizer.json + tokenizer_config.json")
    args = ap.parse_args()
    text = (WORK / "corpus" / "train.txt").read_text(encoding="utf-8")
    paras = [p for p in text.split("\n") if p.strip()]
    step = max(1, len(text) // args.sample_chars)
    sample = paras[::step]
    print(f"training BPE on {len(sample)} of {len(paras)} lines")
    vocab, merges = train(sample, args.vocab)
    out = tokenizer_json(vocab, merges)
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / "tokenizer.json.tmp"
    tmp.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    tmp.replace(dest / "tokenizer.json")
    config = {"bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>", "unk_token": None,
              "add_bos_token": True, "add_eos_token": False, "model_max_length": 256,
              "clean_up_tokenization_spaces": False, "tokenizer_class": "PreTrainedTokenizerFast"}
    (dest / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n")
    print(f"vocab {len(vocab)}, merges {len(merges)}")


if __name__ == "__main__":
    main()
