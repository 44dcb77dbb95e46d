"""Train the sentiment head (negative / neutral / positive) over frozen sentence embeddings.

    python train_sentiment_head.py [--datasets ../shared/datasets] [--out $MODELS_WORK/sentiment_head.onnx]

The head is the light alternative to the shipped fine-tuned model (see
finetune_sentiment.py); `--out ../sentiment.onnx` ships it instead.

Data: SemEval-2017 task 4A training tweets (2013-2016 collections, de-duplicated,
conflicting labels dropped, @mentions -> @user) plus the hand-written
customer-support examples in support_sentiment.tsv (up-weighted).
Features: the 384-d L2-normalised embedding of models/encoder.onnx (int8).
Model: one-hidden-layer MLP (or logistic regression if it validates better),
class-weighted cross-entropy (inverse class frequency), AdamW, early stopping
on macro-averaged recall of a stratified 5 % validation split carved from the
training tweets (seed 0). The chosen configuration is then refitted on
train + validation for the epochs that were best on validation.
Output ONNX: input `embedding` float32 [batch, 384] -> `probabilities` float32
[batch, 3] (softmax inside), order negative, neutral, positive.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from common import DEFAULT_DATASETS, DEFAULT_WORK, MODELS_DIR, RECIPE_DIR, cached_embeddings, load_tokenizer, ort_session, sha256
from datasets_io import load_semeval_train, load_support_tsv

SEED = 0


def macro_recall(y, pred, n=3):
    return float(np.mean([(pred[y == c] == c).mean() for c in range(n)]))


def stratified_split(y, frac, seed):
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        val.extend(idx[: int(round(len(idx) * frac))])
    mask = np.zeros(len(y), bool)
    mask[val] = True
    return ~mask, mask


class Head(torch.nn.Module):
    def __init__(self, hidden: int, dropout: float):
        super().__init__()
        if hidden:
            self.net = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(384, hidden), torch.nn.GELU(),
                                           torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 3))
        else:
            self.net = torch.nn.Linear(384, 3)

    def forward(self, x):
        return self.net(x)


def fit(X, y, w, cfg, epochs, Xv=None, yv=None):
    """Mini-batch AdamW with per-sample weights. Returns (model, best_epoch, curve)."""
    torch.manual_seed(SEED)
    model = Head(cfg["hidden"], cfg["dropout"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
    Xt, yt, wt = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(w)
    g = torch.Generator().manual_seed(SEED)
    curve, best, best_state = [], -1.0, None
    for ep in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(Xt), generator=g)
        for i in range(0, len(perm), 256):
            b = perm[i : i + 256]
            loss = (torch.nn.functional.cross_entropy(model(Xt[b]), yt[b], reduction="none") * wt[b]).sum() / wt[b].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if Xv is not None:
            model.eval()
            with torch.no_grad():
                mr = macro_recall(yv, model(torch.from_numpy(Xv)).argmax(1).numpy())
            curve.append(round(mr, 4))
            if mr > best:
                best, best_ep = mr, ep
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
        return model, best_ep, curve
    return model, epochs, curve


def to_onnx(model: Head, path: Path):
    """Write the head as a standalone ONNX graph (opset 17) with softmax inside."""
    model.eval()
    is_mlp = isinstance(model.net, torch.nn.Sequential)
    layers = [m for m in model.net.modules() if isinstance(m, torch.nn.Linear)] if is_mlp else [model.net]
    inits, nodes, x = [], [], "embedding"
    for i, lin in enumerate(layers):
        w = lin.weight.detach().numpy().astype(np.float32)
        b = lin.bias.detach().numpy().astype(np.float32)
        inits += [numpy_helper.from_array(w, f"fc{i}.weight"), numpy_helper.from_array(b, f"fc{i}.bias")]
        out = f"fc{i}_out"
        nodes.append(helper.make_node("Gemm", [x, f"fc{i}.weight", f"fc{i}.bias"], [out], transB=1))
        x = out
        if i < len(layers) - 1:
            # exact GELU 0.5*x*(1+erf(x/sqrt2)) from basic ops (the Gelu op needs opset 20)
            nodes += [helper.make_node("Mul", [x, "half"], [f"h{i}"]),
                      helper.make_node("Div", [x, "sqrt2"], [f"d{i}"]), helper.make_node("Erf", [f"d{i}"], [f"e{i}"]),
                      helper.make_node("Add", [f"e{i}", "one"], [f"a{i}"]), helper.make_node("Mul", [f"h{i}", f"a{i}"], [f"gelu{i}"])]
            x = f"gelu{i}"
    nodes.append(helper.make_node("Softmax", [x], ["probabilities"], axis=-1))
    inits += [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in (("half", 0.5), ("sqrt2", 2 ** 0.5), ("one", 1.0))]
    graph = helper.make_graph(nodes, "sentiment_head",
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 384])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="frontdesk-recipe")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--encoder", type=Path, default=DEFAULT_WORK / "encoder.onnx")
    ap.add_argument("--support", type=Path, default=RECIPE_DIR / "support_sentiment.tsv")
    ap.add_argument("--support-weight", type=float, default=5.0, help="sample weight of each hand-written example")
    ap.add_argument("--out", type=Path, default=DEFAULT_WORK / "sentiment_head.onnx")
    ap.add_argument("--cache", type=Path, default=DEFAULT_WORK / "cache")
    ap.add_argument("--report", type=Path, default=DEFAULT_WORK / "results" / "sentiment_head_train.json")
    args = ap.parse_args()
    torch.set_num_threads(2)

    tweets, y_tw, stats = load_semeval_train(args.datasets / "semeval2017-task4a-train")
    sup, y_sup = load_support_tsv(args.support)
    print(f"semeval: {stats}; support examples: {len(sup)}")

    tok, enc = load_tokenizer(), ort_session(args.encoder)
    X_tw = cached_embeddings(args.cache / "semeval_train.npy", enc, tok, tweets)
    X_sup = cached_embeddings(args.cache / "support.npy", enc, tok, sup)
    y_tw, y_sup = np.array(y_tw, np.int64), np.array(y_sup, np.int64)

    tr, va = stratified_split(y_tw, 0.05, SEED)
    X = np.concatenate([X_tw[tr], X_sup])
    y = np.concatenate([y_tw[tr], y_sup])
    # inverse-frequency class weights (computed on tweets) times the support up-weighting
    cw = len(y_tw) / (3 * np.bincount(y_tw, minlength=3))
    w = cw[y] * np.concatenate([np.ones(tr.sum()), np.full(len(sup), args.support_weight)])
    w = w.astype(np.float32)

    grid = [
        {"hidden": 0, "dropout": 0.0, "lr": 3e-3, "wd": 1e-4},
        {"hidden": 256, "dropout": 0.1, "lr": 1e-3, "wd": 1e-2},
        {"hidden": 512, "dropout": 0.2, "lr": 1e-3, "wd": 1e-2},
        {"hidden": 1024, "dropout": 0.3, "lr": 5e-4, "wd": 1e-2},
    ]
    results = []
    for cfg in grid:
        _, ep, curve = fit(X, y, w, cfg, 40, X_tw[va], y_tw[va])
        results.append({**cfg, "best_epoch": ep, "val_macro_recall": max(curve), "curve": curve})
        print(f"{cfg} -> val macro recall {max(curve):.4f} at epoch {ep}", flush=True)
    best = max(results, key=lambda r: r["val_macro_recall"])
    cfg = {k: best[k] for k in ("hidden", "dropout", "lr", "wd")}

    # refit on everything (train + validation) for the best number of epochs
    Xa = np.concatenate([X_tw, X_sup])
    ya = np.concatenate([y_tw, y_sup])
    wa = (cw[ya] * np.concatenate([np.ones(len(y_tw)), np.full(len(sup), args.support_weight)])).astype(np.float32)
    model, _, _ = fit(Xa, ya, wa, cfg, best["best_epoch"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    to_onnx(model, args.out)

    # sanity: ONNX output equals torch output
    with torch.no_grad():
        p_t = torch.softmax(model(torch.from_numpy(X_sup)), 1).numpy()
    (p_o,) = ort_session(args.out).run(["probabilities"], {"embedding": X_sup})
    assert np.abs(p_t - p_o).max() < 1e-4
    print(f"wrote {args.out} sha256 {sha256(args.out)}; chosen {cfg} epochs {best['best_epoch']}")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps({"data": stats, "support_examples": len(sup), "grid": results,
                                       "chosen": {**cfg, "epochs": best["best_epoch"]}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
