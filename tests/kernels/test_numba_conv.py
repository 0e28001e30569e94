"""The direct channel-major convolution kernels (neuronet/_kernels/_numba_conv.py)
against two witnesses: naive loops written here (the slide's formulas, one
(o, c, a, b) term at a time) and PyTorch (conv2d and autograd.grad), in float64
and float32, on odd shapes: padding 0/1/2/3 and asymmetric, kernels 1/2/3/4/5
and non-square, H != W, N = 1, C = 1, a pad larger than the kernel (the input
gradient's pad is then negative: a crop).
"""
import numpy as np
import pytest

numba = pytest.importorskip("numba")
torch = pytest.importorskip("torch")
from neuronet._kernels import _numba_conv as K  # noqa: E402


def pad_cm(x, pads):
    t, b, l, r = pads
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))


def naive_forward(x, w, bias, pads):
    """out[o, n, i, j] = sum_{c,a,b} w[o, c, a, b] * xpad[c, n, i + a, j + b] (+ bias[o])."""
    xp = pad_cm(x, pads)
    O, C, kh, kw = w.shape
    ho, wo = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    out = np.zeros((O, x.shape[1], ho, wo), np.float64)
    for o in range(O):
        for c in range(C):
            for a in range(kh):
                for b in range(kw):
                    out[o] += w[o, c, a, b] * xp[c, :, a:a + ho, b:b + wo]
        if bias is not None:
            out[o] += bias[o]
    return out


def naive_input_grad(g, w, pads, hw):
    """Chain rule: each output's gradient flows back to the pixels its window read."""
    t, b_, l, r = pads
    O, C, kh, kw = w.shape
    _, N, ho, wo = g.shape
    dxp = np.zeros((C, N, hw[0] + t + b_, hw[1] + l + r), np.float64)
    for o in range(O):
        for c in range(C):
            for a in range(kh):
                for b in range(kw):
                    dxp[c, :, a:a + ho, b:b + wo] += w[o, c, a, b] * g[o]
    return dxp[:, :, t:t + hw[0], l:l + hw[1]]


def naive_weight_grad(x, g, pads, kernel):
    """Delta rule: dw[o, c, a, b] = sum_{n,i,j} g[o, n, i, j] * xpad[c, n, i + a, j + b]."""
    xp = pad_cm(x, pads)
    O, _, ho, wo = g.shape
    C = x.shape[0]
    dw = np.zeros((O, C) + tuple(kernel), np.float64)
    for o in range(O):
        for c in range(C):
            for a in range(kernel[0]):
                for b in range(kernel[1]):
                    dw[o, c, a, b] = np.sum(g[o] * xp[c, :, a:a + ho, b:b + wo])
    return dw


def torch_reference(x, w, bias, pads, g):
    """(out, dx, dw) from PyTorch, channel-major like the kernels."""
    t, b, l, r = pads
    tx = torch.tensor(x.transpose(1, 0, 2, 3).copy(), requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = None if bias is None else torch.tensor(bias)
    y = torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (l, r, t, b)), tw, tb)
    dx, dw = torch.autograd.grad(y, (tx, tw), torch.tensor(g.transpose(1, 0, 2, 3).copy()))
    cm = (1, 0, 2, 3)
    return y.detach().numpy().transpose(cm), dx.numpy().transpose(cm), dw.numpy()


# (N, C, O, H, W, kernel, pads (top, bottom, left, right))
CASES = [
    (2, 3, 4, 7, 9, (3, 3), (1, 1, 1, 1)),
    (3, 1, 2, 6, 5, (5, 5), (2, 2, 2, 2)),        # C = 1, LeNet's C1 kind
    (1, 2, 5, 8, 6, (1, 1), (0, 0, 0, 0)),        # N = 1, 1x1
    (2, 2, 3, 6, 7, (3, 5), (0, 2, 1, 0)),        # non-square kernel, asymmetric pads
    (2, 6, 16, 14, 10, (5, 5), (0, 0, 0, 0)),     # LeNet's C3 kind, H != W
    (2, 3, 2, 9, 11, (5, 5), (3, 3, 3, 3)),       # pad > kernel / 2
    (1, 2, 3, 6, 8, (2, 4), (1, 0, 0, 1)),        # even kernels: 1 + 1 and 3 + 1 taps a row
    (2, 2, 3, 5, 5, (1, 1), (1, 1, 1, 1)),        # pad > kernel - 1: the input gradient crops
    (2, 3, 2, 6, 6, (3, 3), (2, 2, 2, 2)),
    (2, 1, 1, 1, 1, (1, 1), (0, 0, 0, 0)),        # one pixel
]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-5, atol=2e-5)}


def _data(case, dtype, seed=0):
    N, C, O, H, W, kernel, pads = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((C, N, H, W)).astype(dtype)
    w = rng.standard_normal((O, C) + kernel).astype(dtype)
    bias = rng.standard_normal(O).astype(dtype)
    ho = H + pads[0] + pads[1] - kernel[0] + 1
    wo = W + pads[2] + pads[3] - kernel[1] + 1
    g = rng.standard_normal((O, N, ho, wo)).astype(dtype)
    return x, w, bias, g


def _ids(case):
    N, C, O, H, W, k, p = case
    return f"N{N}C{C}O{O}_{H}x{W}_k{k[0]}x{k[1]}_p{''.join(map(str, p))}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_forward_and_gradients_match_naive_loops_and_torch(case, dtype):
    x, w, bias, g = _data(case, dtype)
    pads, kernel, hw = case[6], case[5], case[3:5]
    out = K.conv2d_cm(x, w, bias, pads)
    dx = K.conv2d_cm_input_grad(g, w, pads, hw)
    dw = K.conv2d_cm_weight_grad(x, g, pads, kernel)
    assert out.dtype == dx.dtype == dw.dtype == dtype
    assert out.flags.c_contiguous and dx.shape == x.shape and dw.shape == w.shape
    tol = TOL[dtype]
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
    np.testing.assert_allclose(out, naive_forward(x64, w64, bias.astype(np.float64), pads), **tol)
    np.testing.assert_allclose(dx, naive_input_grad(g64, w64, pads, hw), **tol)
    np.testing.assert_allclose(dw, naive_weight_grad(x64, g64, pads, kernel), **tol)
    t_out, t_dx, t_dw = torch_reference(x, w, bias, pads, g)
    np.testing.assert_allclose(out, t_out, **tol)
    np.testing.assert_allclose(dx, t_dx, **tol)
    np.testing.assert_allclose(dw, t_dw, **tol)


def test_forward_without_bias_and_into_a_given_output():
    x, w, _, _ = _data(CASES[0], np.float64)
    out = np.full((4, 2, 7, 9), np.nan)
    res = K.conv2d_cm(x, w, None, (1, 1, 1, 1), out=out)
    assert res is out
    np.testing.assert_allclose(out, naive_forward(x, w, None, (1, 1, 1, 1)), rtol=1e-12, atol=1e-12)


def test_weight_grad_blocks_and_parts(monkeypatch):
    """Many parts and stacked blocks (a partial last one), against one part of one image
    at a time: the same sums up to rounding, and independent of the thread count."""
    case = (37, 3, 4, 9, 7, (3, 3), (1, 1, 1, 1))
    x, _, _, g = _data(case, np.float64, seed=3)
    ref = naive_weight_grad(x, g, (1, 1, 1, 1), (3, 3))
    monkeypatch.setattr(K, "STACK_BYTES", 3 * 10 * 8 * 8 * 4)     # 4 images a block
    assert K.stack_block(3, K.wide_grid(9, 7, (3, 3), (1, 1, 1, 1)), 8) == 4
    prev = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = K.conv2d_cm_weight_grad(x, g, (1, 1, 1, 1), (3, 3))
        numba.set_num_threads(prev)
        many = K.conv2d_cm_weight_grad(x, g, (1, 1, 1, 1), (3, 3))
    finally:
        numba.set_num_threads(prev)
    np.testing.assert_array_equal(one, many)
    np.testing.assert_allclose(many, ref, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(K, "PARTS_BYTES", 1)                      # one part
    np.testing.assert_allclose(K.conv2d_cm_weight_grad(x, g, (1, 1, 1, 1), (3, 3)), ref,
                               rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(K, "STACK_BYTES", 1)                      # 1 image a block
    np.testing.assert_allclose(K.conv2d_cm_weight_grad(x, g, (1, 1, 1, 1), (3, 3)), ref,
                               rtol=1e-12, atol=1e-12)


def test_forward_stacked_blocks(monkeypatch):
    """Small maps stack several images on one run (and a partial last block): the same
    numbers as one image a run."""
    case = (23, 3, 5, 6, 5, (3, 3), (1, 1, 1, 1))
    x, w, bias, g = _data(case, np.float64, seed=5)
    assert K.forward_block(3, 6, K.wide_grid(6, 5, (3, 3), (1, 1, 1, 1)), 8) > 1
    stacked = K.conv2d_cm(x, w, bias, (1, 1, 1, 1))
    dx_stacked = K.conv2d_cm_input_grad(g, w, (1, 1, 1, 1), (6, 5))
    monkeypatch.setattr(K, "FORWARD_SHORT_RUN", 0)                # one image a run
    assert K.forward_block(3, 6, K.wide_grid(6, 5, (3, 3), (1, 1, 1, 1)), 8) == 1
    np.testing.assert_allclose(stacked, K.conv2d_cm(x, w, bias, (1, 1, 1, 1)), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dx_stacked, K.conv2d_cm_input_grad(g, w, (1, 1, 1, 1), (6, 5)),
                               rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(stacked, naive_forward(x, w, bias, (1, 1, 1, 1)), rtol=1e-12, atol=1e-12)


def test_forward_parallel_split_does_not_change_bits():
    case = (70, 2, 3, 6, 5, (3, 3), (1, 1, 1, 1))                  # more images than parts
    x, w, bias, g = _data(case, np.float32, seed=4)
    prev = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = K.conv2d_cm(x, w, bias, (1, 1, 1, 1))
        da = K.conv2d_cm_input_grad(g, w, (1, 1, 1, 1), (6, 5))
    finally:
        numba.set_num_threads(prev)
    np.testing.assert_array_equal(a, K.conv2d_cm(x, w, bias, (1, 1, 1, 1)))
    np.testing.assert_array_equal(da, K.conv2d_cm_input_grad(g, w, (1, 1, 1, 1), (6, 5)))
    np.testing.assert_allclose(a, naive_forward(x, w, bias, (1, 1, 1, 1)), rtol=2e-5, atol=2e-5)


def test_flip_weights():
    w = np.arange(2 * 3 * 2 * 3, dtype=np.float64).reshape(2, 3, 2, 3)
    wt = K.flip_weights(w)
    assert wt.shape == (3, 2, 2, 3) and wt.flags.c_contiguous
    for o in range(2):
        for c in range(3):
            for a in range(2):
                for b in range(3):
                    assert wt[c, o, 1 - a, 2 - b] == w[o, c, a, b]


def test_wrappers_refuse_what_the_loops_cannot_take():
    """No bounds checks inside: the wrappers name the op and what was wrong."""
    x = np.zeros((2, 1, 5, 5), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    with pytest.raises(TypeError, match="conv2d_cm: w has dtype float64, expected float32"):
        K.conv2d_cm(x, w.astype(np.float64))
    with pytest.raises(ValueError, match=r"conv2d_cm: expected w of shape \(3, 4, 3, 3\), got \(3, 2, 3, 3\)"):
        K.conv2d_cm(np.zeros((4, 1, 5, 5), np.float32), w)
    with pytest.raises(ValueError, match="conv2d_cm: x must be C-contiguous"):
        K.conv2d_cm(np.zeros((2, 2, 5, 5), np.float32).transpose(1, 0, 2, 3), w)
    with pytest.raises(ValueError, match="conv2d_cm: a 3x3 filter .* does not fit a 1x5 input"):
        K.conv2d_cm(np.zeros((2, 1, 1, 5), np.float32), w)
    with pytest.raises(ValueError, match=r"conv2d_cm: expected bias of shape \(3,\)"):
        K.conv2d_cm(x, w, np.zeros(2, np.float32))
    with pytest.raises(ValueError, match=r"conv2d_cm_input_grad: expected g of shape \(3, 1, 5, 5\)"):
        K.conv2d_cm_input_grad(np.zeros((3, 1, 3, 3), np.float32), w, (1, 1, 1, 1), (5, 5))
    with pytest.raises(ValueError, match=r"conv2d_cm_weight_grad: expected g of shape \(3, 1, 3, 3\)"):
        K.conv2d_cm_weight_grad(x, np.zeros((3, 1, 5, 5), np.float32), (0, 0, 0, 0), (3, 3))
    with pytest.raises(TypeError, match="conv2d_cm_weight_grad: g must be a float32 or float64"):
        K.conv2d_cm_weight_grad(x, np.zeros((3, 1, 3, 3), np.int32), (0, 0, 0, 0), (3, 3))


@pytest.mark.parametrize("case", [(13, 3, 7, 6, 5, (3, 3), (1, 1, 1, 1)),     # odd O, stacked blocks
                                  (9, 6, 9, 10, 9, (5, 5), (2, 2, 2, 2))],     # 5x5, odd O and C
                         ids=["3x3", "5x5"])
def test_items_and_channel_groups_do_not_change_bits(monkeypatch, case):
    """The drivers hand out (image block or part, output-channel group) items to whichever
    thread asks first; the grouping follows the thread count. Every grouping, and the
    real thread counts, give the same bits, and the naive loops' numbers."""
    x, w, bias, g = _data(case, np.float32, seed=6)
    pads, kernel, hw = case[6], case[5], case[3:5]

    def run():
        return (K.conv2d_cm(x, w, bias, pads), K.conv2d_cm_input_grad(g, w, pads, hw),
                K.conv2d_cm_weight_grad(x, g, pads, kernel))

    monkeypatch.setattr(K, "PARTS_BYTES", 8 * 9 * 7 * 25 * 3)        # 3 parts: few items
    prev = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        ref = run()
        numba.set_num_threads(prev)
        results = [run()]
        monkeypatch.setattr(K, "GROUP_PAIRS", 1)
        for fake in (2, 3, 5, 16):                                     # 1 to 4 groups
            monkeypatch.setattr(K, "_threads", lambda fake=fake: fake)
            assert K.channel_groups(case[2], 2, fake) > 1
            results.append(run())
    finally:
        numba.set_num_threads(prev)
    for res in results:
        for got, want in zip(res, ref):
            np.testing.assert_array_equal(got, want)
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
    tol = TOL[np.float32]
    np.testing.assert_allclose(ref[0], naive_forward(x64, w64, bias.astype(np.float64), pads), **tol)
    np.testing.assert_allclose(ref[1], naive_input_grad(g64, w64, pads, hw), **tol)
    np.testing.assert_allclose(ref[2], naive_weight_grad(x64, g64, pads, kernel), **tol)


def test_empty_batch():
    x = np.zeros((3, 0, 6, 6), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    g = np.zeros((4, 0, 6, 6), np.float32)
    assert K.conv2d_cm(x, w, None, (1, 1, 1, 1)).shape == (4, 0, 6, 6)
    assert K.conv2d_cm_input_grad(g, w, (1, 1, 1, 1), (6, 6)).shape == (3, 0, 6, 6)
    np.testing.assert_array_equal(K.conv2d_cm_weight_grad(x, g, (1, 1, 1, 1), (3, 3)),
                                  np.zeros((4, 3, 3, 3), np.float32))
