"""Shared settings of the tiny-polyglot build pipeline (paths, languages, seeds)."""
import hashlib
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parent                      # models/tiny-polyglot
REPO = MODEL_DIR.parent.parent
# Raw corpora, checkpoints and intermediate files live outside the work tree (never committed) so that a
# later session on the same machine can resume; override with POLYGLOT_TRAIN_DIR.
WORK = Path(os.environ.get("POLYGLOT_TRAIN_DIR", Path.home() / ".cache" / "polyglot-lens" / "tiny-polyglot"))

LANGS = ["en", "fr", "de", "es", "it", "pt", "ru", "zh", "ja", "tr", "cs"]
NON_EN = [l for l in LANGS if l != "en"]

# Locale folder names per language in each source.
WESNOTH_LOCALE = {"fr": "fr", "de": "de", "es": "es", "it": "it", "pt": "pt_BR", "ru": "ru", "zh": "zh_CN",
                  "ja": "ja", "tr": "tr", "cs": "cs"}
HANDBOOK_LOCALE = {"en": "en-US", "fr": "fr-FR", "de": "de-DE", "es": "es-ES", "it": "it-IT", "pt": "pt-BR",
                   "ru": "ru-RU", "zh": "zh-CN", "ja": "ja-JP", "tr": "tr-TR", "cs": "cs-CZ"}
REFERENCE_LOCALE = {"en": "en", "fr": "fr", "de": "de", "es": "es", "it": "it", "pt": "pt", "ja": "ja", "zh": "zh-cn"}
GNOME_LOCALE = {"en": "C", "fr": "fr", "de": "de", "es": "es", "it": "it", "pt": "pt_BR", "ru": "ru", "zh": "zh_CN",
                "ja": "ja", "tr": "tr", "cs": "cs"}
SYSTEM_LOCALE = {"fr": ["fr"], "de": ["de"], "es": ["es"], "it": ["it"], "pt": ["pt_BR", "pt"], "ru": ["ru"],
                 "zh": ["zh_CN"], "ja": ["ja"], "tr": ["tr"], "cs": ["cs"]}

WESNOTH_CAMPAIGNS = ["did", "dm", "dw", "ei", "httt", "l", "low", "nr", "sof", "sota", "sotbe", "thot", "trow",
                     "tsg", "ttb", "utbs"]
# Document-level splits of the Wesnoth campaigns. utbs, tsg and sof are test-only (never trained on, never
# used for vectors); steer and dev campaigns are also held out of training.
SPLIT_OF_CAMPAIGN = {"utbs": "test", "tsg": "test", "sof": "test", "dw": "dev", "thot": "dev",
                     "nr": "steer", "low": "steer"}

PACKAGES = (["wesnoth-1.16-data"] + [f"wesnoth-1.16-{c}" for c in WESNOTH_CAMPAIGNS]
            + ["debian-handbook", "gnome-user-docs"] + [f"debian-reference-{v}" for v in REFERENCE_LOCALE.values()])

SEED = 1234


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_tokenizer(ck, path, what):
    """Refuse a tokenizer.json other than the one the checkpoint was trained with (train.py records its sha256 in
    every checkpoint): token ids would silently stand for other tokens and every number made from them would be
    wrong. Checkpoints from before the record carry none and are not checked."""
    want = ck.get("tokenizer_sha256")
    if want is not None and file_sha256(path) != want:
        raise SystemExit(f"{what}: {path} is not the tokenizer this checkpoint was trained with (its sha256 starts "
                         f"{want[:12]}): use that run's tokenizer.json (bpe.py --out of the run), or copy it to "
                         "models/tiny-polyglot/ before exporting a release")
