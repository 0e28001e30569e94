"""``neuronet show RUN_DIR|CHECKPOINT``: (re)draw a run's figures and write its ``report.html``.

From a run directory (or one of its checkpoints) this redraws what the files
allow -- the learning curves from ``history.json``/``metrics.csv`` (or the
checkpoint), the first-layer filters from the checkpoint's weights, the
feature maps, misclassified examples / segmentation and confusion matrix from
the samples a :class:`ReportCallback` saved (``report_samples.npz``), the
layer statistics from ``report.json`` -- keeps the PNGs it cannot redraw, and
writes ``report.html`` beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from ..serialization import CheckpointError
from . import figures
from .callback import SAMPLES_FILE, STATE_FILE, draw_model_figures
from .html import read_history, write_html
from .stats import stats_arrays

__all__ = ["write_report", "show_main"]


def _find_checkpoint(run_dir, which=None):
    names = [which] if which else ["last.npz", "best.npz"]
    for n in names:
        p = os.path.join(run_dir, n)
        if os.path.isfile(p):
            return p
    if which:
        raise FileNotFoundError(f"{run_dir}: no checkpoint {which!r} in this run directory")
    others = sorted(f for f in os.listdir(run_dir) if f.endswith(".npz") and f != SAMPLES_FILE)
    return os.path.join(run_dir, others[0]) if others else None


def write_report(path, checkpoint=None, redraw=True):
    """Write ``report.html`` for a run directory or a checkpoint file and
    return its path. ``checkpoint``: which checkpoint file of the run
    directory to use (default ``last.npz``, else ``best.npz``)."""
    from ..train import load_checkpoint
    path = os.fspath(path)
    if os.path.isdir(path):
        run_dir = path
        ckpt_path = _find_checkpoint(run_dir, checkpoint)
    elif os.path.isfile(path):
        run_dir = os.path.dirname(os.path.abspath(path))
        ckpt_path = path
    else:
        raise FileNotFoundError(f"{path}: no such run directory or checkpoint")
    state = {}
    state_path = os.path.join(run_dir, STATE_FILE)
    if os.path.isfile(state_path):
        with open(state_path) as f:
            state = json.load(f)
    ckpt = load_checkpoint(ckpt_path) if ckpt_path else None
    history = read_history(run_dir, ckpt)
    if ckpt is None and not history and not state:
        raise FileNotFoundError(f"{run_dir}: not a run directory (no checkpoint, history.json, metrics.csv "
                                "or report.json)")
    errors = dict(state.get("figure_errors") or {})
    if redraw:
        _redraw(run_dir, state, history, ckpt, errors)
    state["figure_errors"] = errors
    return write_html(run_dir, state, history, ckpt)


def _redraw(run_dir, state, history, ckpt, errors):
    from ._mpl import pyplot
    pyplot()
    if history:
        try:
            figures.learning_curves(history, os.path.join(run_dir, "learning_curves.png"),
                                    title=f"epoch {history[-1].get('epoch', len(history))}")
            errors.pop("learning_curves.png", None)
        except Exception as e:
            errors["learning_curves.png"] = f"{type(e).__name__}: {e}"
    ls = state.get("layer_stats")
    if ls and ls.get("steps"):
        try:
            figures.layer_statistics(stats_arrays(ls), os.path.join(run_dir, "layer_stats.png"))
            errors.pop("layer_stats.png", None)
        except Exception as e:
            errors["layer_stats.png"] = f"{type(e).__name__}: {e}"
    if ckpt is None:
        return
    try:
        model = ckpt.build_model()
    except Exception as e:
        # Not in the registry: the filters can still be drawn from the weights.
        w = next((np.asarray(getattr(v, "array", v)) for k, v in ckpt.model_state.items()
                  if k.endswith("weight") and np.ndim(getattr(v, "array", v)) == 4), None)
        if w is not None:
            figures.filter_grid(w, os.path.join(run_dir, "filters.png"))
            errors.pop("filters.png", None)
        else:
            errors["filters.png"] = f"cannot rebuild the model: {e}"
        return
    x = y = None
    sp = os.path.join(run_dir, SAMPLES_FILE)
    if os.path.isfile(sp):
        with np.load(sp, allow_pickle=False) as z:
            x = z["inputs"]
            y = z["targets"] if "targets" in z.files else None
    task = state.get("task") or ("segmentation" if ckpt.config.get("task") == "segmentation" else "classification")
    names = state.get("class_names") or ckpt.preprocessing.get("class_names")
    # the full validation set's matrix, as the callback last stored it; else the samples'
    cm = state.get("confusion_matrix")
    split = "validation"
    if state.get("final_evaluation"):
        # the run ended with the test set drawn for the chosen checkpoint: keep
        # its misclassified/segmentation figure (the saved samples are validation ones)
        y, split = None, "test"
    measured = draw_model_figures(model, run_dir, x, y, task, names, None,
                                  cm=np.asarray(cm) if cm else None, errors=errors, split=split)
    state.update(measured)


def show_main(argv=None) -> int:
    """``neuronet show RUN_DIR|CHECKPOINT [--checkpoint NAME] [--no-redraw]``:
    (re)draw the figures, write ``report.html``, print its path. Returns the
    exit status (0 ok, 1 error)."""
    parser = argparse.ArgumentParser(
        prog="neuronet show",
        description="Draw a training run's figures and write its self-contained report.html "
                    "(configuration, environment, duration, final metrics, figures).")
    parser.add_argument("path", help="a run directory (as written by `neuronet train`) or a checkpoint file")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint file of the run directory to use (default last.npz, else best.npz)")
    parser.add_argument("--no-redraw", action="store_true",
                        help="only rewrite report.html from the figures already there")
    args = parser.parse_args(argv)
    try:
        out = write_report(args.path, checkpoint=args.checkpoint, redraw=not args.no_redraw)
    except (OSError, ValueError, ImportError, CheckpointError) as e:
        print(f"neuronet show: error: {e}", file=sys.stderr)
        return 1
    print(out)
    return 0
