"""``neuronet.models``: the classic CNNs, each with its paper in the docstring
and parameter counts equal to the reference implementations.

=============================  ==========================================  ============
builder                        paper                                       parameters
=============================  ==========================================  ============
``mlp``                        Rumelhart, Hinton & Williams 1986           235,146
``lenet5``                     LeCun et al. 1998 (modern / classic)        61,706 / 60,850
``alexnet``                    Krizhevsky et al. 2012 (torchvision/orig.)  61,100,840 / 60,965,224
``vgg11 .. vgg19(_bn)``        Simonyan & Zisserman 2015                   vgg16: 138,357,544
``googlenet``                  Szegedy et al. 2015                         6,624,904
``resnet18/34/50/101/152``     He et al. 2016 (ImageNet)                   11,689,512 ... 60,192,808
``resnet20/32/44/56/110``      He et al. 2016, Section 4.2 (CIFAR)         269,722 ... 1,727,962
``unet``                       Ronneberger et al. 2015                     31,030,658
``segnet``                     Badrinarayanan et al. 2017                  29,449,355 (11 classes)
=============================  ==========================================  ============

Build by name with :func:`get_model`; every model remembers how it was built
in ``model.config = {"name": ..., "kwargs": {...}}``::

    model = get_model("resnet20", num_classes=10)
    twin = get_model(model.config["name"], **model.config["kwargs"])

The models whose architecture is torchvision's (AlexNet, VGG, GoogLeNet, the
ImageNet ResNets) take torchvision's ``weights=`` argument and load its
published ImageNet weights (:mod:`neuronet.models.weights`)::

    model = resnet50(weights="DEFAULT").eval()
    preprocess = ResNet50_Weights.DEFAULT.transforms()
    names = ResNet50_Weights.DEFAULT.meta["categories"]
"""
from ._registry import get_model, list_models, register_model
from .alexnet import AlexNet, AlexNetOriginal, alexnet
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from .lenet import C3_TABLE, LeNet5, LeNet5Classic, lenet5
from .mlp import MLP, mlp
from .resnet import (CifarResNet, ResNet, resnet18, resnet20, resnet32, resnet34, resnet44, resnet50,
                     resnet56, resnet101, resnet110, resnet152)
from .segnet import SegNet, segnet
from .unet import UNet, unet
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from .weights import (AlexNet_Weights, GoogLeNet_Weights, ResNet18_Weights, ResNet34_Weights, ResNet50_Weights,
                      ResNet101_Weights, ResNet152_Weights, VGG11_BN_Weights, VGG11_Weights, VGG13_BN_Weights,
                      VGG13_Weights, VGG16_BN_Weights, VGG16_Weights, VGG19_BN_Weights, VGG19_Weights, Weights,
                      WeightsEnum, WeightsError, get_weight)

__all__ = ["get_model", "list_models", "register_model",
           "mlp", "MLP", "lenet5", "LeNet5", "LeNet5Classic", "C3_TABLE",
           "alexnet", "AlexNet", "AlexNetOriginal",
           "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "VGG",
           "googlenet", "GoogLeNet", "GoogLeNetOutputs",
           "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "ResNet",
           "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "CifarResNet",
           "unet", "UNet", "segnet", "SegNet",
           "Weights", "WeightsEnum", "WeightsError", "get_weight", "AlexNet_Weights", "VGG11_Weights",
           "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights",
           "VGG19_Weights", "VGG19_BN_Weights", "GoogLeNet_Weights", "ResNet18_Weights", "ResNet34_Weights",
           "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights"]
