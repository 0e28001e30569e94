"""GoogLeNet / Inception v1 (Szegedy et al. 2015, "Going deeper with
convolutions", CVPR), in torchvision's form: batch-normalized convolutions
(BasicConv2d) and torchvision's module names and state_dict keys."""
from collections import namedtuple

import neuronet as nt
from .. import nn
from ..nn import functional as F
from ..nn import init
from ._registry import check_input, check_positive_int, check_probability, register_model
from .weights import GoogLeNet_Weights, load_pretrained, resolve

__all__ = ["googlenet", "GoogLeNet", "GoogLeNetOutputs", "BasicConv2d", "Inception", "InceptionAux"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = "What GoogLeNet returns in training mode with aux_logits=True."


class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm2d(eps=0.001) -> ReLU. Keys ``conv.weight``, ``bn.*``."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """The Inception module (Fig. 2b of the paper): four parallel branches
    concatenated along channels::

        branch1: 1x1 (ch1x1)
        branch2: 1x1 (ch3x3red) -> 3x3 pad 1 (ch3x3)
        branch3: 1x1 (ch5x5red) -> 3x3 pad 1 (ch5x5)
        branch4: maxpool 3x3/1 pad 1 -> 1x1 (pool_proj)

    Branch 3 is a 3x3 convolution where the paper has 5x5: torchvision kept
    this (it is how its ImageNet weights were trained), and it is kept here so
    the parameter count (6,624,904) and the weights match torchvision's.

    Shape: ``(N, C, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        return nt.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier (Section 5 of the paper): average pool to 4x4 ->
    1x1 conv (128) -> fc 2048->1024 ReLU -> Dropout -> fc 1024->num_classes."""

    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = self.conv(x)
        x = F.relu(self.fc1(x.flatten(1)))
        x = self.dropout(x)
        return self.fc2(x)


class GoogLeNet(nn.Module):
    """GoogLeNet (Table 1 of the paper)::

        conv1 7x7/2 (64) maxpool 3/2 conv2 1x1 (64) conv3 3x3 (192) maxpool 3/2
        inception 3a 3b  maxpool 3/2
        inception 4a 4b 4c 4d 4e  maxpool 2/2
        inception 5a 5b  adaptive avgpool 1x1  dropout(0.2)  fc 1024->num_classes

    Max pools use ``ceil_mode=True`` as torchvision. With ``aux_logits`` the
    auxiliary heads ``aux1`` (after 4a) and ``aux2`` (after 4d) are built and,
    in training mode, ``forward`` returns ``GoogLeNetOutputs(logits,
    aux_logits2, aux_logits1)``; otherwise it returns the logits. With
    ``transform_input`` an input normalized with ImageNet's mean/std is
    re-normalized to mean 0.5 / std 0.5 per channel, as torchvision does for
    the ported weights.

    Parameters: 6,624,904 (1000 classes, no aux), 13,004,888 with aux heads.
    Initialization as torchvision: convolutions and linear layers truncated
    normal (std 0.01, cut at +-2 -- absolute bounds, 200 std out, so in
    effect N(0, 0.01)), BatchNorm weight 1 bias 0.

    Shape: ``(N, 3, H, W) -> (N, num_classes)``, H, W >= 32; 224x224 in the paper.
    """

    def __init__(self, num_classes=1000, aux_logits=False, transform_input=False, init_weights=True,
                 dropout=0.2, dropout_aux=0.7, in_channels=3):
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.in_channels = in_channels

        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)

    def _transform_input(self, x):
        # x was normalized with ImageNet's (mean, std); map it to (x' - 0.5) / 0.5.
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        channels = [x[:, c:c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)]
        return nt.cat(channels, 1)

    def forward(self, x):
        check_input("googlenet", x, channels=self.in_channels, min_size=32)
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))                      # (N, 64, H/4, W/4)
        x = self.maxpool2(self.conv3(self.conv2(x)))          # (N, 192, H/8, W/8)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))   # (N, 480, H/16, W/16)
        x = self.inception4a(x)                               # (N, 512, ...)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))   # (N, 528, ...)
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))                # (N, 832, H/32, W/32)
        x = self.inception5b(self.inception5a(x))             # (N, 1024, ...)
        x = self.avgpool(x).flatten(1)
        x = self.fc(self.dropout(x))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model
def googlenet(num_classes=1000, aux_logits=False, transform_input=None, init_weights=True,
              dropout=0.2, dropout_aux=0.7, in_channels=3, weights=None, progress=None):
    """GoogLeNet / Inception v1 (see :class:`GoogLeNet`).

    Args as torchvision's ``GoogLeNet`` (``init_weights=None`` is read as True,
    which is what torchvision does after warning), plus ``in_channels``.
    ``transform_input`` needs 3 input channels; None means True with
    pretrained weights (they were trained on inputs in [-1, 1]), else False.

    ``weights``: None, a :class:`GoogLeNet_Weights` entry or its name
    (``"IMAGENET1K_V1"``, ``"DEFAULT"``: ImageNet top-1 69.8%), or a path to a
    state_dict file. torchvision's file holds the auxiliary heads: they are
    built to load it and then dropped unless ``aux_logits=True``.
    """
    weights = resolve(weights, GoogLeNet_Weights, "googlenet", num_classes)
    num_classes = check_positive_int("googlenet", "num_classes", num_classes)
    in_channels = check_positive_int("googlenet", "in_channels", in_channels)
    dropout = check_probability("googlenet", "dropout", dropout)
    dropout_aux = check_probability("googlenet", "dropout_aux", dropout_aux)
    pretrained = isinstance(weights, GoogLeNet_Weights)
    if transform_input is None:
        transform_input = pretrained
    if transform_input and in_channels != 3:
        raise ValueError(f"googlenet: transform_input needs 3 input channels, received in_channels={in_channels}")
    if init_weights is None:
        init_weights = True
    model = GoogLeNet(num_classes, bool(aux_logits) or pretrained, bool(transform_input),
                      bool(init_weights) and not pretrained, dropout, dropout_aux, in_channels)
    model._resolved_kwargs = {"transform_input": bool(transform_input)}
    load_pretrained(model, weights, "googlenet", progress)
    if pretrained and not aux_logits:
        model.aux_logits = False
        model.aux1 = None
        model.aux2 = None
    return model
