"""The layers of ``neuronet.nn``: ``Module``, containers, and one layer class
per functional, with PyTorch's constructor signatures, attribute names,
parameter/buffer names and shapes, and reprs."""
from .module import Module
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Bilinear
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d,
                      AdaptiveMaxPool1d, AdaptiveMaxPool2d, MaxUnpool1d, MaxUnpool2d, LPPool1d, LPPool2d,
                      MaxPool3d, AvgPool3d, AdaptiveAvgPool3d)
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax, SELU, CELU,
                         Threshold, Hardtanh, SiLU, Mish, Softplus, Hardswish, Hardsigmoid, LogSigmoid, Softsign,
                         Tanhshrink, Hardshrink, Softshrink, PReLU, RReLU, GLU, Softmin, Softmax2d)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout
from .flatten import Flatten, Unflatten
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, RMSNorm, GroupNorm, InstanceNorm1d,
                            InstanceNorm2d, LocalResponseNorm)
from .padding import (ZeroPad1d, ZeroPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d, ReflectionPad2d,
                      ReplicationPad1d, ReplicationPad2d, CircularPad1d, CircularPad2d)
from .fold import Unfold, Fold, ChannelShuffle
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell
from .transformer import (MultiheadAttention, TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
                          TransformerDecoder, Transformer)
from .loss import (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, KLDivLoss, BCELoss,
                   BCEWithLogitsLoss, MarginRankingLoss, HingeEmbeddingLoss, SoftMarginLoss, CosineEmbeddingLoss,
                   TripletMarginLoss, TripletMarginWithDistanceLoss, MultiMarginLoss, PoissonNLLLoss, GaussianNLLLoss,
                   MultiLabelSoftMarginLoss)
from .sparse import Embedding, EmbeddingBag
from .upsampling import (Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle, PixelUnshuffle,
                         CosineSimilarity, PairwiseDistance)
from .syncbatchnorm import SyncBatchNorm

__all__ = [
    "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool1d", "MaxUnpool2d", "LPPool1d", "LPPool2d", "MaxPool3d",
    "AvgPool3d", "AdaptiveAvgPool3d",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "SELU", "CELU",
    "Threshold", "Hardtanh", "SiLU", "Mish", "Softplus", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign",
    "Tanhshrink", "Hardshrink", "Softshrink", "PReLU", "RReLU", "GLU", "Softmin", "Softmax2d",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Flatten", "Unflatten",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d",
    "LocalResponseNorm",
    "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "Unfold", "Fold", "ChannelShuffle",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCELoss",
    "BCEWithLogitsLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "CosineEmbeddingLoss",
    "TripletMarginLoss", "TripletMarginWithDistanceLoss", "MultiMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
    "MultiLabelSoftMarginLoss", "Embedding", "EmbeddingBag",
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
    "CosineSimilarity", "PairwiseDistance", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
    "TransformerDecoderLayer", "TransformerDecoder", "Transformer",
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "SyncBatchNorm",
]
