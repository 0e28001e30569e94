"""Lazy, headless matplotlib: figures are written to files, never shown."""
from __future__ import annotations

__all__ = ["pyplot", "save"]


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend, or a clear
    error naming the extra to install. Imported on first use so that
    ``import neuronet`` never needs matplotlib."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("neuronet.report needs matplotlib to draw figures: "
                          "pip install 'neuronet[plot]' (or pip install matplotlib)") from None
    # Agg renders to memory; force it before pyplot is imported so no display
    # (and no GUI toolkit) is ever touched, even on a desktop.
    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def save(fig, path, dpi=90):
    """Write ``fig`` to ``path`` atomically (a watcher never sees half a PNG)
    and free it."""
    from ..serialization import atomic_write
    plt = pyplot()
    try:
        # a temporary named by process (atomic_write): two runs never share one
        atomic_write(path, lambda f: fig.savefig(f, dpi=dpi, format="png"))
    finally:
        plt.close(fig)
    return path
