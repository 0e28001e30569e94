"""The ``neuronet`` command line.

    neuronet train [MODEL] [--data mnist-sample] [--epochs N] ...   (no arguments: the main job)
    neuronet eval CHECKPOINT --data NAME [--split test] [--json]
    neuronet predict CHECKPOINT IMAGE... [--topk 3]
    neuronet predict MODEL IMAGE... [--weights DEFAULT|NAME|PATH]   (ImageNet: resnet50, vgg16, ...)
    neuronet info CHECKPOINT [--json]
    neuronet export CHECKPOINT OUT.onnx [--batch-size 1] [--opset 17] [--static-batch]
    neuronet show RUN_DIR|CHECKPOINT
    neuronet lab NAME [--quick]
    neuronet models | datasets

Errors a user can make end with their whole message on stderr and exit
status 1 (2 for bad command-line syntax, every argument checked at parse
time with its accepted range), never a traceback; ``--debug`` (or
``NEURONET_DEBUG=1``) shows it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import warnings

import numpy as np

__all__ = ["main"]

# The main job: LeNet-5 on the bundled MNIST sample.
DEFAULTS = dict(model="lenet5", data="mnist-sample", epochs=50, batch_size=64, lr=0.05,
                optimizer="sgd", momentum=0.9, weight_decay=5e-4, scheduler="onecycle", seed=0, val_split=0.1)


class UserError(Exception):
    """An error in what the user asked for: printed as one line."""


class _Parser(argparse.ArgumentParser):
    """Bad command-line syntax: one line naming the option and the accepted
    range, exit status 2 (argparse's usage block is one ``--help`` away)."""

    def error(self, message):
        message = re.sub(r"^argument (-[\w-]+)(?:/-[\w-]+)*: ", r"\1 ", message)
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _number(kind, lo=None, hi=None, lo_open=False, hi_open=False):
    """An argparse type: ``kind`` (int or float) within [lo, hi] (open ends
    where asked); the message says the range and what was received."""
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi}")
    noun = "an integer" if kind is int else "a number"
    if lo is not None and hi is not None:
        words = f"{noun} in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    else:
        words = f"{noun} {' and '.join(parts)}" if parts else noun

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {words}, received {text!r}") from None
        if kind is float and v != v or v in (float("inf"), float("-inf")) \
                or (lo is not None and (v <= lo if lo_open else v < lo)) \
                or (hi is not None and (v >= hi if hi_open else v > hi)):
            raise argparse.ArgumentTypeError(f"must be {words}, received {text}")
        return v
    parse.__name__ = kind.__name__   # argparse names the type in its own messages
    return parse


def _device(text):
    """cpu, cuda or cuda:N, checked at parse time."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"must be cpu, cuda or cuda:N, received {text!r}")
    return text


def _parser():
    p = _Parser(prog="neuronet", description="Train, evaluate and use CNNs built on neuronet.")
    p.add_argument("--debug", action="store_true",
                   help="show the full traceback of an error (may also follow the command)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model (no arguments: LeNet-5 on the bundled MNIST sample)",
                       description="Train a model. With no arguments: the main job, LeNet-5 on the bundled "
                                   "MNIST sample. A validation set is held out of the training data (--val-split) "
                                   "to pick best.npz; the test set is evaluated once, at the end, for that "
                                   "checkpoint.")
    t.add_argument("model", nargs="?", default=DEFAULTS["model"], help="model name (see `neuronet models`)")
    t.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="extra constructor argument for the model, e.g. base_channels=16 (repeatable; "
                        "default: none)")
    t.add_argument("--data", default=DEFAULTS["data"], metavar="NAME",
                   help="mnist-sample | mnist | fashion-mnist | kmnist | cifar10 | cifar100 | folder:PATH | shapes "
                        "(see `neuronet datasets`)")
    t.add_argument("--root", default=None, metavar="DIR",
                   help="data directory (default: $NEURONET_DATA or ~/.cache/neuronet)")
    t.add_argument("--download", action="store_true", help="download missing dataset files")
    t.add_argument("--epochs", type=_number(int, 1), default=DEFAULTS["epochs"], metavar="N",
                   help="epochs to train, >= 1")
    t.add_argument("--batch-size", type=_number(int, 1), default=DEFAULTS["batch_size"], metavar="B",
                   help="training batch size, >= 1")
    t.add_argument("--lr", type=_number(float, 0, lo_open=True), default=DEFAULTS["lr"], metavar="LR",
                   help="learning rate, > 0 (the peak of the one-cycle schedule)")
    t.add_argument("--optimizer", default=DEFAULTS["optimizer"],
                   choices=["sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "radam"],
                   help="sgd (with Nesterov momentum when --momentum > 0) | adam | adamw | rmsprop | adagrad | "
                        "nadam | radam")
    t.add_argument("--momentum", type=_number(float, 0, 1, hi_open=True), default=DEFAULTS["momentum"], metavar="M",
                   help="momentum for sgd and rmsprop, in [0, 1)")
    t.add_argument("--weight-decay", type=_number(float, 0), default=DEFAULTS["weight_decay"], metavar="WD",
                   help="L2 weight decay, >= 0")
    t.add_argument("--scheduler", default=DEFAULTS["scheduler"],
                   choices=["onecycle", "cosine", "step", "plateau", "exponential", "none"],
                   help="learning-rate schedule: onecycle | cosine | step | plateau | exponential | none")
    t.add_argument("--augment", dest="augment", action="store_true", default=True,
                   help="random affine distortions (digits) or crops and flips (images) on the training set "
                        "(default: on)")
    t.add_argument("--no-augment", dest="augment", action="store_false",
                   help="train on the images as they are (default: augmentation on)")
    t.add_argument("--val-split", type=_number(float, 0, 1, hi_open=True), default=DEFAULTS["val_split"],
                   metavar="F",
                   help="fraction of the training set held out, stratified and seeded, to validate on and pick "
                        "best.npz, in [0, 1); 0: no validation set (the last epoch is kept). The test set is "
                        "evaluated once, at the end")
    t.add_argument("--image-size", type=_number(int, 8, 4096), default=None, metavar="PX",
                   help="image side for folder:/shapes data, >= 8 (default: 32 for folder:, 48 for shapes)")
    t.add_argument("--subset", type=_number(int, 2), default=None, metavar="N",
                   help="train on the first N training samples only, >= 2 (default: all)")
    t.add_argument("--device", type=_device, default="cpu", metavar="DEVICE",
                   help="cpu | cuda | cuda:N (needs CuPy and a GPU)")
    t.add_argument("--seed", type=_number(int, 0, 2**32 - 1), default=DEFAULTS["seed"], metavar="S",
                   help="seeds the weights, the validation split, the data order and the augmentation; any "
                        "integer >= 0")
    t.add_argument("--out", default=None, metavar="DIR",
                   help="run directory (default: runs/<model>-<data>); one that already holds a run is never "
                        "overwritten: a fresh DIR-2, DIR-3, ... is used instead, and said so")
    t.add_argument("--resume", default=None, metavar="CKPT",
                   help="continue from a checkpoint, e.g. runs/x/last.npz, in its run directory (or --out) "
                        "(default: start afresh)")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (its checkpoints and logs) instead of using a fresh "
                        "directory")
    t.add_argument("--early-stopping", type=_number(int, 1), default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs (>= 1) without improvement on the validation set "
                        "(default: off)")
    t.add_argument("--no-report", dest="report", action="store_false", default=True,
                   help="skip the figures and report.html (default: drawn)")
    t.add_argument("--report-interval", type=_number(float, 0), default=20.0, metavar="SECONDS",
                   help="redraw the figures at an epoch end at most this often, >= 0 (always at the end)")
    t.add_argument("--quiet", action="store_true", help="print only the final lines")

    e = sub.add_parser("eval", help="evaluate a checkpoint on a dataset")
    e.add_argument("checkpoint", help="a checkpoint file (e.g. runs/demo/best.npz)")
    e.add_argument("--data", default=None, metavar="NAME",
                   help="dataset (default: the one the model was trained on)")
    e.add_argument("--root", default=None, metavar="DIR",
                   help="data directory (default: $NEURONET_DATA or ~/.cache/neuronet)")
    e.add_argument("--split", default="test", choices=["test", "train"], help="test | train")
    e.add_argument("--batch-size", type=_number(int, 1), default=500, metavar="B", help="evaluation batch size, >= 1")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--device", type=_device, default="cpu", metavar="DEVICE", help="cpu | cuda | cuda:N")

    pr = sub.add_parser("predict", help="classify image files with a checkpoint or a pretrained ImageNet model")
    pr.add_argument("checkpoint", help="a checkpoint file, or a model with ImageNet weights (resnet50, vgg16, ...)")
    pr.add_argument("images", nargs="+")
    pr.add_argument("--weights", default=None, metavar="NAME|PATH",
                    help="with a model name: IMAGENET1K_V1, DEFAULT (default) or a state_dict file")
    pr.add_argument("--topk", type=_number(int, 1), default=None, help="classes shown per image, >= 1 (default 5 for ImageNet "
                                                           "models, 3 for checkpoints)")
    pr.add_argument("--json", action="store_true")
    pr.add_argument("--invert", choices=["auto", "yes", "no"], default="auto",
                    help="invert grey levels (MNIST digits are light on dark; 'auto' inverts light backgrounds)")

    x = sub.add_parser("export", help="write a checkpoint's model as an ONNX file (needs the onnx package)")
    x.add_argument("checkpoint")
    x.add_argument("output", help="the .onnx file to write")
    x.add_argument("--batch-size", type=_number(int, 1), default=1,
                   help="batch size of the example input traced, >= 1")
    x.add_argument("--opset", type=_number(int, 17, 21), default=17, help="ONNX opset version (17 to 21)")
    x.add_argument("--static-batch", action="store_true", help="fix the batch size instead of a dynamic 'batch' axis")

    i = sub.add_parser("info", help="describe a checkpoint")
    i.add_argument("checkpoint", help="a checkpoint file")
    i.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("show", help="write/refresh a run's report.html and print its path")
    s.add_argument("target", help="run directory or checkpoint")

    # these two hand their arguments to their own parsers: `neuronet lab --help`
    # and `neuronet bench --help` show those, with defaults and ranges
    lab = sub.add_parser("lab", help="the course's experiments (`neuronet lab list`)", add_help=False)
    lab.add_argument("args", nargs=argparse.REMAINDER)

    sub.add_parser("models", help="list the model zoo: parameters, input size, paper")
    sub.add_parser("datasets", help="list the dataset names")
    b = sub.add_parser("bench", help="benchmarks against PyTorch (options: `neuronet bench --help`)", add_help=False)
    b.add_argument("args", nargs=argparse.REMAINDER)
    for sp in sub.choices.values():
        sp.formatter_class = _HelpFormatter
        for action in sp._actions:
            if action.help is None and action.option_strings:     # argparse shows nothing, not even the default
                action.help = action.dest.replace("_", " ")
    return p


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (``--help`` is the manual)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(action, argparse._StoreTrueAction):
            return text + " (default: off)"
        if isinstance(action, argparse._StoreFalseAction):
            return text + " (default: on)"
        if action.default is None or action.default == []:
            return text + " (default: none)"
        return text + " (default: %(default)s)"


# ------------------------------------------------------------------ train
def _model_args(pairs):
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise UserError(f"--model-arg expects KEY=VALUE, received {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value          # a bare word: a string such as variant=classic
    return out


def _split_words(data, a):
    """Human names of the splits, for the summary and the printed lines."""
    if data.val is None:
        return None
    return (f"validation: {len(data.val)} samples held out of the training set ({100 * a.val_split:g} %, "
            f"stratified by class, seed {a.seed})")


def _one_standard_error(n):
    """The standard error of an accuracy p measured on n samples, as a function of p."""
    import math
    return lambda p: math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))


def _locked_run_dir(a):
    """The run directory, locked: ``--resume`` continues the checkpoint's
    directory (or --out), ``--overwrite`` replaces the run in --out; by
    default a directory that holds a run (or is locked by a running trainer)
    is left alone and a fresh ``DIR-2``, ``DIR-3``, ... is used, and said so."""
    from neuronet.serialization import check_regular_file
    from neuronet.train.rundir import RunDirectoryError, RunLock, clear_run, fresh_run_dir, lock_owner
    if a.resume and a.overwrite:
        raise UserError("--resume continues a run and --overwrite replaces it: give one of the two")
    base = a.out or os.path.join("runs", f"{a.model}-{a.data.replace(':', '_').replace('/', '_')}")
    if a.resume:
        check_regular_file(a.resume, "checkpoint")
        _check_resumable(a)
        out = a.out or os.path.dirname(a.resume) or "."
        return out, RunLock(out).acquire()
    if a.overwrite:
        lock = RunLock(base).acquire()
        clear_run(base)
        return base, lock
    for _ in range(100):      # another trainer may take the fresh directory first: pick again
        out = fresh_run_dir(base)
        try:
            lock = RunLock(out).acquire()
        except RunDirectoryError:
            if lock_owner(out) is None:
                raise
            continue
        if out != base:
            print(f"neuronet: note: {base} already holds a run; this run goes to {out} (--resume CKPT "
                  "continues a run, --overwrite replaces it)", file=sys.stderr)
        return out, lock
    raise UserError(f"no free run directory next to {base}: choose another --out")


def _check_resumable(a):
    """A schedule planned over the whole run (one-cycle, cosine) cannot be
    stretched to another --epochs on resume: say so before training."""
    from neuronet.train import load_checkpoint
    ck = load_checkpoint(a.resume)
    saved = ck.config.get("epochs")
    sched = (ck.scheduler or {}).get("class")
    if sched in ("OneCycleLR", "CosineAnnealingLR") and a.scheduler in ("onecycle", "cosine") \
            and isinstance(saved, int) and saved != a.epochs:
        raise UserError(f"{a.resume}: its {sched} schedule was planned for {saved} epochs; resume with --epochs "
                        f"{saved}, or with --scheduler none to train past it")


def cmd_train(a):
    # Under `mpiexec -n N neuronet train ...` every rank trains its share of
    # each batch (DistributedDataParallel); rank 0 alone owns the run
    # directory, the logs and the report. The other ranks take the same
    # decisions (identical weights and validation metrics) and keep their
    # checkpoints in a private directory removed at the end.
    from neuronet.distributed import training as dt
    if dt.setup() > 1 and not dt.is_main_process():
        import shutil
        import tempfile
        out = tempfile.mkdtemp(prefix=f"neuronet-rank{dt.rank()}-")
        a.quiet, a.report = True, False
        try:
            return _train(a, out)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    out, lock = _locked_run_dir(a)
    try:
        return _train(a, out)
    finally:
        lock.release()


def _train(a, out):
    import neuronet
    from neuronet.data import DataLoader
    from neuronet.train import Trainer, load_checkpoint
    from neuronet.train.recipes import build_data, build_model, build_optimizer, build_scheduler

    neuronet.manual_seed(a.seed)
    data = build_data(a.data, root=a.root, download=a.download, augment=a.augment, image_size=a.image_size,
                      seed=a.seed, val_split=a.val_split, subset=a.subset)
    model = build_model(a.model, data, **_model_args(a.model_arg))
    from neuronet.distributed import training as dt
    world = dt.world_size()
    # several ranks: gradients averaged over them, batch statistics over the global batch
    model = dt.wrap_model(model, sync_batchnorm=True)
    train_set, val_set = data.train, data.val
    if len(train_set) == 0:
        raise UserError(f"the training set of {data.name} is empty (after --subset and --val-split): nothing to "
                        "train on")
    val_words = _split_words(data, a)
    sampler = dt.sampler_for(train_set, shuffle=True, seed=a.seed)     # None with one process
    train_loader = DataLoader(train_set, batch_size=a.batch_size, shuffle=sampler is None, sampler=sampler,
                              seed=a.seed)
    val_loader = DataLoader(val_set, batch_size=500) if val_set is not None else None
    optimizer = build_optimizer(a.optimizer, model.parameters(), a.lr, a.momentum, a.weight_decay)
    scheduler, sched_step = build_scheduler(a.scheduler, optimizer, a.epochs, len(train_loader))
    n_params = sum(p.numel() for p in model.parameters())
    config = {k: v for k, v in vars(a).items() if k not in ("command",)}
    callbacks = []
    report = None
    if a.report:
        try:
            from neuronet.report import ReportCallback
            report = ReportCallback(out, sample_inputs=val_set, class_names=data.classes,
                                    min_interval=a.report_interval,
                                    num_samples=min(len(val_set), 1000) if val_set is not None else 256,
                                    sample_split="validation" if val_set is not None else None)
            callbacks.append(report)
        except ImportError as e:  # matplotlib missing: train anyway, say so
            print(f"neuronet: note: no figures ({e})", file=sys.stderr)
    trainer = Trainer(model, optimizer, scheduler=scheduler, scheduler_step=sched_step, task=data.task,
                      num_classes=data.num_classes, out_dir=out, device=a.device, callbacks=callbacks,
                      early_stopping=a.early_stopping, preprocessing=data.preprocessing,
                      # best.npz: the latest epoch whose validation accuracy is within one
                      # standard error of the best (sqrt(p(1-p)/n): 0.6 points on 600 digits),
                      # so that the noise of a small validation set does not pick an early
                      # epoch over the annealed end of the schedule
                      selection_tolerance=_one_standard_error(len(val_set))
                      if val_set is not None and data.task == "classification" else None,
                      data_info={"name": data.name, "train_size": len(train_set),
                                 "val": val_words or "none (--val-split 0)",
                                 "val_size": len(val_set) if val_set is not None else 0,
                                 "test_size": len(data.test)},
                      config=config, verbose=not a.quiet)
    if not a.quiet:
        held = f"{len(val_set)} validation (held out of train), " if val_set is not None else "no validation, "
        print(f"training {a.model} ({n_params:,} parameters) on {data.name}: {len(train_set)} train, {held}"
              f"{len(data.test)} test samples (used once, at the end); {a.epochs} epochs, batch {a.batch_size}"
              + (f" per rank x {world} ranks (global batch {a.batch_size * world}), " if world > 1 else ", ") +
              f"{a.optimizer} lr {a.lr}, scheduler {a.scheduler}; run directory {out}", file=sys.stderr)
    trainer.fit(train_loader, val_loader, epochs=a.epochs, resume=a.resume)
    if not dt.is_main_process():
        return 0            # rank 0 evaluates the chosen checkpoint and reports
    # The checkpoint the validation set chose (without one: the last); the test
    # set is evaluated once, here, for that checkpoint only.
    best_path = os.path.join(out, "best.npz")
    chosen = os.path.join(out, "last.npz")
    chosen_epoch = trainer.epoch
    val_metrics = None
    if val_set is not None and os.path.isfile(best_path):
        ck = load_checkpoint(best_path)
        ck.load_into(dt.unwrap_model(trainer.model))
        chosen, chosen_epoch = best_path, ck.epoch
        val_metrics = {k[4:]: v for k, v in ck.metrics.items() if k.startswith("val_") and isinstance(v, float)}
    final = trainer.evaluate(DataLoader(data.test, batch_size=500))
    if report is not None:
        report.final_evaluation(trainer, data.test, final, checkpoint=os.path.basename(chosen), epoch=chosen_epoch)
    summary = {"model": a.model, "data": data.name, "epochs": trainer.epoch,
               "train_time_s": round(trainer.fit_seconds, 2), "train_cpu_time_s": round(trainer.fit_cpu_seconds, 2),
               "checkpoint": chosen, "selected_epoch": chosen_epoch,
               "selected_by": (f"{trainer.monitor_key} on the validation split: the latest epoch within one "
                               f"standard error of the best ({trainer.best:.4f})" if val_metrics is not None
                               else "last epoch (no validation split)"),
               "validation": None if val_set is None else {
                   "split": val_words, "n": len(val_set), **(val_metrics or {})},
               "test": {"split": f"test: the {len(data.test)} samples of {data.name}'s test set, evaluated once "
                                 f"for {os.path.basename(chosen)}", "n": final["n"], "loss": final["loss"],
                        "accuracy": final.get("accuracy")},
               "test_loss": final["loss"], "test_accuracy": final.get("accuracy"), "n_test": final["n"],
               "run_dir": out}
    if data.task == "segmentation":
        for k in ("mean_iou", "pixel_accuracy"):
            summary["test"][k] = summary["test_" + k] = final.get(k)
    from neuronet.serialization import atomic_write_bytes
    atomic_write_bytes(os.path.join(out, "summary.json"), json.dumps(summary, indent=1).encode("utf-8"))
    acc = summary["test_accuracy"]
    if val_metrics is not None and "accuracy" in val_metrics:
        print(f"validation accuracy {100 * val_metrics['accuracy']:.2f}% ({len(val_set)} samples held out of the "
              f"training set) at epoch {chosen_epoch} of {trainer.epoch} (best {100 * trainer.best:.2f}%; the "
              f"latest epoch within one standard error of it is kept)")
    print(f"test accuracy {100 * acc:.2f}% ({final['n']} {data.name} test samples, {os.path.basename(chosen)}), "
          f"loss {final['loss']:.4f}; trained {trainer.fit_seconds:.1f} s (process CPU time "
          f"{trainer.fit_cpu_seconds:.1f} s); checkpoint {chosen}"
          + (f"; report {os.path.join(out, 'report.html')}" if report is not None else ""))
    return 0


# ------------------------------------------------------------------ eval / predict / info
def _load(path):
    from neuronet.train import load_checkpoint
    return load_checkpoint(path)


def cmd_eval(a):
    from neuronet.data import DataLoader
    from neuronet.train import Trainer
    from neuronet.train.recipes import build_data
    ck = _load(a.checkpoint)
    model = ck.build_model(device=a.device if a.device != "cpu" else None)
    name = a.data or ck.preprocessing.get("data") or ck.data.get("name")
    if not name:
        raise UserError(f"{a.checkpoint}: the checkpoint does not say which data it was trained on; pass --data")
    size = (ck.preprocessing.get("input_size") or [None])[0]
    # folder:/shapes data are resized: to the size the model was trained at
    data = build_data(name, root=a.root, augment=False,
                      image_size=size if isinstance(size, int) and 8 <= size <= 4096 else None)
    _check_compatible(ck, data, a.checkpoint)
    dataset = data.test if a.split == "test" else data.train     # built without augmentation
    trainer = Trainer(model, None, task=data.task, num_classes=data.num_classes, verbose=False,
                      device=a.device if a.device != "cpu" else None)
    res = trainer.evaluate(DataLoader(dataset, batch_size=a.batch_size))
    out = {"checkpoint": a.checkpoint, "model": (ck.model or {}).get("name"), "data": name, "split": a.split,
           "n": res["n"], "loss": res["loss"], "accuracy": res.get("accuracy"),
           "nonfinite_predictions": res.get("nonfinite_predictions", 0)}
    if "per_class_accuracy" in res:
        out["per_class_accuracy"] = [None if np.isnan(v) else float(v) for v in res["per_class_accuracy"]]
        out["confusion_matrix"] = res["confusion_matrix"].tolist()
    for k in ("mean_iou", "pixel_accuracy"):
        if k in res:
            out[k] = res[k]
    if a.json:
        print(json.dumps(out))
    else:
        print(f"{out['model']} on {name} ({a.split}, {out['n']} samples): accuracy {100 * out['accuracy']:.2f}%, "
              f"loss {out['loss']:.4f}")
    return 0


_DIGIT_WORDS = {w: str(i) for i, w in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven",
                                                 "eight", "nine"))}


def _class_key(name):
    """A class name as compared between a checkpoint and data: MNIST's
    spellings '0 - zero', 'zero' and '0' are one class."""
    key = name.strip().lower().split(" - ")[0]
    return _DIGIT_WORDS.get(key, key)


def _check_compatible(ck, data, path):
    pre = ck.preprocessing or {}
    ch = pre.get("in_channels")
    if ch is not None and ch != data.in_channels:
        raise UserError(f"{path}: the model takes {ch}-channel input but {data.name} has "
                        f"{data.in_channels}-channel images")
    nc = len(pre.get("classes") or []) or None
    if nc is not None and nc != data.num_classes:
        raise UserError(f"{path}: the model predicts {nc} classes but {data.name} has {data.num_classes}")
    mine, theirs = [str(c) for c in pre.get("classes") or []], [str(c) for c in data.classes or []]
    diff = [f"{i}: {m!r} vs {t!r}" for i, (m, t) in enumerate(zip(mine, theirs))
            if _class_key(m) != _class_key(t)]
    if diff:
        raise UserError(f"{path}: the checkpoint's class names differ from {data.name}'s (index: checkpoint vs "
                        f"data: {', '.join(diff[:5])}{', ...' if len(diff) > 5 else ''}); its predictions "
                        "would be scored against the wrong classes")


def _open_image(path):
    try:
        from PIL import Image
    except ImportError:
        raise UserError("predict needs Pillow to read images: pip install pillow") from None
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file")
    if not os.path.isfile(path):      # a FIFO would block the reader forever
        raise UserError(f"{path}: not a regular file; images are read from regular files only")
    try:
        img = Image.open(path)
        img.load()
    except Exception as e:  # PIL raises many types for bad files
        raise UserError(f"{path}: cannot read the image ({type(e).__name__}: {e})") from None
    return img


def _read_image(path, channels, size, invert):
    from PIL import Image
    img = _open_image(path).convert("L" if channels == 1 else "RGB")
    if tuple(img.size) != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    if invert == "yes" or (invert == "auto" and channels == 1 and np.median(arr) > 0.5):
        arr = 1.0 - arr
    return arr


def _pretrained(name, weights):
    """``neuronet predict resnet50 photo.jpg``: the zoo model with ImageNet
    weights (an entry name, or a local state_dict file), its preprocessing
    and its class names."""
    from neuronet.models import get_model
    from neuronet.models.weights import MODEL_WEIGHTS, WeightsEnum, resolve
    key = name.lower()
    if key not in MODEL_WEIGHTS:
        raise UserError(f"{name}: no such checkpoint file, and not a model with pretrained ImageNet weights "
                        f"({', '.join(MODEL_WEIGHTS)})")
    enum = MODEL_WEIGHTS[key]
    chosen = resolve(weights or "DEFAULT", enum, key)
    entry = chosen if isinstance(chosen, WeightsEnum) else enum.DEFAULT
    if not entry.meta.get("categories"):
        raise UserError(f"{entry!r}: these weights are for feature extraction, not classification")
    model = get_model(key, weights=chosen)
    model.eval()
    return model, entry.transforms(), list(entry.meta["categories"])


def cmd_predict(a):
    import neuronet
    if os.path.exists(a.checkpoint) or a.checkpoint.endswith(".npz"):
        if a.weights is not None:
            raise UserError("--weights goes with a model name (e.g. resnet50), not with a checkpoint file")
        ck = _load(a.checkpoint)
        model = ck.build_model()
        pre = ck.preprocessing or {}
        channels = pre.get("in_channels", 1)
        size = tuple(pre.get("input_size") or (28, 28))
        mean = np.asarray(pre.get("mean") or [0.0] * channels, np.float32).reshape(-1, 1, 1)
        std = np.asarray(pre.get("std") or [1.0] * channels, np.float32).reshape(-1, 1, 1)
        classes = pre.get("classes") or []
        batch = np.stack([(_read_image(p, channels, size, a.invert) - mean) / std for p in a.images])
        topk = 3 if a.topk is None else a.topk
    else:
        model, preprocess, classes = _pretrained(a.checkpoint, a.weights)
        batch = np.stack([preprocess(_open_image(p).convert("RGB")).numpy() for p in a.images])
        topk = 5 if a.topk is None else a.topk
    with neuronet.no_grad():
        logits = model(neuronet.tensor(batch))
    if logits.ndim != 2:
        raise UserError(f"{a.checkpoint}: predict works with classifiers; this model outputs shape {logits.shape}")
    z = logits.numpy().astype(np.float64)
    prob = np.exp(z - z.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    k = min(topk, prob.shape[1])
    results = []
    for path, p in zip(a.images, prob):
        top = np.argsort(-p)[:k]
        results.append({"image": path, "top": [{"class": classes[c] if c < len(classes) else str(c),
                                                "index": int(c), "probability": float(p[c])} for c in top]})
    if a.json:
        print(json.dumps(results))
    else:
        for r in results:
            print(r["image"] + ": " + ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in r["top"]))
    return 0


def cmd_export(a):
    import neuronet
    from neuronet.onnx import export
    ck = _load(a.checkpoint)
    model = ck.build_model()
    pre = ck.preprocessing or {}
    channels = pre.get("in_channels", 1)
    size = tuple(pre.get("input_size") or (28, 28))
    # the example input only fixes the shapes; its values do not matter
    x = neuronet.tensor(np.random.default_rng(0).standard_normal((a.batch_size, channels, *size)).astype(np.float32))
    axes = None if a.static_batch else {"input": {0: "batch"}, "output": {0: "batch"}}
    try:
        export(model, x, a.output, input_names=["input"], output_names=["output"], dynamic_axes=axes,
               opset_version=a.opset)
    except ImportError as e:
        raise UserError(str(e)) from None
    print(f"{a.output}: {(ck.model or {}).get('name', ck.model_class)}, input 'input' "
          f"({'batch' if axes else a.batch_size}, {channels}, {size[0]}, {size[1]}), opset {a.opset}")
    return 0


def cmd_info(a):
    ck = _load(a.checkpoint)
    n_params = int(sum(int(np.prod(v.shape)) for k, v in ck.model_state.items()
                       if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))))
    info = {"checkpoint": a.checkpoint, "model": (ck.model or {}).get("name", ck.model_class),
            "model_kwargs": (ck.model or {}).get("kwargs", {}), "parameters": n_params,
            "epoch": ck.epoch, "step": ck.step, "data": ck.data, "preprocessing": ck.preprocessing,
            "metrics": ck.metrics, "optimizer": (ck.optimizer or {}).get("class"),
            "scheduler": (ck.scheduler or {}).get("class"), "neuronet_version": ck.neuronet_version}
    if a.json:
        print(json.dumps(info, default=str))
        return 0
    print(f"model       {info['model']} {info['model_kwargs']}")
    print(f"parameters  {n_params:,}")
    print(f"trained on  {ck.data.get('name', '?')} ({ck.data.get('train_size', '?')} samples), "
          f"{ck.epoch} epochs, {ck.step} steps, optimizer {info['optimizer']}, scheduler {info['scheduler']}")
    pre = ck.preprocessing
    if pre:
        print(f"input       {pre.get('in_channels')}x{'x'.join(map(str, pre.get('input_size', [])))}, "
              f"normalize mean {pre.get('mean')} std {pre.get('std')}")
    if ck.metrics:
        shown = {k: round(v, 4) for k, v in ck.metrics.items() if isinstance(v, float)}
        print("metrics     " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    return 0


def cmd_show(a):
    from neuronet.report import show_main
    return show_main([a.target])


def cmd_lab(a):
    from neuronet.lab import main as lab_main
    return lab_main(a.args)


# What `neuronet models` prints beside each name: the input it was designed for
# (default constructor arguments), the parameter count at those defaults
# (tests/test_cli.py rebuilds the small ones and checks), and the paper.
MODEL_CATALOG = {
    "mlp": ("1x28x28", 235_146, "Rumelhart, Hinton & Williams 1986"),
    "lenet5": ("1x28x28", 61_706, "LeCun et al. 1998"),
    "alexnet": ("3x224x224", 61_100_840, "Krizhevsky et al. 2012"),
    "vgg11": ("3x224x224", 132_863_336, "Simonyan & Zisserman 2015"),
    "vgg11_bn": ("3x224x224", 132_868_840, "Simonyan & Zisserman 2015"),
    "vgg13": ("3x224x224", 133_047_848, "Simonyan & Zisserman 2015"),
    "vgg13_bn": ("3x224x224", 133_053_736, "Simonyan & Zisserman 2015"),
    "vgg16": ("3x224x224", 138_357_544, "Simonyan & Zisserman 2015"),
    "vgg16_bn": ("3x224x224", 138_365_992, "Simonyan & Zisserman 2015"),
    "vgg19": ("3x224x224", 143_667_240, "Simonyan & Zisserman 2015"),
    "vgg19_bn": ("3x224x224", 143_678_248, "Simonyan & Zisserman 2015"),
    "googlenet": ("3x224x224", 6_624_904, "Szegedy et al. 2015"),
    "resnet18": ("3x224x224", 11_689_512, "He et al. 2016"),
    "resnet34": ("3x224x224", 21_797_672, "He et al. 2016"),
    "resnet50": ("3x224x224", 25_557_032, "He et al. 2016"),
    "resnet101": ("3x224x224", 44_549_160, "He et al. 2016"),
    "resnet152": ("3x224x224", 60_192_808, "He et al. 2016"),
    "resnet20": ("3x32x32", 269_722, "He et al. 2016, section 4.2 (CIFAR)"),
    "resnet32": ("3x32x32", 464_154, "He et al. 2016, section 4.2 (CIFAR)"),
    "resnet44": ("3x32x32", 658_586, "He et al. 2016, section 4.2 (CIFAR)"),
    "resnet56": ("3x32x32", 853_018, "He et al. 2016, section 4.2 (CIFAR)"),
    "resnet110": ("3x32x32", 1_727_962, "He et al. 2016, section 4.2 (CIFAR)"),
    "unet": ("1xHxW", 31_030_658, "Ronneberger et al. 2015"),
    "segnet": ("3xHxW", 29_449_355, "Badrinarayanan et al. 2017"),
}


def cmd_models(a):
    from neuronet import models
    rows = [("model", "parameters", "input", "paper")]
    for name in models.list_models():
        size, params, paper = MODEL_CATALOG.get(name, ("?", None, "?"))
        rows.append((name, f"{params:,}" if params else "?", size, paper))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")
    print("\nparameters at the default arguments (ImageNet: 1,000 classes); `neuronet train MODEL` sizes the "
          "model for its data")
    return 0


def cmd_datasets(a):
    from neuronet.train.recipes import DATASETS
    for k, v in DATASETS.items():
        print(f"{k:15s} {v}")
    return 0


def cmd_bench(a):
    from neuronet.bench.__main__ import main as bench_main
    return bench_main(a.args)


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "export": cmd_export, "info": cmd_info,
            "show": cmd_show,
            "lab": cmd_lab, "models": cmd_models, "datasets": cmd_datasets, "bench": cmd_bench}


# The library's errors name Python arguments; on the command line the flag is meant.
_FLAG_WORDS = [("Use download=True", "Use --download"), ("download=True", "--download"),
               ("MNIST(sample=True)", "--data mnist-sample"), ("datasets.MNIST(sample=True)", "--data mnist-sample")]


def _cli_words(msg):
    for api, flag in _FLAG_WORDS:
        msg = msg.replace(api, flag)
    return msg


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings on the command line: one line each, without the source line."""
    print(f"neuronet: warning: {message}", file=sys.stderr)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    # --debug anywhere before a lab/bench's own arguments
    stop = next((i for i, w in enumerate(argv) if w in ("lab", "bench")), len(argv))
    debug = "--debug" in argv[:stop] or bool(os.environ.get("NEURONET_DEBUG"))
    argv = [w for i, w in enumerate(argv) if not (i < stop and w == "--debug")]
    if not argv:
        argv = ["train"]          # `neuronet` alone runs the main job
    if argv[0] in ("lab", "bench"):
        # their own parsers take every option, --help included (argparse's
        # REMAINDER would refuse an option-like first word such as --quick)
        a = argparse.Namespace(command=argv[0], args=argv[1:])
    else:
        a = parser.parse_args(argv)
    if a.command is None:
        parser.print_help()
        return 2
    if not debug:
        warnings.showwarning = _show_warning
    try:
        return COMMANDS[a.command](a) or 0
    except KeyboardInterrupt:
        print("neuronet: interrupted", file=sys.stderr)
        _end_other_ranks(130)
        return 130
    except Exception as e:  # the whole message for the user; the traceback on request
        if debug:
            raise
        msg = str(e).strip()
        if isinstance(e, KeyError) and len(e.args) == 1 and isinstance(e.args[0], str):
            msg = e.args[0]                      # str(KeyError) adds quotes
        if isinstance(e, MemoryError):
            msg = f"out of memory{': ' + msg if msg else ''}"
        if not msg or msg == type(e).__name__ or len(msg.split()) == 1:
            # a bare word ("eps", "object") says nothing without its type
            msg = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
        print(f"neuronet: error: {_cli_words(msg)}", file=sys.stderr)
        _end_other_ranks(1)
        return 1


def _end_other_ranks(code):
    """Under `mpiexec -n N`, a rank that stops with an error ends the whole job
    (the others would wait forever in their next collective)."""
    from neuronet import distributed as dist
    if dist.is_initialized() and dist.get_world_size() > 1:
        sys.stderr.flush()
        dist.abort(code)


if __name__ == "__main__":
    sys.exit(main())
