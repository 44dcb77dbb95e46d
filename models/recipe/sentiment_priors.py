"""Would shifting the sentiment classes' priors raise macro-averaged recall? Searches additive
biases on the log-probabilities of neutral and positive (negative fixed at 0) on one validation
split and reports them on the other; test splits are not read.

    python sentiment_priors.py [--datasets ../shared/datasets]

Splits: TweetEval's validation split (2,000) and the recipe's own validation split (the
stratified 5 % of the SemEval 2013-2016 training tweets, seed 0, that the fine-tuning
selects on). Probabilities come from ../understanding.onnx, one text per run, as the server
computes them.
"""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from common import DEFAULT_DATASETS, MODELS_DIR, encode_batch, load_tokenizer, ort_session
from datasets_io import load_semeval_train, load_tweeteval
from train_sentiment_head import SEED, stratified_split


def macro_recall(y, pred):
    return float(np.mean([(pred[y == c] == c).mean() for c in range(3)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    args = ap.parse_args()
    tok = load_tokenizer(MODELS_DIR / "tokenizer.json")
    session = ort_session(MODELS_DIR / "understanding.onnx", 1)

    def log_probs(texts):
        out = np.zeros((len(texts), 3))
        for i, t in enumerate(texts):
            ids, mask, tt = encode_batch(tok, [t])
            p = session.run(["probabilities"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})[0][0]
            out[i] = np.log(np.clip(p, 1e-9, 1))
        return out

    texts, y = load_tweeteval(args.datasets / "tweeteval-sentiment", "val")
    tweets, y_tw, _ = load_semeval_train(args.datasets / "semeval2017-task4a-train")
    _, own = stratified_split(np.array(y_tw, np.int64), 0.05, SEED)
    splits = {
        "tweeteval-val": (log_probs(texts), np.asarray(y)),
        "own-val": (log_probs([t for t, k in zip(tweets, own) if k]), np.asarray([l for l, k in zip(y_tw, own) if k])),
    }
    grid = np.round(np.arange(-1.0, 3.01, 0.05), 2)
    print("| chosen on | bias neutral / positive | macro recall there (none: was) | on the other split (none: was) |")
    print("|---|---|---|---|")
    for name, (lp, yy) in splits.items():
        other = next(n for n in splits if n != name)
        olp, oy = splits[other]
        best = max(((macro_recall(yy, (lp + [0, a, b]).argmax(1)), a, b) for a, b in itertools.product(grid, grid)))
        print(f"| {name} | {best[1]:+.2f} / {best[2]:+.2f} | {best[0]:.4f} ({macro_recall(yy, lp.argmax(1)):.4f}) | "
              f"{macro_recall(oy, (olp + [0, best[1], best[2]]).argmax(1)):.4f} ({macro_recall(oy, olp.argmax(1)):.4f}) |")


if __name__ == "__main__":
    main()
