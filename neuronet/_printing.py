"""How tensors print: PyTorch's layout, character for character.

``repr(t)`` gives what ``repr`` of the same torch tensor gives, so output
written for PyTorch (logs, doctests, notebooks) reads the same::

    tensor([[0.1000, 0.2000]], requires_grad=True)
    tensor([1, 2, 3])
    tensor(3.5000, dtype=torch.float64)
    tensor([], size=(0, 3))

The rules (as PyTorch 2.x's printer, written here from its behaviour):

* Floats share one format per tensor, chosen from its finite nonzero values:
  scientific (``1.0000e-05``) when max/min > 1000, max > 1e8 or min < 1e-4;
  otherwise fixed with ``precision`` decimals, or ``1.``-style when every
  value is an integer. Every element is right-aligned to the widest.
* More than ``threshold`` elements print only ``edgeitems`` rows/columns at
  each end of every dimension, with ``...`` between.
* Rows wrap to ``linewidth`` characters.
* Suffixes: ``dtype=`` unless the dtype is the default float, int64 or bool;
  ``device='cuda:0'`` off the CPU; ``grad_fn=<MulBackward0>`` or
  ``requires_grad=True``; ``size=`` for empty tensors that are not 1-d.

Options are set with :func:`set_printoptions` (same arguments as PyTorch's).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np

from . import _dtype, backend

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: "bool | None" = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print (the arguments of ``torch.set_printoptions``).

    precision: decimals of floats (default 4). threshold: element count above
    which tensors are summarized (1000). edgeitems: items kept at each end of
    a summarized dimension (3). linewidth: characters per line (80).
    profile: 'default', 'short' or 'full', applied first. sci_mode: True or
    False forces scientific notation on or off; None (the default, and what
    every call that omits it restores) chooses per tensor.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions(): unknown profile {profile!r}; "
                             f"expected one of {sorted(_PROFILES)}")
        for k, v in _PROFILES[profile].items():
            setattr(PRINT_OPTS, k, v)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """``with printoptions(precision=2): ...`` sets options for the block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ---------------------------------------------------------------- one element
class _Formatter:
    """The one format shared by all elements of a (real) ndarray.

    Built from the values that will be shown (the summarized array when the
    tensor is summarized); ``width`` is the widest element, ``format(v)``
    right-aligns a Python scalar to it.
    """

    def __init__(self, arr: np.ndarray):
        self.floating = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        mags = np.abs(shown.astype(np.float64))
        lo, hi = mags.min(), mags.max()
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        for v in shown.tolist():
            if self.sci_mode:
                width = len(f"{v:.{p}e}")
            elif self.int_mode:
                width = len(f"{v:.0f}") + 1        # room for the '.' that marks a float
            else:
                width = len(f"{v:.{p}f}")
            self.max_width = max(self.max_width, width)

    def format(self, value) -> str:
        p = PRINT_OPTS.precision
        if not self.floating:
            s = f"{value}"
        elif self.sci_mode:
            s = f"{value:{self.max_width}.{p}e}"
        elif self.int_mode:
            s = f"{value:.0f}"
            if math.isfinite(value):
                s += "."
        else:
            s = f"{value:.{p}f}"
        return " " * (self.max_width - len(s)) + s


class _ComplexFormatter:
    """Real and imaginary parts formatted apart, joined as ``1.0000+2.0000j``."""

    def __init__(self, arr: np.ndarray):
        self.real = _Formatter(arr.real)
        self.imag = _Formatter(arr.imag)
        self.max_width = self.real.max_width + self.imag.max_width + 1   # + 'j'

    def format(self, value) -> str:
        re = self.real.format(value.real)
        im = (self.imag.format(value.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im


def _formatter(arr):
    return _ComplexFormatter(arr) if arr.dtype.kind == "c" else _Formatter(arr)


# ---------------------------------------------------------------- layout
def _summarized(arr: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows (edge items of every dimension)."""
    e = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        return np.concatenate((arr[:e], arr[-e:])) if arr.shape[0] > 2 * e else arr
    if not e:
        return arr[tuple(slice(0, 0) for _ in range(arr.ndim))]
    rows = list(range(e)) + list(range(arr.shape[0] - e, arr.shape[0])) \
        if arr.shape[0] > 2 * e else range(arr.shape[0])
    return np.stack([_summarized(arr[i]) for i in rows])


def _vector_str(arr, indent, summarize, fmt):
    element_length = fmt.max_width + 2            # the element, ', '
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        items = ["..."]
    elif summarize and arr.shape[0] > 2 * e:
        items = ([fmt.format(v) for v in arr[:e].tolist()] + [" ..."]
                 + [fmt.format(v) for v in arr[-e:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(arr, indent, summarize, fmt):
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * e:
        parts = ([_array_str(arr[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                 + [_array_str(arr[i], indent + 1, summarize, fmt) for i in range(n - e, n)])
    else:
        parts = [_array_str(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _body(arr, indent):
    """The bracketed values of a non-empty array, starting at column ``indent``."""
    summarize = arr.size > PRINT_OPTS.threshold
    fmt = _formatter(_summarized(arr) if summarize else arr)
    return _array_str(arr, indent, summarize, fmt)


def _add_suffixes(text, suffixes, indent):
    out = [text]
    # PyTorch's count (one more than the last line's length): kept for identical wrapping.
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last_line_len += len(suffix) + 2
    out.append(")")
    return "".join(out)


def _shape_str(shape):
    return str(tuple(int(s) for s in shape))


def tensor_repr(t) -> str:
    """``repr(t)`` in PyTorch's layout (see the module docstring)."""
    from .tensor import Tensor
    cls = type(t)
    plain = cls is Tensor or cls.__name__ == "Parameter"   # torch prints Parameters as 'tensor('
    prefix = "tensor(" if plain else f"{cls.__name__}("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dt = _dtype.from_numpy_dtype(t.array.dtype)
    default = _dtype.get_default_dtype()
    default_complex = _dtype.complex128 if default == _dtype.float64 else _dtype.complex64
    arr = backend.to_numpy(t.array)
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append("size=" + _shape_str(arr.shape))
        if dt != default:
            suffixes.append(f"dtype={dt}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + _shape_str(arr.shape))
        if dt not in (default, default_complex, _dtype.int64, _dtype.bool):
            suffixes.append(f"dtype={dt}")
        body = _body(arr, indent)
    node = t.grad_fn
    if node is not None:
        name = node.name() if hasattr(node, "name") else type(node).__name__
        suffixes.append(f"grad_fn=<{name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)

