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
    import os
    plt = pyplot()
    tmp = f"{path}.tmp.png"
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
