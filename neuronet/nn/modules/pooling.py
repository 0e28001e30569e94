"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``,
``AdaptiveMaxPool1d/2d``, ``MaxUnpool2d`` -- thin layers over the functionals,
which hold the equations. Inputs are (N, C, H, W) or unbatched (C, H, W) for
the 2-D layers, (N, C, L) or (C, L) for the 1-D ones."""
from __future__ import annotations

from .. import functional as F
from .module import Module
from ._utils import _ntuple, _pair, check_spatial_input, check_tensor, run_unbatched
from ..functional._errors import ArgumentError

_single = _ntuple(1)

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool1d", "MaxUnpool2d", "LPPool1d", "LPPool2d",
           "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d"]


class MaxPool2d(Module):
    r"""Max over each ``kernel_size`` window: :math:`y[n,c,i,j] = \max_{p,q}
    x_{pad}[n, c, i s_h + p d_h, j s_w + q d_w]` (padding with -inf).

    Args:
        kernel_size: window (int or (h, w)); stride: defaults to kernel_size;
        padding: implicit -inf padding (at most half the window);
        dilation: spacing of the window's taps; return_indices: also return the
        flat (H*W) index of each max, for :class:`MaxUnpool2d`; ceil_mode: use
        ceil instead of floor for the output size.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``,
        ``H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1`` (ceil with ceil_mode).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        check_spatial_input(input)
        return run_unbatched(F.max_pool2d, input, self.kernel_size, self.stride, self.padding, self.dilation,
                             ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    r"""Mean over each ``kernel_size`` window: :math:`y = \frac{1}{D}\sum_{p,q}
    x_{pad}[n, c, i s_h + p, j s_w + q]` with ``D = k_h k_w`` (or the count of
    non-padding taps when ``count_include_pad=False``, or ``divisor_override``).

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``, ``H_out = floor((H + 2 p - k) / s) + 1``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        check_spatial_input(input)
        return run_unbatched(F.avg_pool2d, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    r"""Average pooling to a fixed ``output_size`` (int, (h, w), None entries keep
    the input size): output cell i averages rows ``floor(i H / h_out)`` to
    ``ceil((i + 1) H / h_out) - 1`` (same for columns).

    Shape: ``(N, C, H, W) -> (N, C, h_out, w_out)``.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        check_spatial_input(input)
        return run_unbatched(F.adaptive_avg_pool2d, input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size`` (windows as AdaptiveAvgPool2d);
    ``return_indices`` also returns the flat index of each max.

    Shape: ``(N, C, H, W) -> (N, C, h_out, w_out)``.
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        check_spatial_input(input)
        return run_unbatched(F.adaptive_max_pool2d, input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """Partial inverse of :class:`MaxPool2d`: puts each value back at the index
    MaxPool2d(return_indices=True) recorded; every other output is zero.

    ``forward(input, indices, output_size=None)``; the default output size is
    ``H_out = (H - 1) s - 2 p + k``.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.padding = _pair(padding)

    def forward(self, input, indices, output_size=None):
        check_spatial_input(input)
        check_tensor(indices, "indices")
        if indices.shape != input.shape:
            raise ArgumentError(f"expected indices of the input's shape {tuple(input.shape)}, "
                                f"received {tuple(indices.shape)}")
        if input.ndim == 3:
            if output_size is not None and len(output_size) == 3:
                output_size = tuple(output_size)[-2:]
            return F.max_unpool2d(input.unsqueeze(0), indices.unsqueeze(0), self.kernel_size, self.stride,
                                  self.padding, output_size).squeeze(0)
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(MaxPool2d):
    """Max over each ``kernel_size`` window of a sequence (arguments as
    :class:`MaxPool2d`, ints). Shape: ``(N, C, L) -> (N, C, L_out)``,
    ``L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1`` (ceil with ceil_mode)."""

    def forward(self, input):
        check_tensor(input)
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """Mean over each ``kernel_size`` window of a sequence. Shape:
    ``(N, C, L) -> (N, C, L_out)``, ``L_out = floor((L + 2 p - k) / s) + 1``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        check_tensor(input)
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling of a sequence to ``output_size`` positions:
    ``(N, C, L) -> (N, C, output_size)``."""

    def forward(self, input):
        check_tensor(input)
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max pooling of a sequence to ``output_size`` positions:
    ``(N, C, L) -> (N, C, output_size)``."""

    def forward(self, input):
        check_tensor(input)
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class MaxUnpool1d(Module):
    """Partial inverse of :class:`MaxPool1d`: ``forward(input, indices, output_size=None)``;
    ``L_out = (L - 1) s - 2 p + k`` by default."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)

    def forward(self, input, indices, output_size=None):
        check_tensor(input)
        check_tensor(indices, "indices")
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class LPPool2d(Module):
    """Power-average pooling ``(sum over the window of x^p)^(1/p)``, p = ``norm_type``."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        check_tensor(input)
        return F.lp_pool2d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(LPPool2d):
    """1-D power-average pooling over ``(N, C, L)``."""

    def forward(self, input):
        check_tensor(input)
        return F.lp_pool1d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class MaxPool3d(MaxPool2d):
    """Max over each ``kernel_size`` window of a volume: ``(N, C, D, H, W) -> (N, C, D_out, H_out, W_out)``."""

    def forward(self, input):
        check_tensor(input)
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool3d(AvgPool2d):
    """Mean over each ``kernel_size`` window of a volume: ``(N, C, D, H, W) -> (N, C, D_out, H_out, W_out)``."""

    def forward(self, input):
        check_tensor(input)
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Average pooling of a volume to ``output_size`` (int or 3 ints, None = keep)."""

    def forward(self, input):
        check_tensor(input)
        return F.adaptive_avg_pool3d(input, self.output_size)
