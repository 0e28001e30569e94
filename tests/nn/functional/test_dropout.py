"""dropout, dropout2d, alpha_dropout.

Masks are random, so PyTorch cannot be matched draw for draw: the tests check
the statistics (fraction kept), the exact values of kept and dropped units,
the identity at test time, the gradient (mask * scale), finite differences
with the mask fixed by reseeding, and the value sets PyTorch produces."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, randn, requires_torch, torch

SELU_SAT = 1.7580993408473766


def reseeded(fn, seed=123):
    """fn with the generator reseeded on every call, so the mask is the same for all
    the evaluations gradcheck makes."""
    def wrapped(*args):
        nt.manual_seed(seed)
        return fn(*args)
    return wrapped


# ---------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_keeps_one_minus_p_and_scales_exactly(p, dtype):
    x = nt.tensor(np.random.default_rng(0).uniform(0.5, 1.5, 200_000).astype(dtype))
    out = F.dropout(x, p).numpy()
    assert out.dtype == dtype
    kept = out != 0
    n = kept.size
    assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)   # 5 sigma
    np.testing.assert_array_equal(out[kept], x.numpy()[kept] * np.asarray(1 / (1 - p), dtype=dtype))
    assert (out[~kept] == 0).all()


def test_dropout_gradient_is_mask_times_scale():
    p = 0.3
    x = nt.tensor(np.random.default_rng(1).uniform(1, 2, (50, 40)), requires_grad=True)
    out = F.dropout(x, p)
    (saved,) = out._node.ctx.saved_tensors
    assert saved.dtype == np.bool_                      # 1 byte per unit kept for backward
    g = randn(50, 40, seed=2)
    out.backward(nt.tensor(g))
    mask = out.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), g * mask / (1 - p), rtol=1e-15)


@pytest.mark.parametrize("fn", [F.dropout, F.dropout2d, F.alpha_dropout])
def test_gradcheck_with_fixed_mask(fn):
    x = randn(2, 3, 2, 2, seed=3)
    check_grad(reseeded(lambda t: fn(t, 0.4, True)), x)


def test_dropout_eval_mode_p0_and_empty_return_the_input():
    x = nt.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(nt.randn(2, 3, 4, 4), training=False).shape == (2, 3, 4, 4)
    e = nt.zeros(0, 3)
    assert F.dropout(e) is e
    a = nt.randn(5)
    assert F.alpha_dropout(a, 0.5) is a                  # training defaults to False, as PyTorch


def test_dropout_p1_gives_zeros_and_zero_gradient():
    x = nt.tensor([1.0, -2.0, float("nan")], requires_grad=True)
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.numpy()[:2], [0.0, 0.0])
    assert np.isnan(out.numpy()[2])                      # x * 0, as PyTorch
    out.backward(nt.tensor([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_masks_follow_manual_seed():
    x = nt.ones(1000)
    nt.manual_seed(7)
    a = F.dropout(x).numpy()
    nt.manual_seed(7)
    b = F.dropout(x).numpy()
    c = F.dropout(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


@requires_torch
def test_dropout_values_are_torchs():
    """With a ones input every output is 0 or PyTorch's scale."""
    for p in (0.25, 0.5):
        ours = set(np.unique(F.dropout(nt.ones(1000), p).numpy()).tolist())
        theirs = set(np.unique(torch.nn.functional.dropout(torch.ones(1000), p).numpy()).tolist())
        assert ours == theirs


# ---------------------------------------------------------------- dropout2d
@pytest.mark.parametrize("shape", [(40, 50, 3, 4), (500, 3, 4)])
def test_dropout2d_zeros_whole_channels(shape):
    p = 0.4
    x = nt.tensor(np.random.default_rng(4).uniform(1, 2, shape).astype(np.float32))
    out = F.dropout2d(x, p).numpy()
    assert out.dtype == np.float32
    per_channel = out.reshape(-1, shape[-2] * shape[-1])
    kept = (per_channel != 0).all(axis=1)
    dropped = (per_channel == 0).all(axis=1)
    assert (kept | dropped).all()                                   # a channel is all or nothing
    assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / kept.size)
    xs = x.numpy().reshape(per_channel.shape)
    np.testing.assert_array_equal(per_channel[kept], xs[kept] * np.float32(1 / (1 - p)))


def test_dropout2d_gradient_is_channel_mask_times_scale():
    p = 0.5
    x = nt.tensor(np.random.default_rng(5).uniform(1, 2, (6, 7, 3, 3)), requires_grad=True)
    out = F.dropout2d(x, p)
    (saved,) = out._node.ctx.saved_tensors
    assert saved.shape == (6, 7, 1, 1)                              # one flag per channel
    g = randn(6, 7, 3, 3, seed=6)
    out.backward(nt.tensor(g))
    mask = (out.numpy() != 0)
    np.testing.assert_allclose(x.grad.numpy(), g * mask / (1 - p), rtol=1e-15)


# ---------------------------------------------------------------- alpha_dropout
def test_alpha_dropout_values_and_statistics():
    p = 0.2
    x = nt.tensor(np.random.default_rng(7).standard_normal(400_000))
    out = F.alpha_dropout(x, p, training=True).numpy()
    a = 1 / math.sqrt((1 - p) * (1 + p * SELU_SAT ** 2))
    dropped_value = a * (-SELU_SAT) + a * SELU_SAT * p
    dropped = np.isclose(out, dropped_value, rtol=0, atol=1e-12)
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / out.size)
    np.testing.assert_allclose(out[~dropped], a * x.numpy()[~dropped] + a * SELU_SAT * p, rtol=1e-12)
    assert abs(out.mean()) < 0.01 and abs(out.var() - 1) < 0.01      # self-normalizing


def test_alpha_dropout_gradient():
    p = 0.3
    x = nt.tensor(randn(2000, seed=8), requires_grad=True)
    out = F.alpha_dropout(x, p, training=True)
    a = 1 / math.sqrt((1 - p) * (1 + p * SELU_SAT ** 2))
    keep = out._node.ctx.saved_tensors[0]
    g = randn(2000, seed=9)
    out.backward(nt.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g * keep * a, rtol=1e-15)


@requires_torch
def test_alpha_dropout_values_are_torchs():
    """On a zeros input every output is one of two constants; they must be PyTorch's."""
    ours = np.unique(F.alpha_dropout(nt.zeros(2000), 0.3, training=True).numpy())
    theirs = np.unique(torch.nn.functional.alpha_dropout(torch.zeros(2000), 0.3, training=True).numpy())
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("fn", [F.dropout, F.dropout2d, F.alpha_dropout])
def test_bad_probability(fn):
    x = nt.randn(2, 3, 4, 4)
    name = fn.__name__
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=f"{name}: dropout probability has to be between 0 and 1, but got"):
            fn(x, p)
    with pytest.raises(ValueError, match=f"{name}: dropout probability .* but got '0.5'"):
        fn(x, "0.5")


def test_bad_inputs():
    with pytest.raises(TypeError, match="dropout: expected input to be a neuronet.Tensor, received ndarray"):
        F.dropout(np.ones(3))
    with pytest.raises(TypeError, match=r"dropout: expected a floating-point input, received dtype (torch\.)?int64"):
        F.dropout(nt.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"dropout2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, "
                                         r"received shape \(4, 5\)"):
        F.dropout2d(nt.randn(4, 5))
    with pytest.raises(ValueError, match=r"received shape \(1, 2, 3, 4, 5\)"):
        F.dropout2d(nt.randn(1, 2, 3, 4, 5))


# ---------------------------------------------------------------- in place, dropout1d
@pytest.mark.parametrize("fn, shape", [(F.dropout, (4, 5)), (F.dropout1d, (2, 3, 50)),
                                       (F.dropout2d, (2, 3, 4, 4)),
                                       (lambda x, p, inplace: F.alpha_dropout(x, p, True, inplace), (4, 5))])
def test_inplace_writes_the_same_values_into_the_input(fn, shape):
    x = nt.tensor(randn(*shape, seed=3))
    nt.manual_seed(7)
    expected = fn(x, 0.4, inplace=False).numpy()
    storage = x.array
    nt.manual_seed(7)
    out = fn(x, 0.4, inplace=True)
    assert out is x and x.array is storage
    np.testing.assert_array_equal(x.numpy(), expected)


def test_inplace_dropout_in_a_graph_passes_the_masked_gradient():
    x = nt.tensor(randn(50, seed=4), requires_grad=True)
    h = x * 2.0
    nt.manual_seed(1)
    out = F.dropout(h, 0.5, inplace=True)
    assert out is h
    out.sum().backward()
    kept = out.numpy() != 0
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, 4.0, 0.0))


def test_dropout1d_drops_whole_channels():
    x = nt.ones(3, 40, 30)
    out = F.dropout1d(x, 0.5).numpy()
    per_channel = out.reshape(120, 30)
    assert all(len(set(row)) == 1 for row in per_channel)      # a channel is all 0 or all 2
    assert set(np.unique(out)) <= {0.0, 2.0}
    check_grad(reseeded(lambda t: F.dropout1d(t, 0.3)), randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="2D or 3D"):
        F.dropout1d(nt.ones(2, 3, 4, 5))
    assert F.dropout1d(x, 0.5, training=False) is x


def test_dropout3d_and_feature_alpha_dropout_drop_whole_channels():
    x = nt.ones(2, 30, 3, 2, 2)
    out = F.dropout3d(x, 0.5).numpy().reshape(60, -1)
    assert all(len(set(row)) == 1 for row in out) and set(np.unique(out)) <= {0.0, 2.0}
    check_grad(reseeded(lambda t: F.dropout3d(t, 0.3)), randn(2, 3, 2, 2, 2))
    out = F.feature_alpha_dropout(nt.ones(4, 30, 5), 0.5, training=True).numpy().reshape(120, -1)
    assert all(len(set(row)) == 1 for row in out) and len(np.unique(out)) == 2
    with pytest.raises(ValueError, match="5-D"):
        F.dropout3d(nt.ones(2, 3), 0.5)
