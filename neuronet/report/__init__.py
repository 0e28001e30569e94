"""Run reports: figures of a training run and one self-contained ``report.html``.

* :class:`ReportCallback` -- add it to a :class:`~neuronet.train.Trainer`: the
  figures are rewritten at each epoch end (a long run can be watched) and
  ``report.html`` at the end.
* :func:`write_report` / ``neuronet show RUN_DIR|CHECKPOINT`` (:func:`show_main`)
  -- redraw a finished run's figures and write its page.
* :mod:`neuronet.report.figures` -- each figure from plain arrays.
* :mod:`neuronet.report.stats` -- per-layer gradient norms and weight/activation statistics.

matplotlib is optional (``pip install 'neuronet[plot]'``); it is imported on
first use, with the non-interactive Agg backend.
"""
from . import figures, stats  # noqa: F401
from .callback import ReportCallback, draw_model_figures  # noqa: F401
from .html import FIGURES, environment, write_html  # noqa: F401
from .show import show_main, write_report  # noqa: F401

__all__ = ["ReportCallback", "show_main", "write_report", "write_html", "draw_model_figures", "environment",
           "FIGURES", "figures", "stats"]
