"""Intent-classifier research over frozen encoder.onnx embeddings (nothing is shipped).

    python intent_eval.py [--datasets ../shared/datasets] [--final]

Reference implementation (numpy, float32, deterministic) of the classifier that
the Rust server builds at start-up from example phrases. --encoder takes any ONNX
file with a `sentence_embedding` output (encoder.onnx, or the one-pass
understanding.onnx, whose `probabilities` output is ignored here):

  features  x = L2-normalised 384-d sentence embedding (output of encoder.onnx)
  model     logits = S * (W x) + b,  W [C, 384], b [C], fixed scale S = 8
  init      W = class centroids (mean of the class's x, re-normalised), b = 0
  training  full-batch gradient descent on mean softmax cross-entropy
            + (L2/2) * ||W||^2 (L2 = 1e-3, b not penalised), Nesterov momentum
            0.9, constant lr = 1.0, 300 epochs
  predict   argmax; out-of-scope if max softmax probability < T_prob
            (T chosen on validation data)

Without --final only validation splits are used (Banking77: stratified 10 %
of train, seed 0; CLINC150: val + oos_val); --final trains on the full train
split with the chosen hyperparameters and measures the test splits once.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import DEFAULT_DATASETS, DEFAULT_WORK, MODELS_DIR, cached_embeddings, load_tokenizer, ort_session, sha256
from datasets_io import load_banking77, load_clinc


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def train_softmax(X, y, C, scale=8.0, lr=1.0, epochs=300, l2=1e-3, momentum=0.9):
    """Full-batch GD (Nesterov) on cross-entropy of logits = scale * X W^T + b."""
    X = X.astype(np.float32)
    n, d = X.shape
    Y = np.zeros((n, C), np.float32)
    Y[np.arange(n), y] = 1.0
    W = np.zeros((C, d), np.float32)
    np.add.at(W, y, X)
    W /= np.linalg.norm(W, axis=1, keepdims=True) + 1e-12
    b = np.zeros(C, np.float32)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    for _ in range(epochs):
        # Nesterov: gradient at the look-ahead point
        Wl, bl = W + momentum * vW, b + momentum * vb
        P = softmax(scale * (X @ Wl.T) + bl)
        G = (P - Y) / n                           # dLoss/dlogits
        gW = scale * (G.T @ X) + l2 * Wl
        gb = G.sum(0)
        vW = momentum * vW - lr * gW
        vb = momentum * vb - lr * gb
        W, b = W + vW, b + vb
    return W, b


def predict_proba(W, b, X, scale):
    return softmax(scale * (X @ W.T) + b)


def stratified_holdout(labels, frac, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    val = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        val[idx[: max(1, int(round(len(idx) * frac)))]] = True
    return ~val, val


def k_shot(labels, k, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    keep = []
    for c in sorted(set(labels)):
        idx = np.flatnonzero(labels == c)
        keep.extend(rng.choice(idx, size=min(k, len(idx)), replace=False))
    return np.sort(np.array(keep))


def oos_threshold(max_prob_in, correct_in, max_prob_oos, min_in_acc=0.95):
    """Highest threshold on max probability that keeps in-scope accuracy >= min_in_acc
    (an in-scope query rejected as oos counts as wrong); maximises oos recall."""
    best = 0.0
    for t in np.unique(np.concatenate([max_prob_in, max_prob_oos])):
        if (correct_in & (max_prob_in >= t)).mean() >= min_in_acc:
            best = t
        else:
            break
    return float(best)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--encoder", type=Path, default=DEFAULT_WORK / "encoder.onnx",
                    help="any ONNX file with a `sentence_embedding` output, e.g. ../understanding.onnx")
    ap.add_argument("--cache", type=Path, default=DEFAULT_WORK / "cache")
    ap.add_argument("--final", action="store_true", help="measure the test splits (run once)")
    ap.add_argument("--scale", type=float, default=8.0)
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--min-in-acc", type=float, default=0.95, help="in-scope accuracy floor for choosing T_prob")
    ap.add_argument("--skip-clinc", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    hp = dict(scale=args.scale, lr=args.lr, epochs=args.epochs, l2=args.l2)

    tok, enc = load_tokenizer(), ort_session(args.encoder)
    tag = f"{args.encoder.stem}-{sha256(args.encoder)[:12]}"  # caches follow the file's content, not its name
    emb = lambda name, texts: cached_embeddings(args.cache / f"{tag}-{name}.npy", enc, tok, texts)  # noqa: E731
    res = {"encoder": str(args.encoder), "encoder_sha256": sha256(args.encoder), "hyperparameters": hp}

    # ---- Banking77 ----------------------------------------------------------
    b_tr, b_tr_y = load_banking77(args.datasets / "banking77", "train")
    b_te, b_te_y = load_banking77(args.datasets / "banking77", "test")
    classes = sorted(set(b_tr_y))
    ci = {c: i for i, c in enumerate(classes)}
    Xtr, ytr = emb("banking77-train", b_tr), np.array([ci[c] for c in b_tr_y])
    if args.final:
        Xev, yev = emb("banking77-test", b_te), np.array([ci[c] for c in b_te_y])
        fit_idx = np.arange(len(ytr))
    else:
        fit_mask, ev_mask = stratified_holdout(ytr, 0.1)
        Xev, yev, fit_idx = Xtr[ev_mask], ytr[ev_mask], np.flatnonzero(fit_mask)
    for name, idx in (("full", fit_idx), ("10shot", fit_idx[k_shot(ytr[fit_idx], 10, seed=0)])):
        t0 = time.perf_counter()
        W, b = train_softmax(Xtr[idx], ytr[idx], len(classes), **hp)
        dt = time.perf_counter() - t0
        acc = float((predict_proba(W, b, Xev, args.scale).argmax(1) == yev).mean())
        # baseline: nearest centroid by cosine (centroids re-normalised)
        Wc = np.zeros((len(classes), Xtr.shape[1]), np.float32)
        np.add.at(Wc, ytr[idx], Xtr[idx])
        Wc /= np.linalg.norm(Wc, axis=1, keepdims=True)
        res[f"banking77_{name}"] = {"accuracy": round(acc, 4), "n_train": len(idx), "n_eval": len(yev),
                                    "train_seconds_numpy": round(dt, 2),
                                    "nearest_centroid_accuracy": round(float(((Xev @ Wc.T).argmax(1) == yev).mean()), 4)}
        print(name, res[f"banking77_{name}"], flush=True)

    if not args.skip_clinc:
        clinc(args, emb, hp, res)
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2) + "\n")


def clinc(args, emb, hp, res):
    """CLINC150 in-scope accuracy and out-of-scope detection, two variants with the
    same decision rule "oos if argmax is the oos class (variant B only) or the
    largest in-scope probability < T":
      A "150": 150 intents only;
      B "151": plus an explicit `oos` class trained on the 250 oos_train queries.
    T is chosen on val + oos_val only (largest T keeping val in-scope acc >= floor)."""
    cl = load_clinc(args.datasets / "clinc150")
    intents = sorted(set(cl["train"][1]))
    ii = {c: i for i, c in enumerate(intents)}
    n_int = len(intents)
    X = {k: emb(f"clinc-{k}", cl[k][0]) for k in ("train", "oos_train", "val", "oos_val")}
    if args.final:
        X.update({k: emb(f"clinc-{k}", cl[k][0]) for k in ("test", "oos_test")})
    yc = np.array([ii[c] for c in cl["train"][1]])

    for variant in ("150", "151"):
        if variant == "150":
            W, b = train_softmax(X["train"], yc, n_int, **hp)
        else:
            Xa = np.concatenate([X["train"], X["oos_train"]])
            ya = np.concatenate([yc, np.full(len(X["oos_train"]), n_int)])
            W, b = train_softmax(Xa, ya, n_int + 1, **hp)

        def decide(split):
            """-> (predicted intent or -1 for oos, score = max in-scope probability)."""
            P = predict_proba(W, b, X[split], args.scale)
            score = P[:, :n_int].max(1)
            pred = P[:, :n_int].argmax(1)
            if variant == "151":
                pred = np.where(P.argmax(1) == n_int, -1, pred)
            return pred, score

        def measure(in_split, oos_split, T):
            pred, score = decide(in_split)
            y = np.array([ii[c] for c in cl[in_split][1]])
            opred, oscore = decide(oos_split)
            oos_in = (pred == -1) | (score < T)        # in-scope queries rejected
            oos_oos = (opred == -1) | (oscore < T)     # oos queries caught
            tp, fp = float(oos_oos.sum()), float(oos_in.sum())
            return {"in_scope_acc_no_threshold": round(float((pred == y).mean()), 4),
                    "in_scope_acc": round(float(((pred == y) & ~oos_in).mean()), 4),
                    "oos_recall": round(tp / len(opred), 4),
                    "oos_precision": round(tp / max(tp + fp, 1.0), 4)}

        pred, score = decide("val")
        vy = np.array([ii[c] for c in cl["val"][1]])
        opred, oscore = decide("oos_val")
        # threshold from VALIDATION only: the largest T keeping val in-scope accuracy >= floor
        T = oos_threshold(score, pred == vy, oscore[opred != -1], args.min_in_acc)
        r = {"T_prob": round(T, 4), "val": measure("val", "oos_val", T)}
        if args.final:
            r["test"] = measure("test", "oos_test", T)
        res[f"clinc_{variant}"] = r
        print(variant, r, flush=True)


if __name__ == "__main__":
    main()
