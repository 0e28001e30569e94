"""torchvision's model constructors and weights enums under their names,
built by :mod:`neuronet.models` (same layers, parameter names and shapes, so
a torchvision ``state_dict`` loads into them and gives the same outputs).

``weights`` is torchvision's argument: None (random initialization), an
entry such as ``ResNet18_Weights.IMAGENET1K_V1`` or its name
(``"IMAGENET1K_V1"``, ``"DEFAULT"``), or a path to a local state_dict file;
published files are downloaded once into ``$NEURONET_HOME/weights`` (see
:mod:`neuronet.models.weights`). ``progress`` shows the download's progress
bar. The old ``pretrained=True`` means ``weights="DEFAULT"``. Other keyword
arguments go to the neuronet builder (``num_classes``, ``dropout``, ...).
"""
from __future__ import annotations

import functools

from .. import models as _m
from ..models.weights import (AlexNet_Weights, GoogLeNet_Weights, ResNet18_Weights, ResNet34_Weights,
                              ResNet50_Weights, ResNet101_Weights, ResNet152_Weights, VGG11_BN_Weights,
                              VGG11_Weights, VGG13_BN_Weights, VGG13_Weights, VGG16_BN_Weights, VGG16_Weights,
                              VGG19_BN_Weights, VGG19_Weights, Weights, WeightsEnum, get_weight)

__all__ = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "AlexNet", "VGG", "GoogLeNet", "ResNet", "Weights", "WeightsEnum", "get_weight",
           "AlexNet_Weights", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
           "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights", "GoogLeNet_Weights",
           "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights"]

AlexNet, VGG, GoogLeNet, ResNet = _m.AlexNet, _m.VGG, _m.GoogLeNet, _m.ResNet


def _torchvision_signature(build, **torchvision_defaults):
    @functools.wraps(build)
    def constructor(*, weights=None, progress=True, pretrained=False, **kwargs):
        if pretrained and weights is None:
            weights = "DEFAULT"
        if weights is None:
            for key, value in torchvision_defaults.items():
                kwargs.setdefault(key, value)
        return build(weights=weights, progress=progress, **kwargs)
    constructor.__doc__ = (f"torchvision's ``{build.__name__}(*, weights=None, progress=True, **kwargs)``; "
                           f"the model is :func:`neuronet.models.{build.__name__}`.\n\n" + (build.__doc__ or ""))
    return constructor


alexnet = _torchvision_signature(_m.alexnet)
vgg11, vgg11_bn = _torchvision_signature(_m.vgg11), _torchvision_signature(_m.vgg11_bn)
vgg13, vgg13_bn = _torchvision_signature(_m.vgg13), _torchvision_signature(_m.vgg13_bn)
vgg16, vgg16_bn = _torchvision_signature(_m.vgg16), _torchvision_signature(_m.vgg16_bn)
vgg19, vgg19_bn = _torchvision_signature(_m.vgg19), _torchvision_signature(_m.vgg19_bn)
# torchvision's GoogLeNet has its auxiliary heads unless told otherwise (and
# its state_dicts hold them); with pretrained weights it drops them after loading.
googlenet = _torchvision_signature(_m.googlenet, aux_logits=True)
resnet18 = _torchvision_signature(_m.resnet18)
resnet34 = _torchvision_signature(_m.resnet34)
resnet50 = _torchvision_signature(_m.resnet50)
resnet101 = _torchvision_signature(_m.resnet101)
resnet152 = _torchvision_signature(_m.resnet152)
