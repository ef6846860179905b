"""Write the demo model's bundled parallel sets: models/tiny-polyglot/corpus/{steer,dev,test}.jsonl.

Multi-way parallel Wesnoth sentences from the held-out campaigns of each split (steer: nr, low; dev: dw, thot;
test: utbs, tsg, sof), one JSON object per English msgid: {"id", "campaign", "en", "fr", ...} with the languages
that translated it. The Wesnoth texts are GPL-2+ (see corpus/README.md); none of these campaigns is trained on.

Run: /usr/bin/python3 corpora.py [--max-test 400]
"""
import argparse
import json
import os
import random
from collections import defaultdict

from common import LANGS, MODEL_DIR, SEED, WORK


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-test", type=int, default=400, help="pairs kept from the (large) test split")
    args = ap.parse_args()
    dest = MODEL_DIR / "corpus"
    dest.mkdir(exist_ok=True)
    for split in ("steer", "dev", "test"):
        rows = defaultdict(dict)
        with open(WORK / "corpus" / f"{split}.jsonl", encoding="utf-8") as fh:
            for line in fh:
                u = json.loads(line)
                if u["source"] != "wesnoth" or "pair" not in u:
                    continue
                r = rows[u["pair"]]
                r["id"] = u["pair"].split("/", 1)[1]
                r["campaign"] = u["doc"].replace("wesnoth-", "")
                r[u["lang"]] = u["text"]
        # Keep sentences that English and at least 8 other languages share, long enough to carry meaning.
        keep = [r for r in rows.values() if "en" in r and len(r["en"]) >= 20 and sum(l in r for l in LANGS) >= 9]
        keep.sort(key=lambda r: r["id"])
        if split == "test":
            random.Random(SEED).shuffle(keep)
            keep = sorted(keep[: args.max_test], key=lambda r: r["id"])
        tmp = dest / f"{split}.jsonl.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in keep:
                ordered = {"id": r["id"], "campaign": r["campaign"], **{l: r[l] for l in LANGS if l in r}}
                fh.write(json.dumps(ordered, ensure_ascii=False) + "\n")
        os.replace(tmp, dest / f"{split}.jsonl")
        per = {l: sum(l in r for r in keep) for l in LANGS}
        print(split, len(keep), per)


if __name__ == "__main__":
    main()
