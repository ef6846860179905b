#!/usr/bin/env bash
# CI smoke test of the tiny-polyglot pipeline on a tiny configuration: two small source packages, a 600-token
# BPE, 6 training steps of a 2-layer model (3 from train.txt, 3 from the whole-split mixture), export, onnx.checker and the onnxruntime-node vs PyTorch check.
# Everything goes to a temporary folder (or the folder given as $1, kept for inspection); the committed model
# is not touched. Needs python3-torch, python3-onnx,
# python3-numpy (Debian) and `npm ci` (language identification and the ORT check run in Node).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-}"
if [ -z "$work" ]; then work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi
export POLYGLOT_TRAIN_DIR="$work" OMP_WAIT_POLICY=PASSIVE
py=/usr/bin/python3
cd "$here"
$py data.py --packages debian-reference-en debian-reference-fr debian-reference-de --no-system-gettext
$py bpe.py --vocab 600 --sample-chars 300000 --out "$work/model"
$py train.py --smoke --mixture-from 3 --tokenizer "$work/model/tokenizer.json"   # steps 1-3 train.txt, 4-6 the mixture
$py export.py --ckpt "$work/smoke/ckpt/latest.pt" --out "$work/model"
test -s "$work/model/model.onnx" && test -s "$work/model/config.json"
echo "tiny-polyglot pipeline smoke test: ok"
