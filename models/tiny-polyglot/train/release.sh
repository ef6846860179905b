#!/usr/bin/env bash
# Rebuild everything that depends on the trained weights, in the order the dependencies need, from one checkpoint:
# model.onnx, corpora, the bundled vectors and centroids, the engine's reference fixtures, eval.json, the loss log
# and its plot, MODEL_CARD.md and docs/EVALUATION.md. About 50 minutes on 2 cores (measured 48: evaluate.py 17 min,
# evaluate-vectors ~28 min). Usage: release.sh [CHECKPOINT [LOSS_CSV]]
#   CHECKPOINT defaults to $POLYGLOT_TRAIN_DIR/run/ckpt/latest.pt; LOSS_CSV (the loss log that led to it, committed
#   as train/loss.csv) to $POLYGLOT_TRAIN_DIR/run/loss.csv. Stop train.py first; a checkpoint at the end of a
#   learning-rate decay is the one to ship, or average.py's average of several (it keeps the latest one's step:
#   pass the loss log of that one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
work="${POLYGLOT_TRAIN_DIR:-$HOME/.cache/polyglot-lens/tiny-polyglot}"
ckpt="${1:-$work/run/ckpt/latest.pt}"
loss="${2:-$work/run/loss.csv}"
py=/usr/bin/python3
[ -f "$ckpt" ] || { echo "release.sh: no checkpoint at $ckpt (train first, or pass the checkpoint to ship)" >&2; exit 1; }
[ -f "$loss" ] || { echo "release.sh: no loss log at $loss (pass the loss.csv of the run that made the checkpoint)" >&2; exit 1; }
last=$(tail -1 "$loss" | cut -d, -f1)
ck_step=$($py -c 'import sys, torch; print(torch.load(sys.argv[1], map_location="cpu", weights_only=False)["step"])' "$ckpt")
[ "$last" = "$ck_step" ] || { echo "release.sh: $loss ends at step $last but the checkpoint is step $ck_step: pass the loss log of that run" >&2; exit 1; }
if pgrep -f "train.py" >/dev/null; then
  echo "release.sh: train.py is still running; stop it (or wait for it) so that the checkpoint stays put" >&2; exit 1
fi
if [ -f "$work/manifest.json" ] && ! cmp -s "$work/manifest.json" "$here/manifest.json"; then
  # A work folder built with other data.py options keeps its manifest beside its corpus: the card, the corpora
  # and the vectors must describe the data this checkpoint was trained on.
  echo "release.sh: $work/manifest.json (the corpus this checkpoint was trained on) differs from train/manifest.json:" \
       "copy it there first (cp $work/manifest.json $here/manifest.json), with that run's tokenizer*.json in models/tiny-polyglot/" >&2
  exit 1
fi
step() { echo "== $(date +%T) $*"; "$@"; }
cd "$here"
step $py export.py --ckpt "$ckpt"
step $py corpora.py
(cd "$repo" && step npm run -s build-vectors)
step $py fixtures.py --ckpt "$ckpt"          # after build-vectors: its PCA reference reads vectors/centroids.safetensors
step $py evaluate.py --ckpt "$ckpt"
cp "$loss" loss.csv
step $py plot_loss.py
step $py card.py
(cd "$repo" && step npm run -s evaluate-vectors)   # docs/EVALUATION.md
echo "== $(date +%T) done: review git diff, run the tests (npm test), then commit"
