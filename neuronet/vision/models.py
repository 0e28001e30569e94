"""torchvision's model constructors under their names, built by
:mod:`neuronet.models` (same layers, parameter names and shapes, so a
torchvision ``state_dict`` loads into them).

``weights`` / ``pretrained`` are accepted for compatibility; neuronet ships no
pretrained weights and downloads none, so asking for them is an error that
says how to load a state dict instead. Other keyword arguments go to the
neuronet builder (``num_classes``, ``dropout``, ...).
"""
from __future__ import annotations

import functools

from .. import models as _m

__all__ = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "googlenet", "resnet18", "resnet34", "resnet50", "AlexNet", "VGG", "GoogLeNet", "ResNet"]

AlexNet, VGG, GoogLeNet, ResNet = _m.AlexNet, _m.VGG, _m.GoogLeNet, _m.ResNet


def _torchvision_signature(build):
    @functools.wraps(build)
    def constructor(*, weights=None, progress=True, pretrained=False, **kwargs):
        if weights is not None or pretrained:
            raise RuntimeError(
                f"{build.__name__}: neuronet has no pretrained weights and downloads none (weights={weights!r}, "
                f"pretrained={pretrained!r}). Build the model with weights=None and load a state dict saved "
                f"from PyTorch: model.load_state_dict(neuronet.load('{build.__name__}.pth'))")
        return build(**kwargs)
    constructor.__doc__ = (f"torchvision's ``{build.__name__}(*, weights=None, progress=True, **kwargs)``; "
                           f"the model is :func:`neuronet.models.{build.__name__}`.\n\n" + (build.__doc__ or ""))
    return constructor


alexnet = _torchvision_signature(_m.alexnet)
vgg11, vgg11_bn = _torchvision_signature(_m.vgg11), _torchvision_signature(_m.vgg11_bn)
vgg13, vgg13_bn = _torchvision_signature(_m.vgg13), _torchvision_signature(_m.vgg13_bn)
vgg16, vgg16_bn = _torchvision_signature(_m.vgg16), _torchvision_signature(_m.vgg16_bn)
vgg19, vgg19_bn = _torchvision_signature(_m.vgg19), _torchvision_signature(_m.vgg19_bn)
googlenet = _torchvision_signature(_m.googlenet)
resnet18 = _torchvision_signature(_m.resnet18)
resnet34 = _torchvision_signature(_m.resnet34)
resnet50 = _torchvision_signature(_m.resnet50)
