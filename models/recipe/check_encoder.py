"""Check the exported encoders against an independent numpy reference.

    python check_encoder.py [--datasets ../shared/datasets] [--n 300] [--understanding ../understanding.onnx]

1. numpy re-implementation of BERT + sentence-transformers mean pooling +
   L2 normalisation, straight from model.safetensors (no ONNX involved);
2. cosine(fp32 ONNX, numpy reference)   -> expect ~1.0
3. cosine(int8 ONNX, fp32 ONNX)         -> must be >= 0.97 on average
4. throughput of fp32 vs int8 (2 threads, batch 1 and batch 32).
With --understanding (the one-pass model with outputs sentence_embedding and
probabilities), also: cosine of its sentence_embedding to the original fp32 and
int8 encoders on the same sentences, unit norm, and the throughput of one pass of
it against the two passes it replaces (encoder.onnx + --sentiment).
Sentences: a seeded sample of real training-split texts (Banking77 train,
CLINC150 train, SemEval tweets).
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from common import DEFAULT_DATASETS, DEFAULT_WORK, MODELS_DIR, encode_batch, load_tokenizer, minilm_dir, ort_session
from datasets_io import load_semeval_file


def numpy_reference(w, cfg, ids, mask, tt):
    """Plain numpy BERT forward, then masked mean pooling and L2 normalisation."""
    from math import sqrt

    from scipy.special import erf as verf
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = H // nh, cfg["layer_norm_eps"]
    f = lambda k: w[k].astype(np.float64)  # noqa: E731  (float64 for a clean reference)

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * f(p + ".weight") + f(p + ".bias")

    lin = lambda x, p: x @ f(p + ".weight").T + f(p + ".bias")  # noqa: E731
    B, S = ids.shape
    x = f("embeddings.word_embeddings.weight")[ids] + f("embeddings.position_embeddings.weight")[:S][None] \
        + f("embeddings.token_type_embeddings.weight")[tt]
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :]) * np.finfo(np.float64).min  # HF's modern masking
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        sp = lambda t: t.reshape(B, S, nh, dh).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = (sp(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        a = a.transpose(0, 2, 1, 3).reshape(B, S, H)
        x = ln(lin(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = lin(x, p + "intermediate.dense")
        h = 0.5 * h * (1.0 + verf(h / sqrt(2.0)))
        x = ln(lin(h, p + "output.dense") + x, p + "output.LayerNorm")
    m = mask[:, :, None].astype(np.float64)
    mean = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


def sample_sentences(datasets: Path, n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    with open(datasets / "banking77" / "train.csv", newline="") as f:
        bank = [r["text"] for r in csv.DictReader(f)]
    clinc = [t for t, _ in json.loads((datasets / "clinc150" / "data_oos_plus.json").read_text())["train"]]
    tweets = [t for _, _, t in load_semeval_file(datasets / "semeval2017-task4a-train" / "twitter-2016train-A.txt")]
    third = n // 3
    return rng.sample(bank, third) + rng.sample(clinc, third) + rng.sample(tweets, n - 2 * third)


def run(sess, tok, texts, bs):
    out = []
    for i in range(0, len(texts), bs):
        ids, mask, tt = encode_batch(tok, texts[i : i + bs])
        out.append(sess.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})[0])
    return np.concatenate(out)


def run_probs(sess, tok, texts, bs):
    out = []
    for i in range(0, len(texts), bs):
        ids, mask, tt = encode_batch(tok, texts[i : i + bs])
        out.append(sess.run(["probabilities"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})[0])
    return np.concatenate(out)


def run_both(sess, tok, texts, bs):
    """One pass of the one-pass model, both outputs."""
    out = []
    for i in range(0, len(texts), bs):
        ids, mask, tt = encode_batch(tok, texts[i : i + bs])
        out.append(sess.run(["sentence_embedding", "probabilities"],
                            {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--fp32", type=Path, default=DEFAULT_WORK / "encoder-fp32.onnx")
    ap.add_argument("--int8", type=Path, default=DEFAULT_WORK / "encoder.onnx")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--understanding", type=Path, default=None, help="also check this one-pass model")
    ap.add_argument("--sentiment", type=Path, default=DEFAULT_WORK / "sentiment.onnx",
                    help="the sentiment model the one-pass model replaces (speed comparison)")
    ap.add_argument("--skip-reference", action="store_true", help="skip the (slow) numpy reference")
    args = ap.parse_args()

    tok = load_tokenizer()
    texts = sample_sentences(args.datasets, args.n)
    fp32, int8 = ort_session(args.fp32), ort_session(args.int8)

    # reference is computed one sentence at a time (no padding involved), the
    # ONNX models in padded batches of 32 so that masking is exercised too
    src = minilm_dir()
    w, cfg = load_file(str(src / "model.safetensors")), json.loads((src / "config.json").read_text())
    e32, e8 = run(fp32, tok, texts, 32), run(int8, tok, texts, 32)
    cos = lambda a, b: (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)  # noqa: E731
    c_q = cos(e8, e32)
    res = {
        "n_sentences": len(texts),
        "cos_int8_vs_fp32_mean": float(c_q.mean()), "cos_int8_vs_fp32_min": float(c_q.min()),
        "unit_norm_max_dev_int8": float(np.abs(np.linalg.norm(e8, axis=1) - 1).max()),
    }
    if not args.skip_reference:
        ref = np.concatenate([numpy_reference(w, cfg, *encode_batch(tok, [t])) for t in texts])
        c_ref = cos(e32, ref)
        res["cos_fp32_vs_numpy_ref_mean"], res["cos_fp32_vs_numpy_ref_min"] = float(c_ref.mean()), float(c_ref.min())
    if args.understanding:
        und = ort_session(args.understanding)
        eu = run(und, tok, texts, 32)
        c_u32, c_u8 = cos(eu, e32), cos(eu, e8)
        res.update({"understanding": str(args.understanding),
                    "cos_understanding_vs_fp32_mean": float(c_u32.mean()), "cos_understanding_vs_fp32_min": float(c_u32.min()),
                    "cos_understanding_vs_int8_mean": float(c_u8.mean()), "cos_understanding_vs_int8_min": float(c_u8.min()),
                    "unit_norm_max_dev_understanding": float(np.abs(np.linalg.norm(eu, axis=1) - 1).max())})

    # speed: the same texts, 2 intra-op threads
    for name, sess in (("fp32", fp32), ("int8", int8)):
        for bs in (1, 32):
            run(sess, tok, texts[:32], bs)  # warm-up
            t0 = time.perf_counter()
            run(sess, tok, texts, bs)
            res[f"{name}_sentences_per_s_batch{bs}"] = round(len(texts) / (time.perf_counter() - t0), 1)
    res["fp32_bytes"], res["int8_bytes"] = args.fp32.stat().st_size, args.int8.stat().st_size
    if args.understanding:
        # one pass (both outputs) against the two passes it replaces
        sent = ort_session(args.sentiment)
        two = lambda b: (run(int8, tok, texts, b), run_probs(sent, tok, texts, b))  # noqa: E731
        one = lambda b: run_both(und, tok, texts, b)  # noqa: E731
        run_probs(sent, tok, texts[:32], 8), run_both(und, tok, texts[:32], 8)  # warm-up
        for bs in (1, 32):
            for name, fn in (("two_pass_encoder_plus_sentiment", two), ("one_pass_understanding", one)):
                t0 = time.perf_counter()
                fn(bs)
                res[f"{name}_messages_per_s_batch{bs}"] = round(len(texts) / (time.perf_counter() - t0), 1)
        res["understanding_bytes"] = args.understanding.stat().st_size
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    assert res["cos_int8_vs_fp32_mean"] >= 0.97, "int8 encoder drifted too far from fp32"
    if not args.skip_reference:
        assert res["cos_fp32_vs_numpy_ref_mean"] > 0.9999, "fp32 graph does not match the reference"


if __name__ == "__main__":
    main()
