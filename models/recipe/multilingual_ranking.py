"""How to rank the FAQ's entries for a question in another language with models/multilingual.onnx:
top-1 and top-3 accuracy per language of the answerable questions in a labelled set, for each
way of comparing a question with an entry.

    python multilingual_ranking.py [--questions ../../tests/data/faq-questions/tuning-translated.jsonl ...]

Every answerable question is ranked against every entry of the demo FAQ (src/faq/demo.yaml),
whether or not the server would detect its language. Variants (q = the question as "query: ",
texts as "passage: " unless said otherwise):
  qq        closest question or phrasing, both embedded as "query: "
  qp        closest question or phrasing
  qa        the entry's question with its answer, as one text
  max(qq,qa), qq+qa, qq+0.5qa, qq+2qa, qp+qa   combinations of the above
The server ships qp+qa (as their mean): src/faq/semantic/mod.rs, Semantic::across_languages.

    python multilingual_ranking.py --calibrate [--questions ...]

instead searches the confidence's floor, span and sharpness (src/faq/confidence.rs) for the
shipped ranking over all questions of the set(s), answerable or not: right answers (share of
answerable) and wrong ones (share of all) at bot.answer_confidence 0.8, and how often the right
entry is among the first three with a confidence above 0 (what "did you mean" offers).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import yaml

from export_multilingual import HERE

REPO = HERE.parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=Path, action="append")
    ap.add_argument("--calibrate", action="store_true")
    args = ap.parse_args()
    files = args.questions or [REPO / "tests/data/faq-questions/tuning-translated.jsonl",
                               REPO / "tests/data/faq-questions/tuning.jsonl"]
    from tokenizers import Tokenizer

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    session = ort.InferenceSession(str(REPO / "models/multilingual.onnx"), so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(REPO / "models/multilingual-tokenizer.json"))

    def emb(text, prefix):
        ids = np.array([tok.encode(prefix + text).ids[:256]], np.int64)
        return session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]

    faq = yaml.safe_load((REPO / "src/faq/demo.yaml").read_text())
    ids = [e["id"] for e in faq]
    texts = [[e["question"]] + e.get("phrasings", []) for e in faq]
    Q = [np.array([emb(t, "query: ") for t in ts]) for ts in texts]
    P = [np.array([emb(t, "passage: ") for t in ts]) for ts in texts]
    A = np.array([emb(e["question"] + "\n\n" + e["answer"], "passage: ") for e in faq])
    variants = {
        "qq": lambda q: np.array([(v @ q).max() for v in Q]),
        "qp": lambda q: np.array([(v @ q).max() for v in P]),
        "qa": lambda q: A @ q,
    }
    variants.update({
        "max(qq,qa)": lambda q: np.maximum(variants["qq"](q), variants["qa"](q)),
        "qq+qa": lambda q: variants["qq"](q) + variants["qa"](q),
        "qq+0.5qa": lambda q: variants["qq"](q) + 0.5 * variants["qa"](q),
        "qq+2qa": lambda q: variants["qq"](q) + 2 * variants["qa"](q),
        "qp+qa": lambda q: variants["qp"](q) + variants["qa"](q),
    })
    questions = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    if args.calibrate:
        return calibrate(questions, lambda q: variants["qp+qa"](emb(q, "query: ")) / 2, ids)
    embedded = [(q.get("language", "en"), q["expect"], emb(q["text"], "query: ")) for q in questions if q.get("expect")]
    languages = sorted({lang for lang, _, _ in embedded})
    print("| variant | " + " | ".join(f"{lang} top 1 / top 3" for lang in languages) + " |")
    print("|---|" + "---|" * len(languages))
    for name, score in variants.items():
        cells = []
        for lang in languages:
            rows = [(expect, np.argsort(-score(q))[:3]) for l, expect, q in embedded if l == lang]
            top1 = sum(ids[o[0]] == e for e, o in rows) / len(rows)
            top3 = sum(e in [ids[i] for i in o] for e, o in rows) / len(rows)
            cells.append(f"{100 * top1:.1f} / {100 * top3:.1f} %")
        print(f"| {name} | " + " | ".join(cells) + " |")


def calibrate(questions, rank, ids):
    import itertools

    rows = []
    for q in questions:
        r = rank(q["text"])
        order = np.argsort(-r)[:5]
        rows.append((q.get("expect"), [ids[i] for i in order], r[order]))
    n, answerable = len(rows), sum(1 for r in rows if r[0])
    results = {}
    for floor, span, sharpness in itertools.product(np.round(np.arange(0.70, 0.86, 0.01), 2),
                                                    [0.04, 0.06, 0.08, 0.1, 0.12, 0.16, 0.2],
                                                    [20, 40, 60, 80, 120, 160, 200, 300]):
        right = wrong = offered = 0
        for expect, top, r in rows:
            w = np.exp(sharpness * (r - r[0]))
            confidence = np.clip((r - floor) / span, 0, 1) * w / w.sum()
            if confidence[0] >= 0.8:
                right += top[0] == expect
                wrong += top[0] != expect
            elif expect and expect in [t for t, c in zip(top[:3], confidence[:3]) if c > 0]:
                offered += 1
        results[(floor, span, sharpness)] = (right / answerable, wrong / n, offered / answerable)
    print("| wrong at most | floor | span | sharpness | right | wrong | right entry offered |")
    print("|---|---|---|---|---|---|---|")
    for limit in (0.02, 0.03, 0.04):
        key, (right, wrong, offered) = max(((k, v) for k, v in results.items() if v[1] <= limit),
                                           key=lambda kv: (kv[1][0], kv[1][2]))
        print(f"| {100 * limit:.0f} % | {key[0]:.2f} | {key[1]:.2f} | {key[2]} | {100 * right:.1f} % | "
              f"{100 * wrong:.1f} % | {100 * offered:.1f} % |")
    print("\nnear the shipped setting (floor 0.74, span 0.12, sharpness 120):\n")
    print("| floor | span | sharpness | right | wrong | right entry offered |")
    print("|---|---|---|---|---|---|")
    for (floor, span, sharpness), (right, wrong, offered) in results.items():
        if abs(floor - 0.74) < 0.015 and span in (0.1, 0.12, 0.16) and sharpness in (80, 120, 160):
            print(f"| {floor:.2f} | {span:.2f} | {sharpness} | {100 * right:.1f} % | {100 * wrong:.1f} % | "
                  f"{100 * offered:.1f} % |")


if __name__ == "__main__":
    main()
