"""pad: explicit-loop references, gradcheck, and PyTorch, for every mode."""
import itertools

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from neuronet.nn.functional.padding import source_index
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


# ---------------------------------------------------------------- naive reference
def naive_source(k, n, before, after, mode):
    """Input index read by output index k of one dim (None: the constant value)."""
    i = k - before                      # position relative to the input's first element
    if mode == "constant":
        return i if 0 <= i < n else None
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "reflect":
        while not 0 <= i < n:           # bounce off the mirrors at 0 and n - 1
            i = -i if i < 0 else 2 * (n - 1) - i
        return i
    # circular: crop by the negative amounts, then tile the cropped input
    lo, hi = max(-before, 0), n - max(-after, 0)
    size = hi - lo
    j = k - max(before, 0)              # relative to the cropped input's first element
    return lo + j % size


def naive_pad(x, pad, mode="constant", value=0.0):
    """out[o] = x[src(o)] (or value), by a loop over every output element."""
    pairs = {x.ndim - 1 - j: (pad[2 * j], pad[2 * j + 1]) for j in range(len(pad) // 2)}
    out_shape = tuple(n + sum(pairs.get(ax, (0, 0))) for ax, n in enumerate(x.shape))
    out = np.empty(out_shape, dtype=x.dtype)
    for o in itertools.product(*map(range, out_shape)):
        src = []
        for ax, k in enumerate(o):
            b, a = pairs.get(ax, (0, 0))
            src.append(naive_source(k, x.shape[ax], b, a, mode))
        out[o] = value if None in src else x[tuple(src)]
    return out


def naive_pad_backward(g, in_shape, pad, mode):
    """dE/dx[i] = sum of g[o] over the outputs o that copied x[i], by loops."""
    pairs = {len(in_shape) - 1 - j: (pad[2 * j], pad[2 * j + 1]) for j in range(len(pad) // 2)}
    gx = np.zeros(in_shape)
    for o in itertools.product(*map(range, g.shape)):
        src = [naive_source(k, in_shape[ax], *pairs.get(ax, (0, 0)), mode) for ax, k in enumerate(o)]
        if None not in src:
            gx[tuple(src)] += g[o]
    return gx


CASES = {
    "constant": [(1, 2), (2, 1, 0, 3), (-1, 2, 2, -1), (1, 1, 1, 1, 1, 1), (0, 0, -2, -1), (1, 0, 1, 0, 1, 0, 1, 0)],
    "reflect": [(1, 2), (2, 1, 0, 3), (3, 3, 1, 1), (-1, 2, 2, -1), (3, -2, 1, 0), (1, 1, 1, 1, 1, 1)],
    "replicate": [(1, 2), (2, 1, 0, 3), (5, 5, 4, 4), (-1, 2, 2, -1), (6, -3, 0, 0), (1, 2, 1, 0, 2, 1)],
    "circular": [(1, 2), (2, 1, 0, 3), (4, 4, 3, 3), (-1, 2, 2, -1), (3, -1, 0, 0), (1, 2, 1, 0, 2, 1)],
}
ALL = [(mode, p) for mode, pads in CASES.items() for p in pads]


def input_shape(pad, mode, small=False):
    """An input the pad applies to (non-constant modes: batched, e.g. (N, C, H, W) for a pad of length 4)."""
    if mode == "constant":
        return (2, 2, 4, 4) if small else (2, 3, 4, 5)
    if small:
        return {2: (1, 3, 5), 4: (1, 1, 4, 5), 6: (1, 1, 3, 4, 4)}[len(pad)]
    return {2: (2, 3, 5), 4: (2, 3, 4, 5), 6: (1, 2, 3, 4, 4)}[len(pad)]


@pytest.mark.parametrize("mode, p", ALL)
def test_matches_naive_loops(mode, p):
    x = randn(*input_shape(p, mode), seed=1)
    value = 1.5 if mode == "constant" else None
    xt = nt.tensor(x, requires_grad=True)
    out = F.pad(xt, p, mode=mode, value=value)
    np.testing.assert_array_equal(out.numpy(), naive_pad(x, p, mode, value=1.5))
    g = randn(*out.shape, seed=2)
    out.backward(nt.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), naive_pad_backward(g, x.shape, p, mode), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode, p", ALL)
def test_gradcheck(mode, p):
    check_grad(lambda t: F.pad(t, p, mode=mode), randn(*input_shape(p, mode, small=True), seed=3))


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode, p", ALL)
def test_matches_torch(mode, p, dtype):
    x = randn(*input_shape(p, mode), seed=4, dtype=dtype)
    value = -2.0 if mode == "constant" else None
    out = compare_with_torch(lambda t: F.pad(t, p, mode=mode, value=value),
                             lambda t: torch.nn.functional.pad(t, p, mode=mode, value=value), x, atol=1e-6)
    assert out.dtype == dtype


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_unbatched_inputs_match_torch(mode):
    compare_with_torch(lambda t: F.pad(t, (2, 1), mode=mode),
                       lambda t: torch.nn.functional.pad(t, (2, 1), mode=mode), randn(3, 5, seed=5))
    compare_with_torch(lambda t: F.pad(t, (1, 2, 2, 0), mode=mode),
                       lambda t: torch.nn.functional.pad(t, (1, 2, 2, 0), mode=mode), randn(2, 4, 5, seed=6))


def test_source_index_by_hand():
    # x0 x1 x2 x3 padded by (2, 3)
    assert source_index(4, 2, 3, "reflect").tolist() == [2, 1, 0, 1, 2, 3, 2, 1, 0]
    assert source_index(4, 2, 3, "replicate").tolist() == [0, 0, 0, 1, 2, 3, 3, 3, 3]
    assert source_index(4, 2, 3, "circular").tolist() == [2, 3, 0, 1, 2, 3, 0, 1, 2]
    # cropping first for circular, as PyTorch: x1 x2 x3 tiled
    assert source_index(4, -1, 2, "circular").tolist() == [1, 2, 3, 1, 2]


def test_lenet_zero_padding_and_dtype():
    x = nt.randn(2, 1, 28, 28)
    out = F.pad(x, (2, 2, 2, 2))
    assert out.shape == (2, 1, 32, 32) and out.dtype == nt.float32
    np.testing.assert_array_equal(out.numpy()[:, :, 2:30, 2:30], x.numpy())
    assert out.numpy()[:, :, :2].sum() == 0
    ints = F.pad(nt.tensor([[1, 2], [3, 4]]), (1, 0), value=7)
    assert ints.dtype == nt.int64 and ints.tolist() == [[7, 1, 2], [7, 3, 4]]


def test_zero_padding_returns_a_copy():
    x = nt.randn(2, 3)
    out = F.pad(x, (0, 0))
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    assert out.array is not x.array


def test_constant_cropping_to_nothing():
    x = nt.randn(2, 3, requires_grad=True)
    out = F.pad(x, (-2, -1))
    assert out.shape == (2, 0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_bad_arguments_raise_clear_errors():
    x = nt.randn(1, 2, 4, 5)
    with pytest.raises(ValueError, match=r"pad: padding length must be divisible by 2 .* received pad=\(1, 1, 1\)"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: padding length should be less than or equal to two times the "
                                         r"input dimension, received pad of length 10 for input of shape "
                                         r"\(1, 2, 4, 5\)"):
        F.pad(x, (1,) * 10)
    with pytest.raises(TypeError, match=r"pad: pad must be a tuple of ints .* received \(1.5, 1\)"):
        F.pad(x, (1.5, 1))
    with pytest.raises(TypeError, match="pad: pad must be a tuple of ints"):
        F.pad(x, 2)
    with pytest.raises(ValueError, match="pad: mode must be one of 'constant', 'reflect', 'replicate', "
                                         "'circular', received 'zeros'"):
        F.pad(x, (1, 1), mode="zeros")
    with pytest.raises(ValueError, match="pad: padding mode 'reflect' doesn't take in value argument"):
        F.pad(x, (1, 1, 1, 1), mode="reflect", value=1.0)
    with pytest.raises(ValueError, match=r"pad: mode 'replicate' pads the last 1, 2 or 3 dims .* received pad "
                                         r"of length 2 for input of shape \(1, 2, 4, 5\)"):
        F.pad(x, (1, 1), mode="replicate")
    with pytest.raises(ValueError, match=r"pad: reflect padding must be less than the size of the padded dim, "
                                         r"received \(4, 0\) for dim 2 \(size 4\) of input of shape "
                                         r"\(1, 2, 4, 5\)"):
        F.pad(x, (0, 0, 4, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: circular padding \(6, 0\) would wrap around more than once"):
        F.pad(x, (6, 0, 0, 0), mode="circular")
    with pytest.raises(ValueError, match=r"pad: padding \(-3, -3\) crops more than dim 3 \(size 5\)"):
        F.pad(x, (-3, -3))
    with pytest.raises(ValueError, match=r"pad: padding \(-3, -2\) leaves no element of dim 3"):
        F.pad(x, (-3, -2, 0, 0), mode="replicate")
    with pytest.raises(TypeError, match="pad: expected input to be a neuronet.Tensor, received ndarray"):
        F.pad(np.zeros((2, 2)), (1, 1))
    with pytest.raises(TypeError, match="pad: value must be a number, received 'a'"):
        F.pad(x, (1, 1), value="a")
