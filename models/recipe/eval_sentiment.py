"""Measure sentiment models: macro-averaged recall (the SemEval-2017 4A metric).

    python eval_sentiment.py [--datasets ../shared/datasets] [--split val|test] [--vader]
                             [--model ../sentiment.onnx]

Sets: TweetEval sentiment (--split: `val` while developing, `test` once at the end)
and, with --split test, the out-of-domain SemEval sets sms-2013test and
livejournal-2014test. Texts are fed as given (no tweet normalisation), exactly as
the server would see them. The model interface is detected from its inputs:
`embedding` (head over encoder.onnx) or `input_ids`/... (full fine-tuned model).
--vader adds the VADER lexicon baseline (compound >= 0.05 positive, <= -0.05 negative).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from common import DEFAULT_DATASETS, DEFAULT_WORK, MODELS_DIR, cached_embeddings, encode_batch, load_tokenizer, ort_session
from datasets_io import load_semeval_ood, load_tweeteval


def macro_recall(y, pred):
    y, pred = np.asarray(y), np.asarray(pred)
    recalls = [float((pred[y == c] == c).mean()) for c in range(3)]
    return float(np.mean(recalls)), recalls


def predict(model_path: Path, encoder: Path, texts: list[str], cache: Path, name: str) -> np.ndarray:
    sess = ort_session(model_path)
    tok = load_tokenizer()
    if sess.get_inputs()[0].name == "embedding":
        emb = cached_embeddings(cache / f"eval-{encoder.stem}-{name}.npy", ort_session(encoder), tok, texts)
        return sess.run(["probabilities"], {"embedding": emb})[0]
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), 3), np.float32)
    for i in range(0, len(texts), 64):
        idx = order[i : i + 64]
        ids, mask, tt = encode_batch(tok, [texts[j] for j in idx])
        out[idx] = sess.run(["probabilities"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})[0]
    return out


def vader(texts):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    c = np.array([sia.polarity_scores(t)["compound"] for t in texts])
    return np.where(c >= 0.05, 2, np.where(c <= -0.05, 0, 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--split", choices=["val", "test"], default="val")
    ap.add_argument("--model", type=Path, action="append", help="repeatable; default ../sentiment.onnx")
    ap.add_argument("--encoder", type=Path, default=MODELS_DIR / "encoder.onnx")
    ap.add_argument("--vader", action="store_true")
    ap.add_argument("--cache", type=Path, default=DEFAULT_WORK / "cache")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    sets = {f"tweeteval_{args.split}": load_tweeteval(args.datasets / "tweeteval-sentiment", args.split)}
    if args.split == "test":
        sem = args.datasets / "semeval2017-task4a-train"
        sets["sms2013"] = load_semeval_ood(sem, "sms-2013test-A.tsv")
        sets["livejournal2014"] = load_semeval_ood(sem, "livejournal-2014test-A.tsv")

    res = {}
    for name, (texts, y) in sets.items():
        for model in args.model or [MODELS_DIR / "sentiment.onnx"]:
            p = predict(model, args.encoder, texts, args.cache, name)
            mr, rec = macro_recall(y, p.argmax(1))
            res[f"{name}/{model.name}"] = {"macro_recall": round(mr, 4), "recall_neg_neu_pos": [round(r, 4) for r in rec],
                                           "accuracy": round(float((p.argmax(1) == np.asarray(y)).mean()), 4), "n": len(y)}
        if args.vader:
            mr, rec = macro_recall(y, vader(texts))
            res[f"{name}/vader"] = {"macro_recall": round(mr, 4), "recall_neg_neu_pos": [round(r, 4) for r in rec], "n": len(y)}
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
