"""Measure sentiment models: macro-averaged recall (the SemEval-2017 4A metric).

    python eval_sentiment.py [--datasets ../shared/datasets] [--split val|own-val|test] [--vader]
                             [--model ../sentiment.onnx] [--model ../understanding.onnx] [--support-examples]

Sets: TweetEval sentiment (--split: `val` while developing, `test` once at the end)
and, with --split test, the out-of-domain SemEval sets sms-2013test and
livejournal-2014test. Texts are fed as given (no tweet normalisation), exactly as
the server would see them. The model interface is detected from its inputs:
`embedding` (head over encoder.onnx) or `input_ids`/... (full fine-tuned model,
or the one-pass understanding.onnx: only its `probabilities` output is read).
--split own-val measures the recipe's own validation split instead (the stratified
5 % of the SemEval 2013-2016 training tweets, seed 0, that finetune_sentiment.py and
finetune_understanding.py select on).
--support-examples prints negative/neutral/positive probabilities of every model
for a fixed list of support-style messages (SUPPORT_EXAMPLES) and measures nothing else.
--vader adds the VADER lexicon baseline (compound >= 0.05 positive, <= -0.05 negative).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from common import DEFAULT_DATASETS, DEFAULT_WORK, MODELS_DIR, cached_embeddings, encode_batch, load_tokenizer, ort_session
from datasets_io import load_semeval_ood, load_semeval_train, load_tweeteval

# support-like messages for a side-by-side look at the probabilities (no labels: judged by eye)
SUPPORT_EXAMPLES = [
    "My order arrived late and the box was a bit damaged.",
    "Where is my order?",
    "This is the third time I ask, I am furious",
    "Thanks, that solved it!",
    "Hi, I would like to change my delivery address.",
    "The jacket is a little too small, can I exchange it?",
    "I was charged twice for the same order.",
    "Can you tell me when the boots will be back in stock?",
    "The app keeps logging me out, which is annoying.",
    "This is unacceptable, I want my money back now!",
    "I still haven't received my refund after three weeks.",
    "Great service, the replacement arrived the next day.",
    "How do I reset my password?",
    "The zipper broke after two days of use.",
    "Ok, thank you for checking.",
    "You people are useless, I will never order here again.",
]


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
    ap.add_argument("--split", choices=["val", "own-val", "test"], default="val")
    ap.add_argument("--model", type=Path, action="append", help="repeatable; default ../sentiment.onnx")
    ap.add_argument("--encoder", type=Path, default=DEFAULT_WORK / "encoder.onnx")
    ap.add_argument("--vader", action="store_true")
    ap.add_argument("--cache", type=Path, default=DEFAULT_WORK / "cache")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--support-examples", action="store_true", help="print probabilities for SUPPORT_EXAMPLES only")
    args = ap.parse_args()
    models = args.model or [DEFAULT_WORK / "sentiment.onnx"]

    if args.support_examples:
        probs = {m: predict(m, args.encoder, SUPPORT_EXAMPLES, args.cache, "support-examples") for m in models}
        print("| message | " + " | ".join(f"{m.name} neg / neu / pos" for m in models) + " |")
        print("|---|" + "---|" * len(models))
        for i, t in enumerate(SUPPORT_EXAMPLES):
            print(f"| {t} | " + " | ".join(" / ".join(f"{x:.3f}" for x in probs[m][i]) for m in models) + " |")
        return

    if args.split == "own-val":
        from train_sentiment_head import SEED, stratified_split

        tweets, y_tw, _ = load_semeval_train(args.datasets / "semeval2017-task4a-train")
        _, va = stratified_split(np.array(y_tw, np.int64), 0.05, SEED)
        sets = {"own_val": ([t for t, k in zip(tweets, va) if k], [y for y, k in zip(y_tw, va) if k])}
    else:
        sets = {f"tweeteval_{args.split}": load_tweeteval(args.datasets / "tweeteval-sentiment", args.split)}
    if args.split == "test":
        sem = args.datasets / "semeval2017-task4a-train"
        sets["sms2013"] = load_semeval_ood(sem, "sms-2013test-A.tsv")
        sets["livejournal2014"] = load_semeval_ood(sem, "livejournal-2014test-A.tsv")

    res = {}
    for name, (texts, y) in sets.items():
        for model in models:
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
