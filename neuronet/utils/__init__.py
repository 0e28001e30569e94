"""``neuronet.utils``: PyTorch's ``torch.utils`` names (``neuronet.utils.data``).

Sits at the data level: imports only the tensor core and :mod:`neuronet.data`.
"""
from . import data

__all__ = ["data"]
