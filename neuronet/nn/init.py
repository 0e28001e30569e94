r"""Weight initialization schemes (``neuronet.nn.init``, PyTorch's names and formulas).

Why the scale matters: a layer ``y = W x`` with ``fan_in`` inputs, zero-mean
independent weights of variance ``Var(W)`` and inputs of variance ``Var(x)``
gives ``Var(y) = fan_in Var(W) Var(x)``; backward, ``Var(dx) = fan_out Var(W)
Var(dy)``. Unless ``fan Var(W)`` is about 1 (times a correction for what the
nonlinearity does to the variance, its *gain*), activations and gradients
shrink or grow geometrically with depth -- vanishing or exploding.

==================  ===========================================  =====================
scheme              Var(W)                                       paper
==================  ===========================================  =====================
xavier_*            gain^2 * 2 / (fan_in + fan_out)              Glorot & Bengio 2010
kaiming_*           gain^2 / fan          (fan_in or fan_out)    He et al. 2015
lecun_*             1 / fan_in                                   LeCun et al. 1998
orthogonal_         rows orthonormal, times gain                 Saxe et al. 2014
==================  ===========================================  =====================

A uniform draw on ``[-b, b]`` has variance ``b^2 / 3``, so each ``*_uniform_``
uses ``b = sqrt(3 Var)``.

Fans follow PyTorch's ``_calculate_fan_in_and_fan_out``: for a weight of shape
``(out, in, *kernel)`` (Linear: ``(out_features, in_features)``; Conv:
``(out_channels, in_channels / groups, kH, kW)``), ``fan_in = in * prod(kernel)``
and ``fan_out = out * prod(kernel)``.

Every function fills the tensor **in place** (its ``.array``, outside autograd,
keeping its dtype and device), draws from ``neuronet.backend.generator(xp)``
(seeded by ``neuronet.manual_seed``) unless a ``generator`` is passed, and
returns the tensor.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["calculate_gain", "constant_", "zeros_", "ones_", "uniform_", "normal_",
           "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "lecun_uniform_", "lecun_normal_", "orthogonal_", "eye_", "dirac_"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    r"""The recommended gain for a nonlinearity: the factor by which to scale a
    weight's standard deviation so that ``fan * Var(W) = gain^2`` keeps the
    activations' variance constant through ``layer -> nonlinearity``.

    ================= ===================================
    nonlinearity      gain
    ================= ===================================
    linear, conv*d,   1
    conv_transpose*d,
    sigmoid
    tanh              5/3
    relu              sqrt(2)  (ReLU zeroes half the inputs, halving the variance)
    leaky_relu        sqrt(2 / (1 + negative_slope^2))   (``param``, default 0.01)
    selu              3/4
    ================= ===================================
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float, np.integer, np.floating)):
            negative_slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: Unsupported nonlinearity {nonlinearity!r}; expected one of "
                     f"{list(_LINEAR_FNS) + ['sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu']}")


def _check_tensor(tensor, who):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{who}: expected a neuronet Tensor, received {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating-point tensor, received dtype {tensor.dtype}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight ``(out, in, *kernel)``; needs >= 2 dims."""
    shape = tensor.shape if isinstance(tensor, Tensor) else tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (received shape {tuple(shape)}); for a bias or a 1-d tensor use "
                         "uniform_/normal_/constant_ with an explicit scale")
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _no_op_if_empty(tensor, who):
    if 0 in tensor.shape:
        warnings.warn(f"{who}: Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def _rng(tensor, generator):
    return generator if generator is not None else backend.generator(backend.array_module(tensor.array))


def _assign(tensor, values):
    """Write ``values`` into the tensor's array in place, keeping its dtype
    (host values drawn by an explicit NumPy generator are copied to the GPU)."""
    if isinstance(values, np.ndarray) and values.ndim:
        values = backend.to_device(values, tensor.device)
    tensor.array[...] = values
    return tensor


def constant_(tensor, val):
    """Fill with the constant ``val``."""
    _check_tensor(tensor, "constant_")
    tensor.array[...] = val
    return tensor


def zeros_(tensor):
    """Fill with 0 (biases; the last BatchNorm gamma of a residual branch, Goyal et al. 2017)."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill with 1 (normalization scales)."""
    return constant_(tensor, 1.0)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Draw from U(a, b): variance (b - a)^2 / 12."""
    _check_tensor(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: expected a <= b, received a={a}, b={b}")
    return _assign(tensor, _draw_uniform(_rng(tensor, generator), tensor, a, b))


def _float_draw_dtype(tensor):
    # Drawing float32 directly halves the time to build a large model (VGG-16:
    # 138M weights); float64 tensors keep float64 draws.
    return np.float32 if tensor.dtype == np.float32 else np.float64


def _draw_uniform(gen, tensor, a, b):
    u = gen.random(tensor.shape, dtype=_float_draw_dtype(tensor))
    u *= (b - a)
    u += a
    return u


def _draw_normal(gen, tensor, mean, std):
    z = gen.standard_normal(tensor.shape, dtype=_float_draw_dtype(tensor))
    z *= std
    z += mean
    return z


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Draw from N(mean, std^2)."""
    _check_tensor(tensor, "normal_")
    if not std >= 0:
        raise ValueError(f"normal_: std must be >= 0, received {std}")
    return _assign(tensor, _draw_normal(_rng(tensor, generator), tensor, mean, std))


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    r"""Draw from N(mean, std^2) restricted to [a, b] (``a``, ``b`` absolute values).

    Sampled by rejection: draw normals, redraw those outside [a, b]; exact, and
    fast while [a, b] holds a reasonable share of the mass. Note the variance
    is *smaller* than std^2 (about 0.774 std^2 for the default [-2 std, 2 std]).
    Used by ViT-style models (``std=0.02``) to avoid rare large weights.
    """
    _check_tensor(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, received a={a}, b={b}")
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be > 0, received {std}")
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if mass < 1e-4:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds only {mass:.2e} of the mass of "
                         f"N({mean}, {std}^2); put the mean inside or near [a, b], or widen it")
    if _no_op_if_empty(tensor, "trunc_normal_"):
        return tensor
    xp = backend.array_module(tensor.array)
    rng = _rng(tensor, generator)
    n = tensor.numel()
    out = xp.empty(n, dtype=np.float64)
    filled = 0
    while filled < n:
        need = n - filled
        # mean + std * N(0, 1): CuPy's Generator has standard_normal but no normal
        draw = mean + std * rng.standard_normal(int(need / mass * 1.1) + 16)
        if isinstance(draw, np.ndarray) and xp is not np:      # an explicit NumPy generator
            draw = backend.to_device(draw, tensor.device)
        keep = draw[(draw >= a) & (draw <= b)][:need]
        out[filled:filled + keep.size] = keep
        filled += int(keep.size)
    return _assign(tensor, out.reshape(tensor.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    r"""Glorot & Bengio (2010): U(-b, b), ``b = gain * sqrt(6 / (fan_in + fan_out))``,
    so ``Var(W) = gain^2 * 2 / (fan_in + fan_out)``.

    The compromise between keeping the forward variance (``fan_in Var = 1``) and
    the backward one (``fan_out Var = 1``); derived for linear/tanh-like units.
    """
    _check_tensor(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    r"""Glorot & Bengio (2010): N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    _check_tensor(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He et al. (2015): U(-b, b), ``b = gain * sqrt(3 / fan)``, so ``Var(W) = gain^2 / fan``.

    With ReLU (gain sqrt 2) the factor 2 compensates for the half of the
    pre-activations that ReLU zeroes, so the variance is preserved through
    arbitrarily deep rectifier networks. ``mode='fan_in'`` preserves the forward
    activations' variance, ``'fan_out'`` the backward gradients'. ``a``: the
    negative slope of a leaky ReLU (used when ``nonlinearity='leaky_relu'``).
    Note PyTorch's Linear/Conv default init is ``kaiming_uniform_(w, a=sqrt(5))``.
    """
    _check_tensor(tensor, "kaiming_uniform_")
    if _no_op_if_empty(tensor, "kaiming_uniform_"):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He et al. (2015): N(0, std^2), ``std = gain / sqrt(fan)`` (see :func:`kaiming_uniform_`)."""
    _check_tensor(tensor, "kaiming_normal_")
    if _no_op_if_empty(tensor, "kaiming_normal_"):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def lecun_uniform_(tensor, generator=None):
    r"""LeCun et al. (1998, "Efficient BackProp"): U(-b, b), ``b = sqrt(3 / fan_in)``,
    so ``Var(W) = 1 / fan_in``: unit-variance pre-activations for unit-variance
    inputs (gain 1; the init SELU networks need, Klambauer et al. 2017)."""
    _check_tensor(tensor, "lecun_uniform_")
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -bound, bound, generator)


def lecun_normal_(tensor, generator=None):
    r"""LeCun et al. (1998): N(0, 1 / fan_in) (see :func:`lecun_uniform_`).

    Keras/JAX draw a normal truncated at 2 std, rescaled to the same variance;
    this one is the untruncated normal (same variance, light tails)."""
    _check_tensor(tensor, "lecun_normal_")
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in), generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    r"""Saxe et al. (2014): a (semi-)orthogonal matrix times ``gain``.

    The tensor is viewed as ``(rows, cols) = (shape[0], prod(shape[1:]))``; the Q
    of a QR decomposition of a Gaussian matrix (signs fixed by diag(R) so Q is
    Haar-distributed) fills it, so ``W W^T = gain^2 I`` (rows <= cols) or
    ``W^T W = gain^2 I`` (rows > cols). All singular values equal ``gain``: the
    norm of any signal is preserved exactly, at every depth (dynamical isometry).
    """
    _check_tensor(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError("orthogonal_: Only tensors with 2 or more dimensions are supported, "
                         f"received shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    xp = backend.array_module(tensor.array)
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(tensor, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))      # make the decomposition unique (uniform over O(n))
    if rows < cols:
        q = q.T
    return _assign(tensor, (q * gain).reshape(tensor.shape))


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal): a Linear layer
    that passes its input through, in as many dims as both sides have."""
    _check_tensor(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: Only tensors with 2 dimensions are supported, received shape "
                         f"{tuple(tensor.shape)}")
    xp = backend.array_module(tensor.array)
    return _assign(tensor, xp.eye(*tensor.shape, dtype=tensor.dtype))


def dirac_(tensor, groups=1):
    """Fill a conv weight ``(out, in/groups, *kernel)`` (3-, 4- or 5-D) with the Dirac
    delta: output channel ``g*out_per_group + d`` copies input channel ``d`` of group
    ``g`` through the kernel's centre, so the convolution (with 'same' padding) is
    the identity on as many channels as both sides have (zeros elsewhere). Used to
    initialise residual-free deep nets as identities (Zagoruyko & Komodakis 2017).
    """
    _check_tensor(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("dirac_: Only tensors with 3, 4, or 5 dimensions are supported, "
                         f"received shape {tuple(tensor.shape)}")
    sizes = tensor.shape
    if not isinstance(groups, int) or groups < 1 or sizes[0] % groups != 0:
        raise ValueError(f"dirac_: dim 0 must be divisible by groups; received shape {sizes}, "
                         f"groups={groups}")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    a = tensor.array
    a[...] = 0
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            a[(g * out_per_group + d, d) + centre] = 1
    return tensor
