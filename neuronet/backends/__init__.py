"""``neuronet.backends``: the switches PyTorch keeps in ``torch.backends``.

``cudnn.benchmark`` / ``cudnn.deterministic`` are stored so that training
scripts that set them run unchanged; ``mps`` answers truthfully that there is
no Apple GPU backend.
"""
from . import cudnn, mps  # noqa: F401

__all__ = ["cudnn", "mps"]
