#!/usr/bin/env bash
# Train tiny-polyglot on a GPU machine that has this repository but not the corpus, in one bounded call:
#   bash models/tiny-polyglot/train/gpu_job.sh CACHES.tar.xz OUT_DIR [run_schedule.py arguments]
# e.g. ... work/caches.tar.xz "$OUT/sched" --every 250 --stable 20000 --branch 14000 16000 18000 20000 \
#          --decay 2000 --deadline-min 8
# CACHES.tar.xz is `run_schedule.py --pack-caches` output (token caches + tokenizer, ~10 MB). First a 20-step
# rehearsal of the whole path (train, snapshot, branch, average, parts) on this machine, so that a broken
# environment fails in seconds rather than after the long run; then the run, whose results (at most 7 files, each
# under 16 MiB: averaged.part*.pt, best-single.part*.pt, losses.tar.gz, summary.json, log.txt) land in OUT_DIR.
# Join them here with `run_schedule.py --join OUT_DIR/averaged --out averaged.pt`.
# GPU_JOB_ALLOW_CPU=1 lets it run without a GPU (tests of this script).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: gpu_job.sh CACHES.tar.xz OUT_DIR [run_schedule.py arguments]" >&2; exit 2; }
caches="$(realpath "$1")"; out="$(realpath -m "$2")"; shift 2
[ -f "$caches" ] || { echo "gpu_job.sh: no caches archive at $caches (make it with run_schedule.py --pack-caches)" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out"
cd "$here"
"$py" - <<'EOF'
import os, sys, torch
if torch.cuda.is_available():
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
elif os.environ.get("GPU_JOB_ALLOW_CPU") == "1":
    print(f"torch {torch.__version__}, no GPU (GPU_JOB_ALLOW_CPU=1)", flush=True)
else:
    sys.exit("gpu_job.sh: PyTorch sees no GPU here (set GPU_JOB_ALLOW_CPU=1 to run on the CPU anyway)")
EOF
echo "== rehearsal"
POLYGLOT_TRAIN_DIR="$scratch/rehearsal" "$py" run_schedule.py --caches "$caches" --stable 20 --branch 10 20 \
  --decay 10 --every 10 --out "$scratch/rehearsal-out" > "$scratch/rehearsal.log" 2>&1 \
  || { tail -40 "$scratch/rehearsal.log"; echo "gpu_job.sh: the rehearsal failed" >&2; exit 1; }
echo "== run"
POLYGLOT_TRAIN_DIR="$scratch/work" "$py" run_schedule.py --caches "$caches" --out "$out" "$@" 2>&1 | tee "$out/log.txt"
