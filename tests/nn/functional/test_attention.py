"""scaled_dot_product_attention and multi-head attention: a naive per-query
loop, gradcheck, and PyTorch (functional and nn.MultiheadAttention /
Transformer with masks)."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn as nn
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def naive_attention(q, k, v, allowed=None, scale=None):
    """softmax_j(q_i . k_j * scale) over the allowed j, one query at a time."""
    *lead, L, E = q.shape
    S = k.shape[-2]
    scale = 1 / math.sqrt(E) if scale is None else scale
    out = np.zeros(tuple(lead) + (L, v.shape[-1]))
    for idx in np.ndindex(*lead):
        for i in range(L):
            s = np.array([np.dot(q[idx][i], k[idx][j]) * scale for j in range(S)])
            if allowed is not None:
                s = np.where(allowed[i], s, -np.inf)
            w = np.exp(s - s.max())
            w /= w.sum()
            out[idx][i] = sum(w[j] * v[idx][j] for j in range(S))
    return out


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_naive_and_gradcheck(causal):
    q, k, v = randn(2, 4, 3, seed=1), randn(2, 4, 3, seed=2), randn(2, 4, 5, seed=3)
    allowed = np.tril(np.ones((4, 4), bool)) if causal else None
    out = F.scaled_dot_product_attention(nt.tensor(q), nt.tensor(k), nt.tensor(v), is_causal=causal)
    np.testing.assert_allclose(out.numpy(), naive_attention(q, k, v, allowed), atol=1e-12)
    check_grad(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=causal), q, k, v)


@requires_torch
@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal", "scale", "gqa"])
def test_sdpa_matches_torch(kind):
    q, k, v = randn(2, 4, 5, 3, seed=4), randn(2, 4, 6, 3, seed=5), randn(2, 4, 6, 2, seed=6)
    kw_nt, kw_th = {}, {}
    if kind == "bool":
        m = np.random.default_rng(7).random((5, 6)) < 0.7
        m[:, 0] = True                       # every query may attend somewhere
        kw_nt, kw_th = dict(attn_mask=nt.tensor(m)), dict(attn_mask=torch.tensor(m))
    elif kind == "float":
        m = randn(5, 6, seed=8)
        kw_nt, kw_th = dict(attn_mask=nt.tensor(m)), dict(attn_mask=torch.tensor(m))
    elif kind == "causal":
        kw_nt = kw_th = dict(is_causal=True)
    elif kind == "scale":
        kw_nt = kw_th = dict(scale=0.7)
    elif kind == "gqa":
        k, v = k[:, :2], v[:, :2]
        kw_nt = kw_th = dict(enable_gqa=True)
    compare_with_torch(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, **kw_nt),
                       lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, **kw_th), q, k, v, atol=1e-10)


def _load(mod, tmod):
    mod.double()
    tmod.double()
    mod.load_state_dict({k: v.numpy() for k, v in tmod.state_dict().items()})


@requires_torch
@pytest.mark.parametrize("mask", ["bool_attn", "float_attn", "padding", "both", "causal", "3d"])
def test_multihead_attention_masks_match_torch(mask):
    torch.manual_seed(0)
    tmod, mod = torch.nn.MultiheadAttention(8, 2), nn.MultiheadAttention(8, 2)
    _load(mod, tmod)
    L, S, N = 4, 5, 3
    rng = np.random.default_rng(9)
    am = rng.random((L, S)) < 0.3
    am[:, 0] = False
    kp = np.zeros((N, S), bool)
    kp[0, 3:] = True
    kw = {"bool_attn": dict(attn_mask=am), "float_attn": dict(attn_mask=randn(L, S, seed=10)),
          "padding": dict(key_padding_mask=kp), "both": dict(attn_mask=am, key_padding_mask=kp),
          "causal": dict(attn_mask=np.triu(np.ones((L, S), bool), 1), is_causal=True),
          "3d": dict(attn_mask=randn(N * 2, L, S, seed=11), average_attn_weights=False)}[mask]
    to_nt = {k: (nt.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    to_th = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    compare_with_torch(lambda q, k, v: mod(q, k, v, **to_nt), lambda q, k, v: tmod(q, k, v, **to_th),
                       randn(L, N, 8, seed=1), randn(S, N, 8, seed=2), randn(S, N, 8, seed=3), atol=1e-10)


@requires_torch
def test_transformer_with_causal_and_padding_masks_matches_torch():
    torch.manual_seed(0)
    tmod = torch.nn.Transformer(8, 2, 2, 2, 16, 0.0, batch_first=True)
    mod = nn.Transformer(8, 2, 2, 2, 16, 0.0, batch_first=True)
    _load(mod, tmod)
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=nt.float64)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    pad = np.zeros((2, 5), bool)
    pad[1, 4] = True
    compare_with_torch(
        lambda s, t: mod(s, t, tgt_mask=mask, src_key_padding_mask=nt.tensor(pad),
                         memory_key_padding_mask=nt.tensor(pad)),
        lambda s, t: tmod(s, t, tgt_mask=tmask, src_key_padding_mask=torch.tensor(pad),
                          memory_key_padding_mask=torch.tensor(pad)),
        randn(2, 5, 8, seed=4), randn(2, 4, 8, seed=5), atol=1e-9)


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(7, 2)
    mha = nn.MultiheadAttention(8, 2)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        mha(nt.randn(4, 1, 8), nt.randn(5, 1, 8), nt.randn(5, 1, 8), attn_mask=nt.zeros(4, 4))
