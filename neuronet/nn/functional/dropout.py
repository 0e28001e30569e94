"""Dropout (Srivastava, Hinton et al. 2014): during training, zero each unit
with probability p, so that no unit can rely on particular others.

"Inverted" dropout, as PyTorch: the kept units are scaled by 1/(1-p) at
training time, so the expected value of every unit is unchanged and the
network is used as is at test time (``training=False`` is the identity).

The masks are drawn from ``neuronet.backend.generator(xp)``, so
``neuronet.manual_seed(s)`` makes them reproducible. They are drawn in the
input's precision (float32 uniforms for float32 data) and kept as booleans
(1 byte per unit) for backward.

``inplace=True`` writes the result into ``input``'s storage and returns
``input`` (as PyTorch; see ``activation``'s module docstring).
"""
from __future__ import annotations

import math

import numpy as np

from ...autograd.function import Function
from ...backend import array_module, generator
from ...tensor import Tensor
from ._errors import ArgumentError, DtypeNotSupported

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

# SELU's negative saturation value -lambda * alpha (Klambauer et al. 2017).
_SELU_SATURATION = 1.7580993408473766


def _keep_mask(xp, shape, p, dtype):
    """Bernoulli(1 - p) booleans of ``shape``: True where the unit is kept."""
    uniform_dtype = np.float64 if dtype == np.float64 else np.float32
    u = generator(xp).random(shape, dtype=uniform_dtype)    # uniform on [0, 1)
    return u >= p                                           # P(u >= p) = 1 - p


class Dropout(Function):
    """Inverted dropout with a mask of shape ``mask_shape`` (broadcast over x).

    Standard:  out = x * m / (1 - p),                    m ~ Bernoulli(1 - p)
               dE/dx = g * m / (1 - p)
    Alpha (for SELU networks, Klambauer et al. 2017), with a' = 1.7580993...:
               out = A (x m - a' (1 - m)) + A a' p,      A = ((1 - p)(1 + p a'^2))^(-1/2)
               dE/dx = g * A m
    which keeps a zero-mean, unit-variance input at mean 0 and variance 1.
    p = 1 gives x * 0 (zeros; NaN stays NaN, as PyTorch) and a zero gradient.
    """

    @staticmethod
    def forward(ctx, x, p, mask_shape, alpha):
        xp = array_module(x)
        if p == 1:
            keep, scale = xp.zeros(mask_shape, dtype=bool), 0.0
        else:
            keep = _keep_mask(xp, mask_shape, p, x.dtype)
            scale = 1.0 / math.sqrt((1 - p) * (1 + p * _SELU_SATURATION ** 2)) if alpha else 1.0 / (1.0 - p)
        out = x * keep
        out *= scale
        if alpha and p != 1:
            # Dropped units are set to the saturation value -a'; then the affine correction.
            shift_kept = scale * _SELU_SATURATION * p
            shift_dropped = shift_kept - scale * _SELU_SATURATION
            out += xp.where(keep, xp.asarray(shift_kept, dtype=x.dtype), xp.asarray(shift_dropped, dtype=x.dtype))
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, g):
        (keep,) = ctx.saved_tensors
        gx = g * keep
        gx *= ctx.scale
        return gx, None, None, None


def _apply(input, p, mask_shape, alpha, inplace, name):
    """The dropout op, or with ``inplace`` its result written into ``input``
    (the op saves only its mask, so no copy of ``input`` is needed)."""
    if inplace:
        return input._apply_inplace(lambda s: Dropout.apply(s, p, mask_shape, alpha), name, clone=False)
    return Dropout.apply(input, p, mask_shape, alpha)


def _check(op: str, input, p):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a neuronet.Tensor, received {type(input).__name__}")
    if input.dtype.kind != "f":
        raise DtypeNotSupported(f"{op}: expected a floating-point input, received dtype {input.dtype}")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
        raise ArgumentError(f"{op}: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """dropout(input, p=0.5, training=True, inplace=False): zero each element with
    probability p and scale the rest by 1/(1-p) (see :class:`Dropout`).

    input: any shape; output: same shape and dtype. With ``training=False``,
    p = 0 or an empty input, ``input`` itself is returned (as PyTorch).
    """
    p = _check("dropout", input, p)
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply(input, p, tuple(input.shape), False, inplace, "dropout_")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """dropout1d(input, p=0.5, training=True, inplace=False): zero whole channels
    of a sequence with probability p, scale the rest by 1/(1-p).

    Shape: (N, C, L) -> mask (N, C, 1); (C, L) -> mask (C, 1).
    """
    p = _check("dropout1d", input, p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. "
                           f"Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
                           f"spatial dimension, a channel dimension, and an optional batch dimension "
                           f"(i.e. 2D or 3D inputs).")
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply(input, p, tuple(input.shape[:-1]) + (1,), False, inplace, "dropout1d_")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """dropout2d(input, p=0.5, training=True, inplace=False): zero whole channels
    (entire H x W feature maps) with probability p, scale the rest by 1/(1-p)
    (Tompson et al. 2015: neighbouring pixels are correlated, so dropping single
    pixels barely regularizes a convolutional layer).

    Shape: (N, C, H, W) -> mask (N, C, 1, 1); (C, H, W) -> mask (C, 1, 1).

    Note: a 3-D input is taken as one unbatched (C, H, W) image, as the
    ``nn.Dropout2d`` documentation describes; PyTorch 2.x still reads it as
    (N, C, L) for backward compatibility (with a warning; pytorch#77081).
    Other ranks are rejected (PyTorch deprecates them).
    """
    p = _check("dropout2d", input, p)
    if input.ndim not in (3, 4):
        raise ArgumentError(f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, received "
                            f"shape {tuple(input.shape)}; use dropout for element-wise dropout")
    if not training or p == 0 or input.numel() == 0:
        return input
    mask_shape = tuple(input.shape[:-2]) + (1, 1)
    return _apply(input, p, mask_shape, False, inplace, "dropout2d_")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """dropout3d(input, p=0.5, training=True, inplace=False): zero whole channels of
    volumes with probability p, scale the rest by 1/(1-p).

    Shape: (N, C, D, H, W) -> mask (N, C, 1, 1, 1); (C, D, H, W) -> mask (C, 1, 1, 1).
    """
    p = _check("dropout3d", input, p)
    if input.ndim not in (4, 5):
        raise ArgumentError(f"dropout3d: expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input, received shape "
                            f"{tuple(input.shape)}")
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply(input, p, tuple(input.shape[:-3]) + (1, 1, 1), False, inplace, "dropout3d_")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """feature_alpha_dropout(input, p=0.5, training=False, inplace=False): alpha dropout
    of whole channels (one mask value per (N, C) over the remaining dims)."""
    p = _check("feature_alpha_dropout", input, p)
    if input.ndim < 2:
        raise ArgumentError(f"feature_alpha_dropout: expected an input with a channel dimension (N, C, *), received "
                            f"shape {tuple(input.shape)}")
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply(input, p, tuple(input.shape[:2]) + (1,) * (input.ndim - 2), True, inplace,
                  "feature_alpha_dropout_")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """alpha_dropout(input, p=0.5, training=False, inplace=False): dropout for
    SELU networks -- dropped units go to SELU's saturation value and an affine
    correction keeps mean 0 and variance 1 (see :class:`Dropout`). Note the
    default ``training=False``, as PyTorch.
    """
    p = _check("alpha_dropout", input, p)
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply(input, p, tuple(input.shape), True, inplace, "alpha_dropout_")
