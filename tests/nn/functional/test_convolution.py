"""conv2d / conv_transpose2d: gradcheck, the naive loops from the slide, PyTorch."""
import itertools

import numpy as np
import pytest

import neuronet as nt
from neuronet.nn import functional as F
from neuronet.nn.functional import _im2col
from conv_reference import (
    conv2d_input_grad_reference, conv2d_reference, conv2d_weight_grad_reference,
    conv_transpose2d_reference)
from helpers import channel_major_tensor, check_grad, compare_with_torch, randn, requires_torch, torch


def _t(a, requires_grad=True):
    """A tensor holding ``a``'s values (C-contiguous, as torch.tensor makes) or, for an
    array that is not C-contiguous, ``a`` itself in its own layout."""
    if isinstance(a, np.ndarray) and a.ndim == 4 and not a.flags.c_contiguous:
        # the channel-major view of a (C, N, H, W) tensor, on the default device
        return channel_major_tensor(a).requires_grad_(requires_grad)
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
    """<im2col(x), c> == <x, col2im(c)>, and im2col is the window view reordered."""
    r = np.random.default_rng(20)
    x = r.standard_normal((3, 2, 7, 9))
    for stride, dil in [((1, 1), (1, 1)), ((2, 1), (1, 2)), ((1, 1), (2, 1))]:
        k = (3, 2)
        ho, wo = (_im2col.out_size(7, k[0], stride[0], dil[0]),
                  _im2col.out_size(9, k[1], stride[1], dil[1]))
        cols = _im2col.im2col(x, k, stride, dil, (ho, wo))
        c = r.standard_normal(cols.shape)
        back = _im2col.col2im(c, (7, 9), stride, dil)
        np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)
        ref = _im2col.window_view(x, k, stride, dil, (ho, wo))        # (C, N, kH, kW, Ho, Wo)
        np.testing.assert_array_equal(cols, ref.transpose(0, 2, 3, 1, 4, 5))


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


# ------------------------------------------- channel-major, chunks, compiled path
from neuronet import _kernels  # noqa: E402
from neuronet.nn.functional import convolution as _conv  # noqa: E402

_HAVE_NUMBA = _kernels.numba_module() is not None


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


@pytest.mark.parametrize("needs", ["x,w", "w", "x", "none"])
def test_chunked_gemms_match_naive_loops(kernel_path, monkeypatch, needs):
    """Batch chunks (several, the last one short) and every combination of which
    gradients are wanted."""
    monkeypatch.setattr(_conv, "_CHUNK_BYTES", 1)              # one image per chunk
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


def _channel_major(a):
    """The (N, C, H, W) view of a C-contiguous (C, N, H, W) copy of ``a``: what a convolution hands on."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@pytest.mark.parametrize("layout", ["batch-major", "channel-major"])
@pytest.mark.parametrize("stride,padding,dilation,groups,kernel", CONV_GRID)
def test_conv2d_every_kernel_matches_naive_loops(kernel_path, layout, stride, padding, dilation,
                                                 groups, kernel):
    """Each conv2d kernel the seam can pick, forced, on inputs in either layout: output,
    dx, dW and dbias against the loops (a kernel that cannot take the call is skipped)."""
    y, w, b = randn(3, 4, 7, 6, seed=50), randn(6, 4 // groups, *kernel, seed=51), randn(6, seed=52)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    x_in = _channel_major(y) if layout == "channel-major" else y
    assert _t(x_in).is_contiguous() == (layout == "batch-major")
    ref = conv2d_reference(y, w, b, **kw)
    gx = randn(*ref.shape, seed=56)
    ran = []
    for name in _kernels.names("conv2d"):
        yt, wt, bt = _t(x_in), _t(w), _t(b)
        with _kernels.force("conv2d", name):
            try:
                out = F.conv2d(yt, wt, bt, **kw)
            except RuntimeError as e:
                assert "cannot take this call" in str(e)
                continue
            out.backward(nt.tensor(gx))
        ran.append(_kernels.last("conv2d"))
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_reference(y, gx, w.shape, **kw),
                                   rtol=1e-10, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(yt.grad.numpy(), conv2d_input_grad_reference(gx, w, y.shape, **kw),
                                   rtol=1e-10, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(bt.grad.numpy(), gx.sum(axis=(0, 2, 3)), rtol=1e-10, err_msg=name)
    assert "gemm-channel-major" in ran          # the portable kernel takes every call
    if groups == 1 and layout == "batch-major":
        assert "gemm-batch-major" in ran


@pytest.mark.parametrize("compiled", [False, True], ids=["gemm", "numba-direct"])
def test_conv2d_hands_on_channel_major_and_the_next_layers_keep_it(compiled):
    """Without compiled kernels a multi-channel batch-major input goes batch-major; every
    other path hands on a channel-major view that ReLU and 2x2 pooling keep, so the next
    convolution reads it in place."""
    if compiled and not _HAVE_NUMBA:
        pytest.skip("numba not installed")
    prev = _kernels.set_enabled(compiled)
    try:
        x = nt.tensor(randn(4, 3, 12, 12, seed=53, dtype=np.float32))
        if compiled and x.device.type != "cpu":
            pytest.skip("the compiled kernels take host arrays only")
        w1 = nt.tensor(randn(5, 3, 3, 3, seed=54, dtype=np.float32))
        w2 = nt.tensor(randn(6, 5, 3, 3, seed=55, dtype=np.float32))
        h = F.conv2d(x, w1, padding=1)
        if _kernels.last("conv2d") == "gemm-batch-major":
            assert not compiled and h.is_contiguous()
        else:
            assert _kernels.last("conv2d") == "numba-direct" and compiled
            assert _conv.is_channel_major(h.array) and not h.is_contiguous()
        one = nt.tensor(randn(4, 1, 12, 12, seed=56, dtype=np.float32))   # C == 1: both layouts
        h = F.conv2d(one, w1[:, :1], padding=1)
        assert _kernels.last("conv2d") in ("gemm-channel-major", "numba-direct")
        assert _conv.is_channel_major(h.array) and not h.is_contiguous()
        h = F.max_pool2d(F.relu(h), 2)
        kept = _kernels.last("max_pool2d") != "tracked"   # the plane-wise kernels keep the layout
        assert _conv.is_channel_major(h.array) or not kept
        out = F.conv2d(h, w2[:, :5])
        assert _kernels.last("conv2d") in ("gemm-channel-major", "numba-direct") or not kept
        assert out.shape == (4, 6, 4, 4)
    finally:
        _kernels.set_enabled(prev)


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
@pytest.mark.parametrize("needs", ["x,w", "w", "x"])
def test_channel_major_chunked_gemms_match_naive_loops(kernel_path, monkeypatch, gemm_cols, needs):
    """The channel-major core's chunks (capped at _GEMM_COLS columns: 5 images of 6x7
    outputs in chunks of 1 or 2, the last one short), the weight gradient accumulated
    transposed chunk by chunk."""
    monkeypatch.setattr(_conv, "_GEMM_COLS", gemm_cols)
    y, w, b = randn(5, 3, 8, 7, seed=146), randn(4, 3, 3, 3, seed=147), randn(4, seed=148)
    yt, wt = _t(_channel_major(y), "x" in needs), _t(w, "w" in needs)
    with _kernels.force("conv2d", "gemm-channel-major"):
        out = F.conv2d(yt, wt, _t(b, False), padding=(1, 0))
        ref = conv2d_reference(y, w, b, padding=(1, 0))
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-10)
        gx = randn(*ref.shape, seed=149)
        out.backward(nt.tensor(gx))
    if "w" in needs:
        np.testing.assert_allclose(wt.grad.numpy(),
                                   conv2d_weight_grad_reference(y, gx, w.shape, padding=(1, 0)),
                                   rtol=1e-10, atol=1e-10)
    if "x" in needs:
        np.testing.assert_allclose(yt.grad.numpy(),
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
    got = _kernels._numba_kernels.col2im(cols, np.zeros((2, n, 30, 30)), (1, 1), (1, 1))
    prev = _kernels.set_enabled(False)
    try:
        ref = _im2col.col2im(cols, (30, 30), (1, 1), (1, 1))
    finally:
        _kernels.set_enabled(prev)
    np.testing.assert_array_equal(got, ref)
