"""Tune the embedding branch of models/understanding.onnx for customer questions.

    python finetune_retrieval.py [--datasets ../shared/datasets] --sentiment-from WORK/step1200.pt

The shipped graph shares the embeddings and layers 0-3 of all-MiniLM-L6-v2; layers 4-5 of
the original give `sentence_embedding`, a separately trained copy gives `probabilities`.
This script trains a copy of layers 4-5 for `sentence_embedding` only, on the frozen shared
layers' output, so the sentiment branch and the cost per message stay exactly as they are:

- contrastive loss (in-batch negatives, both directions): two questions of the same intent
  are a positive pair. Pairs come from the training splits of Banking77 (less the 10 %
  hold-out `intent_eval.py` uses) and CLINC150 (in-scope), and from `intents/*.yaml`.
  The demo FAQ is not trained on: its held-out customer questions measure the result.
- preservation loss: cosine to the original embedding on training tweets, so general
  text keeps its geometry (`--alpha`).

Every `--eval-every` steps it reports, on data not trained on: nearest-centroid accuracy on
the Banking77 hold-out and on CLINC150 `val`, and the right FAQ entry first / in the top 3
by embedding alone for tests/data/faq-questions/tuning.jsonl. The checkpoint with the best
FAQ tuning figure (ties: Banking77 hold-out) is exported with the sentiment branch of
`--sentiment-from` (a state dict written by finetune_understanding.py --branch 4) and
quantised to int8.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import yaml
from safetensors.numpy import load_file

from bert_onnx import build_bert, quantize_int8
from common import DEFAULT_DATASETS, DEFAULT_WORK, REPO_ROOT, encode_batch, load_tokenizer, minilm_dir, sha256
from datasets_io import load_banking77, load_clinc, load_semeval_train
from finetune_sentiment import Bert
from finetune_understanding import embeddings_forward, layers_forward
from intent_eval import stratified_holdout

F = torch.nn.functional
SEED = 7
K = 4  # layers shared with the sentiment branch


class Retrieval(torch.nn.Module):
    """Frozen original embeddings + layers 0..K-1, trainable layers K.. -> L2-normalised mean pool."""

    def __init__(self, cfg, original: Bert):
        super().__init__()
        self.original = original
        self.bert = Bert(cfg)

    def forward(self, ids, mask, tt):
        with torch.no_grad():
            self.original.eval()
            x = layers_forward(self.original, embeddings_forward(self.original, ids, tt), mask, range(K))
        x = layers_forward(self.bert, x, mask, range(K, len(self.bert.encoder.layer)))
        mk = mask[:, :, None].float()
        return F.normalize((x * mk).sum(1) / mk.sum(1).clamp(min=1e-9), dim=1)


def labelled_pairs_source(datasets: Path):
    """-> (texts, labels) to draw same-intent pairs from, and the monitoring sets."""
    texts, labels = [], []
    b_tr, b_y = load_banking77(datasets / "banking77", "train")
    classes = sorted(set(b_y))
    fit, hold = stratified_holdout(np.array([classes.index(c) for c in b_y]), 0.1)
    texts += [t for t, k in zip(b_tr, fit) if k]
    labels += ["b77:" + y for y, k in zip(b_y, fit) if k]
    cl = load_clinc(datasets / "clinc150")
    texts += cl["train"][0]
    labels += ["clinc:" + y for y in cl["train"][1]]
    for f in sorted((REPO_ROOT / "intents").glob("*.yaml")):
        d = yaml.safe_load(f.read_text())
        texts += [str(x) for x in d["examples"]]
        labels += ["intent:" + d["name"]] * len(d["examples"])
    rng = np.random.default_rng(SEED)

    def sample(pairs, per_label=None, n=None):
        """A fixed subsample: up to `per_label` texts of each label, or `n` texts."""
        idx = rng.permutation(len(pairs[0]))
        if n is not None:
            idx = idx[:n]
        else:
            seen: dict[str, int] = {}
            idx = [i for i in idx if seen.setdefault(pairs[1][i], 0) < per_label and not seen.update({pairs[1][i]: seen[pairs[1][i]] + 1})]
        return [pairs[0][i] for i in idx], [pairs[1][i] for i in idx]

    b_fit = ([t for t, k in zip(b_tr, fit) if k], [y for y, k in zip(b_y, fit) if k])
    monitor = {
        "b77_fit": sample(b_fit, per_label=20),
        "b77_hold": ([t for t, k in zip(b_tr, hold) if k], [y for y, k in zip(b_y, hold) if k]),
        "clinc_train": sample(cl["train"], per_label=20),
        "clinc_val": sample(cl["val"], n=1500),
    }
    return texts, labels, monitor


@torch.no_grad()
def embed(model, tok, texts, bs=128):
    model.eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), 384), np.float32)
    for i in range(0, len(texts), bs):
        idx = order[i : i + bs]
        ids, mask, tt = (torch.from_numpy(a) for a in encode_batch(tok, [texts[j] for j in idx]))
        out[idx] = model(ids, mask, tt).numpy()
    return out


def centroid_accuracy(train_e, train_y, test_e, test_y):
    classes = sorted(set(train_y))
    ya = np.array([classes.index(y) for y in train_y])
    cent = np.stack([train_e[ya == c].mean(0) for c in range(len(classes))])
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    pred = (test_e @ cent.T).argmax(1)
    return float(np.mean([classes[p] == y for p, y in zip(pred, test_y)]))


def faq_figures(model, tok):
    entries = yaml.safe_load((REPO_ROOT / "src" / "faq" / "demo.yaml").read_text())
    texts, owners = [], []
    for e in entries:
        for t in [e["question"], *e.get("phrasings", [])]:
            texts.append(str(t))
            owners.append(e["id"])
    qs = [json.loads(line) for line in (REPO_ROOT / "tests/data/faq-questions/tuning.jsonl").read_text().splitlines() if line.strip()]
    qs = [q for q in qs if q["expect"]]
    sims = embed(model, tok, [q["text"] for q in qs]) @ embed(model, tok, texts).T
    ids = sorted(set(owners))
    own = np.array([ids.index(o) for o in owners])
    top1 = top3 = 0
    for q, s in zip(qs, sims):
        best = np.full(len(ids), -9.0)
        np.maximum.at(best, own, s)
        order = [ids[i] for i in np.argsort(-best)[:3]]
        top1 += order[0] == q["expect"]
        top3 += q["expect"] in order
    return top1 / len(qs), top3 / len(qs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--sentiment-from", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--pairs", type=int, default=48, help="same-intent pairs per batch (distinct intents)")
    ap.add_argument("--keep", type=int, default=16, help="tweets per batch for the preservation loss")
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export-step", type=int, default=-1, help="export this checkpoint (0: the original layers)")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK / "retrieval")
    ap.add_argument("--out", type=Path, default=DEFAULT_WORK / "retrieval.onnx", help="a candidate; not models/ until chosen")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    args.work.mkdir(parents=True, exist_ok=True)

    src = minilm_dir()
    cfg = json.loads((src / "config.json").read_text())
    w = {k: torch.from_numpy(v) for k, v in load_file(str(src / "model.safetensors")).items()
         if not k.startswith("pooler") and k != "embeddings.position_ids"}
    original = Bert(cfg)
    model = Retrieval(cfg, original)
    for m in (original, model.bert):
        missing, unexpected = m.load_state_dict(w, strict=False)
        assert not unexpected and all(k.startswith("drop") for k in missing), (missing, unexpected)
    for p in original.parameters():
        p.requires_grad_(False)
    tok = load_tokenizer()
    tok.enable_truncation(args.max_tokens)

    texts, labels, mon = labelled_pairs_source(args.datasets)
    by_label: dict[str, list[int]] = {}
    for i, y in enumerate(labels):
        by_label.setdefault(y, []).append(i)
    names = [y for y, v in by_label.items() if len(v) >= 2]
    tweets, _, _ = load_semeval_train(args.datasets / "semeval2017-task4a-train")
    print(f"{len(texts)} labelled texts, {len(names)} intents; {len(tweets)} tweets to keep", flush=True)

    def evaluate(step, t0):
        e = {k: embed(model, tok, v[0]) for k, v in mon.items()}
        top1, top3 = faq_figures(model, tok)
        return {"step": step, "faq_top1": round(top1, 4), "faq_top3": round(top3, 4),
                "b77_hold_centroid": round(centroid_accuracy(e["b77_fit"], mon["b77_fit"][1], e["b77_hold"], mon["b77_hold"][1]), 4),
                "clinc_val_centroid": round(centroid_accuracy(e["clinc_train"], mon["clinc_train"][1], e["clinc_val"], mon["clinc_val"][1]), 4),
                "minutes": round((time.time() - t0) / 60, 1)}

    body = [p for n, p in model.bert.named_parameters() if n.startswith("encoder.layer.") and int(n.split(".")[2]) >= K]
    opt = torch.optim.AdamW(body, lr=args.lr, weight_decay=0.01)
    warm = int(0.1 * args.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / max(warm, 1), max(0.0, (args.steps - s) / max(args.steps - warm, 1))))
    log, t0 = [], time.time()
    log_path = args.work / "log.json"
    if args.export_step < 0:
        log.append(evaluate(0, t0))
        print(log[-1], flush=True)
        torch.save(model.bert.state_dict(), args.work / "step0.pt")
        for step in range(1, args.steps + 1):
            model.train()
            chosen = rng.choice(len(names), args.pairs, replace=False)
            a, b = [], []
            for c in chosen:
                i, j = rng.choice(by_label[names[c]], 2, replace=False)
                a.append(texts[i])
                b.append(texts[j])
            keep = [tweets[i] for i in rng.choice(len(tweets), args.keep, replace=False)]
            ids, mask, tt = (torch.from_numpy(x) for x in encode_batch(tok, a + b + keep))
            e = model(ids, mask, tt)
            n = args.pairs
            ea, eb, ek = e[:n], e[n : 2 * n], e[2 * n :]
            logits = args.scale * ea @ eb.T
            target = torch.arange(n)
            contrastive = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            with torch.no_grad():
                k_ids, k_mask, k_tt = ids[2 * n :], mask[2 * n :], tt[2 * n :]
                x = layers_forward(original, embeddings_forward(original, k_ids, k_tt), k_mask, range(len(original.encoder.layer)))
                mk = k_mask[:, :, None].float()
                ref = F.normalize((x * mk).sum(1) / mk.sum(1).clamp(min=1e-9), dim=1)
            keep_loss = (1.0 - (ek * ref).sum(1)).mean()
            loss = contrastive + args.alpha * keep_loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body, 1.0)
            opt.step()
            sched.step()
            if step % 20 == 0:
                print(f"step {step}/{args.steps} contrastive {contrastive.item():.3f} keep {keep_loss.item():.4f} "
                      f"{time.time() - t0:.0f}s", flush=True)
            if step % args.eval_every == 0 or step == args.steps:
                log.append(evaluate(step, t0))
                print(log[-1], flush=True)
                torch.save(model.bert.state_dict(), args.work / f"step{step}.pt")
                log_path.write_text(json.dumps(log, indent=2) + "\n")
    log = json.loads(log_path.read_text())
    if args.export_step >= 0:
        chosen = next(r for r in log if r["step"] == args.export_step)
    else:
        chosen = max(log, key=lambda r: (r["faq_top1"], r["b77_hold_centroid"]))
    print("exporting", chosen, flush=True)
    tuned = torch.load(args.work / f"step{chosen['step']}.pt")
    weights = {k: v.numpy() for k, v in w.items()}
    for k, v in tuned.items():
        if k.startswith("encoder.layer.") and int(k.split(".")[2]) >= K:
            weights[k] = v.numpy()
    sentiment = torch.load(args.sentiment_from)
    sd = {k[len("bert."):]: v.numpy() for k, v in sentiment.items() if k.startswith("bert.")}
    cls = (sentiment["classifier.weight"].numpy(), sentiment["classifier.bias"].numpy())
    fp32 = args.work / "understanding_fp32.onnx"
    onnx.save(build_bert(weights, cfg, head="both", classifier=cls, branch=(K, sd)), str(fp32))
    quantize_int8(fp32, args.out)
    summary = {"chosen": chosen, "log": log, "args": {k: str(v) for k, v in vars(args).items()}, "sha256": sha256(args.out)}
    (args.work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
