"""Normalization layers: ``BatchNorm1d/2d/3d`` (Ioffe & Szegedy 2015),
``LayerNorm`` (Ba et al. 2016), ``GroupNorm`` (Wu & He 2018),
``InstanceNorm1d/2d`` (Ulyanov et al. 2016) and ``LocalResponseNorm``
(Krizhevsky et al. 2012)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..parameter import Parameter
from ...tensor import Tensor
from .module import Module
from ._utils import check_tensor, empty_param_array
from ..functional._errors import ArgumentError

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d", "LocalResponseNorm"]


class _BatchNorm(Module):
    r"""Per channel c: :math:`y = \gamma_c (x - \mu_c) / \sqrt{\sigma^2_c + \epsilon} + \beta_c`.

    In training mode mu and sigma^2 are the batch's mean and (biased) variance
    over every axis but the channel one, and the running estimates follow
    ``running = (1 - momentum) running + momentum * batch`` (with the unbiased
    batch variance); ``momentum=None`` makes it a cumulative average, factor
    ``1 / num_batches_tracked``. In eval mode the running estimates are used,
    unless ``track_running_stats=False`` (then batch statistics always).

    Parameters: ``weight`` (gamma, ones) and ``bias`` (beta, zeros) of shape (C,)
    when ``affine`` (``bias=False``, keyword-only as in PyTorch 2.13, drops beta).
    Buffers: ``running_mean`` (zeros), ``running_var`` (ones),
    ``num_batches_tracked`` (int64 scalar) when ``track_running_stats``.
    """

    _expected_ranks = ()
    _rank_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, "
                             f"received {num_features!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, received {momentum}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(empty_param_array((num_features,), dtype, device))
            if bias:
                self.bias = Parameter(empty_param_array((num_features,), dtype, device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(empty_param_array((num_features,), dtype, device)))
            self.register_buffer("running_var", Tensor._wrap(empty_param_array((num_features,), dtype, device)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(empty_param_array((), np.int64, device)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.array[...] = 1
            if self.bias is not None:
                self.bias.array[...] = 0

    def _check_input(self, input):
        check_tensor(input)
        if input.ndim not in self._expected_ranks:
            raise ArgumentError(f"expected {self._rank_text} input, received a {input.ndim}-D input of shape "
                                f"{tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ArgumentError(f"expected input with {self.num_features} channels (dim 1), received "
                                f"{input.shape[1]} channels in an input of shape {tuple(input.shape)}")

    def forward(self, input):
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:   # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        # Batch statistics in training, and always when there are no running ones.
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def _state_entries(self, prefix, state_dict):
        # As PyTorch: a checkpoint without num_batches_tracked (older format)
        # loads, keeping the current count.
        entries = super()._state_entries(prefix, state_dict)
        key = prefix + "num_batches_tracked"
        if key not in state_dict:
            entries = [(k, t) for k, t in entries if k != key]
        return entries

    def extra_repr(self):
        # PyTorch 2.13's format (it added the keyword-only ``bias`` argument).
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, statistics per channel C
    over N (and L). See :class:`_BatchNorm` for the equations."""

    _expected_ranks = (2, 3)
    _rank_text = "a 2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, statistics per channel C over
    N, H and W. See :class:`_BatchNorm` for the equations.

    >>> bn = BatchNorm2d(16)
    >>> sorted(bn.state_dict())
    ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """

    _expected_ranks = (4,)
    _rank_text = "a 4-D (N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch norm over a 5-D input ``(N, C, D, H, W)``, statistics per channel."""

    _expected_ranks = (5,)
    _rank_text = "a 5-D (N, C, D, H, W)"


class LayerNorm(Module):
    r""":math:`y = (x - \mathrm{E}[x]) / \sqrt{\mathrm{Var}[x] + \epsilon} \cdot \gamma + \beta`,
    the statistics over the trailing ``normalized_shape`` dims of each sample
    (Ba, Kiros & Hinton 2016).

    Parameters (``elementwise_affine``): ``weight`` (ones) and ``bias`` (zeros,
    absent with ``bias=False``) of shape ``normalized_shape``.
    Shape: ``(*, *normalized_shape)`` -> same.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(d) for d in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty_param_array(self.normalized_shape, dtype, device))
            if bias:
                self.bias = Parameter(empty_param_array(self.normalized_shape, dtype, device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.array[...] = 1
        if self.bias is not None:
            self.bias.array[...] = 0

    def forward(self, input):
        check_tensor(input)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    r""":math:`y = x / \sqrt{\mathrm{mean}(x^2) + \epsilon} \cdot \gamma` over the trailing
    ``normalized_shape`` dims (Zhang & Sennrich 2019); ``eps=None`` uses the
    input dtype's machine epsilon.

    Parameter (``elementwise_affine``): ``weight`` (ones) of shape ``normalized_shape``.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(d) for d in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty_param_array(self.normalized_shape, dtype, device))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.array[...] = 1

    def forward(self, x):
        check_tensor(x)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    r"""The C channels of each sample in ``num_groups`` groups, each standardized
    over its channels and positions, then a per-channel affine map (Wu & He 2018).

    Parameters (``affine``): ``weight`` (ones), ``bias`` (zeros) of shape (C,).
    Shape: ``(N, C, *)`` -> same.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels must be divisible by num_groups, received "
                             f"num_channels={num_channels}, num_groups={num_groups}")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(empty_param_array((num_channels,), dtype, device))
            if bias:
                self.bias = Parameter(empty_param_array((num_channels,), dtype, device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.affine:
            self.weight.array[...] = 1
            if self.bias is not None:
                self.bias.array[...] = 0

    def forward(self, input):
        check_tensor(input)
        if input.ndim >= 2 and input.shape[1] != self.num_channels:
            raise ArgumentError(f"expected input with {self.num_channels} channels (dim 1), received "
                                f"{input.shape[1]} channels in an input of shape {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_BatchNorm):
    """Each channel of each sample standardized over its own positions
    (Ulyanov et al. 2016). Defaults as PyTorch: ``affine=False``,
    ``track_running_stats=False``; unbatched inputs are accepted."""

    _spatial = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        check_tensor(input)
        batched_rank = self._spatial + 2
        if input.ndim not in (batched_rank, batched_rank - 1):
            raise ArgumentError(f"{self._get_name()}: expected {batched_rank - 1}-D (unbatched) or {batched_rank}-D "
                                f"input, received a {input.ndim}-D input of shape {tuple(input.shape)}")
        if input.ndim == batched_rank - 1:
            return self.forward(input.unsqueeze(0)).squeeze(0)
        if input.shape[1] != self.num_features:
            raise ArgumentError(f"expected input with {self.num_features} channels (dim 1), received "
                                f"{input.shape[1]} channels in an input of shape {tuple(input.shape)}")
        use_input_stats = self.training or not self.track_running_stats
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats, self.momentum if self.momentum is not None else 0.1, self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of ``(N, C, L)`` or ``(C, L)``."""

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of ``(N, C, H, W)`` or ``(C, H, W)``."""

    _spatial = 2


class LocalResponseNorm(Module):
    r"""Normalize each activation by its neighbours across channels (AlexNet):
    :math:`b_c = a_c \left(k + \frac{\alpha}{n}\sum_{c'=c-\lfloor n/2\rfloor}^{c+\lceil n/2\rceil-1}
    a_{c'}^2\right)^{-\beta}`.

    Shape: ``(N, C, *)`` -> same.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        check_tensor(input)
        if input.ndim < 3:
            raise ArgumentError(f"expected an input with 3 or more dims (N, C, *), received a {input.ndim}-D "
                                f"input of shape {tuple(input.shape)}")
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
