"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning
applied to document recognition", Proc. IEEE 86(11)), in two forms:

- ``variant="modern"`` (default): the form taught today -- ReLU, max pooling,
  full connections -- 61,706 parameters for 10 classes on 28x28 input.
- ``variant="classic"``: the paper's network -- scaled tanh, trainable
  subsampling, the partial C3 connection table, C5 as a convolution.
"""
import numpy as np

import neuronet as nt
from .. import backend, nn
from ..nn import functional as F
from ..nn import init
from ._registry import check_choice, check_input, check_positive_int, register_model

__all__ = ["lenet5", "LeNet5", "LeNet5Classic", "C3_TABLE", "ScaledTanh", "Subsampling",
           "PartialConv2d"]


# ----------------------------------------------------------------------------- modern


class LeNet5(nn.Module):
    """The modern LeNet-5: ReLU activations, 2x2 max pooling, full connections.

    ::

        x: (N, C, s, s) -> conv 5x5 pad 2 (6) -> ReLU -> maxpool 2
                        -> conv 5x5 (16)     -> ReLU -> maxpool 2 -> flatten
                        -> fc 120 -> ReLU -> fc 84 -> ReLU -> fc num_classes

    The first convolution pads by 2 so a 28x28 MNIST digit gives C1 the 28x28
    maps the paper gets from its 32x32 input; the features are then
    16 x 5 x 5 = 400 and the network has 61,706 parameters for 10 classes.
    For 32x32 input (CIFAR-10) pass ``input_size=32``: 16 x 6 x 6 = 576 features.

    Keys: ``features.{0,3}.{weight,bias}``, ``classifier.{0,2,4}.{weight,bias}``.
    Initialization: PyTorch's layer defaults.

    Shape: input ``(N, in_channels, input_size, input_size)``, output ``(N, num_classes)``.
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28):
        super().__init__()
        self.in_channels = in_channels
        self.input_size = input_size
        side = (input_size // 2 - 4) // 2          # 28 -> 28 -> 14 -> 10 -> 5
        if side < 1:
            raise ValueError(f"lenet5: input_size must be at least 12, received input_size={input_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        check_input("lenet5", x, channels=self.in_channels)
        if tuple(x.shape[2:]) != (self.input_size, self.input_size):
            raise ValueError(f"lenet5: built for {self.input_size}x{self.input_size} input "
                             f"(input_size={self.input_size}), received {x.shape[2]}x{x.shape[3]}")
        x = self.features(x)                    # (N, 16, side, side)
        return self.classifier(x.flatten(1))


# ----------------------------------------------------------------------------- classic

# Table I of the paper: which S2 feature maps (rows 0-5) feed each C3 map
# (columns 0-15). The first six C3 maps see 3 contiguous S2 maps, the next six
# 4 contiguous ones, the next three 4 discontinuous ones, the last all six --
# "to break the symmetry in the network" with 60 connections instead of 96.
C3_TABLE = np.array([
    # 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15      <- C3 map
    [1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1],   # S2 map 0
    [1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1],   # S2 map 1
    [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1],   # S2 map 2
    [0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1],   # S2 map 3
    [0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1],   # S2 map 4
    [0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1],   # S2 map 5
], dtype=bool)
C3_TABLE.setflags(write=False)


def _scaled_tanh(a):
    return 1.7159 * (a * (2.0 / 3.0)).tanh()


class ScaledTanh(nn.Module):
    """The paper's squashing function (Appendix A): f(a) = A tanh(S a) with
    A = 1.7159 and S = 2/3, chosen so that f(1) = 1 and f(-1) = -1 and the
    second derivative is largest at a = +-1."""

    def forward(self, a):
        return _scaled_tanh(a)


class Subsampling(nn.Module):
    """Trainable subsampling (layers S2 and S4)::

        y[n, c, i, j] = w[c] * sum_{p,q in {0,1}} x[n, c, 2i+p, 2j+q] + b[c]

    "The four inputs to a unit in S2 are added, then multiplied by a trainable
    coefficient, and added to a trainable bias" -- the sum is 4 times the 2x2
    average, so it is computed as ``4 * avg_pool2d(x, 2)``. The squashing
    function is applied by the caller. Two parameters per map.

    Shape: ``(N, C, H, W) -> (N, C, H // 2, W // 2)``.
    """

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.weight = nn.Parameter(nt.ones(channels))
        self.bias = nn.Parameter(nt.zeros(channels))

    def forward(self, x):
        window_sum = F.avg_pool2d(x, kernel_size=2, stride=2) * 4.0
        return window_sum * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def extra_repr(self):
        return f"{self.channels}"


class PartialConv2d(nn.Module):
    """A convolution in which output map ``o`` sees only the input maps
    ``c`` with ``table[c, o]`` true (layer C3 with :data:`C3_TABLE`).

    Only the connected kernels are parameters: ``weight`` has shape
    ``(connections, kH, kW)``, one kernel per true entry of the table (in
    row-major order over ``(o, c)``), and ``bias`` has one entry per output
    map. The forward gathers them into a dense ``(C_out, C_in, kH, kW)`` kernel
    whose unconnected slots are an appended zero kernel, then runs one
    ``conv2d``; the gather's backward scatters the gradient back to the
    connected kernels only, so the unconnected slots stay zero::

        y[n, o] = b[o] + sum_{c : table[c, o]} w[k(o, c)] (*) x[n, c]

    Shape: ``(N, C_in, H, W) -> (N, C_out, H - kH + 1, W - kW + 1)``.
    """

    def __init__(self, table, kernel_size):
        super().__init__()
        table = np.asarray(table, dtype=bool)
        self.in_channels, self.out_channels = table.shape
        self.kernel_size = (kernel_size, kernel_size)
        self.connections = int(table.sum())
        # index[o, c] = which kernel (0..connections-1) sits at (o, c), or
        # `connections` (the zero kernel) where there is no connection.
        index = np.full((self.out_channels, self.in_channels), self.connections, dtype=np.int64)
        index[table.T] = np.arange(self.connections)
        self._index = index
        self._table = table
        self.weight = nn.Parameter(nt.zeros(self.connections, kernel_size, kernel_size))
        self.bias = nn.Parameter(nt.zeros(self.out_channels))

    def fan_in(self):
        """Inputs per unit of each output map: connected maps x kH x kW."""
        return self._table.sum(axis=0) * self.kernel_size[0] * self.kernel_size[1]

    def dense_weight(self):
        """The ``(C_out, C_in, kH, kW)`` kernel with zeros at unconnected slots."""
        zero = nt.zeros(1, *self.kernel_size, dtype=self.weight.dtype, device=self.weight.device)
        bank = nt.cat([self.weight, zero], dim=0)
        # the index lives with the weights (NumPy on CPU, CuPy on GPU)
        index = backend.array_module(self.weight.array).asarray(self._index)
        return bank[index]

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"PartialConv2d: expected input (N, {self.in_channels}, H, W), "
                             f"received shape {tuple(x.shape)}")
        return F.conv2d(x, self.dense_weight(), self.bias)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"connections={self.connections}")


class LeNet5Classic(nn.Module):
    """LeNet-5 as in LeCun et al. 1998, Section II.B and Fig. 2::

        INPUT 32x32 -> C1 conv 5x5 (6 maps, 28x28)        156 parameters
                    -> S2 subsampling (6 maps, 14x14)      12
                    -> C3 partial conv 5x5 (16, 10x10)     1,516  (Table I, 60 kernels)
                    -> S4 subsampling (16 maps, 5x5)       32
                    -> C5 conv 5x5 (120 maps, 1x1)         48,120
                    -> F6 full (84 units)                  10,164
                    -> output full (num_classes)           850 for 10 classes

    Every layer up to F6 is followed by f(a) = 1.7159 tanh(2a/3). C1..F6 hold
    exactly the paper's 60,000 trainable parameters.

    Deviations, documented:

    - Output layer: the paper's Euclidean RBF units with fixed, hand-designed
      7x12 bitmap centres (and its MAP loss) are replaced by a trainable
      ``Linear(84, num_classes)`` read as logits for cross-entropy.
    - Input: the paper feeds 32x32 images (a 28x28 digit centred in a 32x32
      field). A 28x28 input is zero-padded by 2 on each side to 32x32 here;
      32x32 input is used as is. (The paper also rescales the pixels so the
      background is -0.1 and the foreground 1.175: that belongs to the data
      pipeline.)

    Initialization (Appendix A): every weight and bias uniform in
    (-2.4 / F, 2.4 / F) with F the fan-in of the unit it feeds (C1: 25,
    S2/S4: 4, C3: 75/100/150 by the map's connections, C5: 400, F6: 120,
    output: 84).

    Keys: ``c1, s2, c3, s4, c5, f6, output`` each with ``weight`` and ``bias``
    (``c3.weight``: ``(60, 5, 5)``, ``s2.weight``: ``(6,)``).
    """

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.in_channels = in_channels
        self.act = ScaledTanh()
        self.c1 = nn.Conv2d(in_channels, 6, kernel_size=5)
        self.s2 = Subsampling(6)
        self.c3 = PartialConv2d(C3_TABLE, kernel_size=5)
        self.s4 = Subsampling(16)
        self.c5 = nn.Conv2d(16, 120, kernel_size=5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.reset_parameters()

    @staticmethod
    def _uniform_(tensor, fan_in):
        bound = 2.4 / fan_in
        init.uniform_(tensor, -bound, bound)

    def reset_parameters(self):
        """The paper's uniform(-2.4/F, 2.4/F) initialization (Appendix A)."""
        c1_fan = self.in_channels * 25
        for p in (self.c1.weight, self.c1.bias):
            self._uniform_(p, c1_fan)
        for layer in (self.s2, self.s4):
            self._uniform_(layer.weight, 4)
            self._uniform_(layer.bias, 4)
        # C3's maps have different fan-ins (3, 4 or 6 connected maps x 25):
        # draw in (-1, 1), then scale each kernel by its output map's bound.
        bound = 2.4 / self.c3.fan_in()                                 # (16,)
        kernel_map = np.nonzero(self.c3._table.T)[0]                   # output map of each kernel
        with nt.no_grad():
            init.uniform_(self.c3.weight, -1.0, 1.0)
            init.uniform_(self.c3.bias, -1.0, 1.0)
            self.c3.weight.mul_(nt.tensor(bound[kernel_map].reshape(-1, 1, 1), dtype=self.c3.weight.dtype))
            self.c3.bias.mul_(nt.tensor(bound, dtype=self.c3.bias.dtype))
        c5_fan = self.c5.weight.shape[1] * 25                          # 16 maps x 5 x 5 = 400
        for p in (self.c5.weight, self.c5.bias):
            self._uniform_(p, c5_fan)
        for layer in (self.f6, self.output):
            for p in (layer.weight, layer.bias):
                self._uniform_(p, layer.weight.shape[1])

    def forward(self, x):
        check_input("lenet5(variant='classic')", x, channels=self.in_channels)
        size = tuple(x.shape[2:])
        if size == (28, 28):
            x = F.pad(x, (2, 2, 2, 2))
        elif size != (32, 32):
            raise ValueError(f"lenet5(variant='classic'): expected 32x32 input (or 28x28, padded to "
                             f"32x32), received {size[0]}x{size[1]}")
        f = self.act
        x = f(self.c1(x))          # (N, 6, 28, 28)
        x = f(self.s2(x))          # (N, 6, 14, 14)
        x = f(self.c3(x))          # (N, 16, 10, 10)
        x = f(self.s4(x))          # (N, 16, 5, 5)
        x = f(self.c5(x))          # (N, 120, 1, 1)
        x = f(self.f6(x.flatten(1)))   # (N, 84)
        return self.output(x)      # (N, num_classes)


@register_model
def lenet5(num_classes=10, in_channels=1, variant="modern", input_size=28):
    """LeNet-5 (LeCun et al. 1998).

    Args:
        num_classes: output units.
        in_channels: input channels (1 for MNIST).
        variant: ``"modern"`` (:class:`LeNet5`: ReLU, max pooling; 61,706
            parameters for 10 classes) or ``"classic"`` (:class:`LeNet5Classic`:
            the paper's network, 60,850 parameters for 10 classes).
        input_size: side of the square input for ``"modern"`` (28 for MNIST,
            32 for CIFAR-10). The classic network takes 32x32 (28x28 padded).
    """
    name = "lenet5"
    num_classes = check_positive_int(name, "num_classes", num_classes)
    in_channels = check_positive_int(name, "in_channels", in_channels)
    check_choice(name, "variant", variant, ("modern", "classic"))
    if variant == "classic":
        if input_size not in (28, 32):
            raise ValueError(f"{name}(variant='classic'): input_size must be 32 (the paper's) or 28 "
                             f"(padded to 32), received input_size={input_size!r}")
        return LeNet5Classic(num_classes, in_channels)
    input_size = check_positive_int(name, "input_size", input_size)
    return LeNet5(num_classes, in_channels, input_size)
