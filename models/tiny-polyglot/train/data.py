"""Build the tiny-polyglot corpus from Debian packages: download, extract, clean, identify, split, balance.

Sources (these only): Wesnoth 1.16 gettext catalogs (core + campaigns), debian-handbook and debian-reference
HTML, gnome-user-docs Mallard pages, and the gettext catalogs already under /usr/share/locale.

Outputs under WORK (never committed):
  corpus/{train,steer,dev,test}.jsonl   one record per text unit: {"lang","text","source","doc","split"} and,
                                        for parallel units, {"pair": id} shared by all languages of one msgid
  corpus/train.txt                      the balanced training stream (documents separated by blank lines)
Committed: models/tiny-polyglot/train/manifest.json (packages, versions, documents per split, counts).

Run: /usr/bin/python3 data.py [--limit-docs N]  (needs `npm ci` for language identification through Node)
"""
import argparse
import gettext
import hashlib
import html
import html.parser
import json
import random
import re
import subprocess
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

from common import (GNOME_LOCALE, HANDBOOK_LOCALE, HERE, LANGS, NON_EN, PACKAGES, REFERENCE_LOCALE, REPO, SEED,
                    SPLIT_OF_CAMPAIGN, SYSTEM_LOCALE, WESNOTH_LOCALE, WORK)

DEBS = WORK / "debs"
ROOT = WORK / "extract"
CORPUS = WORK / "corpus"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- download + extract
def download(packages):
    DEBS.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if not list(DEBS.glob(f"{p}_*.deb"))]
    if missing:
        run(["apt-get", "download", *missing], cwd=DEBS)
    versions = {}
    for p in packages:
        deb = sorted(DEBS.glob(f"{p}_*.deb"))[-1]
        versions[p] = subprocess.check_output(["dpkg-deb", "-f", str(deb), "Version"], text=True).strip()
    return versions


def extract():
    marker = ROOT / ".done"
    if marker.exists():
        return
    ROOT.mkdir(parents=True, exist_ok=True)
    for deb in sorted(DEBS.glob("*.deb")):
        run(["dpkg-deb", "-x", str(deb), str(ROOT)])
    marker.touch()


# ---------------------------------------------------------------- cleaning
MARKUP = re.compile(r"<[^>]{0,200}>")
PLACEHOLDER = re.compile(r"\$[A-Za-z_][\w.|]*|\{[A-Za-z_][\w ]*\}|%\d*\$?[-+ #0]*\d*(?:\.\d+)?[sdifuxXc%]|&[^ ;]{1,40}=")
CTX_PREFIX = re.compile(r"^[\w\- ]{1,40}\^")          # Wesnoth "female^..." disambiguation prefixes
SPACES = re.compile(r"\s+")

# Cleaning 2 (`--cleaning 2`) removes every placeholder form found in the catalogs, where cleaning 1 (the shipped
# model's data) kept printf directives with a length modifier and a few conversions ("section [%2zu] ''"), and
# drops units whose placeholders leave an empty quote or bracket pair behind ("cannot open ''"): such fragments
# carry little language, and as held-out prompts they ask the model to continue a string of punctuation.
# Written by hand (no library parses the union of C printf, <inttypes.h> macros, Python %- and {}-formats and
# Wesnoth's $variables); tested on real catalog strings in test/unit/pipeline.
PRI_MACRO = re.compile(r"%[-+#0']*\d*(?:\.\d+)?<PRI[A-Za-z0-9]+>")   # "%<PRIu64>": before MARKUP eats "<PRIu64>"
PLACEHOLDER_2 = re.compile(
    r"\$[A-Za-z_][\w.|]*"                                   # Wesnoth $name, $unit.name
    r"|\{[A-Za-z_][\w ]*\}|\{\d*\}"                         # {VAR}, Python {0} and {}
    r"|%\([A-Za-z_]\w*\)[-+#0]*\d*(?:\.\d+)?[hlL]?[diouxXeEfFgGcrsa]"  # Python %(name)s, %(total)li
    r"|%p[AB](?![a-z])"                                      # kernel-style %pA, %pB
    r"|%(?:\d+\$)?[-+#0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|Z|t|I64|I32)?[diouxXeEfFgGaAcCsSpnmB]"
    r"|&[^ ;]{1,40}=")
EMPTY_PAIR = re.compile(r"''|\"\"|``|\(\s*\)|\[\s*\]|“\s*”|„\s*[“”]|‘\s*’|«\s*»|「\s*」|『\s*』|《\s*》")


def clean(text: str, cleaning: int = 1) -> str:
    text = CTX_PREFIX.sub("", text)
    if cleaning >= 2:
        text = PRI_MACRO.sub("", text)
    text = MARKUP.sub("", text)
    text = html.unescape(text)
    if cleaning >= 2:
        text = PLACEHOLDER_2.sub("", text).replace("%%", "%")
    else:
        text = PLACEHOLDER.sub("", text)
    text = text.replace("_", "") if re.fullmatch(r"_?[^_]*", text) else text  # accelerator marks "_File"
    text = unicodedata.normalize("NFC", text)
    text = SPACES.sub(" ", text).strip()
    return text


def usable(text: str, lang: str, cleaning: int = 1) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    cjk = lang in ("zh", "ja")
    if cleaning >= 2 and EMPTY_PAIR.search(text):
        return False
    return letters >= (4 if cjk else 12) and letters >= 0.5 * len(text)


# ---------------------------------------------------------------- readers
def read_mo(path: Path):
    """Yield (msgid, msgstr) of a gettext catalog, skipping the header and plural forms' extra entries."""
    try:
        with open(path, "rb") as fh:
            catalog = gettext.GNUTranslations(fh)._catalog
    except Exception as exc:  # a broken catalog is skipped, not fatal
        print(f"  skip {path}: {exc}", file=sys.stderr)
        return
    for key, value in catalog.items():
        if isinstance(key, tuple):
            if key[1] != 0:
                continue
            key = key[0]
        if not key:
            continue
        key = key.split("\x04", 1)[-1]  # drop msgctxt
        yield key, value


class BlockText(html.parser.HTMLParser):
    """Collect the text of leaf block elements (paragraphs, list items, cells, titles) of HTML / Mallard XML."""
    BLOCKS = {"p", "div", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "title", "dt", "dd", "item", "caption"}
    # Whole subtrees without prose: code listings, and Mallard <info> (credits, names, e-mail addresses).
    SKIP_TREES = {"pre", "script", "style", "screen", "listing", "synopsis", "info"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks, self.buf, self.skip = [], [], 0

    def flush(self):
        text = SPACES.sub(" ", "".join(self.buf)).strip()
        if text:
            self.blocks.append(text)
        self.buf = []

    def handle_starttag(self, tag, attrs):
        tag = tag.split(":")[-1]
        if tag in self.SKIP_TREES:
            self.skip += 1
        if tag in self.BLOCKS:
            self.flush()

    def handle_endtag(self, tag):
        tag = tag.split(":")[-1]
        if tag in self.SKIP_TREES:
            self.skip = max(0, self.skip - 1)
        if tag in self.BLOCKS:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)


def read_blocks(path: Path):
    parser = BlockText()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.flush()
    return parser.blocks


def stable_split(key: str, dev=0.04, test=0.04, steer=0.0):
    """Deterministic split of a document by the hash of its name."""
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if h < test:
        return "test"
    if h < test + dev:
        return "dev"
    if h < test + dev + steer:
        return "steer"
    return "train"


# ---------------------------------------------------------------- collection
def collect(system_gettext=True, cleaning=1):
    units = []  # dicts: lang, text, source, doc, split, pair?

    # Wesnoth: parallel by msgid within a text domain; a domain is a document.
    wes = ROOT / "usr/share/games/wesnoth/1.16/locale"
    domains = sorted({p.stem for p in wes.glob("*/LC_MESSAGES/*.mo")})
    for dom in domains:
        campaign = dom.replace("wesnoth-", "") if dom != "wesnoth" else "core"
        split = SPLIT_OF_CAMPAIGN.get(campaign, "train")
        english = {}
        for lang in NON_EN:
            path = wes / WESNOTH_LOCALE[lang] / "LC_MESSAGES" / f"{dom}.mo"
            if not path.exists():
                continue
            for msgid, msgstr in read_mo(path):
                src, tgt = clean(msgid, cleaning), clean(msgstr, cleaning)
                if not usable(src, "en", cleaning):
                    continue
                pair = f"wesnoth/{dom}/" + hashlib.sha1(msgid.encode()).hexdigest()[:12]
                english[pair] = src
                if tgt and tgt != src and usable(tgt, lang, cleaning):
                    units.append(dict(lang=lang, text=tgt, source="wesnoth", doc=dom, split=split, pair=pair))
        for pair, src in english.items():
            units.append(dict(lang="en", text=src, source="wesnoth", doc=dom, split=split, pair=pair))

    # debian-handbook: one HTML file per section, parallel structure but not aligned paragraphs.
    hb = ROOT / "usr/share/doc/debian-handbook/html"
    for lang, loc in HANDBOOK_LOCALE.items():
        for path in sorted((hb / loc).glob("*.html")):
            split = stable_split("handbook/" + path.name)
            for text in read_blocks(path):
                text = clean(text, cleaning)
                if usable(text, lang, cleaning):
                    units.append(dict(lang=lang, text=text, source="debian-handbook", doc=path.name, split=split))

    # debian-reference: chNN.LANG.html
    ref = ROOT / "usr/share/debian-reference"
    for lang, loc in REFERENCE_LOCALE.items():
        for path in sorted(ref.glob(f"*.{loc}.html")):
            doc = path.name.split(".")[0]
            split = stable_split("reference/" + doc)
            for text in read_blocks(path):
                text = clean(text, cleaning)
                if usable(text, lang, cleaning):
                    units.append(dict(lang=lang, text=text, source="debian-reference", doc=doc, split=split))

    # gnome-user-docs: Mallard pages under /usr/share/help/LOCALE/GUIDE/*.page
    gh = ROOT / "usr/share/help"
    for lang, loc in GNOME_LOCALE.items():
        for path in sorted((gh / loc).glob("*/*.page")):
            doc = f"{path.parent.name}/{path.name}"
            split = stable_split("gnome/" + doc)
            for text in read_blocks(path):
                text = clean(text, cleaning)
                if usable(text, lang, cleaning):
                    units.append(dict(lang=lang, text=text, source="gnome-user-docs", doc=doc, split=split))

    # System gettext catalogs (short UI strings): each domain is a document, English from the msgids.
    seen_en = set()
    for lang, locs in (SYSTEM_LOCALE.items() if system_gettext else []):
        for loc in locs:
            for path in sorted(Path("/usr/share/locale", loc, "LC_MESSAGES").glob("*.mo")):
                split = stable_split("gettext/" + path.stem)
                for msgid, msgstr in read_mo(path):
                    src, tgt = clean(msgid, cleaning), clean(msgstr, cleaning)
                    if tgt and tgt != src and usable(tgt, lang, cleaning):
                        units.append(dict(lang=lang, text=tgt, source="gettext", doc=path.stem, split=split))
                    if usable(src, "en", cleaning) and (path.stem, src) not in seen_en:
                        seen_en.add((path.stem, src))
                        units.append(dict(lang="en", text=src, source="gettext", doc=path.stem, split=split))
    return units


def identify(units):
    """Label every unit with fastText lid.176 (through Node) and keep those in their declared language."""
    inp, out = CORPUS / "lid-in.txt", CORPUS / "lid-out.txt"
    with open(inp, "w", encoding="utf-8") as fh:
        for u in units:
            fh.write(u["text"].replace("\n", " ") + "\n")
    run(["node", str(HERE / "lid.mjs"), str(inp), str(out)], cwd=REPO)
    kept = []
    with open(out, encoding="utf-8") as fh:
        for u, line in zip(units, fh):
            label, prob = line.split("\t")
            u["lid"] = label
            # Short strings are hard to identify; trust the catalog's language unless LID names another
            # of our languages with confidence, or (for long text) says English in a non-English file.
            ok = label == u["lang"] or (float(prob) < 0.5 and len(u["text"]) < 60 and label not in LANGS)
            if ok:
                kept.append(u)
    return kept


def dedupe(units):
    seen, out = set(), []
    for u in units:
        key = (u["lang"], u["text"].lower())
        if key in seen:
            continue
        seen.add(key)
        out.append(u)
    return out


def shuffle_messages(units):
    """The same units with each program-message catalog's messages in a seeded random order (one order per
    language and catalog); every other unit keeps its place. Catalogs list their messages sorted by msgid, so a
    quarter of neighbouring English messages share their first 12 characters ("Syntax error: ...", "Syntax error:
    ..."). A model trained on catalog order learns that the next line repeats this one, which is what
    its continuations of program messages loop on. Applied to the train split only. Dev and test keep catalog order,
    so their measurements stay comparable between corpora."""
    slots = defaultdict(list)
    for i, u in enumerate(units):
        if u["source"] == "gettext":
            slots[(u["lang"], u["doc"])].append(i)
    out = list(units)
    for (lang, doc), idx in sorted(slots.items()):
        order = list(idx)
        random.Random(f"{SEED}:{lang}:{doc}").shuffle(order)  # str seeds hash with SHA-512: stable across runs
        for i, j in zip(idx, order):
            out[i] = units[j]
    return out


# A command-line option as a word of its own: "-w,", "--word-regexp", "--color[=WHEN]", "-mtune=".
OPTION_WORD = re.compile(r"^-{1,2}[A-Za-z0-9?][\w=,.:/\[\]<>-]*$")


def is_option_help(text, density=0.25):
    """True for a program message that is command-line option help rather than prose: it starts with an option
    ("-A, --show-all equivalent to -vET -b, --number-nonblank ...") or at least `density` of its words are options
    ("[options] -h --help Show this help -V --version ..."). A sentence that names an option or two ("Try 'apt
    --fix-broken install'") is prose and is kept. Such help is the same option syntax in every language, which a
    language identifier labels zh, kn or sr; continuations that drift into it fail the fidelity measurement."""
    words = text.split()
    if not words:
        return False
    options = sum(1 for w in words if OPTION_WORD.match(w))
    return bool(OPTION_WORD.match(words[0])) or options / len(words) >= density


def drop_option_help(units):
    """The units without the program messages that are option help (see is_option_help()). Applied to the train
    split only, like shuffle_messages(), so that dev and test stay comparable between corpora."""
    return [u for u in units if u["source"] != "gettext" or not is_option_help(u["text"])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--english-share", type=float, default=0.25)
    ap.add_argument("--max-repeat", type=float, default=2.0)
    ap.add_argument("--packages", nargs="*", default=PACKAGES, help="a subset of the sources (CI smoke test)")
    ap.add_argument("--no-system-gettext", action="store_true", help="skip /usr/share/locale (CI smoke test)")
    ap.add_argument("--cleaning", type=int, choices=[1, 2], default=1,
                    help="1: the shipped model's data; 2: also removes length-modified printf directives, %%<PRI..>, "
                         "%%(name)s and {0}, and drops units left with an empty quote or bracket pair (see clean())")
    ap.add_argument("--message-order", choices=["catalog", "shuffled"], default="catalog",
                    help="order of the program messages within each catalog in the train split: catalog (sorted by "
                         "msgid, as shipped) or shuffled (see shuffle_messages())")
    ap.add_argument("--drop-option-help", action="store_true",
                    help="leave command-line option help out of the train split's program messages (see "
                         "is_option_help())")
    args = ap.parse_args()
    CORPUS.mkdir(parents=True, exist_ok=True)
    versions = download(args.packages)
    extract()
    units = collect(system_gettext=not args.no_system_gettext, cleaning=args.cleaning)
    print(f"collected {len(units)} units")
    units = dedupe(units)
    units = identify(units)
    print(f"kept {len(units)} after language identification")

    # Parallel pairs only where both sides survived: drop English halves of held-out pairs nobody translated.
    by_split = defaultdict(list)
    for u in units:
        by_split[u["split"]].append(u)

    # Balance the training split: non-English languages get equal character budgets (the smallest language's
    # total), English gets english_share of all training characters. Whole documents are kept together.
    rng = random.Random(SEED)
    if args.drop_option_help:
        before = len(by_split["train"])
        by_split["train"] = drop_option_help(by_split["train"])
        print(f"dropped {before - len(by_split['train'])} option-help messages from the train split")
    if args.message_order == "shuffled":
        by_split["train"] = shuffle_messages(by_split["train"])
    train = by_split["train"]
    chars = defaultdict(int)
    for u in train:
        chars[u["lang"]] += len(u["text"])
    # Languages with less text than the budget are repeated (whole documents, at most max_repeat times): the
    # smallest (zh) would otherwise shrink everything; English is capped by what exists.
    present = [l for l in NON_EN if chars[l]]
    if not present or not chars["en"]:
        sys.exit("data.py: the selected packages gave no English or no other-language text to train on")
    budget = min(min(chars[l] * args.max_repeat for l in present),
                 int(chars["en"] * (1 - args.english_share) / args.english_share / len(NON_EN)))
    en_budget = int(budget * len(NON_EN) * args.english_share / (1 - args.english_share))
    docs = defaultdict(list)
    for u in train:
        docs[(u["lang"], u["source"], u["doc"])].append(u)
    used = defaultdict(int)
    chosen = []
    for lang in LANGS:
        cap = en_budget if lang == "en" else budget
        keys = [k for k in docs if k[0] == lang]
        if not keys:
            continue
        while used[lang] < cap:
            rng.shuffle(keys)
            for key in keys:
                take = []
                for u in docs[key]:
                    if used[lang] >= cap:
                        break
                    take.append(u)
                    used[lang] += len(u["text"])
                if take:
                    chosen.append((key, take))
    rng.shuffle(chosen)
    with open(CORPUS / "train.txt", "w", encoding="utf-8") as fh:
        for key, take in chosen:
            fh.write("\n".join(u["text"] for u in take) + "\n\n")

    for split, us in by_split.items():
        with open(CORPUS / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for u in us:
                fh.write(json.dumps(u, ensure_ascii=False) + "\n")

    manifest = {
        "packages": versions,
        "system_gettext": "catalogs under /usr/share/locale of the build machine (Debian 12)",
        "campaign_splits": SPLIT_OF_CAMPAIGN,
        **({"cleaning": args.cleaning} if args.cleaning != 1 else {}),
        **({"message_order": args.message_order} if args.message_order != "catalog" else {}),
        **({"option_help": "dropped from train"} if args.drop_option_help else {}),
        "english_share": args.english_share,
        "max_repeat": args.max_repeat,
        "per_language_budget_chars": budget,
        "train_chars_used": dict(sorted(used.items())),
        "train_chars_available": dict(sorted(chars.items())),
        "splits": {},
    }
    for split, us in sorted(by_split.items()):
        docs_by_source = defaultdict(set)
        counts = defaultdict(lambda: defaultdict(int))
        for u in us:
            docs_by_source[u["source"]].add(u["doc"])
            counts[u["source"]][u["lang"]] += 1
        manifest["splits"][split] = {
            src: {"documents": sorted(d) if split != "train" or src == "wesnoth" else len(d),
                  "units_per_language": dict(sorted(counts[src].items()))}
            for src, d in sorted(docs_by_source.items())
        }
    dest = HERE / "manifest.json" if args.packages == PACKAGES else CORPUS / "manifest.json"
    tmp = dest.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    tmp.replace(dest)
    print(json.dumps({"budget": budget, "used": used, "available": chars}, indent=1))


if __name__ == "__main__":
    main()
