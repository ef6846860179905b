#!/usr/bin/env bash
# Rebuild everything that depends on the trained weights, in the order the dependencies need, from one checkpoint:
# model.onnx, corpora, the bundled vectors and centroids, the engine's reference fixtures, eval.json, the loss log
# and its plot, MODEL_CARD.md and docs/EVALUATION.md. About 70 minutes on 2 cores (evaluate.py ~18 min,
# evaluate-vectors ~30 min). Usage: release.sh [CHECKPOINT]   (default: $POLYGLOT_TRAIN_DIR/run/ckpt/latest.pt)
# Stop train.py first; a checkpoint at the end of a learning-rate decay is the one to ship.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
work="${POLYGLOT_TRAIN_DIR:-$HOME/.cache/polyglot-lens/tiny-polyglot}"
ckpt="${1:-$work/run/ckpt/latest.pt}"
py=/usr/bin/python3
[ -f "$ckpt" ] || { echo "release.sh: no checkpoint at $ckpt (train first, or pass the checkpoint to ship)" >&2; exit 1; }
if pgrep -f "train.py" >/dev/null; then
  echo "release.sh: train.py is still running; stop it (or wait for it) so that the checkpoint stays put" >&2; exit 1
fi
step() { echo "== $(date +%T) $*"; "$@"; }
cd "$here"
step $py export.py --ckpt "$ckpt"
step $py corpora.py
(cd "$repo" && step npm run -s build-vectors)
step $py fixtures.py --ckpt "$ckpt"          # after build-vectors: its PCA reference reads vectors/centroids.safetensors
step $py evaluate.py --ckpt "$ckpt"
cp "$work/run/loss.csv" loss.csv
step $py plot_loss.py
step $py card.py
(cd "$repo" && step npm run -s evaluate-vectors)   # docs/EVALUATION.md
echo "== $(date +%T) done: review git diff, run the tests (npm test), then commit"
