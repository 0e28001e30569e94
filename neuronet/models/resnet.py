"""Residual networks (He, Zhang, Ren & Sun 2016, "Deep residual learning for
image recognition", CVPR): the ImageNet ResNet-18/34/50/101/152 in torchvision's
layout, and the CIFAR-10 ResNet-20/32/44/56/110 of the paper's Section 4.2."""
import neuronet as nt
from .. import nn
from ..nn import init
from ._registry import check_choice, check_input, check_positive_int, register_model
from .weights import (ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, ResNet101_Weights, ResNet152_Weights,
                      load_pretrained, resolve)

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "CifarResNet", "CifarBasicBlock", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution, padding 1, no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution, no bias (projection shortcuts, bottlenecks)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut (Fig. 2 of the paper)::

        y = ReLU( BN(conv3x3(ReLU(BN(conv3x3(x, stride))))) + shortcut(x) )

    ``shortcut`` is the identity, or ``downsample`` (1x1 conv + BN, option B)
    when the shape changes. Keys ``conv1, bn1, conv2, bn2, downsample.{0,1}``.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand x4) with a shortcut (Fig. 5 right).
    The stride sits on the 3x3 convolution (torchvision's "ResNet v1.5")."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _init_resnet(model, zero_init_residual):
    """torchvision's ResNet initialization: kaiming_normal_ (fan_out, ReLU) for
    convolutions, BatchNorm weight 1 bias 0; optionally the last BN of each
    residual branch 0 so every block starts as the identity (Goyal et al. 2017)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            init.constant_(m.weight, 1)
            init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Bottleneck):
                init.constant_(m.bn3.weight, 0)
            elif isinstance(m, (BasicBlock, CifarBasicBlock)):
                init.constant_(m.bn2.weight, 0)


class ResNet(nn.Module):
    """The ImageNet ResNet (Table 1 of the paper)::

        conv1 7x7/2 (64) BN ReLU maxpool 3x3/2
        layer1..layer4: blocks at 64, 128, 256, 512 planes (stride 2 from layer2 on)
        adaptive avgpool 1x1 -> fc (512 * expansion -> num_classes)

    Keys and shapes equal torchvision's. Projection shortcuts (option B) where
    the shape changes. Linear layer: PyTorch's default initialization.

    Shape: ``(N, in_channels, H, W) -> (N, num_classes)``, H, W >= 32 here
    (224x224 in the paper).
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, in_channels=3, name="resnet"):
        super().__init__()
        self._name = name
        self.in_channels = in_channels
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_resnet(self, zero_init_residual)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        check_input(self._name, x, channels=self.in_channels, min_size=32)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))    # (N, 64, H/4, W/4)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)                                      # (N, 512 e, H/32, W/32)
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def _resnet(name, block, layers, num_classes, zero_init_residual, in_channels, weights, weights_enum, progress):
    weights = resolve(weights, weights_enum, name, num_classes)
    num_classes = check_positive_int(name, "num_classes", num_classes)
    in_channels = check_positive_int(name, "in_channels", in_channels)
    model = ResNet(block, layers, num_classes, bool(zero_init_residual), in_channels, name)
    return load_pretrained(model, weights, name, progress)


# ``weights``: None, a ``ResNet*_Weights`` entry or its name ("IMAGENET1K_V1",
# "DEFAULT"), or a path to a state_dict file (see :mod:`neuronet.models.weights`).

@register_model
def resnet18(num_classes=1000, zero_init_residual=False, in_channels=3, weights=None, progress=None):
    """ResNet-18: BasicBlock x (2, 2, 2, 2); 11,689,512 parameters.
    Pretrained: :class:`ResNet18_Weights` (ImageNet top-1 69.8%)."""
    return _resnet("resnet18", BasicBlock, (2, 2, 2, 2), num_classes, zero_init_residual, in_channels,
                   weights, ResNet18_Weights, progress)


@register_model
def resnet34(num_classes=1000, zero_init_residual=False, in_channels=3, weights=None, progress=None):
    """ResNet-34: BasicBlock x (3, 4, 6, 3); 21,797,672 parameters.
    Pretrained: :class:`ResNet34_Weights` (ImageNet top-1 73.3%)."""
    return _resnet("resnet34", BasicBlock, (3, 4, 6, 3), num_classes, zero_init_residual, in_channels,
                   weights, ResNet34_Weights, progress)


@register_model
def resnet50(num_classes=1000, zero_init_residual=False, in_channels=3, weights=None, progress=None):
    """ResNet-50: Bottleneck x (3, 4, 6, 3); 25,557,032 parameters.
    Pretrained: :class:`ResNet50_Weights` (ImageNet top-1 76.1% V1, 80.9% V2)."""
    return _resnet("resnet50", Bottleneck, (3, 4, 6, 3), num_classes, zero_init_residual, in_channels,
                   weights, ResNet50_Weights, progress)


@register_model
def resnet101(num_classes=1000, zero_init_residual=False, in_channels=3, weights=None, progress=None):
    """ResNet-101: Bottleneck x (3, 4, 23, 3); 44,549,160 parameters.
    Pretrained: :class:`ResNet101_Weights` (ImageNet top-1 77.4% V1, 81.9% V2)."""
    return _resnet("resnet101", Bottleneck, (3, 4, 23, 3), num_classes, zero_init_residual, in_channels,
                   weights, ResNet101_Weights, progress)


@register_model
def resnet152(num_classes=1000, zero_init_residual=False, in_channels=3, weights=None, progress=None):
    """ResNet-152: Bottleneck x (3, 8, 36, 3); 60,192,808 parameters.
    Pretrained: :class:`ResNet152_Weights` (ImageNet top-1 78.3% V1, 82.3% V2)."""
    return _resnet("resnet152", Bottleneck, (3, 8, 36, 3), num_classes, zero_init_residual, in_channels,
                   weights, ResNet152_Weights, progress)


# ----------------------------------------------------------------------------- CIFAR (Section 4.2)


class CifarBasicBlock(nn.Module):
    """The CIFAR residual block: two 3x3 convolutions, and a shortcut that
    changes shape without parameters (option A) or with a projection (B).

    Option A (the paper's choice for CIFAR): "the shortcut still performs
    identity mapping, with extra zero entries padded for increasing
    dimensions" -- subsample by 2 (take every other pixel, the stride-2
    identity) and append ``planes - inplanes`` zero channels::

        shortcut(x) = concat_channels(x[:, :, ::2, ::2], 0)

    Option B: ``downsample = Sequential(conv1x1(stride), BatchNorm2d)``.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, shortcut="A"):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.extra_channels = planes - inplanes
        self.shortcut = shortcut
        reshape = stride != 1 or inplanes != planes
        if reshape and shortcut == "B":
            self.downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
        else:
            self.downsample = None
        self._pad = reshape and shortcut == "A"

    def _option_a(self, x):
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.extra_channels:
            n, _, h, w = x.shape
            zeros = nt.zeros(n, self.extra_channels, h, w, dtype=x.dtype, device=x.device)
            x = nt.cat([x, zeros], 1)
        return x

    def forward(self, x):
        if self.downsample is not None:
            identity = self.downsample(x)
        elif self._pad:
            identity = self._option_a(x)
        else:
            identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    """The 6n+2-layer CIFAR-10 ResNet (Section 4.2 of the paper)::

        conv 3x3 (16) BN ReLU                           32x32
        layer1: n blocks, 16 filters                    32x32
        layer2: n blocks, 32 filters (first stride 2)   16x16
        layer3: n blocks, 64 filters (first stride 2)   8x8
        global average pool -> fc 64 -> num_classes

    n = 3, 5, 7, 9, 18 gives ResNet-20/32/44/56/110 (0.27M, 0.46M, 0.66M,
    0.85M, 1.7M parameters with option-A shortcuts). Keys follow torchvision's
    naming: ``conv1, bn1, layer{1,2,3}.{i}.{conv1,bn1,conv2,bn2}, fc``.
    Initialization: He et al. 2015 (kaiming_normal_, fan_out, ReLU) for the
    convolutions, BatchNorm weight 1 bias 0, PyTorch's default for fc.

    Shape: ``(N, in_channels, H, W) -> (N, num_classes)``, H, W multiples of 4
    (32x32 in the paper).
    """

    def __init__(self, depth, num_classes=10, shortcut="A", zero_init_residual=False, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self._name = f"resnet{depth}"
        self.in_channels = in_channels
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.inplanes = 16
        self.layer1 = self._make_layer(16, n, 1, shortcut)
        self.layer2 = self._make_layer(32, n, 2, shortcut)
        self.layer3 = self._make_layer(64, n, 2, shortcut)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        _init_resnet(self, zero_init_residual)

    def _make_layer(self, planes, blocks, stride, shortcut):
        layers = [CifarBasicBlock(self.inplanes, planes, stride, shortcut)]
        self.inplanes = planes
        layers += [CifarBasicBlock(planes, planes, 1, shortcut) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        check_input(self._name, x, channels=self.in_channels, multiple_of=4)
        x = self.relu(self.bn1(self.conv1(x)))  # (N, 16, H, W)
        x = self.layer1(x)
        x = self.layer2(x)                       # (N, 32, H/2, W/2)
        x = self.layer3(x)                       # (N, 64, H/4, W/4)
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def _cifar_resnet(depth, num_classes, shortcut, zero_init_residual, in_channels):
    name = f"resnet{depth}"
    num_classes = check_positive_int(name, "num_classes", num_classes)
    in_channels = check_positive_int(name, "in_channels", in_channels)
    check_choice(name, "shortcut", shortcut, ("A", "B"))
    return CifarResNet(depth, num_classes, shortcut, bool(zero_init_residual), in_channels)


@register_model
def resnet20(num_classes=10, shortcut="A", zero_init_residual=False, in_channels=3):
    """CIFAR ResNet-20 (n = 3): 269,722 parameters with option-A shortcuts."""
    return _cifar_resnet(20, num_classes, shortcut, zero_init_residual, in_channels)


@register_model
def resnet32(num_classes=10, shortcut="A", zero_init_residual=False, in_channels=3):
    """CIFAR ResNet-32 (n = 5): 464,154 parameters with option-A shortcuts."""
    return _cifar_resnet(32, num_classes, shortcut, zero_init_residual, in_channels)


@register_model
def resnet44(num_classes=10, shortcut="A", zero_init_residual=False, in_channels=3):
    """CIFAR ResNet-44 (n = 7): 658,586 parameters with option-A shortcuts."""
    return _cifar_resnet(44, num_classes, shortcut, zero_init_residual, in_channels)


@register_model
def resnet56(num_classes=10, shortcut="A", zero_init_residual=False, in_channels=3):
    """CIFAR ResNet-56 (n = 9): 853,018 parameters with option-A shortcuts."""
    return _cifar_resnet(56, num_classes, shortcut, zero_init_residual, in_channels)


@register_model
def resnet110(num_classes=10, shortcut="A", zero_init_residual=False, in_channels=3):
    """CIFAR ResNet-110 (n = 18): 1,727,962 parameters with option-A shortcuts."""
    return _cifar_resnet(110, num_classes, shortcut, zero_init_residual, in_channels)
