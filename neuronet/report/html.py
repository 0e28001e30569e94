"""``report.html``: one self-contained page per run.

The page is built only from what the run directory holds (``report.json``
written by :class:`~neuronet.report.ReportCallback`, ``history.json`` /
``metrics.csv``, the checkpoint, the PNG figures), so ``neuronet show`` and the
callback produce the same page. Figures are embedded as base64 ``data:`` URIs
(and linked to the PNG beside the page); there is no script, no stylesheet and
no image from the network, so it opens offline and from an e-mail attachment.
"""
from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import json
import math
import os
import platform
import sys
from ..serialization import atomic_write

__all__ = ["FIGURES", "environment", "read_history", "write_html", "format_duration"]

# (file name, caption) in the order the page shows them.
FIGURES = [
    ("learning_curves.png", "Learning curves: loss and accuracy, train vs validation, and the learning rate."),
    ("confusion.png", "Confusion matrix of the {split} (rows: true class) and per-class accuracy."),
    ("misclassified.png", "Misclassified examples of the {split}, most confident mistakes first: predicted "
                          "class (confidence) over the true class."),
    ("segmentation.png", "Images of the {split}: input, ground truth, prediction, and the pixels that differ."),
    ("filters.png", "First-layer filters (each scaled by its own range)."),
    ("feature_maps.png", "One input through each convolution layer (first channels of each output)."),
    ("layer_stats.png", "Per-layer gradient norm, weight std and activation std over training steps "
                        "(log scale; a gap of orders of magnitude between first and last layers is a "
                        "vanishing or exploding gradient)."),
]


def _version(dist):
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version(dist)
        except PackageNotFoundError:
            return None
    except ImportError:                                   # pragma: no cover
        return None


def environment(device=None):
    """Versions and machine of this process: Python, platform, NumPy, neuronet,
    matplotlib, CuPy (when installed), CPU count and the training device."""
    import numpy as np
    from .. import __version__
    env = {"neuronet": __version__, "python": sys.version.split()[0], "numpy": np.__version__,
           "platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
           "device": str(device) if device is not None else "cpu"}
    mpl = _version("matplotlib")
    if mpl:
        env["matplotlib"] = mpl
    for dist in ("cupy", "cupy-cuda13x", "cupy-cuda12x", "cupy-cuda11x"):
        v = _version(dist)
        if v:
            env["cupy"] = v
            break
    return env


def read_history(run_dir, checkpoint=None):
    """The per-epoch history: ``history.json``, else ``metrics.csv``, else the
    checkpoint's copy; [] when none exists."""
    path = os.path.join(run_dir, "history.json")
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    path = os.path.join(run_dir, "metrics.csv")
    if os.path.isfile(path):
        rows = []
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                row = {}
                for k, v in r.items():
                    try:
                        row[k] = float(v) if v not in ("", None) else None
                        if k == "epoch" and row[k] is not None:
                            row[k] = int(row[k])
                    except ValueError:
                        row[k] = v
                rows.append(row)
        return rows
    if checkpoint is not None:
        return list(checkpoint.history or [])
    return []


def format_duration(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min {s:02d} s" if h else f"{m} min {s:02d} s"


def _fmt(v):
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
    return str(v)


def _table(rows, header=None):
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _kv(d):
    return _table([(k, v) for k, v in d.items() if v is not None and v != {} and v != []])


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222}h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;
margin-top:1.6em}table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}td,th{border:1px solid #ddd;
padding:3px 8px;text-align:left}th{background:#f3f3f3}figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}
figcaption{font-size:0.85em;color:#555}.grid{display:flex;gap:2em;flex-wrap:wrap}.err{color:#b00}
.scroll{max-height:24em;overflow:auto}"""


def write_html(run_dir, state=None, history=None, checkpoint=None, path=None):
    """Write ``run_dir/report.html`` (or ``path``) and return its path.

    state: the dict of ``report.json`` (configuration, environment, timing,
    figure errors); history: per-epoch dicts; checkpoint: a loaded
    :class:`~neuronet.train.Checkpoint` or None. Every figure in
    :data:`FIGURES` that exists in ``run_dir`` is embedded.
    """
    state = dict(state or {})
    history = list(history if history is not None else read_history(run_dir, checkpoint))
    path = path or os.path.join(run_dir, "report.html")
    name = os.path.basename(os.path.abspath(run_dir))
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>neuronet run {html.escape(name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>neuronet run <code>{html.escape(name)}</code></h1>"]
    now = _dt.datetime.now().isoformat(timespec="seconds")
    status = "finished" if state.get("finished") else ("running" if state.get("started") else "")
    parts.append(f"<p>Directory <code>{html.escape(os.path.abspath(run_dir))}</code>. "
                 f"{('Status: ' + status + '. ') if status else ''}Page written {now}.</p>")

    # -- summary: final metrics, duration
    parts.append("<h2>Summary</h2><div class=\"grid\">")
    last = history[-1] if history else {}
    final = {k: v for k, v in last.items() if isinstance(v, (int, float)) and v is not None}
    if checkpoint is not None and not final:
        final = {k: v for k, v in (checkpoint.metrics or {}).items() if isinstance(v, (int, float))}
    if final:
        parts.append("<div><h3>Last epoch (train and validation splits)</h3>" + _kv(final) + "</div>")
    test = state.get("final_evaluation")
    if test:
        parts.append("<div><h3>Test set (evaluated once, at the end)</h3>" + _kv(test) + "</div>")
    duration = None
    if "duration_s" in state:            # one figure: the Trainer's clock, as `neuronet train` prints it
        duration = format_duration(state["duration_s"])
        if state.get("cpu_time_s"):
            duration += f" (process CPU time {format_duration(state['cpu_time_s'])})"
    timing = {"epochs": len(history) or (checkpoint.epoch if checkpoint else None),
              "started": state.get("started"), "finished": state.get("finished"),
              "training time": duration}
    best = {k: v for k, v in last.items() if k.startswith("best_")}
    timing.update(best)
    parts.append("<div><h3>Run</h3>" + _kv(timing) + "</div></div>")

    # -- configuration and environment
    parts.append("<h2>Configuration</h2><div class=\"grid\">")
    cfg = dict(state.get("config") or {})
    if checkpoint is not None:
        if checkpoint.model:
            cfg.setdefault("model", checkpoint.model)
        if checkpoint.config:
            cfg.setdefault("run", checkpoint.config)
        if checkpoint.preprocessing:
            cfg.setdefault("preprocessing", checkpoint.preprocessing)
        if checkpoint.data:
            cfg.setdefault("data", checkpoint.data)
        if checkpoint.optimizer:
            cfg.setdefault("optimizer", {"class": checkpoint.optimizer.get("class")})
        cfg.setdefault("checkpoint", os.path.basename(checkpoint.path))
    for section, values in cfg.items():
        if isinstance(values, dict) and values:
            parts.append(f"<div><h3>{html.escape(section)}</h3>" + _kv(values) + "</div>")
    flat = {k: v for k, v in cfg.items() if not isinstance(v, dict)}
    if flat:
        parts.append("<div><h3>other</h3>" + _kv(flat) + "</div>")
    env = state.get("environment") or environment()
    parts.append("<div><h3>environment</h3>" + _kv(env) + "</div></div>")

    # -- figures
    parts.append("<h2>Figures</h2>")
    errors = state.get("figure_errors") or {}
    split = state.get("figure_split") or "validation set"
    shown = 0
    for fname, caption in FIGURES:
        caption = caption.replace("{split}", split)
        fpath = os.path.join(run_dir, fname)
        if not os.path.isfile(fpath):
            continue
        with open(fpath, "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        parts.append(f"<figure id=\"{html.escape(fname[:-4])}\"><a href=\"{html.escape(fname)}\">"
                     f"<img src=\"data:image/png;base64,{data}\" alt=\"{html.escape(fname)}\"></a>"
                     f"<figcaption><code>{html.escape(fname)}</code>: {html.escape(caption)}</figcaption></figure>")
        shown += 1
    if not shown:
        parts.append("<p>No figures yet.</p>")
    for fname, msg in errors.items():
        parts.append(f"<p class=\"err\">Figure <code>{html.escape(fname)}</code> could not be drawn: "
                     f"{html.escape(str(msg))}</p>")

    # -- per-class accuracy / IoU
    pca = state.get("per_class_accuracy")
    if pca:
        names = state.get("class_names") or [str(i) for i in range(len(pca))]
        iou = state.get("iou_per_class")
        rows = [(names[i] if i < len(names) else i, "" if v is None else f"{100 * v:.2f}%",
                 *(() if not iou else ("" if iou[i] is None else f"{100 * iou[i]:.2f}%",)))
                for i, v in enumerate(pca)]
        parts.append(f"<h2>Per-class results ({html.escape(split)})</h2>"
                     + _table(rows, ["class", "accuracy"] + (["IoU"] if iou else [])))

    # -- history table
    if history:
        keys = []
        for h in history:
            for k, v in h.items():
                if k not in keys and (isinstance(v, (int, float)) or v is None):
                    keys.append(k)
        rows = [[h.get(k, "") if h.get(k) is not None else "" for k in keys] for h in history]
        parts.append("<h2>Per-epoch metrics</h2><div class=\"scroll\">" + _table(rows, keys) + "</div>")
    parts.append("<p><small>Written by neuronet.report. Self-contained: the figures are embedded; "
                 "the PNG files lie beside this page.</small></p></body></html>")
    page = "\n".join(parts).encode("utf-8")
    atomic_write(path, lambda f: f.write(page))
    return path
