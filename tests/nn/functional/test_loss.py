"""Losses: gradcheck, naive loop references, and PyTorch as the oracle."""
import itertools
import math

import numpy as np
import pytest
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch

import neuronet as nt
from neuronet.nn import functional as F

if torch is not None:
    import torch.nn.functional as TF

C = 4


# --------------------------------------------------------------------------- naive references
def naive_cross_entropy(x, y, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross entropy from the definition, one entry at a time, in float64.

    x: (N, C, *) or (C,) logits; y: (N, *) or () class indices, or x-shaped probabilities.
    """
    x = np.asarray(x, dtype=np.float64)
    probs = y.shape == x.shape
    unbatched = x.ndim == 1
    if unbatched:
        x, y = x[None], y[None]
    n_classes = x.shape[1]
    rows = np.moveaxis(x, 1, -1).reshape(-1, n_classes)          # one row of logits per entry
    targets = np.moveaxis(y, 1, -1).reshape(-1, n_classes) if probs else y.reshape(-1)
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    eps = label_smoothing
    losses, denom = [], 0.0
    for i in range(rows.shape[0]):
        m = max(rows[i])
        lse = m + math.log(sum(math.exp(rows[i][c] - m) for c in range(n_classes)))
        logp = [rows[i][c] - lse for c in range(n_classes)]
        if probs:
            t = [(1 - eps) * targets[i][c] + eps / n_classes for c in range(n_classes)]
            losses.append(-sum(w[c] * t[c] * logp[c] for c in range(n_classes)))
            denom += 1
            continue
        yi = int(targets[i])
        if yi == ignore_index:
            losses.append(0.0)
            continue
        smooth = sum(w[c] * logp[c] for c in range(n_classes))
        losses.append(-(1 - eps) * w[yi] * logp[yi] - eps / n_classes * smooth)
        denom += w[yi]
    losses = np.array(losses)
    if reduction == "none":
        out_shape = () if unbatched else ((y.shape[0],) + y.shape[2:] if probs else y.shape)
        return losses.reshape(out_shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / denom if denom else np.float64(np.nan)   # every entry ignored: 0/0


def make_logits(kind, seed=0):
    return {"2d": randn(5, C, seed=seed), "4d": randn(2, C, 3, 2, seed=seed),
            "1d": randn(C, seed=seed)}[kind]


def make_target(x, target_kind, ignore_index=-100, seed=1):
    r = np.random.default_rng(seed)
    if target_kind == "prob":
        z = r.standard_normal(x.shape)
        axis = 0 if x.ndim == 1 else 1
        return np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)
    shape = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    y = r.integers(0, C, size=shape).astype(np.int64)
    if y.ndim:
        flat = y.reshape(-1)
        flat[0] = ignore_index if ignore_index == -100 else 1     # make sure an entry is ignored
        flat[-1] = 2                                             # ... and one is not
    return y


WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
CE_GRID = [c for c in itertools.product(
    ["2d", "4d", "1d"], ["index", "prob"], [False, True], [-100, 1], [0.0, 0.2], ["none", "mean", "sum"])
    if not (c[1] == "prob" and c[3] != -100)]


def ce_kwargs(use_weight, ignore_index, smoothing, reduction, lib):
    kw = dict(ignore_index=ignore_index, label_smoothing=smoothing, reduction=reduction)
    if use_weight:
        kw["weight"] = (nt.tensor(WEIGHT) if lib == "nt" else torch.tensor(WEIGHT))
    return kw


# --------------------------------------------------------------------------- cross entropy
@requires_torch
@pytest.mark.parametrize("shape,target_kind,use_weight,ignore_index,smoothing,reduction", CE_GRID)
def test_cross_entropy_matches_torch_grid(shape, target_kind, use_weight, ignore_index, smoothing, reduction):
    x = make_logits(shape)
    y = make_target(x, target_kind, ignore_index)
    compare_with_torch(
        lambda a, t: F.cross_entropy(a, t, **ce_kwargs(use_weight, ignore_index, smoothing, reduction, "nt")),
        lambda a, t: TF.cross_entropy(a, t, **ce_kwargs(use_weight, ignore_index, smoothing, reduction, "th")),
        x, y, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("shape,target_kind,use_weight,ignore_index,smoothing,reduction", CE_GRID)
def test_cross_entropy_matches_naive_loops(shape, target_kind, use_weight, ignore_index, smoothing, reduction):
    x = make_logits(shape)
    y = make_target(x, target_kind, ignore_index)
    out = F.cross_entropy(nt.tensor(x), nt.tensor(y),
                          **ce_kwargs(use_weight, ignore_index, smoothing, reduction, "nt"))
    ref = naive_cross_entropy(x, y, WEIGHT if use_weight else None, ignore_index, reduction, smoothing)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,target_kind,use_weight,smoothing,reduction", [
    c for c in itertools.product(["2d", "4d", "1d"], ["index", "prob"], [False, True], [0.0, 0.3],
                                 ["none", "mean", "sum"])])
def test_cross_entropy_gradcheck(shape, target_kind, use_weight, smoothing, reduction):
    x = make_logits(shape)
    if shape == "4d":
        x = x[:, :, :2, :1].copy()            # keep the finite differences few
    y = make_target(x, target_kind)
    kw = ce_kwargs(use_weight, -100, smoothing, reduction, "nt")
    if target_kind == "prob":                 # probabilities receive a gradient too (as in PyTorch)
        check_grad(lambda a, t: F.cross_entropy(a, t, **kw), x, y)
    else:
        check_grad(lambda a: F.cross_entropy(a, nt.tensor(y), **kw), x)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = randn(3, C)
    y = np.array([0, 3, 1])
    a = nt.tensor(x, requires_grad=True)
    F.cross_entropy(a, nt.tensor(y), reduction="sum").backward()
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    np.testing.assert_allclose(a.grad.numpy(), p - np.eye(C)[y], atol=1e-12)


def test_cross_entropy_after_a_linear_map():
    """The loss deep in a graph: gradient with respect to the weights of x @ W."""
    x = randn(4, 3, seed=2)
    y = nt.tensor(np.array([0, 1, 3, 2]))
    check_grad(lambda w: F.cross_entropy(nt.tensor(x) @ w, y, label_smoothing=0.1), randn(3, C, seed=3))


@requires_torch
@pytest.mark.parametrize("target_kind", ["index", "prob"])
def test_cross_entropy_extreme_logits_finite_and_match_torch(target_kind):
    x = np.array([[1e4, 0.0, -1e4, 5.0], [-1e4, 1e4, 1e4, -1e4], [3e4, -3e4, 0.0, 0.0]], dtype=np.float32)
    y = (np.array([2, 0, 1]) if target_kind == "index"
         else np.array([[0, 0, 1, 0], [0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25]], dtype=np.float32))
    for red in ("none", "mean"):
        out = compare_with_torch(lambda a, t: F.cross_entropy(a, t, reduction=red, label_smoothing=0.1),
                                 lambda a, t: TF.cross_entropy(a, t, reduction=red, label_smoothing=0.1),
                                 x, y, atol=1e-3, rtol=1e-6)
        assert np.isfinite(out.numpy()).all()
    a = nt.tensor(x, requires_grad=True)
    F.cross_entropy(a, nt.tensor(y)).backward()
    assert np.isfinite(a.grad.numpy()).all()


def test_cross_entropy_keeps_float32_and_output_shapes():
    x = nt.randn(2, C, 3, 5)
    y = nt.tensor(np.zeros((2, 3, 5), dtype=np.int64))
    assert F.cross_entropy(x, y).dtype == np.float32
    assert F.cross_entropy(x, y).shape == ()
    assert F.cross_entropy(x, y, reduction="none").shape == (2, 3, 5)
    assert F.cross_entropy(nt.randn(C), nt.tensor(1), reduction="none").shape == ()
    for target in (nt.tensor(np.array([1, 0])), nt.rand(2, C)):
        a = nt.randn(2, C, requires_grad=True)
        out = F.cross_entropy(a, target)
        out.backward()
        assert out.dtype == np.float32 and a.grad.dtype == np.float32


@requires_torch
def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x = randn(3, C)
    y = np.full(3, -100)
    out = F.cross_entropy(nt.tensor(x), nt.tensor(y))
    assert np.isnan(out.item()) and np.isnan(TF.cross_entropy(torch.tensor(x), torch.tensor(y)).item())
    assert F.cross_entropy(nt.tensor(x), nt.tensor(y), reduction="sum").item() == 0.0


def test_cross_entropy_accepts_uint8_and_int32_targets():
    x = nt.tensor(randn(3, C))
    ref = F.cross_entropy(x, nt.tensor(np.array([0, 1, 3]))).item()
    for dt in (np.uint8, np.int32):
        assert F.cross_entropy(x, nt.tensor(np.array([0, 1, 3], dtype=dt))).item() == ref


def test_cross_entropy_deprecated_size_average_reduce():
    x, y = nt.tensor(randn(3, C)), nt.tensor(np.array([0, 1, 3]))
    with pytest.warns(DeprecationWarning):
        s = F.cross_entropy(x, y, size_average=False)
    assert s.item() == pytest.approx(F.cross_entropy(x, y, reduction="sum").item())
    with pytest.warns(DeprecationWarning):
        n = F.cross_entropy(x, y, reduce=False)
    assert n.shape == (3,)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.cross_entropy(nt.randn(8, 10), nt.zeros(8, 1, dtype="int64")), ValueError,
     r"cross_entropy: expected target of shape \(8,\) \(or \(8, 10\) probabilities\) for input \(8, 10\), "
     r"received \(8, 1\)"),
    (lambda: F.cross_entropy(nt.randn(8, 10), nt.tensor([0, 1, 2, 3, 4, 5, 6, 12])), IndexError,
     "cross_entropy: target contains 12 but input has 10 classes"),
    (lambda: F.cross_entropy(nt.randn(2, 10), nt.tensor([-1, 3])), IndexError, "target contains -1"),
    (lambda: F.cross_entropy(nt.randn(2, 10), nt.tensor([1.0, 3.0])), TypeError,
     "class-index target must have an integer dtype.*float32"),
    (lambda: F.cross_entropy(nt.randn(2, 10), nt.zeros(2, 10, dtype="int64")), TypeError,
     "class probabilities and must be floating point"),
    (lambda: F.cross_entropy(nt.randn(2, 10), nt.rand(2, 10), ignore_index=0), ValueError,
     "ignore_index is not supported for class-probability targets"),
    (lambda: F.cross_entropy(nt.randn(2, 3), nt.tensor([0, 1]), reduction="avg"), ValueError,
     "cross_entropy: reduction must be 'none', 'mean' or 'sum', received 'avg'"),
    (lambda: F.cross_entropy(nt.randn(2, 3), nt.tensor([0, 1]), label_smoothing=1.5), ValueError,
     "label_smoothing must be between 0.0 and 1.0"),
    (lambda: F.cross_entropy(nt.randn(2, 3), nt.tensor([0, 1]), weight=nt.ones(4)), ValueError,
     r"weight must be a 1-D tensor with one entry per class, shape \(3,\), received shape \(4,\)"),
    (lambda: F.cross_entropy(nt.randn(2, 3), [0, 1]), TypeError, "target must be a neuronet Tensor"),
    (lambda: F.cross_entropy(nt.tensor([[1, 2]]), nt.tensor([0])), TypeError,
     "input must be floating point"),
    (lambda: F.cross_entropy(nt.tensor(1.0), nt.tensor(0)), ValueError, "received a 0-d tensor"),
    (lambda: F.nll_loss(nt.randn(4, 3), nt.zeros(4, 3)), ValueError,
     r"nll_loss: expected target of shape \(4,\) for input \(4, 3\), received \(4, 3\)"),
    (lambda: F.nll_loss(nt.randn(4, 3), nt.tensor([0, 1, 2, 3])), IndexError,
     "nll_loss: target contains 3 but input has 3 classes"),
])
def test_classification_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- nll_loss
@requires_torch
@pytest.mark.parametrize("shape,use_weight,ignore_index,reduction", list(itertools.product(
    ["2d", "4d", "1d"], [False, True], [-100, 1], ["none", "mean", "sum"])))
def test_nll_loss_matches_torch(shape, use_weight, ignore_index, reduction):
    x = make_logits(shape)
    y = make_target(x, "index", ignore_index)
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    compare_with_torch(
        lambda a, t: F.nll_loss(a, t, weight=nt.tensor(WEIGHT) if use_weight else None, **kw),
        lambda a, t: TF.nll_loss(a, t, weight=torch.tensor(WEIGHT) if use_weight else None, **kw),
        x, y, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_nll_loss_gradcheck_and_equals_cross_entropy_of_log_softmax(reduction):
    x = randn(3, C)
    y = nt.tensor(np.array([1, -100, 3]))
    w = nt.tensor(WEIGHT)
    check_grad(lambda a: F.nll_loss(a, y, weight=w, reduction=reduction), x)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    np.testing.assert_allclose(F.nll_loss(nt.tensor(logp), y, weight=w, reduction=reduction).numpy(),
                               F.cross_entropy(nt.tensor(x), y, weight=w, reduction=reduction).numpy(),
                               atol=1e-12)


# --------------------------------------------------------------------------- regression losses
PAIR_LOSSES = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}), ("huber_loss", {"delta": 0.3}),
]


def pair_data(seed=0):
    x = randn(3, 4, seed=seed) * 1.5
    t = randn(3, 4, seed=seed + 1)
    t[0, 0] = x[0, 0] + 0.25   # inside every quadratic zone
    return x, t


@requires_torch
@pytest.mark.parametrize("name,kw", PAIR_LOSSES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_regression_losses_match_torch(name, kw, reduction):
    x, t = pair_data()
    compare_with_torch(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw),
                       lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kw),
                       x, t, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("name,kw", PAIR_LOSSES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_regression_losses_gradcheck_input_and_target(name, kw, reduction):
    x, t = pair_data(seed=4)
    check_grad(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw), x, t)


def test_regression_losses_float32_input_float64_target():
    x = nt.randn(3, requires_grad=True)
    t = nt.tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True)
    out = F.mse_loss(x, t)
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32 and t.grad.dtype == np.float64


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                  "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"])
def test_elementwise_losses_reject_shape_mismatch_and_bad_args(name):
    fn = getattr(F, name)
    with pytest.raises(ValueError, match=rf"{name}: input has shape \(8, 1\) but target has shape \(8,\)"):
        fn(nt.rand(8, 1), nt.rand(8))
    if name not in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):   # these take int targets
        with pytest.raises(TypeError, match=rf"{name}: target must be floating point, received dtype "
                                            r"(torch\.)?int64"):
            fn(nt.rand(8), nt.zeros(8, dtype="int64"))
    with pytest.raises(ValueError, match=f"{name}: reduction must be .* received 'elementwise'"):
        fn(nt.rand(8), nt.rand(8), reduction="elementwise")
    with pytest.raises(TypeError, match=f"{name}: input must be a neuronet Tensor"):
        fn(np.zeros(8), nt.rand(8))


def test_regression_loss_parameter_errors():
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative"):
        F.smooth_l1_loss(nt.rand(3), nt.rand(3), beta=-1.0)
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        F.huber_loss(nt.rand(3), nt.rand(3), delta=0.0)


# --------------------------------------------------------------------------- binary cross entropy
def bce_data(seed=0):
    r = np.random.default_rng(seed)
    return r.uniform(0.05, 0.95, (3, 4)), r.uniform(0, 1, (3, 4))


@requires_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 1)])
def test_binary_cross_entropy_matches_torch(reduction, weight_shape):
    x, t = bce_data()
    w = None if weight_shape is None else np.random.default_rng(5).uniform(0.5, 2, weight_shape)
    compare_with_torch(
        lambda a, b: F.binary_cross_entropy(a, b, None if w is None else nt.tensor(w), reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(a, b, None if w is None else torch.tensor(w), reduction=reduction),
        x, t, atol=1e-12, rtol=1e-10)
    check_grad(lambda a, b: F.binary_cross_entropy(a, b, None if w is None else nt.tensor(w),
                                                   reduction=reduction), x, t)


@requires_torch
def test_binary_cross_entropy_clamps_log_at_minus_100_like_torch():
    x = np.array([0.0, 1.0, 1e-50, 0.5, 1.0, 0.0])
    t = np.array([1.0, 0.0, 1.0, 0.5, 1.0, 0.0])
    out = F.binary_cross_entropy(nt.tensor(x), nt.tensor(t), reduction="none").numpy()
    ref = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t), reduction="none").numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert out[0] == 100.0 and np.isfinite(out).all()
    a = nt.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    F.binary_cross_entropy(a, nt.tensor(t)).backward()
    TF.binary_cross_entropy(b, torch.tensor(t)).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8)


def test_binary_cross_entropy_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be probabilities "
                                         r"in \[0, 1\], received values in \[-0.5, 1.5\]"):
        F.binary_cross_entropy(nt.tensor([-0.5, 1.5]), nt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) does not broadcast"):
        F.binary_cross_entropy(nt.rand(2, 4), nt.rand(2, 4), weight=nt.ones(3))


@requires_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("use_weight,use_pos_weight", [(False, False), (True, False), (False, True), (True, True)])
def test_bce_with_logits_matches_torch_and_gradcheck(reduction, use_weight, use_pos_weight):
    x = randn(3, 4, seed=6) * 3
    t = np.random.default_rng(7).uniform(0, 1, (3, 4))
    w = np.random.default_rng(8).uniform(0.5, 2, (3, 1)) if use_weight else None
    pw = np.array([0.5, 1.0, 2.0, 4.0]) if use_pos_weight else None

    def kw(lib):
        mk = nt.tensor if lib == "nt" else torch.tensor
        return dict(weight=None if w is None else mk(w), pos_weight=None if pw is None else mk(pw),
                    reduction=reduction)
    compare_with_torch(lambda a, b: F.binary_cross_entropy_with_logits(a, b, **kw("nt")),
                       lambda a, b: TF.binary_cross_entropy_with_logits(a, b, **kw("th")),
                       x, t, atol=1e-12, rtol=1e-10)
    check_grad(lambda a, b: F.binary_cross_entropy_with_logits(a, b, **kw("nt")), x, t)


@requires_torch
def test_bce_with_logits_extreme_logits():
    x = np.array([1e4, -1e4, 30.0, -30.0, 0.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3], dtype=np.float32)
    pw = np.full(5, 3.0, dtype=np.float32)
    for kw_nt, kw_th in [({}, {}), ({"pos_weight": nt.tensor(pw)}, {"pos_weight": torch.tensor(pw)})]:
        out = compare_with_torch(
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none", **kw_nt),
            lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none", **kw_th),
            x, t, atol=1e-3, rtol=1e-6)
        assert np.isfinite(out.numpy()).all()
    # No cancellation: log(1 + e^-30) ~ 9.4e-14 survives in float32.
    small = F.binary_cross_entropy_with_logits(nt.tensor([30.0]), nt.tensor([1.0]), reduction="none")
    assert small.item() == pytest.approx(math.log1p(math.exp(-30.0)), rel=1e-5)


# --------------------------------------------------------------------------- KL divergence
@requires_torch
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch_and_gradcheck(reduction, log_target):
    x = np.log(np.random.default_rng(9).dirichlet(np.ones(4), size=3))
    t = np.random.default_rng(10).dirichlet(np.ones(4), size=3)
    if log_target:
        t = np.log(t)
    compare_with_torch(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                       lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
                       x, t, atol=1e-12, rtol=1e-10)
    check_grad(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), x, t)


def test_kl_div_zero_target_contributes_nothing():
    out = F.kl_div(nt.tensor([-1.0, -2.0]), nt.tensor([0.0, 0.5]), reduction="none").numpy()
    np.testing.assert_allclose(out, [0.0, 0.5 * (math.log(0.5) + 2.0)])


@requires_torch
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.5})])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_regression_losses_elementwise_weight_match_torch(name, kw, reduction):
    """PyTorch 2.x's ``weight``: mse/l1 'mean' divide by sum(weight), huber by the count;
    the weight gets a gradient too."""
    x, t = pair_data(seed=11)
    w = np.random.default_rng(12).uniform(0.1, 2.0, x.shape)
    compare_with_torch(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c, **kw),
                       lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c, **kw),
                       x, t, w, atol=1e-12, rtol=1e-10)
    with pytest.raises(ValueError, match=rf"{name}: weight must have the input's shape \(3, 4\), received "
                                         r"shape \(4,\)"):
        getattr(F, name)(nt.tensor(x), nt.tensor(t), weight=nt.ones(4))
