"""``Flatten`` (conv features -> a vector per sample) and ``Unflatten``."""
from __future__ import annotations

from .module import Module
from ._utils import check_tensor

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        check_tensor(input)
        nd = max(input.ndim, 1)
        for d in (self.start_dim, self.end_dim):
            if not -nd <= d < nd:
                raise IndexError(f"dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                                 f"but got {d}) for an input of shape {tuple(input.shape)}")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 400) -> (N, 16, 5, 5)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        check_tensor(input)
        d = self.dim % input.ndim
        size = 1
        for s in self.unflattened_size:
            size *= s
        if -1 not in self.unflattened_size and size != input.shape[d]:
            raise ValueError(f"unflattened_size {self.unflattened_size} has {size} elements but dim "
                             f"{self.dim} of the input {tuple(input.shape)} has {input.shape[d]}")
        return input.reshape(input.shape[:d] + self.unflattened_size + input.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
