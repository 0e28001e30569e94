"""clip_grad_norm_ / clip_grad_value_ against PyTorch and by hand."""
import math

import numpy as np
import pytest
from helpers import requires_torch, torch

import neuronet as nt
from neuronet.nn.utils import clip_grad_norm_, clip_grad_value_

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def _params(scale=1.0, seed=0):
    r = np.random.default_rng(seed)
    grads = [r.standard_normal(s) * scale for s in SHAPES]
    ps = []
    for g in grads:
        p = nt.zeros(*g.shape, dtype=nt.float64, requires_grad=True)
        p.grad = nt.tensor(g.copy())
        ps.append(p)
    return ps, grads


def test_clip_grad_norm_by_hand():
    ps, grads = _params()
    total = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    out = clip_grad_norm_(ps, max_norm=1.0)
    assert isinstance(out, nt.Tensor) and out.item() == pytest.approx(total, rel=1e-12)
    coef = 1.0 / (total + 1e-6)
    for p, g in zip(ps, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-12)
    new_total = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in ps))
    assert new_total == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_alone():
    ps, grads = _params(scale=1e-3)
    clip_grad_norm_(ps, max_norm=10.0)
    for p, g in zip(ps, grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_inf_norm_and_skipping_none():
    ps, grads = _params()
    extra = nt.zeros(5, requires_grad=True)          # no grad: skipped
    out = clip_grad_norm_(ps + [extra], max_norm=0.5, norm_type="inf")
    assert out.item() == max(np.abs(g).max() for g in grads)
    assert max(np.abs(p.grad.numpy()).max() for p in ps) == pytest.approx(0.5, rel=1e-5)
    assert extra.grad is None
    assert clip_grad_norm_([extra], 1.0).item() == 0.0


def test_nonfinite_norm():
    ps, _ = _params()
    ps[1].grad.array[0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert math.isnan(clip_grad_norm_(ps, 1.0).item())
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(ps, 1.0, norm_type=-1)


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.3, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ps, grads = _params(seed=1)
    tps = []
    for g in grads:
        t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g.copy())
        tps.append(t)
    ours = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    theirs = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    for p, t in zip(ps, tps):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@requires_torch
def test_clip_grad_value_matches_torch():
    ps, grads = _params(seed=2)
    tps = []
    for g in grads:
        t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g.copy())
        tps.append(t)
    assert clip_grad_value_(ps, 0.4) is None
    torch.nn.utils.clip_grad_value_(tps, 0.4)
    for p, t in zip(ps, tps):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_value_by_hand_and_single_tensor():
    p = nt.zeros(4, dtype=nt.float64, requires_grad=True)
    p.grad = nt.tensor(np.array([-2.0, -0.1, 0.2, 3.0]))
    clip_grad_value_(p, 0.5)
    np.testing.assert_array_equal(p.grad.numpy(), [-0.5, -0.1, 0.2, 0.5])
    with pytest.raises(TypeError, match="element 0 is a str"):
        clip_grad_norm_(("w", p), 0.1)   # a bare (name, tensor) pair is not a list of them
    total = clip_grad_norm_([("w", p)], 0.1)   # named_parameters() pairs are accepted
    assert total.item() == pytest.approx(math.sqrt(0.25 + 0.01 + 0.04 + 0.25))
