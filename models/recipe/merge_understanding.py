"""Put the sentence encoder and the fine-tuned sentiment model into one ONNX graph.

    python merge_understanding.py [--encoder ENCODER] [--sentiment SENTIMENT] [--out ../understanding.onnx]

The graph has the three token inputs once and both outputs, `sentence_embedding`
(from the encoder) and `probabilities` (from the sentiment model): one session
run per message, the scores exactly those of the two models run apart. The
sentiment model's nodes and initialisers get the prefix `s_`. Both inputs must
be int8 files built by export_encoder.py and finetune_sentiment.py.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import onnx
from onnx import compose, helper

from common import DEFAULT_WORK, MODELS_DIR, sha256


def merge(encoder: onnx.ModelProto, sentiment: onnx.ModelProto) -> onnx.ModelProto:
    s = compose.add_prefix(sentiment, prefix="s_", rename_inputs=False, rename_outputs=False)
    g = helper.make_graph(
        list(encoder.graph.node) + list(s.graph.node),
        "understanding",
        list(encoder.graph.input),
        list(encoder.graph.output) + list(s.graph.output),
        initializer=list(encoder.graph.initializer) + list(s.graph.initializer),
        value_info=list(encoder.graph.value_info) + list(s.graph.value_info),
    )
    m = helper.make_model(g, opset_imports=encoder.opset_import, ir_version=encoder.ir_version)
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", type=Path, default=DEFAULT_WORK / "encoder.onnx")
    ap.add_argument("--sentiment", type=Path, default=DEFAULT_WORK / "sentiment.onnx")
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "understanding.onnx")
    args = ap.parse_args()
    encoder, sentiment = onnx.load(str(args.encoder)), onnx.load(str(args.sentiment))
    names = lambda m: [o.name for o in m.graph.output]  # noqa: E731
    assert names(encoder) == ["sentence_embedding"], names(encoder)
    assert names(sentiment) == ["probabilities"], names(sentiment)
    assert [i.name for i in sentiment.graph.input] == [i.name for i in encoder.graph.input]
    onnx.save(merge(encoder, sentiment), str(args.out))
    print(f"{args.out}: sha256 {sha256(args.out)}")


if __name__ == "__main__":
    main()
