"""A Python peer of frontdesk's customer turn, for side-by-side benchmarks.

FastAPI + uvicorn (uvloop, httptools, websockets), onnxruntime with the
same model files as frontdesk, the same intent classifier (trained at
start from intents/*.yaml), the same hybrid FAQ ranking over the demo FAQ
and the same reply and escalation policy, and a durable sqlite store (WAL,
synchronous=FULL, one writer thread with group commit). It speaks enough
of protocol v1 (docs/protocol.md) for `loadgen`; see README.md for what
it leaves out.

    python benches/peer/server.py --models DIR --port P --data DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import math
import os
import queue
import re
import secrets
import sqlite3
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import bm25s
import numpy as np
import onnxruntime as ort
import orjson
import Stemmer
import uvicorn
import yaml
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected
from fastapi.responses import JSONResponse
from tokenizers import Tokenizer

REPO = Path(__file__).resolve().parents[2]

# --- settings: frontdesk's defaults (src/config.rs, src/faq, src/nlu) -------

MAX_TOKENS = 128
DIM = 384
# Intent classifier (src/nlu/classifier.rs, src/nlu/intents.rs).
EPOCHS, LEARNING_RATE, L2, SCALE = 150, 0.05, 1e-4, 10.0
MIN_PROBABILITY, MIN_SIMILARITY = 0.5, 0.6
# FAQ search (src/faq/mod.rs, src/faq/confidence.rs, src/turn/understand.rs).
BM25_CANDIDATES, SEMANTIC_CANDIDATES, CANDIDATES = 10, 5, 5
BM25_HALF, BM25_WEIGHT = 6.0, 0.3
SCORE_FLOOR, SCORE_SPAN, SHARPNESS = 0.5, 0.4, 20.0
FIELD_BOOSTS = {"question": 2.0, "phrasings": 1.5, "answer": 0.5, "tags": 1.0}
BM25_K1, BM25_B = 1.2, 0.75
# Bot and escalation policy (src/config.rs).
ANSWER_CONFIDENCE, SUGGESTIONS, SUGGEST_OVER_INTENT = 0.8, 3, 0.2
STRONG_NEGATIVE, TREND_TURNS, TREND_NEGATIVE, UNRESOLVED_TURNS = 0.96, 3, 0.8, 3
MAX_MESSAGE_CHARS = 2000

CLARIFY_WITH_SUGGESTIONS = "I'm not sure I understood. Did you mean one of these questions?"
CLARIFY_WITHOUT_SUGGESTIONS = "I'm not sure I can answer that. Could you say it in other words?"
NOBODY_ONLINE = (
    "No one from our team is online right now. Leave your email and a message "
    "and we will get back to you."
)

# --- text analysis for BM25: tantivy's SimpleTokenizer, RemoveLong(40),
# LowerCaser, the English (Lucene) stop words and the Snowball English
# stemmer, as in src/faq/index.rs --------------------------------------------

STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such "
    "that the their then there these they this to was will with".split()
)
WORD = re.compile(r"[^\W_]+")
_stemmer = threading.local()


def analyze(text: str) -> list[str]:
    stem = getattr(_stemmer, "s", None)
    if stem is None:
        stem = _stemmer.s = Stemmer.Stemmer("english")
    words = [
        w.lower()
        for w in WORD.findall(text)
        if len(w.encode()) < 40  # RemoveLongFilter::limit(40)
    ]
    return stem.stemWords([w for w in words if w not in STOP_WORDS])


# --- the models --------------------------------------------------------------


def session_options() -> ort.SessionOptions:
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    o.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # As frontdesk's sessions: without the skip-layer-norm fusion, which is
    # slower for one short text and changes the scores in the last digits.
    o.add_session_config_entry("optimization.disable_specified_optimizers", "SkipLayerNormFusion")
    return o


class Models:
    """Tokenizer and ONNX sessions: `understanding.onnx` (one pass giving
    the embedding and the sentiment) if present, else `encoder.onnx` and
    `sentiment.onnx` (two passes over the same tokens)."""

    def __init__(self, directory: Path):
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        one = directory / "understanding.onnx"
        opts = session_options()
        providers = ["CPUExecutionProvider"]
        if one.is_file():
            self.graphs = [
                (ort.InferenceSession(str(one), opts, providers=providers),
                 ["sentence_embedding", "probabilities"])
            ]
        else:
            self.graphs = [
                (ort.InferenceSession(str(directory / "encoder.onnx"), opts, providers=providers),
                 ["sentence_embedding"]),
                (ort.InferenceSession(str(directory / "sentiment.onnx"), opts, providers=providers),
                 ["probabilities"]),
            ]
        self.input_names = [
            {i.name for i in session.get_inputs()} for session, _ in self.graphs
        ]

    def encode(self, texts: list[str], sentiment: bool = True):
        """Embeddings [b, 384] and sentiment probabilities [b, 3]."""
        enc = self.tokenizer.encode_batch(texts) if len(texts) > 1 else [self.tokenizer.encode(texts[0])]
        seq = max(len(e.ids) for e in enc)
        ids = np.zeros((len(enc), seq), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for i, e in enumerate(enc):
            n = len(e.ids)
            ids[i, :n] = e.ids
            mask[i, :n] = e.attention_mask
            types[i, :n] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        out: dict[str, np.ndarray] = {}
        for (session, outputs), names in zip(self.graphs, self.input_names):
            if not sentiment and outputs == ["probabilities"]:
                continue
            for name, value in zip(
                outputs, session.run(outputs, {k: v for k, v in feed.items() if k in names})
            ):
                out[name] = value
        probs = out.get("probabilities")
        if probs is None:
            probs = np.zeros((len(texts), 3), dtype=np.float32)
        return out["sentence_embedding"], probs


# --- the intent classifier (src/nlu/classifier.rs) --------------------------


class Intents:
    def __init__(self, directory: Path, models: Models):
        files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
        self.defs = [yaml.safe_load(p.read_text()) for p in files]
        self.by_name = {d["name"]: d for d in self.defs}
        texts, labels = [], []
        for c, d in enumerate(self.defs):
            texts += d["examples"]
            labels += [c] * len(d["examples"])
        x = embed_all(models, texts)
        self.examples, self.labels = x, np.asarray(labels)
        self.w, self.b = train(x, self.labels, len(self.defs))

    def classify(self, e: np.ndarray):
        """(name or None, probability, similarity)."""
        logits = SCALE * (self.w @ e + self.b)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        c = int(np.argmax(p))
        similarity = float((self.examples[self.labels == c] @ e).max())
        probability = float(p[c])
        in_scope = probability >= MIN_PROBABILITY and similarity >= MIN_SIMILARITY
        return (self.defs[c]["name"] if in_scope else None), probability, similarity


def train(x: np.ndarray, labels: np.ndarray, classes: int):
    """Multinomial logistic regression, full-batch Adam with L2 decay, with
    frontdesk's defaults."""
    n, dim = x.shape
    y = np.zeros((n, classes), dtype=np.float32)
    y[np.arange(n), labels] = 1.0
    w = np.zeros((classes, dim), dtype=np.float32)
    b = np.zeros(classes, dtype=np.float32)
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for epoch in range(1, EPOCHS + 1):
        logits = SCALE * (x @ w.T + b)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        err = SCALE * (p - y) / n
        gw = err.T @ x + L2 * w
        gb = err.sum(axis=0)
        c1, c2 = 1 - beta1**epoch, 1 - beta2**epoch
        for param, g, m, v in ((w, gw, mw, vw), (b, gb, mb, vb)):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            param -= LEARNING_RATE * (m / c1) / (np.sqrt(v / c2) + eps)
    return w, b


def embed_all(models: Models, texts: list[str]) -> np.ndarray:
    out = [models.encode(texts[i:i + 32], sentiment=False)[0] for i in range(0, len(texts), 32)]
    return np.concatenate(out).astype(np.float32)


# --- the FAQ: BM25 (bm25s, one index per field, tantivy's boosts) plus
# cosine similarity to each entry's question and phrasings -----------------


class Faq:
    def __init__(self, path: Path, models: Models):
        raw = yaml.safe_load(path.read_text())
        self.entries = []
        for e in raw:
            self.entries.append({
                "id": e["id"],
                "question": e["question"].strip(),
                "answer": e["answer"].strip(),
                "phrasings": [p.strip() for p in e.get("phrasings") or [] if p.strip()],
                "tags": [t.strip() for t in e.get("tags") or [] if t.strip()],
            })
        self.indexes = {}
        for name in FIELD_BOOSTS:
            docs = []
            for e in self.entries:
                v = e[name]
                docs.append(analyze(" ".join(v) if isinstance(v, list) else v))
            index = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
            index.index(docs, show_progress=False)
            self.indexes[name] = index
        texts, owners = [], []
        for i, e in enumerate(self.entries):
            for t in [e["question"], *e["phrasings"]]:
                texts.append(t)
                owners.append(i)
        self.vectors = embed_all(models, texts)
        self.owners = np.asarray(owners)
        self.n = len(self.entries)

    def bm25(self, text: str) -> np.ndarray:
        """BM25 score of every entry, summed over the fields with their
        boosts. bm25s' Lucene variant leaves out tantivy's (k1 + 1) factor."""
        tokens = analyze(text)
        total = np.zeros(self.n, dtype=np.float32)
        for name, boost in FIELD_BOOSTS.items():
            index = self.indexes[name]
            ids = index.get_tokens_ids(tokens)
            if ids:
                total += boost * (BM25_K1 + 1) * index.get_scores_from_ids(ids)
        return total

    def search(self, text: str, embedding: np.ndarray):
        """Hits, best first: (entry, bm25, similarity)."""
        scores = self.bm25(text)
        matched = np.flatnonzero(scores > 0)
        order = matched[np.argsort(-scores[matched], kind="stable")][:BM25_CANDIDATES]
        sims = np.full(self.n, -np.inf, dtype=np.float32)
        np.maximum.at(sims, self.owners, self.vectors @ embedding)
        scored = [(int(i), float(scores[i]), float(sims[i])) for i in order]
        known = set(int(i) for i in order)
        for i in np.argsort(-sims, kind="stable")[:SEMANTIC_CANDIDATES]:
            if int(i) not in known:
                scored.append((int(i), 0.0, float(sims[i])))
        scored.sort(key=lambda s: -hybrid_score(s[1], s[2]))
        return scored[:CANDIDATES]


def hybrid_score(bm25: float, similarity: float) -> float:
    return similarity + BM25_WEIGHT * bm25 / (bm25 + BM25_HALF)


def calibrate(found):
    """0..1 confidence of each hit (src/faq/confidence.rs)."""
    ranks = [hybrid_score(b, s) for _, b, s in found]
    if not ranks:
        return []
    top = max(ranks)
    weights = [math.exp(SHARPNESS * (r - top)) for r in ranks]
    total = sum(weights)
    return [float(min(max((r - SCORE_FLOOR) / SCORE_SPAN, 0.0), 1.0) * w / total) for r, w in zip(ranks, weights)]


# --- understanding and the bot's policy --------------------------------------


@dataclass
class Understood:
    negative: float
    sentiment: list[float]
    intent: str | None
    intent_confidence: float
    intent_similarity: float
    # (entry index, bm25, similarity, confidence), best first.
    candidates: list


class Brain:
    def __init__(self, models_dir: Path, intents_dir: Path, faq_path: Path, shared: bool, threads: int):
        t0 = time.monotonic()
        self.models_dir = models_dir
        self.models = Models(models_dir)
        self.intents = Intents(intents_dir, self.models)
        self.faq = Faq(faq_path, self.models)
        self.shared = shared
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="infer",
                                       initializer=self._init_thread)
        print(f"peer: models, {len(self.intents.defs)} intents and {self.faq.n} FAQ entries "
              f"loaded in {time.monotonic() - t0:.1f} s ({threads} inference threads, "
              f"{'one shared session' if shared else 'one session per thread'})",
              file=sys.stderr, flush=True)

    def _init_thread(self):
        self.local.models = self.models if self.shared else Models(self.models_dir)

    def understand(self, text: str) -> Understood:
        """Runs on an inference thread: the models, the intent and the FAQ."""
        emb, probs = self.local.models.encode([text])
        e, p = emb[0], probs[0]
        intent, confidence, similarity = self.intents.classify(e)
        found = self.faq.search(text, e)
        conf = calibrate(found)
        return Understood(
            negative=float(p[0]), sentiment=[float(x) for x in p],
            intent=intent, intent_confidence=confidence, intent_similarity=similarity,
            candidates=[(i, b, s, c) for (i, b, s), c in zip(found, conf)],
        )

    def plan(self, u: Understood, history: "History"):
        """(reason, reply dict or None, escalation (code, text) or None):
        src/turn/plan.rs, src/dialogue/mod.rs, src/dialogue/escalation.rs."""
        d = self.intents.by_name.get(u.intent) if u.intent else None
        responses = (d or {}).get("responses") or []
        needs_human = bool(d and (d.get("escalate") or d.get("handoff")))
        reply = None
        if d and needs_human and responses:
            reason, reply = "intent_match", {"text": responses[0]}
        elif u.candidates and u.candidates[0][3] >= ANSWER_CONFIDENCE:
            entry = self.faq.entries[u.candidates[0][0]]
            reason, reply = "faq_match", {"text": entry["answer"], "faq_id": entry["id"]}
        elif d and responses and not (u.candidates and u.candidates[0][3] >= SUGGEST_OVER_INTENT):
            reason, reply = "intent_match", {"text": responses[0]}
        else:
            suggestions = [self.faq.entries[c[0]]["question"] for c in u.candidates if c[3] > 0.0][:SUGGESTIONS]
            reason = "low_confidence" if suggestions else "no_match"
        escalation = assess(history, u, d, reason in ("faq_match", "intent_match"))
        if reply is None and escalation is None:
            reply = {"text": CLARIFY_WITH_SUGGESTIONS if suggestions else CLARIFY_WITHOUT_SUGGESTIONS}
            if suggestions:
                reply["suggestions"] = suggestions
        return reason, reply, escalation


@dataclass
class History:
    negatives: list = field(default_factory=list)
    unresolved_streak: int = 0
    not_helpful: bool = False


ESCALATION_TEXT = {
    "handoff_requested": "You asked for a person, so I'm bringing in someone from our team.",
    "intent_needs_human": "This needs a person from our team, so I'm bringing one in.",
    "negative_sentiment": "I'm sorry this has been frustrating. I'm bringing in a person from our team.",
    "negative_trend": "I'm sorry this has been frustrating. I'm bringing in a person from our team.",
    "not_helpful": "My answers haven't helped, so I'm bringing in a person from our team.",
    "unresolved": "I haven't been able to answer your questions, so I'm bringing in a person from our team.",
}


def assess(h: History, u: Understood, d, resolved: bool):
    if d and d.get("handoff"):
        return "handoff_requested"
    if d and d.get("escalate"):
        return "intent_needs_human"
    if u.negative >= STRONG_NEGATIVE:
        return "negative_sentiment"
    earlier = TREND_TURNS - 1
    if len(h.negatives) >= earlier:
        recent = h.negatives[len(h.negatives) - earlier:]
        if (sum(recent) + u.negative) / (len(recent) + 1) >= TREND_NEGATIVE:
            return "negative_trend"
    if resolved:
        return None
    if h.not_helpful:
        return "not_helpful"
    return "unresolved" if h.unresolved_streak + 1 >= UNRESOLVED_TURNS else None


# --- the durable store: sqlite, WAL, synchronous=FULL, one writer thread
# that commits whatever is waiting in one transaction (group commit) ------

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL, created_at TEXT NOT NULL, closed_at TEXT);
CREATE TABLE IF NOT EXISTS messages (
  conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, sender TEXT NOT NULL, text TEXT NOT NULL,
  at TEXT NOT NULL, client_id TEXT, faq_id TEXT, suggestions TEXT, reason TEXT, analysis TEXT,
  PRIMARY KEY (conversation_id, seq));
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id ON messages (conversation_id, client_id)
  WHERE client_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, kind TEXT NOT NULL, data TEXT, at TEXT NOT NULL);
"""


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # WAL + FULL: the commit fsyncs the log
    db.execute("PRAGMA busy_timeout=5000")
    return db


class Store:
    def __init__(self, path: Path):
        self.path = path
        self.db = connect(path)
        self.db.executescript(SCHEMA)
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self.thread.start()

    def write(self, statements: list) -> asyncio.Future:
        """Run `statements` ([(sql, params)]) in one transaction; the future
        resolves once the commit is on disk."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.q.put((statements, loop, fut))
        return fut

    def _run(self):
        db = self.db
        while True:
            batch = [self.q.get()]
            while True:
                try:
                    batch.append(self.q.get_nowait())
                except queue.Empty:
                    break
            results = []
            db.execute("BEGIN IMMEDIATE")
            for statements, _, _ in batch:
                db.execute("SAVEPOINT w")
                try:
                    for sql, params in statements:
                        db.execute(sql, params)
                    db.execute("RELEASE w")
                    results.append(None)
                except sqlite3.Error as e:
                    db.execute("ROLLBACK TO w")
                    db.execute("RELEASE w")
                    results.append(e)
            try:
                db.execute("COMMIT")
            except sqlite3.Error as e:
                results = [e] * len(batch)
            for (_, loop, fut), err in zip(batch, results):
                loop.call_soon_threadsafe(_settle, fut, err)

    def read(self, sql: str, params=()):
        db = sqlite3.connect(self.path)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()


def _settle(fut: asyncio.Future, err):
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(err)


# --- conversations and the socket --------------------------------------------


def now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Conversation:
    id: str
    customer_id: str
    token_hash: str
    status: str = "bot"
    stored: bool = False
    last_seq: int = 0
    client_ids: dict = field(default_factory=dict)
    answered_seq: int = 0
    history: History = field(default_factory=History)
    sockets: set = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Peer:
    def __init__(self, brain: Brain, store: Store):
        self.brain, self.store = brain, store
        self.by_token: dict[str, Conversation] = {}
        self.queued: list[str] = []

    async def resume(self, token: str) -> Conversation | None:
        h = hashlib.sha256(token.encode()).hexdigest()
        c = self.by_token.get(h)
        if c is not None or len(token) > 128:
            return c
        rows = await asyncio.to_thread(
            self.store.read, "SELECT id, customer_id, status FROM conversations WHERE token_hash=?", (h,))
        if not rows:
            return None
        cid, customer, status = rows[0]
        c = Conversation(cid, customer, h, status=status, stored=True)
        msgs = await asyncio.to_thread(
            self.store.read,
            "SELECT seq, sender, client_id, reason, analysis FROM messages WHERE conversation_id=? ORDER BY seq",
            (cid,))
        for seq, sender, client_id, reason, analysis in msgs:
            c.last_seq = seq
            if client_id and sender == "customer":
                c.client_ids[client_id] = seq
            if sender == "customer" and analysis:
                c.history.negatives.append(orjson.loads(analysis)["sentiment"][0])
            elif sender == "bot":
                c.answered_seq = seq - 1
                if reason in ("faq_match", "intent_match"):
                    c.history.unresolved_streak, c.history.not_helpful = 0, False
                else:
                    c.history.unresolved_streak += 1
        self.by_token[h] = c
        return c

    async def replay(self, ws: WebSocket, c: Conversation, after: int):
        rows = await asyncio.to_thread(
            self.store.read,
            "SELECT seq, sender, text, at, client_id, faq_id, suggestions FROM messages "
            "WHERE conversation_id=? AND seq>? ORDER BY seq", (c.id, after))
        for seq, sender, text, at, client_id, faq_id, suggestions in rows:
            f = {"type": "message", "seq": seq, "from": sender, "text": text, "at": at}
            if client_id:
                f["client_id"] = client_id
            if suggestions:
                f["suggestions"] = orjson.loads(suggestions)
            if faq_id:
                f["faq_id"] = faq_id
            await send(ws, f)

    def queue_status(self, c: Conversation, reason: str | None = None) -> dict:
        return {"type": "status", "status": "queued", "position": self.queued.index(c.id) + 1,
                "reason": NOBODY_ONLINE, "agents_online": False}

    async def broadcast(self, c: Conversation, frame: dict):
        data = orjson.dumps(frame).decode()
        for ws in list(c.sockets):
            try:
                await ws.send_text(data)
            except Exception:
                c.sockets.discard(ws)

    async def message(self, ws: WebSocket, c: Conversation, frame: dict):
        client_id, text = frame.get("client_id"), frame.get("text")
        if (not isinstance(client_id, str) or not 1 <= len(client_id) <= 64
                or any(ord(ch) < 32 or ord(ch) == 127 for ch in client_id)):
            return await error(ws, "bad_frame", "client_id must be 1-64 printable characters")
        if not isinstance(text, str):
            return await error(ws, "bad_frame", "frame does not match protocol v1", client_id)
        text = text.strip()
        if not text:
            return await error(ws, "bad_frame", "the message text is empty", client_id)
        if len(text) > MAX_MESSAGE_CHARS:
            return await error(ws, "too_large", f"messages are limited to {MAX_MESSAGE_CHARS} characters", client_id)
        async with c.lock:
            loop = asyncio.get_running_loop()
            u = await loop.run_in_executor(self.brain.pool, self.brain.understand, text)
            seq = c.client_ids.get(client_id)
            if seq is not None:
                await send(ws, {"type": "ack", "client_id": client_id, "seq": seq})
                if seq == c.last_seq and c.status == "bot":
                    await self.reply(c, u)
                return
            if c.status == "closed":
                return await error(ws, "conflict", "this conversation is closed; start a new one", client_id)
            seq = c.last_seq + 1
            at = now()
            analysis = orjson.dumps({
                "sentiment": u.sentiment,
                "intent": {"name": u.intent, "confidence": u.intent_confidence, "similarity": u.intent_similarity},
                "faq": [{"id": self.brain.faq.entries[i]["id"], "bm25": b, "similarity": s, "confidence": cf}
                        for i, b, s, cf in u.candidates[:3]],
            }).decode()
            statements = []
            if not c.stored:
                statements += [
                    ("INSERT INTO customers (id, created_at) VALUES (?, ?)", (c.customer_id, at)),
                    ("INSERT INTO conversations (id, customer_id, token_hash, status, created_at) "
                     "VALUES (?, ?, ?, 'bot', ?)", (c.id, c.customer_id, c.token_hash, at)),
                ]
            statements.append((
                "INSERT INTO messages (conversation_id, seq, sender, text, at, client_id, analysis) "
                "VALUES (?, ?, 'customer', ?, ?, ?, ?)", (c.id, seq, text, at, client_id, analysis)))
            try:
                await self.store.write(statements)
            except sqlite3.Error:
                return await error(ws, "internal", "the message could not be stored", client_id)
            c.stored = True
            c.last_seq = seq
            c.client_ids[client_id] = seq
            await send(ws, {"type": "ack", "client_id": client_id, "seq": seq})
            await self.broadcast(c, {"type": "message", "seq": seq, "from": "customer", "text": text,
                                     "at": at, "client_id": client_id})
            if c.status == "bot":
                await self.reply(c, u)
            c.history.negatives.append(u.negative)

    async def reply(self, c: Conversation, u: Understood):
        await self.broadcast(c, {"type": "typing", "from": "bot"})
        reason, reply, escalation = self.brain.plan(u, c.history)
        if reply is not None:
            seq = c.last_seq + 1
            at = now()
            suggestions = reply.get("suggestions")
            try:
                await self.store.write([(
                    "INSERT INTO messages (conversation_id, seq, sender, text, at, faq_id, suggestions, reason) "
                    "VALUES (?, ?, 'bot', ?, ?, ?, ?, ?)",
                    (c.id, seq, reply["text"], at, reply.get("faq_id"),
                     orjson.dumps(suggestions).decode() if suggestions else None, reason))])
            except sqlite3.Error:
                for ws in list(c.sockets):
                    await error(ws, "unavailable", "the assistant cannot answer right now; please try again")
                return
            c.last_seq = seq
            c.answered_seq = seq - 1
            f = {"type": "message", "seq": seq, "from": "bot", "text": reply["text"], "at": at}
            if suggestions:
                f["suggestions"] = suggestions
            if "faq_id" in reply:
                f["faq_id"] = reply["faq_id"]
            await self.broadcast(c, f)
        if reason in ("faq_match", "intent_match"):
            c.history.unresolved_streak, c.history.not_helpful = 0, False
        else:
            c.history.unresolved_streak += 1
        if escalation is not None:
            await self.store.write([
                ("UPDATE conversations SET status='queued' WHERE id=?", (c.id,)),
                ("INSERT INTO events (conversation_id, kind, data, at) VALUES (?, 'escalated', ?, ?)",
                 (c.id, orjson.dumps({"code": escalation, "message": ESCALATION_TEXT[escalation],
                                      "negative": u.negative}).decode(), now())),
            ])
            c.status = "queued"
            self.queued.append(c.id)
            await self.broadcast(c, self.queue_status(c))

    async def event(self, c: Conversation, kind: str, data: dict):
        if c.stored:
            await self.store.write([(
                "INSERT INTO events (conversation_id, kind, data, at) VALUES (?, ?, ?, ?)",
                (c.id, kind, orjson.dumps(data).decode(), now()))])

    async def close(self, ws: WebSocket, c: Conversation):
        async with c.lock:
            if c.status == "closed":
                return await send(ws, {"type": "status", "status": "closed"})
            if c.stored:
                at = now()
                await self.store.write([
                    ("UPDATE conversations SET status='closed', closed_at=? WHERE id=?", (at, c.id)),
                    ("INSERT INTO events (conversation_id, kind, data, at) VALUES (?, 'conversation_closed', ?, ?)",
                     (c.id, '{"by":"customer"}', at))])
                if c.id in self.queued:
                    self.queued.remove(c.id)
                c.status = "closed"
                await self.broadcast(c, {"type": "status", "status": "closed"})
            else:
                await send(ws, {"type": "status", "status": "closed"})


async def send(ws: WebSocket, frame: dict):
    await ws.send_text(orjson.dumps(frame).decode())


async def error(ws: WebSocket, code: str, message: str, client_id: str | None = None):
    f = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        f["client_id"] = client_id
    await send(ws, f)


def build_app(args) -> FastAPI:
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await startup()
        yield

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    async def startup():
        args.data.mkdir(parents=True, exist_ok=True)
        store = Store(args.data / "peer.sqlite3")
        brain = await asyncio.to_thread(
            Brain, args.models, args.intents, args.faq, args.sessions == "shared", args.threads)
        # Start every inference thread (and its session) before serving.
        await asyncio.gather(*[
            asyncio.get_running_loop().run_in_executor(brain.pool, brain.understand, "warm up")
            for _ in range(args.threads)])
        state["peer"] = Peer(brain, store)
        print(f"peer listening on http://127.0.0.1:{args.port}", file=sys.stderr, flush=True)

    @app.get("/readyz")
    async def readyz():
        if "peer" in state:
            return {"status": "ready"}
        return JSONResponse({"status": "starting"}, status_code=503)

    @app.websocket("/v1/chat")
    async def chat(ws: WebSocket):
        await ws.accept()
        peer: Peer = state["peer"]
        c: Conversation | None = None
        try:
            while True:
                raw = await ws.receive_text()
                try:
                    frame = orjson.loads(raw)
                    kind = frame["type"]
                except Exception:
                    await error(ws, "bad_frame", "frames must be JSON objects with a type")
                    continue
                if c is None:
                    if kind != "hello":
                        await error(ws, "bad_frame", "the first frame must be hello")
                        continue
                    token = frame.get("resume_token")
                    c = await peer.resume(token) if isinstance(token, str) else None
                    resumed = c is not None
                    if c is None:
                        token = "rt_" + secrets.token_hex(32)
                        h = hashlib.sha256(token.encode()).hexdigest()
                        c = Conversation(str(uuid.uuid4()), str(uuid.uuid4()), h)
                        peer.by_token[h] = c
                    await send(ws, {"type": "welcome", "conversation_id": c.id, "customer_id": c.customer_id,
                                    "resume_token": token, "resumed": resumed, "status": c.status})
                    if resumed:
                        last = frame.get("last_seq") or 0
                        await peer.replay(ws, c, min(int(last), c.last_seq))
                        if c.status == "queued":
                            await send(ws, peer.queue_status(c))
                    c.sockets.add(ws)
                elif kind == "message":
                    await peer.message(ws, c, frame)
                elif kind == "hello":
                    await error(ws, "conflict", "hello was already received")
                elif kind == "typing":
                    pass
                elif kind == "close":
                    await peer.close(ws, c)
                elif kind == "feedback":
                    await peer.event(c, "feedback", {"seq": frame.get("seq"), "helpful": frame.get("helpful")})
                    if frame.get("helpful") is False:
                        c.history.not_helpful = True
                elif kind == "rating":
                    await peer.event(c, "rating", {"score": frame.get("score"), "comment": frame.get("comment")})
                else:
                    await error(ws, "bad_frame", f"unknown frame type {kind!r}")
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass
        finally:
            if c is not None:
                c.sockets.discard(ws)

    return app


def bench_inference(args):
    """Texts per second through the inference pool, shared session against
    one session per thread, with loadgen's kind of questions."""
    texts = ["How long do I have to return an item?", "Do you ship to Switzerland?",
             "I forgot my password, how do I reset it?", "The jacket arrived torn, this is unacceptable",
             "Hi there", "Can I pay with PayPal or by invoice?", "When will I get my refund?",
             "This is the third time my order is late, I'm really annoyed"] * 50
    for shared in (True, False):
        brain = Brain(args.models, args.intents, args.faq, shared, args.threads)
        list(brain.pool.map(brain.understand, texts[:args.threads * 4]))
        for _ in range(2):
            t0 = time.perf_counter()
            list(brain.pool.map(brain.understand, texts))
            dt = time.perf_counter() - t0
            print(f"{'shared' if shared else 'per-thread'} sessions, {args.threads} threads: "
                  f"{len(texts) / dt:.1f} turns/s of understanding", flush=True)
        brain.pool.shutdown()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=Path, default=REPO / "models")
    p.add_argument("--intents", type=Path, default=REPO / "intents")
    p.add_argument("--faq", type=Path, default=REPO / "src" / "faq" / "demo.yaml")
    p.add_argument("--data", type=Path, default=Path("peer-data"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="inference threads (default: the number of cores)")
    p.add_argument("--sessions", choices=("shared", "per-thread"), default="shared",
                   help="one ONNX session shared by the inference threads, or one each")
    p.add_argument("--bench-inference", action="store_true",
                   help="measure the inference pool with both session layouts and exit")
    args = p.parse_args()
    if args.bench_inference:
        return bench_inference(args)
    uvicorn.run(build_app(args), host=args.host, port=args.port, loop="uvloop", http="httptools",
                ws="websockets", ws_max_size=65536, workers=1, log_level="warning", access_log=False,
                lifespan="on")


if __name__ == "__main__":
    main()
