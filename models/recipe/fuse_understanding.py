"""Rewrite an understanding model with one fused attention operator per layer.

    python fuse_understanding.py [--model ../understanding.onnx] [--out FILE]

Reads an int8 two-branch file written by finetune_understanding.py, takes its weights back to float32 (W = (q - zero_point)
* scale: per-channel int8 re-quantises to the same integers), rebuilds the
graph with `build_bert(..., fused_attention=True)` and quantises it again.
Each layer's self-attention is then one `QAttention` node instead of about
fifteen standard ops, which ONNX Runtime runs faster; the arithmetic is the
same. The rewritten file must give the same embeddings and probabilities as
the input on the intent examples and a few customer messages (largest
difference at most 1e-5), or nothing is written. Writes in place by default.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from bert_onnx import build_bert, quantize_int8
from common import MODELS_DIR, REPO_ROOT, encode_batch, load_tokenizer, ort_session, sha256

CONFIG = dict(hidden_size=384, num_attention_heads=12, num_hidden_layers=6, layer_norm_eps=1e-12,
              hidden_act="gelu")
CHECK = [
    "How long do I have to return an item?",
    "The jacket arrived torn, this is unacceptable",
    "hi",
    "Where is my parcel? The tracking page has not changed for four days and I need the boots on Saturday.",
]


def float_weights(path: Path) -> dict:
    """HF-named float32 weights of an int8 build_bert file (torch layout [out, in])."""
    init = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    out = {}
    for name, a in init.items():
        if name.endswith(("_scale", "_zero_point")):
            continue
        if name.endswith("_quantized"):
            base = name[: -len("_quantized")]
            a = (a.astype(np.float32) - init[base + "_zero_point"].astype(np.float32)) * init[base + "_scale"]
            name = base
        if name.endswith(".weight_t"):
            out[name[: -len("_t")]] = np.ascontiguousarray(a.T, dtype=np.float32)
        elif a.dtype == np.float32:
            out[name] = a
    return out


def branch_layers(weights: dict) -> int:
    """The number of shared layers: the first layer the sentiment branch has of its own."""
    own = {int(k.split(".")[3]) for k in weights if k.startswith("sentiment.encoder.layer.")}
    if not own:
        raise SystemExit("not a two-branch understanding model (no sentiment.encoder.layer.* weights)")
    return min(own)


def outputs(path: Path, texts: list[str]) -> list[np.ndarray]:
    sess, tok = ort_session(path, threads=1), load_tokenizer(MODELS_DIR / "tokenizer.json")
    names = ["sentence_embedding", "probabilities"]
    runs = [sess.run(names, dict(zip(["input_ids", "attention_mask", "token_type_ids"], encode_batch(tok, [t]))))
            for t in texts]
    return [np.concatenate([r[i] for r in runs]) for i in range(2)]


def check_texts() -> list[str]:
    import yaml

    texts = list(CHECK)
    for f in sorted((REPO_ROOT / "intents").glob("*.yaml")):
        texts += [str(e) for e in (yaml.safe_load(f.read_text()) or {}).get("examples", [])]
    return texts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=MODELS_DIR / "understanding.onnx")
    ap.add_argument("--out", type=Path, help="default: --model, rewritten in place")
    args = ap.parse_args()
    out = args.out or args.model
    w = float_weights(args.model)
    k = branch_layers(w)
    trunk = {n: a for n, a in w.items() if not n.startswith("sentiment.")}
    sentiment = {n[len("sentiment."):]: a for n, a in w.items() if n.startswith("sentiment.")}
    classifier = (trunk.pop("classifier.weight"), trunk.pop("classifier.bias"))
    model = build_bert(trunk, CONFIG, head="both", classifier=classifier, branch=(k, sentiment),
                       fused_attention=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(fp32))
        quantize_int8(fp32, int8)
        texts = check_texts()
        before, after = outputs(args.model, texts), outputs(int8, texts)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(before, after))
        print(f"{len(texts)} texts: largest difference in embedding or probabilities {diff:.2e}")
        if diff > 1e-5:
            raise SystemExit("the fused graph does not compute the same scores; nothing written")
        shutil.copyfile(int8, out)
    print(f"{out}: sha256 {sha256(out)}")


if __name__ == "__main__":
    main()
