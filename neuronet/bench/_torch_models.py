"""The benchmark networks written in PyTorch, layer for layer the same as
neuronet's (``neuronet.models.lenet5``, ``resnet20`` with option-A shortcuts,
and the VGG-style net of ``workloads.VGG_STYLE_CONFIG``).

Imported only by the benchmark worker that measures PyTorch; the library never
imports torch.
"""
import torch
from torch import nn
from torch.nn import functional as F

from .workloads import VGG_STYLE_CONFIG, user_written_lenet5


class LeNet5(nn.Module):
    """neuronet.models.LeNet5 (modern): conv5 pad2 (6) ReLU pool, conv5 (16)
    ReLU pool, fc 400-120-84-num_classes with ReLU."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class CifarBasicBlock(nn.Module):
    """neuronet.models.resnet.CifarBasicBlock with the option-A shortcut:
    subsample by the stride and append zero channels."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.extra = planes - inplanes

    def forward(self, x):
        identity = x
        if self.stride != 1:
            identity = identity[:, :, ::self.stride, ::self.stride]
        if self.extra:
            n, _, h, w = identity.shape
            identity = torch.cat([identity, identity.new_zeros(n, self.extra, h, w)], 1)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class ResNet20(nn.Module):
    def __init__(self, num_classes=10, in_channels=3, n=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, inplanes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                blocks.append(CifarBasicBlock(inplanes, planes, stride if i == 0 else 1))
                inplanes = planes
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.blocks(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def vgg_style(num_classes=10, in_channels=3):
    layers, c = [], in_channels
    for v in VGG_STYLE_CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    layers += [nn.Flatten(), nn.Linear(c * 8 * 8, num_classes)]
    return nn.Sequential(*layers)


def build_torch_model(model, num_classes=10):
    if model == "lenet5":
        return LeNet5(num_classes)
    if model == "lenet5-user":
        return user_written_lenet5(nn)
    if model == "resnet20":
        return ResNet20(num_classes)
    if model == "vgg":
        return vgg_style(num_classes)
    raise ValueError(f"build_torch_model: unknown model {model!r}")
