"""The benchmark workloads: which network, which batch, training or inference.

Each workload is run, in its own subprocess, by up to three frameworks on the
same synthetic data (one seeded NumPy draw shared by all):

- ``neuronet``  the library itself (``neuronet.models`` + the VGG-style net below);
- ``torch``     the same architectures written in PyTorch (``_torch_models.py``);
- ``baseline``  ``bench/baselines/naive_numpy.py``: a Chainer/tinynn-style NumPy
                implementation (Function objects, per-offset im2col), written
                as such libraries write it, to measure what the design buys.

The ``*-user`` rows run LeNet-5 as a user writes it (:func:`user_written_lenet5`:
one ``nn.Sequential`` of stock layers, the same text for both frameworks), so
the bench measures what any model gets, not a path only the zoo's model takes;
the zoo rows stay beside them and the report prints user-written / zoo.

A training step is the full one: ``zero_grad``, forward, cross-entropy, backward,
SGD with momentum 0.9 and lr 0.01. An inference step is one forward pass under
``no_grad`` in eval mode.

This module imports no framework: the worker imports the one it measures.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Workload", "WORKLOADS", "parse_workloads", "build_neuronet_model", "make_data",
           "user_written_lenet5", "VGG_STYLE_CONFIG", "TARGET_RSS_RATIO", "TARGET_USER_OVER_ZOO"]


@dataclass(frozen=True)
class Workload:
    """One row of the benchmark table.

    ``model``: ``"lenet5"`` (the zoo's), ``"lenet5-user"`` (user-written),
    ``"resnet20"`` or ``"vgg"``; ``input_shape``: one image ``(C, H, W)``;
    ``train``: a full SGD step when True, a ``no_grad`` forward when False;
    ``target_ratio``: the issue's neuronet/PyTorch images/s target;
    ``zoo_twin``: for a user-written row, the zoo row with the same network
    and batch (their neuronet images/s ratio has its own target).
    """

    name: str
    model: str
    batch: int
    input_shape: tuple
    train: bool
    description: str
    num_classes: int = 10
    # Targets from the issue: neuronet/PyTorch throughput ratio in the same run.
    target_ratio: float = 1.0
    zoo_twin: str = None


WORKLOADS = {w.name: w for w in (
    Workload("lenet64", "lenet5", 64, (1, 28, 28), True,
             "LeNet-5 (zoo), MNIST 1x28x28, batch 64, train", target_ratio=1.0),
    Workload("lenet64-user", "lenet5-user", 64, (1, 28, 28), True,
             "LeNet-5 user-written nn.Sequential, MNIST 1x28x28, batch 64, train",
             target_ratio=1.0, zoo_twin="lenet64"),
    Workload("lenet256", "lenet5", 256, (1, 28, 28), True,
             "LeNet-5 (zoo), MNIST 1x28x28, batch 256, train", target_ratio=1.0),
    Workload("lenet256-user", "lenet5-user", 256, (1, 28, 28), True,
             "LeNet-5 user-written nn.Sequential, MNIST 1x28x28, batch 256, train",
             target_ratio=1.0, zoo_twin="lenet256"),
    Workload("lenet-infer1000", "lenet5", 1000, (1, 28, 28), False,
             "LeNet-5 (zoo) inference (no_grad, eval), batch 1000", target_ratio=1.2),
    Workload("lenet-infer1000-user", "lenet5-user", 1000, (1, 28, 28), False,
             "LeNet-5 user-written nn.Sequential, inference (no_grad, eval), batch 1000",
             target_ratio=1.2, zoo_twin="lenet-infer1000"),
    Workload("resnet20", "resnet20", 128, (3, 32, 32), True,
             "CIFAR ResNet-20 (option A), 3x32x32, batch 128, train", target_ratio=0.6),
    Workload("vgg", "vgg", 128, (3, 32, 32), True,
             "VGG-style conv64x2-pool-conv128x2-pool-fc, 3x32x32, batch 128, train",
             target_ratio=0.6),
)}

# Peak-RSS target from the issue: neuronet's peak RSS <= 0.5x PyTorch's.
TARGET_RSS_RATIO = 0.5
# A user-written LeNet-5 must run as fast as the zoo's: neuronet images/s of
# the user-written row over its zoo twin's, same run.
TARGET_USER_OVER_ZOO = 0.95

# The VGG-style network of the issue (Simonyan & Zisserman 2015, cut down to
# CIFAR size): 3x3 convolutions (padding 1, with bias) each followed by ReLU,
# 2x2 max pooling after each pair, one fully connected layer 128*8*8 -> 10.
# No batch norm: the "conv64x2-pool-conv128x2-pool-fc" names none.
VGG_STYLE_CONFIG = (64, 64, "M", 128, 128, "M")


def parse_workloads(spec):
    """``"lenet64,resnet20"`` -> list of :class:`Workload`; ``None``/``"all"`` -> all."""
    if spec is None or spec == "all":
        return list(WORKLOADS.values())
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        raise ValueError(f"unknown workload(s) {unknown or spec!r}; available: {', '.join(WORKLOADS)}")
    return [WORKLOADS[n] for n in names]


def make_data(workload, batch, seed=0):
    """The synthetic batch every framework sees: ``x`` float32 ``(batch, C, H, W)``
    standard normal, ``y`` int64 labels in ``[0, num_classes)``."""
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + tuple(workload.input_shape), dtype=np.float32)
    y = rng.integers(0, workload.num_classes, size=batch, dtype=np.int64)
    return x, y


def user_written_lenet5(nn):
    """LeNet-5 (LeCun et al. 1998, modern form: ReLU, max pooling) as a user
    writes it from the stock layers of ``nn`` -- ``neuronet.nn`` or
    ``torch.nn``, the same text for both. MNIST ``(N, 1, 28, 28)`` ->
    ``(N, 10)``; 61,706 parameters, the zoo's ``lenet5`` layer for layer."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def build_neuronet_model(model, in_channels=None, num_classes=10):
    """The neuronet network for ``model`` (``"lenet5"``, ``"lenet5-user"``,
    ``"resnet20"``, ``"vgg"``)."""
    if model == "lenet5-user":
        from .. import nn
        return user_written_lenet5(nn)
    if model == "vgg":
        return _neuronet_vgg_style(3 if in_channels is None else in_channels, num_classes)
    from .. import models
    if model == "lenet5":
        return models.get_model("lenet5", num_classes=num_classes)
    if model == "resnet20":
        return models.get_model("resnet20", num_classes=num_classes, shortcut="A")
    raise ValueError(f"build_neuronet_model: unknown model {model!r}")


def _neuronet_vgg_style(in_channels, num_classes):
    from .. import nn
    layers = []
    c = in_channels
    for v in VGG_STYLE_CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(c, v, kernel_size=3, padding=1), nn.ReLU()]
            c = v
    layers += [nn.Flatten(), nn.Linear(c * 8 * 8, num_classes)]
    return nn.Sequential(*layers)
