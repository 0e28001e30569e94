"""U-Net (Ronneberger, Fischer & Brox 2015, "U-Net: convolutional networks for
biomedical image segmentation", MICCAI)."""
import neuronet as nt
from .. import nn
from ..nn import init
from ._registry import check_input, check_positive_int, register_model

__all__ = ["unet", "UNet", "DoubleConv", "UpBilinear", "upsample_bilinear2x"]


def _upsample_axis(x, axis):
    """Double ``x`` along ``axis`` by linear interpolation, half-pixel centres
    (align_corners=False), edges clamped. Output sample ``2i`` sits at input
    coordinate ``i - 1/4`` and ``2i + 1`` at ``i + 1/4``::

        y[2i]     = 3/4 x[i] + 1/4 x[max(i - 1, 0)]
        y[2i + 1] = 3/4 x[i] + 1/4 x[min(i + 1, n - 1)]

    Built from slicing, cat, stack and reshape, so autograd differentiates it.
    """
    n = x.shape[axis]

    def take(start, stop):
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, stop)
        return x[tuple(index)]

    prev = nt.cat([take(0, 1), take(0, n - 1)], axis) if n > 1 else x
    nxt = nt.cat([take(1, n), take(n - 1, n)], axis) if n > 1 else x
    even = x * 0.75 + prev * 0.25
    odd = x * 0.75 + nxt * 0.25
    out = nt.stack([even, odd], axis + 1)                  # (..., n, 2, ...)
    shape = list(x.shape)
    shape[axis] = 2 * n
    return out.reshape(*shape)


def upsample_bilinear2x(x):
    """Bilinear upsampling by 2 of ``x: (N, C, H, W) -> (N, C, 2H, 2W)``, equal
    to PyTorch's ``F.interpolate(x, scale_factor=2, mode="bilinear",
    align_corners=False)`` (separable: along W, then along H)."""
    return _upsample_axis(_upsample_axis(x, 3), 2)


class UpBilinear(nn.Module):
    """Bilinear upsampling by 2, then a 1x1 convolution that halves the
    channels (the up-path alternative to the transposed convolution).
    Keys ``conv.{weight,bias}``."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(upsample_bilinear2x(x))


class DoubleConv(nn.Sequential):
    """Two (3x3 conv pad 1 -> [BatchNorm] -> ReLU). Keys ``0, (1,) 2/3, ...``
    as an ``nn.Sequential``; convolutions have a bias only without BatchNorm."""

    def __init__(self, in_channels, out_channels, batch_norm=False):
        layers = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, kernel_size=3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
        super().__init__(*layers)


class UNet(nn.Module):
    """The U-Net (Fig. 1 of the paper), ``depth`` = 4 downsamplings::

        encoder.0: DoubleConv(in, c)                          H x W
        encoder.k: maxpool 2x2 -> DoubleConv(c 2^(k-1), c 2^k)   H/2^k   (k = 1..depth)
        decoder.j: up (c 2^(d-j) -> c 2^(d-j-1)), concat the skip from
                   encoder.(d-j-1), DoubleConv(c 2^(d-j), c 2^(d-j-1))  (j = 0..depth-1)
        head:      1x1 conv (c -> num_classes)

    ``up`` is the paper's 2x2 "up-convolution" (``ConvTranspose2d(k=2,
    stride=2)``, halving the channels) or, with ``bilinear=True``,
    :class:`UpBilinear`.

    Deviations from the paper, documented:

    - The 3x3 convolutions pad by 1, so the output has the input's size and
      the skip connections need no cropping (the paper's valid convolutions
      turn a 572x572 tile into a 388x388 map, and its overlap-tile strategy
      handles the border). H and W must be multiples of 2^depth.
    - ``batch_norm=True`` adds BatchNorm after each convolution (not in the
      2015 paper; default off).

    Initialization (Section 3): Gaussian with std sqrt(2 / fan_in)
    (kaiming_normal_, fan_in, ReLU), zero biases.

    With the defaults (c = 64, depth = 4, 1 input channel, 2 classes): 31,030,658
    parameters. Shape: ``(N, in_channels, H, W) -> (N, num_classes, H, W)``.
    """

    def __init__(self, in_channels=1, num_classes=2, base_channels=64, depth=4, bilinear=False,
                 batch_norm=False):
        super().__init__()
        self.in_channels = in_channels
        self.depth = depth
        widths = [base_channels * 2 ** k for k in range(depth + 1)]
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.encoder = nn.ModuleList(
            [DoubleConv(in_channels, widths[0], batch_norm)]
            + [DoubleConv(widths[k - 1], widths[k], batch_norm) for k in range(1, depth + 1)])
        self.decoder = nn.ModuleList()
        for k in range(depth, 0, -1):
            stage = nn.Module()
            if bilinear:
                stage.up = UpBilinear(widths[k], widths[k - 1])
            else:
                stage.up = nn.ConvTranspose2d(widths[k], widths[k - 1], kernel_size=2, stride=2)
            stage.conv = DoubleConv(2 * widths[k - 1], widths[k - 1], batch_norm)
            self.decoder.append(stage)
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)

    def forward(self, x):
        check_input("unet", x, channels=self.in_channels, multiple_of=2 ** self.depth)
        skips = []
        for k, block in enumerate(self.encoder):
            x = block(x if k == 0 else self.pool(x))
            skips.append(x)
        skips.pop()                                  # the bottleneck is not a skip
        for stage in self.decoder:
            x = stage.up(x)
            x = stage.conv(nt.cat([skips.pop(), x], 1))
        return self.head(x)


@register_model
def unet(in_channels=1, num_classes=2, base_channels=64, depth=4, bilinear=False, batch_norm=False):
    """U-Net (see :class:`UNet`). The defaults are the paper's (1 input
    channel, 2 classes, 64 base channels, 4 downsamplings, transposed
    convolutions, no BatchNorm); ``unet(base_channels=16)`` trains on a CPU."""
    in_channels = check_positive_int("unet", "in_channels", in_channels)
    num_classes = check_positive_int("unet", "num_classes", num_classes)
    base_channels = check_positive_int("unet", "base_channels", base_channels)
    depth = check_positive_int("unet", "depth", depth)
    return UNet(in_channels, num_classes, base_channels, depth, bool(bilinear), bool(batch_norm))
