"""Activation functions: the nonlinearities between the layers of a network.

Each op is one :class:`~neuronet.autograd.Function`: the equation in its
docstring, the forward, and the backward (the derivative of the equation
times the upstream gradient ``g = dE/dout``) side by side. All are
elementwise (``x`` of any shape, output of the same shape and dtype) except
``softmax`` / ``log_softmax``, which normalize along one ``dim``.

``inplace=True`` (accepted for PyTorch compatibility) returns a *new* tensor
and leaves ``input`` untouched: without a version counter the autograd
cannot tell whether the overwritten array was saved by an earlier op for its
backward, and a silently wrong gradient is worse than the extra buffer. The
returned values are exactly PyTorch's.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ...autograd.function import Function
from ...backend import array_module
from ...ops import elementwise as _el
from ...tensor import Tensor

__all__ = ["relu", "relu6", "hardtanh", "leaky_relu", "elu", "gelu", "sigmoid", "tanh",
           "softplus", "silu", "hardswish", "softmax", "log_softmax"]


# ---------------------------------------------------------------- validation
def _check_input(op: str, input, floating: bool = True):
    """Raise a clear error unless ``input`` is a Tensor (floating-point if asked)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a neuronet.Tensor, received {type(input).__name__}")
    if floating and input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, received dtype {input.dtype} "
                        f"(convert it first, e.g. x.float())")


def _check_number(op: str, name: str, value) -> float:
    """``value`` as a Python float (a NumPy float64 scalar would upcast float32 data)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, received {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be finite, received {value!r}")
    return float(value)


# ---------------------------------------------------------------- ReLU family
class ReLU(Function):
    """ReLU(x) = max(0, x)  (Nair & Hinton 2010; Krizhevsky et al. 2012).

    dE/dx = g * [out > 0]: the unit passes the gradient where it was active
    (0 at x = 0, as PyTorch). Only the boolean mask [out > 0] is saved (one
    byte per value): the next layer does not keep ``out`` (a convolution
    saves its own padded copy), so saving ``out`` itself would hold four
    times the memory until backward.
    """

    @staticmethod
    def forward(ctx, x):
        out = array_module(x).maximum(x, 0)
        if ctx.needs_input_grad[0]:      # no mask to build for inference
            # PyTorch's rule (threshold_backward): the gradient passes unless
            # out <= 0 -- so a NaN output passes it too.
            ctx.save_for_backward(~(out <= 0))
        return out

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        # where, not g * mask: an inf gradient on an inactive unit gives 0, not NaN
        return array_module(g).where(mask, g, g.dtype.type(0))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """relu(input, inplace=False): max(0, x) elementwise.

    input: any shape; output: same shape and dtype. ``inplace`` returns a new
    tensor (see the module docstring).
    """
    _check_input("relu", input, floating=False)
    return ReLU.apply(input)


class Hardtanh(Function):
    """Hardtanh(x) = min(max(x, min_val), max_val).

    dE/dx = g * [min_val < x < max_val] (0 at the two corners, as PyTorch).
    Saves a boolean mask (1 byte per element) rather than x.
    """

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        xp = array_module(x)
        ctx.save_for_backward((x > min_val) & (x < max_val))
        return xp.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved_tensors
        return g * inside, None, None


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """hardtanh(input, min_val=-1., max_val=1., inplace=False): x clipped to [min_val, max_val]."""
    _check_input("hardtanh", input)
    min_val = _check_number("hardtanh", "min_val", min_val)
    max_val = _check_number("hardtanh", "max_val", max_val)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, received "
                         f"min_val={min_val}, max_val={max_val}")
    return Hardtanh.apply(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(input, inplace=False): ReLU6(x) = min(max(0, x), 6), i.e. hardtanh(x, 0, 6).

    dE/dx = g * [0 < x < 6].
    """
    _check_input("relu6", input)
    return Hardtanh.apply(input, 0.0, 6.0)


class LeakyReLU(Function):
    """LeakyReLU(x) = x if x > 0 else negative_slope * x  (Maas et al. 2013).

    dE/dx = g if x > 0 else g * negative_slope (the slope at x = 0, as PyTorch).
    """

    @staticmethod
    def forward(ctx, x, negative_slope):
        xp = array_module(x)
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = negative_slope
        return xp.where(positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        (positive,) = ctx.saved_tensors
        return array_module(g).where(positive, g, g * ctx.slope), None


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """leaky_relu(input, negative_slope=0.01, inplace=False): x for x > 0, else negative_slope * x."""
    _check_input("leaky_relu", input)
    negative_slope = _check_number("leaky_relu", "negative_slope", negative_slope)
    return LeakyReLU.apply(input, negative_slope)


class ELU(Function):
    """ELU(x) = x if x > 0 else alpha * (e^x - 1)  (Clevert et al. 2016).

    dE/dx = g if x > 0 else g * alpha * e^x = g * (out + alpha).
    The negative branch uses expm1 so that small |x| keeps full precision;
    backward reuses the saved output instead of a second exp.
    """

    @staticmethod
    def forward(ctx, x, alpha):
        xp = array_module(x)
        positive = x > 0
        out = xp.where(positive, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(positive, out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, g):
        positive, out = ctx.saved_tensors
        return array_module(g).where(positive, g, g * (out + ctx.alpha)), None


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """elu(input, alpha=1.0, inplace=False): x for x > 0, else alpha * (exp(x) - 1)."""
    _check_input("elu", input)
    alpha = _check_number("elu", "alpha", alpha)
    return ELU.apply(input, alpha)


# ---------------------------------------------------------------- erf and GELU
# erf by W. J. Cody-style rational approximations from Sun's fdlibm s_erf.c
# (as in FreeBSD msun and musl's src/math/erf.c; error < 1 ulp in float64).
# NumPy has no erf and scipy is not a dependency; on CuPy we use
# cupyx.scipy.special.erf when it is there. Four ranges of |x|:
#   [0, 0.84375)     erf(x) = x + x * P(x^2) / Q(x^2)
#   [0.84375, 1.25)  erf(x) = erx + P(s) / Q(s),       s = |x| - 1
#   [1.25, 6)        erf(x) = 1 - exp(-x^2 - 0.5625 + R(1/x^2) / S(1/x^2)) / |x|
#                    (two coefficient sets, split at |x| = 1/0.35)
#   [6, inf)         erf(x) = 1 (erfc(6) ~ 2e-17 is below float64 resolution at 1)
# All four are evaluated on the whole array and selected by range: one code
# path for NumPy and CuPy, no data-dependent indexing.
_ERX = 8.45062911510467529297e-01
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)


def _poly(coeffs, t):
    """c0 + c1 t + c2 t^2 + ... by Horner's rule (keeps t's dtype)."""
    acc = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = acc * t + c
    return acc


def _erf_fdlibm(x):
    xp = array_module(x)
    a = xp.abs(x)
    # Each branch sees its argument clipped to its own range, so that the
    # branches not selected cannot overflow (inf/inf -> nan warnings).
    xs = xp.clip(x, -0.84375, 0.84375)
    z = xs * xs
    small = xs + xs * (_poly(_PP, z) / _poly(_QQ, z))
    s = xp.clip(a, 0.84375, 1.25) - 1
    mid = _ERX + _poly(_PA, s) / _poly(_QA, s)
    at = xp.clip(a, 1.25, 6.0)
    w = 1 / (at * at)
    ratio = xp.where(at < 1 / 0.35, _poly(_RA, w) / _poly(_SA, w), _poly(_RB, w) / _poly(_SB, w))
    tail = 1 - xp.exp(-at * at - 0.5625 + ratio) / at
    big = xp.copysign(xp.where(a < 1.25, mid, xp.where(a < 6, tail, 1)), x)
    out = xp.where(a < 0.84375, small, big)
    out = xp.where(xp.isnan(x), x, out)      # erf(nan) = nan
    return out.astype(x.dtype, copy=False)


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x e^(-t^2) dt of an
    ndarray (NumPy or CuPy), in x's dtype. Used by the exact GELU."""
    xp = array_module(x)
    if xp is not np:  # pragma: no cover - needs a GPU
        try:
            from cupyx.scipy.special import erf as cupy_erf
            return cupy_erf(x)
        except ImportError:
            pass
    return _erf_fdlibm(x)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_C = 0.044715


def _stable_sigmoid(z):
    """1 / (1 + e^-z) without overflow and without the 1 + tanh cancellation for z << 0."""
    xp = array_module(z)
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1, e) / (1 + e)


class GELU(Function):
    """GELU(x) = x * Phi(x)  (Hendrycks & Gimpel 2016), Phi the standard normal CDF.

    approximate='none':  Phi(x) = (1 + erf(x / sqrt 2)) / 2,
                         dE/dx = g * (Phi(x) + x * phi(x)),  phi(x) = e^(-x^2/2) / sqrt(2 pi).
    approximate='tanh':  GELU(x) ~ x/2 * (1 + tanh(u)) = x * s,
                         u = sqrt(2/pi) (x + 0.044715 x^3),  s = (1 + tanh u)/2 = sigmoid(2u),
                         dE/dx = g * (s + x * 2 s (1 - s) * sqrt(2/pi) (1 + 3*0.044715 x^2))
                         (1 - tanh^2 u = 4 s (1 - s)). Written with the sigmoid so that
                         large negative x loses no precision to 1 + tanh u ~ 0.
    """

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return x * _stable_sigmoid((2 * _SQRT_2_OVER_PI) * x * (1 + _GELU_C * x * x))
        return 0.5 * x * (1 + erf(x * _SQRT_HALF))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = array_module(x)
        x2 = x * x
        if ctx.approximate == "tanh":
            s = _stable_sigmoid((2 * _SQRT_2_OVER_PI) * x * (1 + _GELU_C * x2))
            d = s + x * (2 * s * (1 - s)) * (_SQRT_2_OVER_PI * (1 + 3 * _GELU_C * x2))
        else:
            d = 0.5 * (1 + erf(x * _SQRT_HALF)) + x * (_INV_SQRT_2PI * xp.exp(-0.5 * x2))
        return g * d, None


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """gelu(input, approximate='none'): x * Phi(x), exact (erf) or with the tanh approximation."""
    _check_input("gelu", input)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', received {approximate!r}")
    return GELU.apply(input, approximate)


# ---------------------------------------------------------------- sigmoid-like
def sigmoid(input: Tensor) -> Tensor:
    """sigmoid(input): 1 / (1 + e^-x);  dE/dx = g * out * (1 - out).

    The op is :class:`neuronet.ops.elementwise.Sigmoid` (overflow-free via
    tanh); this is the ``F.sigmoid`` spelling of it.
    """
    _check_input("sigmoid", input)
    return _el.Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """tanh(input): (e^x - e^-x) / (e^x + e^-x);  dE/dx = g * (1 - out^2).

    The op is :class:`neuronet.ops.elementwise.Tanh`; this is the ``F.tanh``
    spelling of it.
    """
    _check_input("tanh", input)
    return _el.Tanh.apply(input)


class Softplus(Function):
    """Softplus(x) = 1/beta * log(1 + e^(beta x)), and x itself where beta x > threshold.

    dE/dx = g * sigmoid(beta x) = g * z / (1 + z), z = e^(beta x); g where beta x > threshold.
    The linear branch avoids overflow of e^(beta x) and matches PyTorch.
    """

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = array_module(x)
        bx = x * beta
        linear = bx > threshold
        ctx.save_for_backward(x)
        ctx.params = (beta, threshold)
        soft = xp.log1p(xp.exp(xp.minimum(bx, threshold))) / beta
        return xp.where(linear, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.params
        xp = array_module(x)
        bx = x * beta
        z = xp.exp(xp.minimum(bx, threshold))
        return xp.where(bx > threshold, g, g * (z / (z + 1))), None, None


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """softplus(input, beta=1, threshold=20): a smooth ReLU, 1/beta * log(1 + exp(beta x))."""
    _check_input("softplus", input)
    beta = _check_number("softplus", "beta", beta)
    threshold = _check_number("softplus", "threshold", threshold)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero, received beta=0")
    return Softplus.apply(input, beta, threshold)


class SiLU(Function):
    """SiLU(x) = x * sigmoid(x)  (Elfwing et al. 2018; "swish").

    dE/dx = g * s * (1 + x (1 - s)),  s = sigmoid(x).
    """

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        ctx.save_for_backward(x)
        return x * (0.5 * (1 + xp.tanh(0.5 * x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = 0.5 * (1 + array_module(x).tanh(0.5 * x))
        return g * (s * (1 + x * (1 - s)))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """silu(input, inplace=False): x * sigmoid(x)."""
    _check_input("silu", input)
    return SiLU.apply(input)


class Hardswish(Function):
    """Hardswish(x) = x * ReLU6(x + 3) / 6  (Howard et al. 2019, MobileNetV3).

    dE/dx = 0 for x <= -3,  g * (2x + 3) / 6 for -3 < x < 3,  g for x >= 3
    (PyTorch's choice at the corners).
    """

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        ctx.save_for_backward(x)
        return x * xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = array_module(x)
        d = xp.where(x <= -3, 0, xp.where(x < 3, x / 3 + 0.5, 1)).astype(g.dtype, copy=False)
        return g * d


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """hardswish(input, inplace=False): x * relu6(x + 3) / 6."""
    _check_input("hardswish", input)
    return Hardswish.apply(input)


# ---------------------------------------------------------------- softmax
def _softmax_dim(op: str, input: Tensor, dim, stacklevel: int) -> int:
    """Validate ``dim`` (PyTorch's implicit choice, with its warning, when None)."""
    ndim = input.ndim
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. "
                      "Change the call to include dim=X as an argument.", stacklevel=stacklevel)
        return 0 if ndim in (0, 1, 3) else 1
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, received {dim!r}")
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: dim {dim} is out of range for input of shape {tuple(input.shape)} "
                         f"(expected dim in [{lo}, {hi}])")
    return int(dim) % max(ndim, 1)


def _prepare_softmax(op, input, dim, dtype, stacklevel):
    _check_input(op, input, floating=False)
    if dtype is not None:
        input = input.to(dtype)        # a differentiable cast, as PyTorch's dtype= argument
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, received dtype {input.dtype} "
                        f"(pass dtype=neuronet.float32 or convert it first)")
    # +1: one helper more than PyTorch between softmax() and the warning
    return input, _softmax_dim(op, input, dim, stacklevel + 1)


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m) along ``dim``, m = max_j x_j.

    Subtracting the max changes nothing mathematically (it cancels) but keeps
    every exponent <= 0, so huge logits neither overflow nor give inf/inf.
    Backward (the Jacobian dy_i/dx_k = y_i (delta_ik - y_k) applied to g):
        dE/dx = y * (g - sum_k g_k y_k).
    """

    @staticmethod
    def forward(ctx, x, dim):
        xp = array_module(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(e)
        ctx.dim = dim
        return e

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        gy = g * y
        return gy - y * gy.sum(axis=ctx.dim, keepdims=True), None


class LogSoftmax(Function):
    """y_i = x_i - m - log sum_j e^(x_j - m) along ``dim``, m = max_j x_j.

    Numerically stable (no exponent is positive; no log of an underflowed 0).
    Backward: dE/dx = g - softmax(x) * sum_k g_k, with softmax(x) = e^y.
    """

    @staticmethod
    def forward(ctx, x, dim):
        xp = array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(shifted)
        ctx.dim = dim
        return shifted

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = array_module(y)
        return g - xp.exp(y) * g.sum(axis=ctx.dim, keepdims=True), None


def _along(fn, input, dim):
    # A 0-d tensor is softmaxed as a 1-element vector (PyTorch returns 1 / 0).
    if input.ndim == 0:
        return fn.apply(input.reshape(1), 0).reshape(())
    return fn.apply(input, dim)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(input, dim=None, dtype=None): exp(x_i) / sum_j exp(x_j) along ``dim``.

    input: any shape; output: same shape, each slice along ``dim`` sums to 1.
    ``dtype`` casts the input first (e.g. to float64 for extra precision).

    >>> softmax(neuronet.tensor([[1.0, 2.0, 3.0]]), dim=1)   # [[0.090, 0.245, 0.665]]
    """
    input, dim = _prepare_softmax("softmax", input, dim, dtype, _stacklevel)
    return _along(Softmax, input, dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """log_softmax(input, dim=None, dtype=None): log(softmax(x)) along ``dim``, computed stably.

    Pair it with ``nll_loss`` (that pair is ``cross_entropy``).
    """
    input, dim = _prepare_softmax("log_softmax", input, dim, dtype, _stacklevel)
    return _along(LogSoftmax, input, dim)
