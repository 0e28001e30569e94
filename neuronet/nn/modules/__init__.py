"""The layers of ``neuronet.nn``: ``Module``, containers, and one layer class
per functional, with PyTorch's constructor signatures, attribute names,
parameter/buffer names and shapes, and reprs."""
from .module import Module
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear
from .conv import Conv2d, ConvTranspose2d
from .pooling import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, MaxUnpool2d
from .activation import ReLU, ReLU6, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax
from .dropout import Dropout, Dropout2d
from .flatten import Flatten, Unflatten
from .normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from .padding import ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d
from .loss import CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss

__all__ = [
    "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear", "Conv2d", "ConvTranspose2d",
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "MaxUnpool2d",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "Dropout", "Dropout2d", "Flatten", "Unflatten",
    "BatchNorm1d", "BatchNorm2d", "LocalResponseNorm",
    "ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
]
