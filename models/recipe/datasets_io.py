"""Readers for the labelled data sets in ../shared/datasets (never copied into the repo).

SemEval-2017 task 4A files are messier than they look; `load_semeval_file` handles:
  * `id<TAB>label<TAB>text` (twitter-*.txt) and `id<TAB>id2<TAB>label<TAB>text` (sms/livejournal .tsv);
  * a 4th column holding the tweet date in twitter-2016test-A.txt, and trailing tabs;
  * CSV-style quoting: text wrapped in "..." with "" for a literal quote;
  * a quoted text that spans two physical lines (twitter-2016test-A.txt);
  * literal \\uXXXX escapes (e.g. \\u002c for a comma, \\u2019) in the 2013/2015 files and sms;
  * HTML entities (&amp;, &lt;, &gt;, ...).
"""
from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

LABEL_IDS = {"negative": 0, "neutral": 1, "positive": 2}
_UESC = re.compile(r"\\u([0-9a-fA-F]{4})")
_MENTION = re.compile(r"@\w+")


def clean_text(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    elif text.startswith('"') and text.count('"') % 2 == 1:
        text = text[1:]  # opening quote whose closing quote was lost
    text = _UESC.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = html.unescape(text)
    return " ".join(text.split())


def normalize_tweet(text: str) -> str:
    """TweetEval convention: every @mention becomes @user."""
    return _MENTION.sub("@user", text)


def load_semeval_file(path: Path) -> list[tuple[str, str, str]]:
    """Return (id, label, text) rows of one SemEval 4A file."""
    rows: list[list[str]] = []
    label_col = 2 if path.suffix == ".tsv" else 1
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) <= label_col or parts[label_col] not in LABEL_IDS:
                # continuation of a quoted text broken over two lines
                if rows:
                    rows[-1][-1] += " " + "\t".join(parts)
                continue
            rows.append([parts[0], parts[label_col], parts[label_col + 1] if len(parts) > label_col + 1 else ""])
    return [(i, lab, clean_text(t)) for i, lab, t in rows if clean_text(t)]


SEMEVAL_TRAIN_FILES = [
    "twitter-2013train-A.txt", "twitter-2013dev-A.txt", "twitter-2013test-A.txt",
    "twitter-2014test-A.txt", "twitter-2014sarcasm-A.txt",
    "twitter-2015train-A.txt", "twitter-2015test-A.txt",
    "twitter-2016train-A.txt", "twitter-2016dev-A.txt", "twitter-2016devtest-A.txt", "twitter-2016test-A.txt",
]


def load_semeval_train(folder: Path) -> tuple[list[str], list[int], dict]:
    """All SemEval 2013-2016 tweets, de-duplicated by tweet id and by normalised text.
    A text seen with conflicting labels is dropped altogether."""
    by_key: dict[str, set[int]] = {}
    text_of: dict[str, str] = {}
    seen_ids: set[str] = set()
    raw = dup_ids = 0
    for name in SEMEVAL_TRAIN_FILES:
        for tid, lab, text in load_semeval_file(folder / name):
            raw += 1
            if tid in seen_ids:
                dup_ids += 1
            seen_ids.add(tid)
            t = normalize_tweet(text)
            key = t.lower()
            by_key.setdefault(key, set()).add(LABEL_IDS[lab])
            text_of.setdefault(key, t)
    texts, labels, conflicts = [], [], 0
    for key, labs in by_key.items():
        if len(labs) > 1:
            conflicts += 1
            continue
        texts.append(text_of[key])
        labels.append(next(iter(labs)))
    stats = {"raw_rows": raw, "duplicate_ids": dup_ids, "unique_texts": len(by_key),
             "conflicting_label_texts_dropped": conflicts, "kept": len(texts)}
    return texts, labels, stats


def load_semeval_ood(folder: Path, name: str) -> tuple[list[str], list[int]]:
    rows = load_semeval_file(folder / name)
    return [t for _, _, t in rows], [LABEL_IDS[lab] for _, lab, _ in rows]


def load_tweeteval(folder: Path, split: str) -> tuple[list[str], list[int]]:
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    labels = (folder / f"{split}_labels.txt").read_text().split()
    texts = texts[: len(labels)]
    return [t.strip() for t in texts], [int(x) for x in labels]


def load_support_tsv(path: Path) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lab, text = line.split("\t", 1)
        texts.append(text.strip())
        labels.append(LABEL_IDS[lab.strip()])
    return texts, labels


def load_banking77(folder: Path, split: str) -> tuple[list[str], list[str]]:
    with open(folder / f"{split}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def load_clinc(folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    data = json.loads((folder / "data_oos_plus.json").read_text())
    return {k: ([t for t, _ in v], [lab for _, lab in v]) for k, v in data.items()}
