"""``neuronet.onnx``: ONNX export (``export``, as ``torch.onnx.export``) and
import (``load``: an ONNX file to a trainable ``nn.Module``).

Needs the optional ``onnx`` package (``pip install 'neuronet[onnx]'``),
imported only when a function here is called.
"""
from .export import ExportError, TrainingMode, export
from .importer import load

__all__ = ["export", "load", "ExportError", "TrainingMode"]
