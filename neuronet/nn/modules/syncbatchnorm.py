r"""``SyncBatchNorm``: batch normalization whose batch statistics span every
process of the group (PyTorch's ``torch.nn.SyncBatchNorm``).

With per-rank batches of B on R ranks, plain BatchNorm normalizes each rank's
B samples by their own mean and variance; SyncBatchNorm uses the statistics of
all R*B samples, so a data-parallel run computes what one process would on
the concatenated batch.

Forward, per channel c (x: (N, C, *), n_r values of channel c on rank r,
N = sum_r n_r): each rank computes its count, mean m_r and M2_r = sum (x -
m_r)^2; one all-gather shares them, and every rank combines them (Chan et al.
1979): mean = sum_r n_r m_r / N, M2 = sum_r [M2_r + n_r (m_r - mean)^2],
var = M2 / N. Then x_hat = (x - mean) / sqrt(var + eps), y = gamma x_hat + beta;
the running statistics take the unbiased M2 / (N - 1).

Backward, with g = dE/dy on this rank (E: the sum over ranks of their losses,
which is what DDP's averaging turns into the mean):

    dgamma = sum_local g x_hat          dbeta = sum_local g      (DDP averages them)
    S1 = sum_all_ranks g,  S2 = sum_all_ranks g x_hat            (one all-reduce)
    dx = gamma / sqrt(var + eps) * (g - S1 / N - x_hat S2 / N)

which is BatchNorm's backward on the concatenated batch, restricted to this
rank's rows.
"""
from __future__ import annotations

import numpy as np

from ... import distributed as dist
from ...autograd.function import Function
from ...backend import array_module, to_numpy
from ..functional._errors import ArgumentError
from ._utils import check_tensor
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _all_gather(comm, local):
    """(R, k) float64: every rank's row ``local`` (k,)."""
    if comm is None:
        return local[None]
    out = np.empty((comm.Get_size(), local.size), dtype=np.float64)
    comm.Allgather(np.ascontiguousarray(local), out)
    return out


def _all_reduce_sum(comm, local):
    if comm is None:
        return local
    from mpi4py import MPI
    out = np.ascontiguousarray(local, dtype=np.float64)
    comm.Allreduce(MPI.IN_PLACE, out, op=MPI.SUM)
    return out


class SyncBatchNormFn(Function):
    """The synchronized batch-norm op (training mode); equations in the module docstring."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps, comm):
        xp = array_module(x)
        C = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, C) + (1,) * (x.ndim - 2)
        n_local = x.size // C if C else 0
        mean_l = x.mean(axis=axes, dtype=np.float64) if n_local else xp.zeros(C)
        m2_l = ((x - mean_l.astype(x.dtype).reshape(shape)) ** 2).sum(axis=axes, dtype=np.float64)
        row = np.concatenate([[float(n_local)], to_numpy(mean_l), to_numpy(m2_l)])
        every = _all_gather(comm, row)
        counts, means, m2s = every[:, :1], every[:, 1:C + 1], every[:, C + 1:]
        n = counts.sum()
        if n <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when training, got input "
                             f"size {tuple(x.shape)} on this rank and {int(n)} values per channel over all ranks")
        mean = (counts * means).sum(0) / n
        m2 = (m2s + counts * (means - mean) ** 2).sum(0)
        var = m2 / n
        invstd = 1.0 / np.sqrt(var + eps)
        mean_x, invstd_x = xp.asarray(mean.astype(x.dtype)), xp.asarray(invstd.astype(x.dtype))
        xhat = (x - mean_x.reshape(shape)) * invstd_x.reshape(shape)
        y = xhat
        if weight is not None:
            y = y * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * xp.asarray(mean)
        if running_var is not None:
            running_var[...] = (1 - momentum) * running_var + momentum * xp.asarray(m2 / (n - 1))
        ctx.save_for_backward(xhat, weight)
        ctx.invstd, ctx.n, ctx.comm, ctx.shape, ctx.axes = invstd_x, n, comm, shape, axes
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        xhat, weight = ctx.saved_tensors
        shape, axes = ctx.shape, ctx.axes
        sum_g = g.sum(axis=axes, dtype=np.float64)
        sum_g_xhat = (g * xhat).sum(axis=axes, dtype=np.float64)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dw = sum_g_xhat.astype(g.dtype) if need_w else None
        db = sum_g.astype(g.dtype) if need_b else None
        dx = None
        if need_x:
            xp = array_module(g)
            C = g.shape[1]
            both = _all_reduce_sum(ctx.comm, np.concatenate([to_numpy(sum_g), to_numpy(sum_g_xhat)]))
            mean_g = xp.asarray((both[:C] / ctx.n).astype(g.dtype)).reshape(shape)
            mean_g_xhat = xp.asarray((both[C:] / ctx.n).astype(g.dtype)).reshape(shape)
            scale = ctx.invstd if weight is None else ctx.invstd * weight
            dx = scale.reshape(shape) * (g - mean_g - xhat * mean_g_xhat)
        return dx, dw, db, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over ``(N, C, *)`` inputs with the batch statistics of
    all ranks (see the module docstring for the equations; Ioffe & Szegedy 2015).

    In training mode inside an initialized process group of more than one
    process, statistics are synchronized; otherwise (one process, eval mode)
    it is :class:`BatchNorm2d` exactly. Same parameters, buffers and
    ``state_dict`` keys as BatchNorm. Build one directly or convert a model's
    BatchNorm layers with :meth:`convert_sync_batchnorm`.

    Shape: input ``(N, C, *)`` (at least 2-D), output the same.

    >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        if process_group not in (None, dist.group.WORLD):
            raise ValueError("SyncBatchNorm: neuronet has only the default (world) process group, received "
                             f"process_group={process_group!r}")
        self.process_group = process_group

    def _check_input(self, input):
        check_tensor(input)
        if input.ndim < 2:
            raise ArgumentError(f"expected at least 2D input, received a {input.ndim}-D input of shape "
                                f"{tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ArgumentError(f"expected input with {self.num_features} channels (dim 1), received "
                                f"{input.shape[1]} channels in an input of shape {tuple(input.shape)}")

    def _synchronized(self):
        return self.training and dist.is_initialized() and dist.get_world_size() > 1

    def forward(self, input):
        if not self._synchronized():
            return super().forward(input)
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        rm = self.running_mean.array if self.track_running_stats else None
        rv = self.running_var.array if self.track_running_stats else None
        out = SyncBatchNormFn.apply(input, self.weight, self.bias, rm, rv, float(factor), float(self.eps),
                                    dist._comm())
        if self.track_running_stats:
            self.running_mean._vc[0] += 1
            self.running_var._vc[0] += 1
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d/3d layer replaced by a SyncBatchNorm
        that takes over its parameters, buffers and mode (a BatchNorm ``module``
        itself comes back converted)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight = module.weight
                if module.bias is None:
                    out.register_parameter("bias", None)
                else:
                    out.bias = module.bias
            if module.track_running_stats:
                out.running_mean = module.running_mean
                out.running_var = module.running_var
                out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in list(module.named_children()):
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out

