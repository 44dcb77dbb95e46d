"""Build a BERT encoder as an ONNX graph directly from safetensors weights.

No torch and no exporter: the graph is written op by op with `onnx.helper`,
using only standard ONNX ops at opset 17 (LayerNormalization is opset 17).

Inputs  (int64, dynamic axes): input_ids, attention_mask, token_type_ids  [batch, seq]
Outputs (one of):
  * head="embedding":  sentence_embedding float32 [batch, hidden]
        = attention-masked mean of the last hidden state, L2-normalised
          (exactly sentence-transformers' Pooling(mean) + Normalize()).
  * head="classifier": probabilities float32 [batch, n_classes]
        = softmax(W · meanpool(last hidden) + b) (mean pooling NOT normalised),
          used for the fine-tuned sentiment model.
  * head="both": both outputs from ONE pass of one trunk (models/understanding.onnx):
        sentence_embedding = L2-normalised mean pool, probabilities = softmax of
        the classifier over the same (unnormalised) mean pool; with `branch` the
        top layers are duplicated (shared bottom, one top stack per output).
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class _G:
    """Tiny graph-building helper that invents unique tensor names."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x, w, b, prefix):
        """x @ W^T + b with W stored [out, in] as in PyTorch."""
        wt = self.const(prefix + ".weight_t", w.T.astype(np.float32))
        bb = self.const(prefix + ".bias", b.astype(np.float32))
        return self.op("Add", [self.op("MatMul", [x, wt]), bb])

    def layer_norm(self, x, gamma, beta, eps, prefix):
        g = self.const(prefix + ".weight", gamma.astype(np.float32))
        b = self.const(prefix + ".bias", beta.astype(np.float32))
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=float(eps))


def build_bert(weights: dict, config: dict, head: str = "embedding", classifier=None,
               prefix: str = "", branch=None, fused_attention: bool = False) -> onnx.ModelProto:
    """weights: name -> np.ndarray using HF BertModel names (optionally under `prefix`).
    classifier: (W [n_classes, hidden], b [n_classes]) when head is "classifier" or "both".
    branch: None (one trunk), or (k, sentiment_weights) with head="both": the embeddings and the
    bottom k layers come from `weights` and are shared, then layers k.. of `weights` feed
    sentence_embedding and layers k.. of `sentiment_weights` (HF names) feed probabilities.
    fused_attention: each layer's self-attention as one ONNX Runtime `com.microsoft.Attention`
    operator (query, key and value packed into one [hidden, 3 * hidden] weight) instead of
    about fifteen standard ops; quantised, it becomes `QAttention`. The same arithmetic with
    fewer kernels: ONNX Runtime only, which is what the server runs."""
    W = lambda k: np.asarray(weights[prefix + k], dtype=np.float32)  # noqa: E731
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = config.get("layer_norm_eps", 1e-12)
    assert config.get("hidden_act", "gelu") == "gelu", "only exact (erf) GELU is implemented"

    g = _G()
    one = g.const("one_f", np.array(1.0, np.float32))
    neg_big = None if fused_attention else g.const("mask_neg", np.array(-10000.0, np.float32))

    # ---- embeddings -------------------------------------------------------
    word = g.op("Gather", [g.const("embeddings.word_embeddings.weight", W("embeddings.word_embeddings.weight")), "input_ids"], axis=0)
    # position embeddings: the first `seq` rows of the table (1-D starts/ends for Slice)
    seq_len = g.op("Slice", [g.op("Shape", ["input_ids"]), g.const("one_1d", np.array([1], np.int64)),
                             g.const("two_1d", np.array([2], np.int64))])
    pos = g.op("Slice", [g.const("embeddings.position_embeddings.weight", W("embeddings.position_embeddings.weight")),
                         g.const("zero_1d", np.array([0], np.int64)), seq_len, g.const("zero_axis", np.array([0], np.int64))])
    tt = g.op("Gather", [g.const("embeddings.token_type_embeddings.weight", W("embeddings.token_type_embeddings.weight")), "token_type_ids"], axis=0)
    x = g.op("Add", [g.op("Add", [word, pos]), tt])
    x = g.layer_norm(x, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"), eps, "embeddings.LayerNorm")

    # ---- attention mask: [batch, seq] -> additive bias [batch, 1, 1, seq] --
    # (the fused operator takes the 0/1 mask itself, as int32)
    mask_f = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    if fused_attention:
        mask_i = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)
    else:
        bias = g.op("Mul", [g.op("Sub", [one, mask_f]), neg_big])
        bias = g.op("Unsqueeze", [bias, g.const("axes12", np.array([1, 2], np.int64))])
        split_shape = g.const("shape_split", np.array([0, 0, heads, head_dim], np.int64))
        merge_shape = g.const("shape_merge", np.array([0, 0, hidden], np.int64))
        scale = g.const("attn_scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    sqrt2 = g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    half = g.const("half", np.array(0.5, np.float32))

    def fused_self_attention(x, Wf, p, n):
        """[b,s,hidden] -> [b,s,hidden] context, one Attention node (2-D 0/1 mask)."""
        parts = ("query", "key", "value")
        w = np.concatenate([Wf(p + f"attention.self.{t}.weight").T for t in parts], axis=1)
        b = np.concatenate([Wf(p + f"attention.self.{t}.bias") for t in parts])
        qkv_w = g.const(n + "attention.self.qkv.weight_t", w.astype(np.float32))
        qkv_b = g.const(n + "attention.self.qkv.bias", b.astype(np.float32))
        out = g.name("attention")
        g.nodes.append(helper.make_node("Attention", [x, qkv_w, qkv_b, mask_i], [out],
                                        domain="com.microsoft", num_heads=heads))
        return out

    # ---- transformer layers ----------------------------------------------
    def layer(x, Wf, i, name_prefix=""):
        p = f"encoder.layer.{i}."
        n = name_prefix + p
        if fused_attention:
            return rest_of_layer(x, fused_self_attention(x, Wf, p, n), Wf, p, n)
        q = g.linear(x, Wf(p + "attention.self.query.weight"), Wf(p + "attention.self.query.bias"), n + "attention.self.query")
        k = g.linear(x, Wf(p + "attention.self.key.weight"), Wf(p + "attention.self.key.bias"), n + "attention.self.key")
        v = g.linear(x, Wf(p + "attention.self.value.weight"), Wf(p + "attention.self.value.bias"), n + "attention.self.value")
        q = g.op("Transpose", [g.op("Reshape", [q, split_shape])], perm=[0, 2, 1, 3])  # [b,h,s,d]
        k = g.op("Transpose", [g.op("Reshape", [k, split_shape])], perm=[0, 2, 3, 1])  # [b,h,d,s]
        v = g.op("Transpose", [g.op("Reshape", [v, split_shape])], perm=[0, 2, 1, 3])  # [b,h,s,d]
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_shape])
        return rest_of_layer(x, ctx, Wf, p, n)

    def rest_of_layer(x, ctx, Wf, p, n):
        """Attention output projection, feed-forward block and both layer norms."""
        attn = g.linear(ctx, Wf(p + "attention.output.dense.weight"), Wf(p + "attention.output.dense.bias"), n + "attention.output.dense")
        x = g.layer_norm(g.op("Add", [attn, x]), Wf(p + "attention.output.LayerNorm.weight"),
                         Wf(p + "attention.output.LayerNorm.bias"), eps, n + "attention.output.LayerNorm")
        h = g.linear(x, Wf(p + "intermediate.dense.weight"), Wf(p + "intermediate.dense.bias"), n + "intermediate.dense")
        # exact GELU: 0.5 * h * (1 + erf(h / sqrt(2)))
        h = g.op("Mul", [g.op("Mul", [h, half]), g.op("Add", [g.op("Erf", [g.op("Div", [h, sqrt2])]), one])])
        out = g.linear(h, Wf(p + "output.dense.weight"), Wf(p + "output.dense.bias"), n + "output.dense")
        return g.layer_norm(g.op("Add", [out, x]), Wf(p + "output.LayerNorm.weight"), Wf(p + "output.LayerNorm.bias"),
                            eps, n + "output.LayerNorm")

    n_layers = config["num_hidden_layers"]
    shared = n_layers if branch is None else branch[0]
    for i in range(shared):
        x = layer(x, W, i)
    x_sent = x
    if branch is not None:  # two-branch graph: bottom `shared` layers shared, then one stack per output
        WS = lambda k: np.asarray(branch[1][k], dtype=np.float32)  # noqa: E731
        for i in range(shared, n_layers):
            x_sent = layer(x_sent, WS, i, "sentiment.")
            x = layer(x, W, i)

    # ---- masked mean pooling ---------------------------------------------
    m3 = g.op("Unsqueeze", [mask_f, g.const("axes2", np.array([2], np.int64))])  # [b,s,1]
    axis1 = g.const("axes1", np.array([1], np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [x, m3]), axis1], keepdims=0)        # [b,hidden]
    count = g.op("Max", [g.op("ReduceSum", [m3, axis1], keepdims=0), g.const("min_count", np.array(1e-9, np.float32))])
    mean = g.op("Div", [summed, count])
    mean_sent = mean
    if branch is not None:
        mean_sent = g.op("Div", [g.op("ReduceSum", [g.op("Mul", [x_sent, m3]), axis1], keepdims=0), count])

    if head not in ("embedding", "classifier", "both"):
        raise ValueError(head)
    outputs = []
    if head in ("embedding", "both"):
        norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [mean, mean]), axis1], keepdims=1)])
        norm = g.op("Max", [norm, g.const("min_norm", np.array(1e-12, np.float32))])
        g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"]))
        outputs.append(helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden]))
    if head in ("classifier", "both"):
        cw, cb = classifier
        logits = g.linear(mean_sent, np.asarray(cw, np.float32), np.asarray(cb, np.float32), "classifier")
        g.nodes.append(helper.make_node("Softmax", [logits], ["probabilities"], axis=-1))
        outputs.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", int(np.asarray(cw).shape[0])]))

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    graph = helper.make_graph(g.nodes, "bert_" + head, inputs, outputs, initializer=g.inits)
    opsets = [helper.make_opsetid("", OPSET)]
    if fused_attention:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="frontdesk-recipe")
    model.ir_version = 8  # readable by every onnxruntime >= 1.10
    onnx.checker.check_model(model)
    return model


def quantize_int8(fp32_path, int8_path):
    """Dynamic int8 quantisation, per-channel weights (per-tensor loses too much accuracy)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Shape inference does not see through ONNX Runtime's own operators (Attention): their
    # outputs are float32 here.
    quantize_dynamic(str(fp32_path), str(int8_path), per_channel=True, weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})
