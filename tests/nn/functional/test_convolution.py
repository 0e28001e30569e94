"""conv2d / conv_transpose2d: gradcheck, the naive loops from the slide, PyTorch."""
import itertools

import numpy as np
import pytest

import neuronet as nt
from neuronet.nn import functional as F
from neuronet.nn.functional import _im2col
from neuronet.nn.functional.convolution import (
    conv2d_input_grad_reference, conv2d_reference, conv2d_weight_grad_reference,
    conv_transpose2d_reference)
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


def _t(a, requires_grad=True):
    return nt.tensor(a, requires_grad=requires_grad)


# ------------------------------------------------------------------ gradcheck
CONV_GRID = [
    # stride, padding, dilation, groups, kernel
    (1, 0, 1, 1, (3, 3)),
    (2, 1, 1, 1, (3, 2)),
    (1, "same", 2, 1, (3, 2)),
    (1, "same", 1, 2, (2, 2)),      # even kernel: asymmetric padding
    (1, "valid", 1, 2, (3, 3)),
    (2, 0, 2, 2, (2, 3)),
    ((2, 1), (1, 0), (1, 2), 1, (3, 2)),
    (1, 1, 1, 1, (1, 1)),           # 1x1 fast path, with padding
    (1, 0, 1, 1, (1, 1)),
]


@pytest.mark.parametrize("stride,padding,dilation,groups,kernel", CONV_GRID)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_gradcheck(stride, padding, dilation, groups, kernel, bias):
    x = randn(2, 4, 6, 5, seed=1)
    w = randn(2 * groups, 4 // groups, *kernel, seed=2)
    args = [x, w] + ([randn(2 * groups, seed=3)] if bias else [])

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_grad(fn, *args)


TRANSPOSE_GRID = [
    # stride, padding, output_padding, groups, dilation, kernel
    (1, 0, 0, 1, 1, (3, 3)),
    (2, 1, 1, 1, 1, (3, 2)),
    (2, 0, 1, 2, 1, (2, 2)),
    (1, 1, 1, 1, 2, (3, 2)),        # output_padding < dilation with stride 1
    (3, 2, 2, 2, 2, (2, 3)),
    (1, 0, 0, 2, 1, (1, 1)),
]


@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation,kernel", TRANSPOSE_GRID)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d_gradcheck(stride, padding, output_padding, groups, dilation, kernel, bias):
    x = randn(2, 4, 4, 3, seed=4)
    w = randn(4, 6 // groups, *kernel, seed=5)
    args = [x, w] + ([randn(6 // groups * groups, seed=6)] if bias else [])

    def fn(x, w, b=None):
        return F.conv_transpose2d(x, w, b, stride=stride, padding=padding,
                                  output_padding=output_padding, groups=groups, dilation=dilation)
    check_grad(fn, *args)


def test_conv2d_gradcheck_unbatched():
    check_grad(lambda x, w, b: F.conv2d(x, w, b, padding=1), randn(2, 5, 4), randn(3, 2, 3, 3),
               randn(3))
    check_grad(lambda x, w: F.conv_transpose2d(x, w, stride=2), randn(2, 3, 4), randn(2, 3, 2, 2))


def test_conv2d_gradcheck_deep_in_graph():
    """A conv fed by another op (its input needs a gradient through the chain)."""
    def fn(x, w1, w2):
        h = F.conv2d(x, w1, padding=1)
        return F.conv2d(h * h, w2, stride=2)
    check_grad(fn, randn(2, 2, 6, 6, seed=7), randn(3, 2, 3, 3, seed=8), randn(2, 3, 2, 2, seed=9))


# ------------------------------------------------------- naive loops (slide)
REF_GRID = [
    (1, 0, 1, 1, (3, 3)),
    (2, 1, 1, 2, (3, 2)),
    (1, "same", 2, 1, (2, 3)),
    ((1, 2), (2, 1), (2, 1), 2, (3, 3)),
    (3, 0, 1, 1, (2, 2)),
    (1, 2, 1, 1, (5, 5)),
]


@pytest.mark.parametrize("stride,padding,dilation,groups,kernel", REF_GRID)
def test_conv2d_matches_naive_loops(stride, padding, dilation, groups, kernel):
    y, w, b = randn(2, 4, 9, 8, seed=10), randn(4, 4 // groups, *kernel, seed=11), randn(4, seed=12)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    yt, wt, bt = _t(y), _t(w), _t(b)
    out = F.conv2d(yt, wt, bt, **kw)
    np.testing.assert_allclose(out.numpy(), conv2d_reference(y, w, b, **kw), rtol=1e-10, atol=1e-10)
    gx = randn(*out.shape, seed=13)
    out.backward(nt.tensor(gx))
    np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_reference(y, gx, w.shape, **kw),
                               rtol=1e-10, atol=1e-10, err_msg="delta rule (weight gradient)")
    np.testing.assert_allclose(yt.grad.numpy(), conv2d_input_grad_reference(gx, w, y.shape, **kw),
                               rtol=1e-10, atol=1e-10, err_msg="chain rule (input gradient)")
    np.testing.assert_allclose(bt.grad.numpy(), gx.sum(axis=(0, 2, 3)), rtol=1e-10)


@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation", [
    (1, 0, 0, 1, 1), (2, 1, 1, 2, 1), (2, 0, 0, 1, 2), (1, 1, 1, 2, 2)])
def test_conv_transpose2d_matches_naive_loops(stride, padding, output_padding, groups, dilation):
    x, w, b = randn(2, 4, 4, 5, seed=14), randn(4, 3, 3, 2, seed=15), randn(3 * groups, seed=16)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
              dilation=dilation)
    out = F.conv_transpose2d(_t(x), _t(w), _t(b), **kw)
    np.testing.assert_allclose(out.numpy(), conv_transpose2d_reference(x, w, b, **kw),
                               rtol=1e-10, atol=1e-10)


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    """The chain rule of conv2d *is* conv_transpose2d with the same weights."""
    y, w = randn(2, 4, 9, 7, seed=17), randn(6, 2, 3, 3, seed=18)
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    out = F.conv2d(_t(y, False), _t(w, False), **kw)
    gx = randn(*out.shape, seed=19)
    dy = conv2d_input_grad_reference(gx, w, y.shape, **kw)
    # H = (Ho - 1) s - 2p + d(k - 1) + output_padding + 1 recovers 9 and 7.
    t = F.conv_transpose2d(_t(gx, False), _t(w, False), stride=2, padding=1, groups=2,
                           output_padding=(0, 0))
    np.testing.assert_allclose(t.numpy(), dy, rtol=1e-10, atol=1e-10)


def test_im2col_col2im_are_adjoint():
    """<im2col(x), c> == <x, col2im(c)> for both grids (exact and wide)."""
    r = np.random.default_rng(20)
    x = r.standard_normal((3, 2, 7, 9))
    for stride, dil, wide in [((1, 1), (1, 1), False), ((2, 1), (1, 2), False),
                              ((1, 1), (2, 1), True), ((1, 1), (1, 1), True)]:
        k = (3, 2)
        ho, wo = (_im2col.out_size(7, k[0], stride[0], dil[0]),
                  _im2col.out_size(9, k[1], stride[1], dil[1]))
        cols = _im2col.im2col(x, k, stride, dil, (ho, wo), wide=wide)
        c = r.standard_normal(cols.shape)
        if wide:
            c[..., wo:] = 0          # wide grids carry zero gradient on junk columns
        back = _im2col.col2im(c, (7, 9), stride, dil, wide=wide)
        np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)
        ref = _im2col.window_view(x, k, stride, dil, (ho, wo))        # (C, N, kH, kW, Ho, Wo)
        np.testing.assert_array_equal(cols[..., :wo], ref.transpose(0, 2, 3, 1, 4, 5))


# ------------------------------------------------------------------- PyTorch
TORCH_GRID = [(s, p, d, g) for s, p, d, g in itertools.product(
    [1, 2],                       # stride
    [0, 1, "same", "valid"],      # padding
    [1, 2],                       # dilation
    [1, 2],                       # groups
) if not (p == "same" and s != 1)]  # PyTorch refuses 'same' with stride > 1 (see the errors)


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("stride,padding,dilation,groups", TORCH_GRID)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_matches_torch(stride, padding, dilation, groups, dtype):
    x = randn(3, 4, 11, 10, seed=21, dtype=dtype)
    w = randn(6, 4 // groups, 3, 2, seed=22, dtype=dtype)
    b = randn(6, seed=23, dtype=dtype)
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-10)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    out = compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, **kw),
                             lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw),
                             x, w, b, **tol)
    assert out.dtype == dtype


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("shape_x,shape_w,kw", [
    ((8, 1, 28, 28), (6, 1, 5, 5), {}),                          # LeNet C1
    ((8, 6, 14, 14), (16, 6, 5, 5), {}),                         # LeNet C3
    ((4, 16, 16, 16), (16, 16, 3, 3), {"padding": 1}),           # ResNet block
    ((4, 16, 16, 16), (32, 16, 3, 3), {"stride": 2, "padding": 1}),
    ((4, 16, 8, 8), (32, 16, 1, 1), {"stride": 2}),              # ResNet shortcut
    ((4, 8, 9, 9), (8, 1, 3, 3), {"padding": 1, "groups": 8}),   # depthwise
    ((2, 3, 13, 13), (4, 3, 4, 4), {"padding": "same"}),         # even kernel 'same'
    ((3, 12, 12), (5, 3, 3, 3), {"padding": 2, "dilation": 2}),  # unbatched
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_matches_torch_real_shapes(shape_x, shape_w, kw, dtype):
    x, w, b = randn(*shape_x, seed=24, dtype=dtype), randn(*shape_w, seed=25, dtype=dtype), \
        randn(shape_w[0], seed=26, dtype=dtype)
    tol = dict(atol=2e-4, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-10)
    compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, **kw),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw), x, w, b, **tol)


@requires_torch
@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (2, 0, 1, 2, 1), (1, 1, 1, 1, 2), (3, 1, 2, 2, 1),
    ((2, 1), (0, 1), (1, 0), 1, (1, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose2d_matches_torch(stride, padding, output_padding, groups, dilation, dtype):
    x = randn(2, 4, 5, 6, seed=27, dtype=dtype)
    w = randn(4, 6 // groups, 3, 2, seed=28, dtype=dtype)
    b = randn(6, seed=29, dtype=dtype)
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-10)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
              dilation=dilation)
    compare_with_torch(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
                       lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **kw),
                       x, w, b, **tol)


@requires_torch
def test_conv_transpose2d_unbatched_matches_torch():
    x, w = randn(4, 5, 5, seed=30), randn(4, 2, 3, 3, seed=31)
    compare_with_torch(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
                       lambda x, w: torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1),
                       x, w, atol=1e-10, rtol=1e-10)


# ---------------------------------------------------------------- float32 kept
@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_float32_end_to_end(op):
    x = _t(randn(2, 4, 8, 8, seed=32, dtype=np.float32))
    w = _t(randn(4, 4, 3, 3, seed=33, dtype=np.float32))
    b = _t(randn(4, seed=34, dtype=np.float32))
    out = getattr(F, op)(x, w, b, stride=1, padding=1)
    assert out.dtype == np.float32
    out.backward(nt.tensor(randn(*out.shape, seed=35, dtype=np.float32)))
    for t in (x, w, b):
        assert t.grad.dtype == np.float32


def test_first_layer_skips_the_input_gradient():
    """With an input that needs no gradient, backward still yields dW and db."""
    x = _t(randn(2, 1, 8, 8, dtype=np.float32), requires_grad=False)
    w, b = _t(randn(3, 1, 3, 3, dtype=np.float32)), _t(randn(3, dtype=np.float32))
    F.conv2d(x, w, b).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 1, 3, 3) and b.grad.shape == (3,)


def test_output_shape_formula():
    # H_out = floor((H + 2p - d(k-1) - 1)/s) + 1
    x, w = _t(np.zeros((1, 2, 17, 12), np.float32), False), _t(np.zeros((3, 2, 3, 4), np.float32), False)
    for s, p, d in [(1, 0, 1), (2, 1, 1), (3, 2, 2), (2, 0, 3)]:
        out = F.conv2d(x, w, stride=s, padding=p, dilation=d)
        assert out.shape == (1, 3, (17 + 2 * p - d * 2 - 1) // s + 1, (12 + 2 * p - d * 3 - 1) // s + 1)


# --------------------------------------------------------------------- errors
def _conv_err(exc, match, x_shape=(8, 1, 28, 28), w_shape=(16, 1, 5, 5), b_shape=None,
              op=F.conv2d, dtypes=(np.float32, np.float32, np.float32), **kw):
    x = _t(np.zeros(x_shape, dtypes[0]), False)
    w = _t(np.zeros(w_shape, dtypes[1]), False)
    b = None if b_shape is None else _t(np.zeros(b_shape, dtypes[2]), False)
    with pytest.raises(exc, match=match) as info:
        op(x, w, b, **kw)
    return str(info.value)


def test_error_wrong_input_rank():
    msg = _conv_err(ValueError, r"conv2d: expected 3D .* or 4D .* received input of shape \(28, 28\)",
                    x_shape=(28, 28))
    assert "conv2d" in msg


def test_error_channel_mismatch_names_both_shapes():
    msg = _conv_err(ValueError, "conv2d", x_shape=(8, 1, 28, 28), w_shape=(16, 3, 5, 5))
    assert msg == ("conv2d: expected input with 3 channels (weight (16, 3, 5, 5), groups=1), "
                   "received input of shape (8, 1, 28, 28)")


def test_error_groups():
    _conv_err(ValueError, r"conv2d: expected input with 4 channels .*groups=2.*\(2, 3, 8, 8\)",
              x_shape=(2, 3, 8, 8), w_shape=(4, 2, 3, 3), groups=2)
    _conv_err(ValueError, r"conv2d: weight.shape\[0\]=3 must be divisible by groups=2",
              x_shape=(2, 4, 8, 8), w_shape=(3, 2, 3, 3), groups=2)
    _conv_err(ValueError, r"groups must be a positive integer, received groups=0", groups=0)


def test_error_kernel_larger_than_padded_input():
    _conv_err(ValueError, r"conv2d: kernel size 5x5 .*larger than the padded input 4x4 .*\(1, 1, 4, 4\)",
              x_shape=(1, 1, 4, 4))
    _conv_err(ValueError, r"dilated 9x9", x_shape=(1, 1, 8, 8), dilation=2)


@pytest.mark.parametrize("kw,match", [
    ({"stride": 0}, r"conv2d: stride must be positive, received stride=0"),
    ({"stride": (1, -1)}, r"conv2d: stride must be positive, received stride=\(1, -1\)"),
    ({"dilation": 0}, r"conv2d: dilation must be positive, received dilation=0"),
    ({"padding": -1}, r"conv2d: padding must be non-negative, received padding=-1"),
    ({"padding": "full"}, r"conv2d: padding must be an int, a pair, 'same' or 'valid', received padding='full'"),
    ({"padding": "same", "stride": 2}, r"conv2d: padding='same' is not supported for strided"),
    ({"stride": 1.5}, r"conv2d: expected stride to be an int or a pair of ints, received 1.5"),
])
def test_error_bad_hyperparameters(kw, match):
    _conv_err((ValueError, TypeError), match, **kw)


def test_error_bias_shape():
    _conv_err(ValueError, r"conv2d: expected bias of shape \(16,\) .*received bias of shape \(6,\)",
              b_shape=(6,))


def test_error_dtype_mismatch():
    _conv_err(TypeError, r"conv2d: input, weight and bias must have the same dtype, received input "
              r"(torch\.)?float32, weight (torch\.)?float64", dtypes=(np.float32, np.float64, np.float32))
    _conv_err(TypeError, r"bias (torch\.)?float64", b_shape=(16,), dtypes=(np.float32, np.float32, np.float64))


def test_error_weight_rank_and_type():
    _conv_err(ValueError, r"conv2d: expected a 4D weight .*received weight of shape \(16, 5, 5\)",
              w_shape=(16, 5, 5))
    with pytest.raises(TypeError, match="conv2d: expected input to be a Tensor, received ndarray"):
        F.conv2d(np.zeros((1, 1, 5, 5)), _t(np.zeros((1, 1, 3, 3))))


def test_conv_transpose2d_errors():
    op = F.conv_transpose2d
    _conv_err(ValueError, r"conv_transpose2d: expected input with 4 channels .*\(4, 2, 3, 3\).*"
              r"received input of shape \(1, 3, 5, 5\)",
              x_shape=(1, 3, 5, 5), w_shape=(4, 2, 3, 3), op=op)
    _conv_err(ValueError, r"conv_transpose2d: output padding must be smaller than either stride or "
              r"dilation, received output_padding=\(1, 1\), stride=\(1, 1\), dilation=\(1, 1\)",
              x_shape=(1, 4, 5, 5), w_shape=(4, 2, 3, 3), op=op, output_padding=1)
    _conv_err(ValueError, r"conv_transpose2d: .* gives output size -2x-2; expected a positive",
              x_shape=(1, 4, 2, 2), w_shape=(4, 2, 1, 1), op=op, padding=2)
    _conv_err(ValueError, r"conv_transpose2d: expected bias of shape \(4,\)",
              x_shape=(1, 4, 5, 5), w_shape=(4, 2, 3, 3), b_shape=(2,), op=op, groups=2)
    _conv_err(ValueError, r"conv_transpose2d: padding must be an int or a pair of ints, received "
              r"padding='same'", x_shape=(1, 4, 5, 5), w_shape=(4, 2, 3, 3), op=op, padding="same")


@pytest.mark.parametrize("groups,m,k,M", [(1, 6, 25, 9001), (2, 3, 8, 20000), (1, 4, 9, 100)])
def test_weight_gradient_chunked_reduction(groups, m, k, M):
    """The delta rule's long sum over N*Ho*Wo runs in cache-sized chunks (plus a remainder)."""
    from neuronet.nn.functional.convolution import _mm_nt
    r = np.random.default_rng(36)
    a, b = r.standard_normal((groups, m, M)), r.standard_normal((groups, k, M))
    np.testing.assert_allclose(_mm_nt(a, b), a @ b.transpose(0, 2, 1), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("padding,dilation", [(1, 1), ("same", 2), (0, (1, 2))])
def test_wide_grid_path_matches_naive_loops(monkeypatch, padding, dilation):
    """The padded-width column grid (off by default) gives the same numbers."""
    from neuronet.nn.functional import convolution
    monkeypatch.setattr(convolution, "_use_wide", lambda kernel, stride, wp, wo: stride == (1, 1))
    y, w, b = randn(2, 4, 7, 8, seed=37), randn(6, 2, 3, 2, seed=38), randn(6, seed=39)
    kw = dict(padding=padding, dilation=dilation, groups=2)
    yt, wt = _t(y), _t(w)
    out = F.conv2d(yt, wt, _t(b), **kw)
    np.testing.assert_allclose(out.numpy(), conv2d_reference(y, w, b, **kw), rtol=1e-10, atol=1e-10)
    gx = randn(*out.shape, seed=40)
    out.backward(nt.tensor(gx))
    np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_reference(y, gx, w.shape, **kw),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(yt.grad.numpy(), conv2d_input_grad_reference(gx, w, y.shape, **kw),
                               rtol=1e-10, atol=1e-10)


# ------------------------------------------- channel-major, chunks, compiled path
from neuronet import _kernels  # noqa: E402
from neuronet.nn.functional import convolution as _conv  # noqa: E402

_HAVE_NUMBA = _kernels._module() is not None


@pytest.fixture(params=["numpy", "numba"])
def kernel_path(request):
    """Run a test on the pure NumPy loops and, when numba is installed, on the compiled ones."""
    if request.param == "numba" and not _HAVE_NUMBA:
        pytest.skip("numba not installed: the compiled path is off")
    prev = _kernels.set_enabled(request.param == "numba")
    assert _kernels.enabled() == (request.param == "numba")
    yield request.param
    _kernels.set_enabled(prev)


def test_im2col_col2im_compiled_path_matches_numpy(kernel_path):
    """Both paths give the same columns and the same window sums (views as out= too)."""
    x = randn(3, 4, 9, 8, seed=41)
    cols = _im2col.im2col(x, (3, 2), (1, 1), (1, 1), (7, 7))
    view = np.lib.stride_tricks.sliding_window_view(x, (3, 2), axis=(2, 3))   # (C, N, 7, 7, 3, 2)
    np.testing.assert_array_equal(cols, view.transpose(0, 4, 5, 1, 2, 3))
    big = np.zeros((3, 3, 2, 6, 7, 7))
    _im2col.im2col(x, (3, 2), (1, 1), (1, 1), (7, 7), out=big[:, :, :, 1:5])   # a strided out=
    np.testing.assert_array_equal(big[:, :, :, 1:5], cols)
    c = randn(*cols.shape, seed=42)
    back = _im2col.col2im(c, (9, 8), (1, 1), (1, 1))
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-12)
    out = np.zeros((3, 6, 9, 8))
    _im2col.col2im(c, (9, 8), (1, 1), (1, 1), out=out[:, 2:6])
    np.testing.assert_array_equal(out[:, 2:6], back)


@pytest.mark.parametrize("stride,padding,dilation,groups,kernel", CONV_GRID[:7])
def test_conv2d_matches_naive_loops_both_kernel_paths(kernel_path, stride, padding, dilation, groups, kernel):
    y, w = randn(2, 4, 7, 6, seed=43), randn(6, 4 // groups, *kernel, seed=44)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    yt, wt = _t(y), _t(w)
    out = F.conv2d(yt, wt, **kw)
    np.testing.assert_allclose(out.numpy(), conv2d_reference(y, w, **kw), rtol=1e-10, atol=1e-10)
    gx = randn(*out.shape, seed=45)
    out.backward(nt.tensor(gx))
    np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_reference(y, gx, w.shape, **kw),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(yt.grad.numpy(), conv2d_input_grad_reference(gx, w, y.shape, **kw),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("save_bytes", [0, 1 << 30], ids=["rebuild-columns", "keep-columns"])
@pytest.mark.parametrize("needs", ["x,w", "w", "x", "none"])
def test_chunked_gemms_match_naive_loops(kernel_path, monkeypatch, save_bytes, needs):
    """Batch chunks (several, the last one short), columns kept or rebuilt in backward,
    and every combination of which gradients are wanted."""
    monkeypatch.setattr(_conv, "_CHUNK_BYTES", 1)              # one image per chunk
    monkeypatch.setattr(_conv, "_SAVE_COLUMNS_BYTES", save_bytes)
    y, w, b = randn(5, 3, 8, 7, seed=46), randn(4, 3, 3, 3, seed=47), randn(4, seed=48)
    yt, wt = _t(y, "x" in needs), _t(w, "w" in needs)
    out = F.conv2d(yt, wt, _t(b), padding=1)
    np.testing.assert_allclose(out.numpy(), conv2d_reference(y, w, b, padding=1), rtol=1e-10, atol=1e-10)
    gx = randn(*out.shape, seed=49)
    out.backward(nt.tensor(gx))
    if "w" in needs:
        np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_reference(y, gx, w.shape, padding=1),
                                   rtol=1e-10, atol=1e-10)
    if "x" in needs:
        np.testing.assert_allclose(yt.grad.numpy(), conv2d_input_grad_reference(gx, w, y.shape, padding=1),
                                   rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("stride,padding,dilation,groups,kernel", CONV_GRID)
def test_conv2d_cm_gradcheck(stride, padding, dilation, groups, kernel):
    x, w, b = randn(4, 2, 6, 5, seed=50), randn(4, 4 // groups, *kernel, seed=51), randn(4, seed=52)
    check_grad(lambda x, w, b: _conv.conv2d_cm(x, w, b, stride, padding, dilation, groups), x, w, b)


def test_conv2d_cm_is_conv2d_with_batch_and_channel_axes_swapped(kernel_path):
    x, w, b = randn(3, 4, 9, 8, seed=53), randn(6, 2, 3, 3, seed=54), randn(6, seed=55)
    kw = dict(stride=(1, 2), padding=(2, 1), dilation=1, groups=2)
    ref = conv2d_reference(x, w, b, **kw)
    xt, wt, bt = _t(np.ascontiguousarray(x.transpose(1, 0, 2, 3))), _t(w), _t(b)
    out = _conv.conv2d_cm(xt, wt, bt, **kw)
    assert out.shape == (6, 3) + ref.shape[2:]
    np.testing.assert_allclose(out.numpy().transpose(1, 0, 2, 3), ref, rtol=1e-10, atol=1e-10)
    gx = randn(*ref.shape, seed=56)
    out.backward(nt.tensor(np.ascontiguousarray(gx.transpose(1, 0, 2, 3))))
    np.testing.assert_allclose(xt.grad.numpy().transpose(1, 0, 2, 3),
                               conv2d_input_grad_reference(gx, w, x.shape, **kw), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_reference(x, gx, w.shape, **kw),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(bt.grad.numpy(), gx.sum(axis=(0, 2, 3)), rtol=1e-10)


def test_conv2d_cm_errors_name_the_layout():
    x, w = _t(np.zeros((2, 5, 8, 8), np.float32), False), _t(np.zeros((4, 3, 3, 3), np.float32), False)
    with pytest.raises(ValueError, match=r"conv2d_cm: expected input with 3 channels.*\(2, 5, 8, 8\)"):
        _conv.conv2d_cm(x, w)
    with pytest.raises(ValueError, match=r"conv2d_cm: expected a 4D channel-major input \(C_in, N, H, W\)"):
        _conv.conv2d_cm(_t(np.zeros((3, 8, 8), np.float32), False), w)


@requires_torch
def test_lenet5_fast_forward_equals_the_layer_by_layer_forward():
    """LeNet5.forward's channel-major, pool-before-bias path gives the values of
    features -> classifier exactly, the same gradients, and steps aside for hooks."""
    from neuronet.models import LeNet5
    nt.manual_seed(3)
    m = LeNet5()
    x = nt.tensor(randn(5, 1, 28, 28, seed=57, dtype=np.float32))
    assert m._fast_forward_applies()
    fast = m(x)
    slow = m.classifier(m.features(x).flatten(1))
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    g = nt.tensor(randn(5, 10, seed=58, dtype=np.float32))
    grads = []
    for out in (fast, slow):
        m.zero_grad()
        out.backward(g)
        grads.append({k: p.grad.numpy().copy() for k, p in m.named_parameters()})
    for k in grads[0]:
        np.testing.assert_allclose(grads[0][k], grads[1][k], rtol=1e-5, atol=1e-6, err_msg=k)
    seen = []
    handle = m.features[1].register_forward_hook(lambda mod, i, o: seen.append(o.shape))
    assert not m._fast_forward_applies()
    np.testing.assert_array_equal(m(x).numpy(), fast.numpy())
    assert seen == [(5, 6, 28, 28)]
    handle.remove()
    assert m._fast_forward_applies()


@pytest.mark.parametrize("kernel,stride,pads,dilation", [
    ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),      # ResNet's downsampling conv
    ((3, 2), (2, 1), (0, 1, 2, 0), (1, 2)),      # asymmetric padding, mixed stride/dilation
    ((1, 1), (2, 2), (0, 0, 0, 0), (1, 1)),
    ((5, 5), (1, 1), (2, 2, 2, 2), (1, 1)),      # LeNet's C1
])
def test_batch_major_im2col_col2im_match_channel_major_and_are_adjoint(kernel_path, kernel, stride,
                                                                       pads, dilation):
    """im2col_nchw on an image chunk equals im2col of the padded channel-major chunk, and
    col2im_nchw is its adjoint (and overwrites only the chunk's images), on both paths."""
    x = randn(5, 3, 9, 8, seed=60)
    t, b, l, r = pads
    ho = _im2col.out_size(9 + t + b, kernel[0], stride[0], dilation[0])
    wo = _im2col.out_size(8 + l + r, kernel[1], stride[1], dilation[1])
    cols = _im2col.im2col_nchw(x, 1, 4, kernel, stride, pads, dilation, (ho, wo))
    want = _im2col.im2col(_im2col.channel_major(x[1:4], pads), kernel, stride, dilation, (ho, wo))
    np.testing.assert_array_equal(cols, want)
    c = randn(*cols.shape, seed=61)
    dx = np.full(x.shape, 7.0)
    _im2col.col2im_nchw(c, 1, stride, pads, dilation, dx)
    assert (dx[[0, 4]] == 7.0).all()
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x[1:4], dx[1:4]), rtol=1e-12)


def test_batch_major_transposes(kernel_path):
    res, g = randn(4, 3, 10, seed=62), randn(6, 4, 10, seed=63)
    out = np.zeros((6, 4, 10))
    _im2col.cm_to_nchw(res, 2, np.arange(4.0), out)
    np.testing.assert_array_equal(out[2:5], res.transpose(1, 0, 2) + np.arange(4.0)[:, None])
    assert (out[[0, 1, 5]] == 0).all()
    np.testing.assert_array_equal(_im2col.nchw_to_cm(g, 1, np.empty((4, 3, 10))),
                                  g[1:4].transpose(1, 0, 2))


@pytest.mark.parametrize("stride,padding,dilation,groups,kernel", [g for g in CONV_GRID if g[3] == 1])
def test_batch_major_chunked_conv2d_matches_naive_loops(kernel_path, monkeypatch, stride, padding,
                                                        dilation, groups, kernel):
    """conv2d's batch-major core, one image per chunk, with bias: output, dW, dx, dbias."""
    monkeypatch.setattr(_conv, "_CHUNK_BYTES", 1)
    y, w, b = randn(3, 4, 7, 6, seed=64), randn(5, 4, *kernel, seed=65), randn(5, seed=66)
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    yt, wt, bt = _t(y), _t(w), _t(b)
    out = F.conv2d(yt, wt, bt, **kw)
    np.testing.assert_allclose(out.numpy(), conv2d_reference(y, w, b, **kw), rtol=1e-10, atol=1e-10)
    gx = randn(*out.shape, seed=67)
    out.backward(nt.tensor(gx))
    np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_reference(y, gx, w.shape, **kw),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(yt.grad.numpy(), conv2d_input_grad_reference(gx, w, y.shape, **kw),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(bt.grad.numpy(), gx.sum(axis=(0, 2, 3)), rtol=1e-10)


@pytest.mark.parametrize("gemm_cols", [0, 1, 2 * 42], ids=["no-cap", "one-image", "two-images"])
@pytest.mark.parametrize("save_bytes", [0, 1 << 30], ids=["rebuild-columns", "keep-columns"])
@pytest.mark.parametrize("needs", ["x,w", "w", "x"])
def test_conv2d_cm_chunked_gemms_match_naive_loops(kernel_path, monkeypatch, gemm_cols, save_bytes,
                                                   needs):
    """The channel-major core's chunks (capped at _GEMM_COLS columns: 5 images of 6x7
    outputs in chunks of 1 or 2, the last one short), columns kept or rebuilt, the
    weight gradient accumulated transposed chunk by chunk."""
    monkeypatch.setattr(_conv, "_GEMM_COLS", gemm_cols)
    monkeypatch.setattr(_conv, "_SAVE_COLUMNS_BYTES", save_bytes)
    y, w, b = randn(5, 3, 8, 7, seed=146), randn(4, 3, 3, 3, seed=147), randn(4, seed=148)
    yt, wt = _t(y.transpose(1, 0, 2, 3).copy(), "x" in needs), _t(w, "w" in needs)
    out = _conv.conv2d_cm(yt, wt, _t(b, False), padding=(1, 0))
    ref = conv2d_reference(y, w, b, padding=(1, 0))
    assert out.shape == (4, 5, 8, 5)
    np.testing.assert_allclose(out.numpy().transpose(1, 0, 2, 3), ref, rtol=1e-10, atol=1e-10)
    gx = randn(*ref.shape, seed=149)
    out.backward(nt.tensor(gx.transpose(1, 0, 2, 3).copy()))
    if "w" in needs:
        np.testing.assert_allclose(wt.grad.numpy(),
                                   conv2d_weight_grad_reference(y, gx, w.shape, padding=(1, 0)),
                                   rtol=1e-10, atol=1e-10)
    if "x" in needs:
        np.testing.assert_allclose(yt.grad.numpy().transpose(1, 0, 2, 3),
                                   conv2d_input_grad_reference(gx, w, y.shape, padding=(1, 0)),
                                   rtol=1e-10, atol=1e-10)


def test_image_chunks_cap_on_gemm_columns(monkeypatch):
    monkeypatch.setattr(_conv, "_CHUNK_BYTES", 1000)
    monkeypatch.setattr(_conv, "_GEMM_COLS", 300)
    assert _conv._image_chunks(7, 100) == [(0, 7)]                     # bytes allow 10 images
    assert _conv._image_chunks(7, 100, 100) == [(0, 3), (3, 6), (6, 7)]    # columns allow 3
    assert _conv._image_chunks(3, 100, 1000) == [(0, 1), (1, 2), (2, 3)]   # at least one image
    monkeypatch.setattr(_conv, "_GEMM_COLS", 0)
    assert _conv._image_chunks(7, 100, 100) == [(0, 7)]


@pytest.mark.parametrize("n", [2, 40], ids=["planes-in-cache", "planes-past-256KiB"])
def test_col2im_both_loop_orders_match_numpy(n):
    """The compiled col2im picks its loop order by the size of one channel's planes
    (40 images of 30x30 float64 = 288 KiB takes the plane-by-plane order)."""
    if not _HAVE_NUMBA:
        pytest.skip("numba not installed: the compiled path is off")
    cols = randn(2, 3, 3, n, 28, 28, seed=150)
    got = _kernels.col2im(cols, np.zeros((2, n, 30, 30)))
    prev = _kernels.set_enabled(False)
    try:
        ref = _im2col.col2im(cols, (30, 30), (1, 1), (1, 1))
    finally:
        _kernels.set_enabled(prev)
    np.testing.assert_array_equal(got, ref)
