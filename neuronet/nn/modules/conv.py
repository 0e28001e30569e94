"""``Conv1d``, ``Conv2d``, ``ConvTranspose1d`` and ``ConvTranspose2d``: the
learned filters of a CNN (LeCun et al. 1998), thin layers over ``F.conv1d`` /
``F.conv2d`` / ``F.conv_transpose1d`` / ``F.conv_transpose2d``."""
from __future__ import annotations

from .. import functional as F
from ..parameter import Parameter
from .module import Module
from ._utils import _ntuple, _pair, _reverse_repeat_tuple, check_spatial_input, check_tensor, default_init_, \
    empty_param_array, run_unbatched
from ..functional._errors import ArgumentError

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]

_single = _ntuple(1)
_triple = _ntuple(3)


def _check_sequence_input(x, channels):
    """``x`` must be (N, C, L) or unbatched (C, L) with ``channels`` channels."""
    check_tensor(x)
    if x.ndim not in (2, 3):
        raise ArgumentError(f"expected a 3-D input (N, C, L) or 2-D (C, L), received a {x.ndim}-D input of "
                            f"shape {tuple(x.shape)}")
    if x.shape[-2] != channels:
        want = f"(N, {channels}, L)" if x.ndim == 3 else f"({channels}, L)"
        raise ArgumentError(f"expected input of shape {want}, received {tuple(x.shape)}")

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: arguments, parameters, init, repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, received {v!r}")
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, received {groups!r}")
        if in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels must be divisible by groups, received in_channels="
                             f"{in_channels}, groups={groups}")
        if out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels must be divisible by groups, received out_channels="
                             f"{out_channels}, groups={groups}")
        for arg, v, lo in (("kernel_size", kernel_size, 1), ("stride", stride, 1), ("dilation", dilation, 1)):
            if any(not isinstance(k, int) or k < lo for k in v):
                raise ValueError(f"{name}: {arg} must be positive ints, received {v}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'same', 'valid'} or ints")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        elif any(not isinstance(p, int) or p < 0 for p in padding):
            raise ValueError(f"{name}: padding must be non-negative ints, received {padding}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, received "
                             f"padding_mode={padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's order (left, right, top, bottom); for 'same' the extra pixel of
        # an even kernel goes right/bottom, as PyTorch.
        if isinstance(padding, str):
            rev = [0, 0] * len(kernel_size)
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(len(kernel_size) - 1, -1, -1)):
                    total = d * (k - 1)
                    rev[2 * i] = total // 2
                    rev[2 * i + 1] = total - total // 2
            self._reversed_padding_repeated_twice = tuple(rev)
        else:
            self._reversed_padding_repeated_twice = _reverse_repeat_tuple(padding, 2)
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(empty_param_array(shape, dtype, device))
        if bias:
            self.bias = Parameter(empty_param_array((out_channels,), dtype, device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in =
        weight.shape[1] * kH * kW (PyTorch's kaiming_uniform_(a=sqrt(5)))."""
        default_init_(self.weight, self.bias)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class Conv2d(_ConvNd):
    r"""2-D convolution (cross-correlation) over a batch of images.

    .. math::
        y[n, o, i, j] = b[o] + \sum_{c, p, q} W[o, c, p, q]\,
                        x_{pad}[n, g(o) \cdot C_{in}/G + c,\ i s_h + p d_h,\ j s_w + q d_w]

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size, stride, padding, dilation: ints or (h, w) pairs;
            ``padding`` may also be ``'valid'`` (0) or ``'same'`` (stride 1 only).
        groups: split channels into ``groups`` independent convolutions.
        bias: learn a per-output-channel bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        ``x: (N, C_in, H, W)`` or ``(C_in, H, W)`` -> ``(N, C_out, H_out, W_out)`` with
        ``H_out = floor((H + 2 p_h - d_h (k_h - 1) - 1) / s_h) + 1`` (same for W).

    Attributes:
        weight: ``(C_out, C_in/groups, k_h, k_w)``; bias: ``(C_out,)``; both
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in/groups * k_h * k_w.

    >>> conv = Conv2d(1, 6, 5)            # LeNet-5's C1
    >>> conv(neuronet.randn(8, 1, 32, 32)).shape
    (8, 6, 28, 28)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, _pair(kernel_size), _pair(stride),
                         padding if isinstance(padding, str) else _pair(padding), _pair(dilation),
                         False, _pair(0), groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(padded, weight, bias, self.stride, (0, 0), self.dilation, self.groups)
        if isinstance(self.padding, str):
            left, right, top, bottom = self._reversed_padding_repeated_twice
            if left == right and top == bottom:
                return F.conv2d(input, weight, bias, self.stride, (top, left), self.dilation, self.groups)
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode="constant", value=0.0)
            return F.conv2d(padded, weight, bias, self.stride, (0, 0), self.dilation, self.groups)
        return F.conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        check_spatial_input(input, self.in_channels)
        return run_unbatched(self._conv_forward, input, self.weight, self.bias)


class ConvTranspose2d(_ConvNd):
    r"""2-D transposed convolution: the gradient of Conv2d with respect to its
    input, used as a learned upsampling ("deconvolution").

    Each input pixel scatters ``x[n, c, i, j] * W[c, o, :, :]`` onto the output
    at ``(i s_h - p_h + p d_h, j s_w - p_w + q d_w)``.

    Args:
        as Conv2d, plus ``output_padding``: extra rows/cols added on one side of
        the output to pick among the sizes a strided Conv2d maps to the same shape.

    Shape:
        ``x: (N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)`` with
        ``H_out = (H - 1) s_h - 2 p_h + d_h (k_h - 1) + output_padding_h + 1``.
        ``forward(x, output_size=(H_out, W_out))`` chooses output_padding.

    Attributes:
        weight: ``(C_in, C_out/groups, k_h, k_w)``; bias: ``(C_out,)``; fan_in
        for the default init is ``C_out/groups * k_h * k_w`` (PyTorch's).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose2d, received '
                             f"padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be ints, received {padding!r}")
        output_padding = _pair(output_padding)
        stride_p, dilation_p = _pair(stride), _pair(dilation)
        for op, s, d in zip(output_padding, stride_p, dilation_p):
            if op < 0 or (op >= s and op >= d):
                raise ValueError(f"ConvTranspose2d: output_padding must be non-negative and smaller than "
                                 f"either stride or dilation, received output_padding={output_padding}, "
                                 f"stride={stride_p}, dilation={dilation_p}")
        super().__init__(in_channels, out_channels, _pair(kernel_size), stride_p, _pair(padding),
                         dilation_p, True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """The output_padding that makes the output ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        output_size = tuple(int(s) for s in output_size)
        if len(output_size) == input.ndim:
            output_size = output_size[-2:]
        if len(output_size) != 2:
            raise ValueError(f"output_size must have 2 or {input.ndim} elements (got {len(output_size)})")
        min_sizes, max_sizes = [], []
        for d in range(2):
            size = ((input.shape[d - 2] - 1) * self.stride[d] - 2 * self.padding[d]
                    + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            min_sizes.append(size)
            max_sizes.append(size + self.stride[d] - 1)
        for size, lo, hi in zip(output_size, min_sizes, max_sizes):
            if size < lo or size > hi:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes range from "
                                 f"{tuple(min_sizes)} to {tuple(max_sizes)} (for an input of "
                                 f"{tuple(input.shape[-2:])})")
        return tuple(output_size[d] - min_sizes[d] for d in range(2))

    def forward(self, input, output_size=None):
        check_spatial_input(input, self.in_channels)
        output_padding = self._output_padding(input, output_size)
        return run_unbatched(F.conv_transpose2d, input, self.weight, self.bias, self.stride, self.padding,
                             output_padding, self.groups, self.dilation)


class Conv1d(_ConvNd):
    r"""1-D convolution (cross-correlation) over a batch of sequences:
    :math:`y[n, o, t] = b[o] + \sum_{c, a} W[o, c, a]\, x_{pad}[n, g(o) C_{in}/G + c,\ t s + a d]`.

    Arguments as :class:`Conv2d` with ints (or 1-tuples).

    Shape:
        ``x: (N, C_in, L)`` or ``(C_in, L)`` -> ``(N, C_out, L_out)``,
        ``L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1``.

    Attributes:
        weight: ``(C_out, C_in/groups, k)``; bias: ``(C_out,)``; both
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in/groups * k.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, _single(kernel_size), _single(stride),
                         padding if isinstance(padding, str) else _single(padding), _single(dilation),
                         False, _single(0), groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        left, right = self._reversed_padding_repeated_twice
        if self.padding_mode != "zeros" or (isinstance(self.padding, str) and left != right):
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            padded = F.pad(input, (left, right), mode=mode)
            return F.conv1d(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return F.conv1d(input, weight, bias, self.stride, left if isinstance(self.padding, str) else self.padding,
                        self.dilation, self.groups)

    def forward(self, input):
        _check_sequence_input(input, self.in_channels)
        return self._conv_forward(input, self.weight, self.bias)


class ConvTranspose1d(_ConvNd):
    r"""1-D transposed convolution (the gradient of :class:`Conv1d` with respect
    to its input; learned upsampling of sequences).

    Shape:
        ``x: (N, C_in, L)`` or ``(C_in, L)`` -> ``(N, C_out, L_out)``,
        ``L_out = (L - 1) s - 2 p + d (k - 1) + output_padding + 1``.

    Attributes:
        weight: ``(C_in, C_out/groups, k)``; bias: ``(C_out,)``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose1d, received '
                             f"padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose1d: padding must be an int, received {padding!r}")
        output_padding = _single(output_padding)
        if output_padding[0] < 0 or (output_padding[0] >= _single(stride)[0]
                                     and output_padding[0] >= _single(dilation)[0]):
            raise ValueError(f"ConvTranspose1d: output_padding must be non-negative and smaller than either "
                             f"stride or dilation, received output_padding={output_padding}, "
                             f"stride={_single(stride)}, dilation={_single(dilation)}")
        super().__init__(in_channels, out_channels, _single(kernel_size), _single(stride), _single(padding),
                         _single(dilation), True, output_padding, groups, bias, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        _check_sequence_input(input, self.in_channels)
        output_padding = self.output_padding
        if output_size is not None:
            size = int(tuple(output_size)[-1])
            lo = ((input.shape[-1] - 1) * self.stride[0] - 2 * self.padding[0]
                  + self.dilation[0] * (self.kernel_size[0] - 1) + 1)
            if not lo <= size <= lo + self.stride[0] - 1:
                raise ValueError(f"requested an output size of {size}, but valid sizes range from {lo} to "
                                 f"{lo + self.stride[0] - 1} (for an input of length {input.shape[-1]})")
            output_padding = (size - lo,)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)


class Conv3d(_ConvNd):
    r"""3-D convolution over volumes (video clips, scans):
    :math:`y[n, o, d, h, w] = b[o] + \sum_{c, i, j, k} W[o, c, i, j, k]\, x_{pad}[n, c, d s_d + i d_d, \dots]`.

    Arguments as :class:`Conv2d` with ints or triples. Shape: ``(N, C_in, D, H, W)`` or
    ``(C_in, D, H, W)`` -> ``(N, C_out, D_out, H_out, W_out)``.
    Attributes: weight ``(C_out, C_in/groups, kd, kh, kw)``, bias ``(C_out,)``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, _triple(kernel_size), _triple(stride),
                         padding if isinstance(padding, str) else _triple(padding), _triple(dilation),
                         False, _triple(0), groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        check_tensor(input)
        if input.ndim not in (4, 5) or input.shape[-4] != self.in_channels:
            raise ArgumentError(f"expected input of shape (N, {self.in_channels}, D, H, W) or ({self.in_channels}, "
                                f"D, H, W), received {tuple(input.shape)}")
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv3d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
