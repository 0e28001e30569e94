"""``neuronet.utils``: PyTorch's ``torch.utils`` names (``neuronet.utils.data``,
``neuronet.utils.checkpoint``).

Sits at the data level: imports only the tensor core and :mod:`neuronet.data`.
"""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
