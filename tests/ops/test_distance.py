"""cdist: three witnesses -- a naive double loop, finite differences in float64, PyTorch."""
import math

import numpy as np
import pytest

import neuronet as nt
from neuronet.ops.distance import cdist
from tests.helpers import check_grad, compare_with_torch, randn, requires_torch, torch

PS = [0.0, 1.0, 2.0, math.inf, 0.5, 3.0]


def naive_cdist(x1, x2, p):
    """One p-norm per pair of rows, written as the definition reads."""
    *batch, P, M = x1.shape
    R = x2.shape[-2]
    out = np.zeros((*batch, P, R))
    for b in np.ndindex(*batch):
        for i in range(P):
            for j in range(R):
                d = np.abs(x1[b + (i,)] - x2[b + (j,)])
                if p == 0:
                    out[b + (i, j)] = np.count_nonzero(d)
                elif p == math.inf:
                    out[b + (i, j)] = d.max()
                else:
                    out[b + (i, j)] = (d ** p).sum() ** (1 / p)
    return out


def test_registered_as_torch_function():
    # The op module registers through ops/_registry.py; neuronet.cdist appears once
    # neuronet/tensor.py imports ops.distance with the other op families.
    from neuronet.ops._registry import TORCH_FUNCTIONS
    assert TORCH_FUNCTIONS["cdist"] is cdist
    assert nt.cdist is cdist


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("mode", ["donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"])
def test_matches_naive_loop(p, mode):
    x1, x2 = randn(2, 4, 3, seed=1), randn(2, 5, 3, seed=2)
    x1[0, 1] = x2[0, 2]                          # one pair at distance 0
    out = cdist(nt.tensor(x1), nt.tensor(x2), p=p, compute_mode=mode).numpy()
    np.testing.assert_allclose(out, naive_cdist(x1, x2, p), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("p", PS)
def test_gradcheck(p):
    x1, x2 = randn(2, 3, 4, seed=3), randn(2, 5, 4, seed=4)
    check_grad(lambda a, b: cdist(a, b, p=p), x1, x2)


def test_gradcheck_mm_form_and_broadcast_batch():
    x1, x2 = randn(3, 1, 30, 2, seed=5), randn(2, 4, 2, seed=6)    # P = 30 > 25: the mm form
    check_grad(lambda a, b: cdist(a, b), x1, x2)


@requires_torch
@pytest.mark.parametrize("p", PS)
def test_matches_torch_values_and_grads(p):
    x1, x2 = randn(2, 4, 3, seed=7), randn(2, 6, 3, seed=8)
    x1[1, 2] = x2[1, 0]                          # zero distance: PyTorch's gradient there is 0
    x1[0, 0, 1] = x2[0, 3, 1]                    # one equal coordinate (p < 1 subgradient)
    compare_with_torch(lambda a, b: cdist(a, b, p=p), lambda a, b: torch.cdist(a, b, p=p), x1, x2,
                       atol=1e-6, rtol=1e-5)


@requires_torch
def test_matches_torch_float32_mm_path():
    x1, x2 = randn(40, 5, seed=9, dtype=np.float32), randn(30, 5, seed=10, dtype=np.float32)
    compare_with_torch(lambda a, b: cdist(a, b), lambda a, b: torch.cdist(a, b), x1, x2, atol=1e-4, rtol=1e-4)


def test_zero_distance_gradient_is_zero_for_p2():
    x = nt.tensor([[1.0, 2.0]], requires_grad=True)
    y = nt.tensor([[1.0, 2.0], [4.0, 6.0]])
    cdist(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[-0.6, -0.8]])


def test_empty_rows():
    assert tuple(cdist(nt.zeros(0, 3), nt.ones(4, 3)).shape) == (0, 4)


@pytest.mark.parametrize("args, kwargs, err, msg", [
    ((nt.zeros(3), nt.zeros(2, 3)), {}, RuntimeError, "at least 2D tensors, X1 got: 1D"),
    ((nt.zeros(2, 3), nt.zeros(2, 4)), {}, RuntimeError, "same number of columns. X1: 3 X2: 4"),
    ((nt.zeros(2, 3), nt.zeros(2, 3)), {"p": -1}, RuntimeError, "non-negative p values"),
    ((nt.zeros(2, 3), nt.zeros(2, 3)), {"compute_mode": "fast"}, ValueError, "fast is not a valid value"),
    ((nt.zeros(2, 3, dtype=nt.int64), nt.zeros(2, 3, dtype=nt.int64)), {}, RuntimeError,
     "floating-point dtypes, X1 got: Long"),
    ((nt.zeros(2, 3), nt.zeros(2, 3, dtype=nt.float64)), {}, RuntimeError, "expected scalar type Float"),
    ((np.zeros((2, 3)), nt.zeros(2, 3)), {}, TypeError, "must be a Tensor"),
])
def test_errors(args, kwargs, err, msg):
    with pytest.raises(err, match=msg):
        cdist(*args, **kwargs)


@pytest.mark.parametrize("p", [1.0, math.inf, 3.0, 2.0])
def test_row_chunks_give_the_same_values_and_gradients(p, monkeypatch):
    import neuronet.ops.distance as distance
    monkeypatch.setattr(distance, "CHUNK_ELEMENTS", 7)      # one row of x1 per block
    x1, x2 = randn(2, 5, 3, seed=11), randn(2, 4, 3, seed=12)
    out = cdist(nt.tensor(x1), nt.tensor(x2), p=p, compute_mode="donot_use_mm_for_euclid_dist").numpy()
    np.testing.assert_allclose(out, naive_cdist(x1, x2, p), rtol=1e-10)
    check_grad(lambda a, b: cdist(a, b, p=p, compute_mode="donot_use_mm_for_euclid_dist"), x1, x2)
