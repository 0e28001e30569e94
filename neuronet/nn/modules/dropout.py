"""``Dropout`` and ``Dropout2d`` (Srivastava et al. 2014; Tompson et al. 2015):
active in training mode only, identity after ``model.eval()``."""
from __future__ import annotations

from .. import functional as F
from .module import Module
from ._utils import check_tensor

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float)) or p < 0 or p > 1:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, "
                             f"but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element with probability ``p`` and scale the
    survivors by ``1/(1-p)`` so the expected activation is unchanged."""

    def forward(self, input):
        check_tensor(input)
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """In training, zero whole channels of a sequence with probability ``p``,
    scaling the rest by ``1/(1-p)``. Input (N, C, L) or (C, L)."""

    def forward(self, input):
        check_tensor(input)
        return F.dropout1d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: dropped units take SELU's saturation value and
    an affine correction keeps mean 0 and variance 1 (Klambauer et al. 2017)."""

    def forward(self, input):
        check_tensor(input)
        return F.alpha_dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """In training, zero whole channels (feature maps) with probability ``p``,
    scaling the rest by ``1/(1-p)``. Input (N, C, H, W) or (C, H, W)."""

    def forward(self, input):
        check_tensor(input)
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """In training, zero whole channels of volumes with probability ``p``, scaling the
    rest by ``1/(1-p)``. Input (N, C, D, H, W) or (C, D, H, W)."""

    def forward(self, input):
        check_tensor(input)
        return F.dropout3d(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (for SELU networks)."""

    def forward(self, input):
        check_tensor(input)
        return F.feature_alpha_dropout(input, self.p, self.training, self.inplace)
