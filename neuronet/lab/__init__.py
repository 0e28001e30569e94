"""The course's experiments, one command each: ``neuronet lab NAME [--quick] [--out DIR]``.

=================  =====================================================================
``segmentation``   U-Net / SegNet on the synthetic Shapes set: mean IoU, pixel accuracy
``gradients``      vanishing gradients in a deep sigmoid MLP; Xavier, ReLU + He, BatchNorm
``init``           activation statistics through depth for each initialization
``optimizers``     SGD, momentum, Nesterov, RMSprop, Adam: loss curves on one plot
``overfitting``    train vs test curves with/without dropout, weight decay, augmentation
``conv-vs-fc``     an MLP against LeNet-5 at the same parameter count
=================  =====================================================================

Each writes ``<out>/<name>.png`` (``<out>`` defaults to ``runs/lab``), prints a one-paragraph reading of it and
saves that paragraph in ``<out>/<name>.txt`` (the numbers in ``<name>.json``).
``--quick`` runs a reduced version in seconds (what the tests run).
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap

from ._common import LabResult

__all__ = ["EXPERIMENTS", "run", "main", "LabResult"]

EXPERIMENTS = {
    "segmentation": ("segmentation", "U-Net/SegNet on synthetic shapes: mean IoU, pixel accuracy, figure"),
    "gradients": ("gradients", "vanishing gradients: deep sigmoid MLP vs Xavier, ReLU+He, BatchNorm"),
    "init": ("initialization", "activation statistics through depth per initialization scheme"),
    "optimizers": ("optimizers", "SGD, momentum, Nesterov, RMSprop, Adam on the same net and data"),
    "overfitting": ("overfitting", "small training set with/without dropout, weight decay, augmentation"),
    "conv-vs-fc": ("conv_vs_fc", "MLP vs LeNet-5 at a similar parameter count (plus shifted digits)"),
}


def run(name, out_dir=os.path.join("runs", "lab"), quick=False, seed=0, **options) -> LabResult:
    """Run experiment ``name`` writing into ``out_dir``; returns its
    :class:`LabResult` (figure path, metrics, reading), reading saved beside."""
    import importlib
    if name not in EXPERIMENTS:
        raise ValueError(f"neuronet lab: unknown experiment {name!r}; available: {', '.join(EXPERIMENTS)}")
    os.makedirs(out_dir, exist_ok=True)
    module = importlib.import_module(f".{EXPERIMENTS[name][0]}", __name__)
    result = module.run(out_dir, quick=quick, seed=seed, **options)
    result.save(out_dir)
    return result


def main(argv=None) -> int:
    """``neuronet lab NAME [--quick] [--out DIR] [--seed S] [--model unet|segnet]
    [--epochs N] [--minutes M]`` and ``neuronet lab list``. Returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="neuronet lab", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one of the course's experiments: it writes a figure, prints a one-paragraph "
                    "reading of it and saves the reading beside the figure.",
        epilog="experiments:\n" + "\n".join(f"  {k:<13} {v[1]}" for k, v in EXPERIMENTS.items()))
    parser.add_argument("name", help="experiment name, or 'list'")
    parser.add_argument("--quick", action="store_true", help="a reduced run (seconds), as in the tests (default: off)")
    parser.add_argument("--out", default=os.path.join("runs", "lab"), metavar="DIR",
                        help="output directory (default: runs/lab)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed, an integer >= 0 (default: 0)")
    parser.add_argument("--model", choices=["unet", "segnet"], default="unet",
                        help="segmentation only: unet | segnet (default: unet)")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="segmentation only: epoch budget, >= 1 (default: until --minutes)")
    parser.add_argument("--minutes", type=float, default=None, metavar="M",
                        help="segmentation only: training budget in CPU minutes, > 0 (default: 10)")
    args = parser.parse_args(argv)
    if args.name == "list":
        for k, v in EXPERIMENTS.items():
            print(f"{k:<13} {v[1]}")
        return 0
    if args.name not in EXPERIMENTS:
        print(f"neuronet lab: error: unknown experiment {args.name!r}; available: {', '.join(EXPERIMENTS)} "
              "(or 'list')", file=sys.stderr)
        return 2
    if args.epochs is not None and args.epochs < 1:
        print(f"neuronet lab: error: --epochs must be >= 1, received {args.epochs}", file=sys.stderr)
        return 2
    if args.minutes is not None and args.minutes <= 0:
        print(f"neuronet lab: error: --minutes must be > 0, received {args.minutes}", file=sys.stderr)
        return 2
    options = {}
    if args.name == "segmentation":
        options = {"model": args.model, "epochs": args.epochs, "minutes": args.minutes}
    elif args.epochs is not None or args.minutes is not None or args.model != "unet":
        print("neuronet lab: error: --model, --epochs and --minutes apply to 'segmentation' only", file=sys.stderr)
        return 2
    try:
        result = run(args.name, args.out, quick=args.quick, seed=args.seed, **options)
    except ImportError as e:                     # matplotlib missing
        print(f"neuronet lab: error: {e}", file=sys.stderr)
        return 1
    print(textwrap.fill(result.reading, 100))
    print(f"\nfigure: {result.figure}\nreading: {os.path.join(args.out, result.name + '.txt')}  "
          f"({result.seconds:.1f} s)")
    return 0
