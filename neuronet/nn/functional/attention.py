"""Attention (Bahdanau et al. 2015; Vaswani et al. 2017, "Attention Is All You Need").

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + B) V

with Q (*, L, E), K (*, S, E), V (*, S, E_v) and an additive bias B (*, L, S)
built from the masks (-inf where a query may not look at a key). The op is a
composition of batched matrix products, softmax and dropout, each with its
own hand-written backward, so the attention's gradient is their chain rule:
dV = P^T G, dP = G V^T, dS = softmax' (dP), dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d).

``multi_head_attention_forward`` is ``nn.MultiheadAttention``'s computation:
project to h heads of size d = E / h, attend in each, concatenate, project.
"""
from __future__ import annotations

import math

import numpy as np

from ...backend import array_module
from ...tensor import Tensor, cat
from .activation import softmax
from .dropout import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _as_bias(mask, dtype, name):
    """A mask as an additive float bias: a bool mask (True = may *not* attend)
    becomes -inf there and 0 elsewhere; a float mask is the bias itself."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a neuronet Tensor, received {type(mask).__name__}")
    if mask.dtype == np.bool_:
        xp = array_module(mask.array)
        return Tensor._wrap(xp.where(mask.array, xp.asarray(-np.inf, dtype=dtype), xp.asarray(0, dtype=dtype)))
    if mask.dtype.kind != "f":
        raise TypeError(f"only bool and floating types of {name} are supported, received {mask.dtype}")
    return mask if mask.dtype == dtype else mask.to(dtype)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
    is_causal=False, scale=None, enable_gqa=False): softmax(Q K^T * scale + B) V.

    Shapes: query (*, H_q, L, E), key (*, H, S, E), value (*, H, S, E_v) -> (*, H_q, L, E_v)
    (any leading dims). ``attn_mask``: bool (True = *may attend*, PyTorch's SDPA
    convention) or float (added), broadcastable to (*, L, S). ``is_causal``:
    query i attends to keys j <= i (top-left aligned). ``scale`` defaults to
    1/sqrt(E). ``enable_gqa``: key/value heads shared by groups of H_q / H query heads.
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a neuronet Tensor, received {type(t).__name__}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"{op}: query, key and value must have at least 2 dims (L, E), received "
                           f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: expected query (*, L, E), key (*, S, E), value (*, S, Ev); received "
                           f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: _scaled_dot_product_attention: Explicit attn_mask should not be set when "
                           "is_causal=True")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]
        if groups * key.shape[-3] != query.shape[-3]:
            raise RuntimeError(f"{op}: the number of query heads ({query.shape[-3]}) must be a multiple of the "
                               f"key/value heads ({key.shape[-3]}) with enable_gqa")
        key = key.repeat_interleave(groups, dim=-3)
        value = value.repeat_interleave(groups, dim=-3)
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * s
    xp = array_module(query.array)
    if is_causal:
        allowed = xp.tril(xp.ones((L, S), dtype=bool))
        scores = scores + Tensor._wrap(xp.where(allowed, 0, -np.inf).astype(scores.dtype))
    if attn_mask is not None:
        if isinstance(attn_mask, Tensor) and attn_mask.dtype == np.bool_:
            attn_mask = Tensor._wrap(~attn_mask.array)        # SDPA: True = may attend
        scores = scores + _as_bias(attn_mask, scores.dtype, "attn_mask")
    # A query row that may attend to nothing (every score -inf) gets zero weights and a
    # zero output, not 0/0 = NaN (PyTorch's "safe softmax" in SDPA); its gradient is 0.
    dead = (scores.array == -np.inf).all(-1, keepdims=True) if scores.shape[-1] else None
    if dead is not None and bool(dead.any()):
        dead = Tensor._wrap(dead)
        weights = softmax(scores.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    else:
        weights = softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


def _with_zero_column(mask):
    """A mask (..., S) extended by one key position that masks nothing (for bias_k / add_zero_attn)."""
    if mask is None:
        return None
    xp = array_module(mask.array)
    zero = Tensor._wrap(xp.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.array.dtype))
    return cat([mask, zero], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention on sequence-first inputs (PyTorch's layout and positional signature).

    query (L, N, E), key (S, N, E_k), value (S, N, E_v) -> output (L, N, E) and,
    with ``need_weights``, the attention weights (N, L, S) averaged over the heads
    (``average_attn_weights=False``: (N, h, L, S)). Masks: ``attn_mask`` (L, S) or
    (N h, L, S) and ``key_padding_mask`` (N, S), bool (True = may *not* attend) or
    float (added to the scores).

    Q = query W_q^T + b_q, K = key W_k^T + b_k, V = value W_v^T + b_v (W_q, W_k,
    W_v the three row blocks of ``in_proj_weight``, or the separate projection
    weights with ``use_separate_proj_weight``), split into h heads of size
    d = E / h; each head computes softmax(Q_h K_h^T / sqrt(d) + B) V_h; the heads
    are concatenated and projected by ``out_proj``. ``bias_k``/``bias_v`` (1, 1, E)
    append one learned key/value position and ``add_zero_attn`` one all-zero
    position; the masks grow by a column that masks nothing. ``static_k``/``static_v``
    are not supported (raise).
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k / static_v are not supported by neuronet")
    L, N, E = query.shape
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {E}")
    if E % num_heads:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    d = E // num_heads
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                 "v_proj_weight is None")
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        w_q, w_k, w_v = in_proj_weight.chunk(3, 0)
    b_q = b_k = b_v = None
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias.chunk(3, 0)
    q = linear(query, w_q, b_q)
    k = linear(key, w_k, b_k)
    v = linear(value, w_v, b_v)
    xp = array_module(query.array)
    if is_causal and attn_mask is None:
        attn_mask = Tensor._wrap(~xp.tril(xp.ones((L, key.shape[0]), dtype=bool)))
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be given or both be None")
    if bias_k is not None:
        k = cat([k, bias_k.reshape(1, 1, E).expand(1, N, E)], 0)
        v = cat([v, bias_v.reshape(1, 1, E).expand(1, N, E)], 0)
        attn_mask, key_padding_mask = _with_zero_column(attn_mask), _with_zero_column(key_padding_mask)
    # (L, N, E) -> (N h, L, d): PyTorch's head layout (batch-major, then head)
    S = k.shape[0]
    q = q.reshape(L, N * num_heads, d).transpose(0, 1)
    k = k.reshape(S, N * num_heads, d).transpose(0, 1)
    v = v.reshape(S, N * num_heads, d).transpose(0, 1)
    if add_zero_attn:
        zeros = Tensor._wrap(xp.zeros((N * num_heads, 1, d), dtype=q.array.dtype))
        k, v = cat([k, zeros], 1), cat([v, zeros], 1)
        attn_mask, key_padding_mask = _with_zero_column(attn_mask), _with_zero_column(key_padding_mask)
        S += 1

    bias = None
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(L, S)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (N * num_heads, L, S):
            raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                               f"{(N * num_heads, L, S)}.")
        bias = _as_bias(attn_mask, q.dtype, "attn_mask")
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (N, S):
            raise RuntimeError(f"expected key_padding_mask of shape {(N, S)}, received "
                               f"{tuple(key_padding_mask.shape)}")
        kp = _as_bias(key_padding_mask, q.dtype, "key_padding_mask")
        kp = kp.reshape(N, 1, 1, S).expand(N, num_heads, 1, S).reshape(N * num_heads, 1, S)
        bias = kp if bias is None else bias + kp

    scores = (q * (1.0 / math.sqrt(d))) @ k.transpose(1, 2)          # (N h, L, S)
    if bias is not None:
        scores = scores + bias
    weights = softmax(scores, -1)
    dropped = dropout(weights, dropout_p, True) if (dropout_p > 0 and training) else weights
    out = dropped @ v                                                 # (N h, L, d)
    out = out.transpose(0, 1).reshape(L * N, E)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(L, N, E)
    if not need_weights:
        return out, None
    weights = weights.reshape(N, num_heads, L, S)
    if average_attn_weights:
        weights = weights.mean(1)
    return out, weights
