"""VGG (Simonyan & Zisserman 2015, "Very deep convolutional networks for
large-scale image recognition", ICLR), configurations A, B, D, E (11, 13, 16
and 19 weight layers), with and without batch normalization (Ioffe & Szegedy
2015), in torchvision's layout."""
from .. import nn
from ..nn import init
from ._registry import check_input, check_positive_int, check_probability, register_model
from .weights import (VGG11_BN_Weights, VGG11_Weights, VGG13_BN_Weights, VGG13_Weights, VGG16_BN_Weights,
                      VGG16_Weights, VGG19_BN_Weights, VGG19_Weights, load_pretrained, resolve)

__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
           "VGG_CONFIGS"]

# Table 1 of the paper: 3x3 convolution widths; "M" = 2x2 max pooling, stride 2.
VGG_CONFIGS = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "B": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "E": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"),
}


def make_layers(config, batch_norm=False, in_channels=3):
    """The ``features`` stack: conv 3x3 pad 1 (-> BatchNorm) -> ReLU per width,
    MaxPool2d(2, 2) per "M" -- indices as torchvision's."""
    layers = []
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (:func:`make_layers`) -> ``avgpool`` (adaptive, 7x7) ->
    ``classifier``: fc 25088->4096 ReLU Dropout fc 4096->4096 ReLU Dropout fc 4096->num_classes.

    Initialization as torchvision: convolutions kaiming_normal_ (fan_out,
    ReLU gain) with zero bias, BatchNorm weight 1 bias 0, linear layers
    N(0, 0.01) with zero bias. The adaptive pool lets inputs of at least
    32x32 (five halvings) run.

    Shape: ``(N, in_channels, H, W) -> (N, num_classes)``; 224x224 in the paper.
    """

    def __init__(self, features, num_classes=1000, dropout=0.5, init_weights=True, name="vgg"):
        super().__init__()
        self._name = name
        first = features[0]
        self.in_channels = first.in_channels
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0, 0.01)
                    init.constant_(m.bias, 0)

    def forward(self, x):
        check_input(self._name, x, channels=self.in_channels, min_size=32)
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(x.flatten(1))


def _vgg(name, config, batch_norm, num_classes, dropout, init_weights, in_channels, weights, weights_enum,
         progress):
    weights = resolve(weights, weights_enum, name, num_classes)
    if weights is not None:
        init_weights = False      # every value is about to be overwritten
    num_classes = check_positive_int(name, "num_classes", num_classes)
    in_channels = check_positive_int(name, "in_channels", in_channels)
    dropout = check_probability(name, "dropout", dropout)
    features = make_layers(VGG_CONFIGS[config], batch_norm=batch_norm, in_channels=in_channels)
    model = VGG(features, num_classes, dropout, bool(init_weights), name)
    return load_pretrained(model, weights, name, progress)


# ``weights``: None, a ``VGG*_Weights`` entry or its name ("IMAGENET1K_V1",
# "DEFAULT"), or a path to a state_dict file (see :mod:`neuronet.models.weights`).


@register_model
def vgg11(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
          progress=None):
    """VGG configuration A (11 weight layers): 132,863,336 parameters."""
    return _vgg("vgg11", "A", False, num_classes, dropout, init_weights, in_channels,
                weights, VGG11_Weights, progress)


@register_model
def vgg11_bn(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
             progress=None):
    """VGG-11 with batch normalization: 132,868,840 parameters."""
    return _vgg("vgg11_bn", "A", True, num_classes, dropout, init_weights, in_channels,
                weights, VGG11_BN_Weights, progress)


@register_model
def vgg13(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
          progress=None):
    """VGG configuration B (13 weight layers): 133,047,848 parameters."""
    return _vgg("vgg13", "B", False, num_classes, dropout, init_weights, in_channels,
                weights, VGG13_Weights, progress)


@register_model
def vgg13_bn(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
             progress=None):
    """VGG-13 with batch normalization: 133,053,736 parameters."""
    return _vgg("vgg13_bn", "B", True, num_classes, dropout, init_weights, in_channels,
                weights, VGG13_BN_Weights, progress)


@register_model
def vgg16(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
          progress=None):
    """VGG configuration D (16 weight layers): 138,357,544 parameters."""
    return _vgg("vgg16", "D", False, num_classes, dropout, init_weights, in_channels,
                weights, VGG16_Weights, progress)


@register_model
def vgg16_bn(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
             progress=None):
    """VGG-16 with batch normalization: 138,365,992 parameters."""
    return _vgg("vgg16_bn", "D", True, num_classes, dropout, init_weights, in_channels,
                weights, VGG16_BN_Weights, progress)


@register_model
def vgg19(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
          progress=None):
    """VGG configuration E (19 weight layers): 143,667,240 parameters."""
    return _vgg("vgg19", "E", False, num_classes, dropout, init_weights, in_channels,
                weights, VGG19_Weights, progress)


@register_model
def vgg19_bn(num_classes=1000, dropout=0.5, init_weights=True, in_channels=3, weights=None,
             progress=None):
    """VGG-19 with batch normalization: 143,678,248 parameters."""
    return _vgg("vgg19_bn", "E", True, num_classes, dropout, init_weights, in_channels,
                weights, VGG19_BN_Weights, progress)
