"""Exception types that match PyTorch's while keeping neuronet's earlier ones.

PyTorch raises ``RuntimeError`` for most bad shapes and arguments in
``nn.functional`` (its C++ checks), ``NotImplementedError`` for a dtype a
kernel has no implementation for and for padding modes/sizes it does not
support. neuronet raised ``ValueError``/``TypeError`` for these before; the
types below derive from both, so code written for PyTorch (``except
RuntimeError``) and code written for earlier neuronet (``except ValueError``)
both catch them.
"""
from __future__ import annotations

__all__ = ["ArgumentError", "DtypeError", "DtypeNotSupported", "NotSupported"]


class ArgumentError(RuntimeError, ValueError):
    """A bad shape or argument: PyTorch raises RuntimeError here."""


class DtypeNotSupported(NotImplementedError, TypeError):
    """A dtype the op has no kernel for (PyTorch: '"elu_cpu" not implemented for 'Long'')."""


class NotSupported(NotImplementedError, ValueError):
    """A mode or size PyTorch does not implement (e.g. reflect padding of 4 dims)."""


class DtypeError(RuntimeError, TypeError):
    """A tensor of the wrong dtype where PyTorch's kernel checks it and raises RuntimeError
    ('expected scalar type Long but found Float')."""
