"""The functionals PyTorch also exposes at top level (``torch.conv2d``,
``torch.pixel_shuffle``, ...), registered as ``neuronet.<name>``.

Most are the functional itself. A few top-level spellings take different
arguments from their ``torch.nn.functional`` twin, and get a wrapper with
PyTorch's top-level signature: ``torch.dropout(input, p, train)``,
``torch.embedding(weight, indices, ...)``, ``torch.adaptive_max_pool1d``
(always returns ``(output, indices)``), ``torch.layer_norm``/``group_norm``
(a trailing cudnn flag).
"""
from __future__ import annotations

from ...ops._registry import torch_function
from .convolution import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .distance import cosine_similarity, pairwise_distance
from .dropout import alpha_dropout, dropout
from .fold import channel_shuffle
from .linear import bilinear
from .normalization import group_norm, layer_norm, rms_norm
from .pooling import adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, max_pool1d, max_pool2d
from .sparse import embedding
from .upsampling import pixel_shuffle, pixel_unshuffle
from .volumetric import avg_pool3d, conv3d, conv_transpose3d, max_pool3d

for _fn in (conv1d, conv2d, conv_transpose1d, conv_transpose2d, max_pool1d, max_pool2d, avg_pool1d,
            adaptive_avg_pool1d, rms_norm, pixel_shuffle, pixel_unshuffle, cosine_similarity, pairwise_distance,
            channel_shuffle, bilinear, conv3d, conv_transpose3d, max_pool3d, avg_pool3d):
    torch_function(_fn)


@torch_function(name="dropout")
def _dropout_top(input, p, train):
    """torch.dropout(input, p, train): F.dropout with ``train`` required."""
    return dropout(input, p, train)


@torch_function(name="alpha_dropout")
def _alpha_dropout_top(input, p, train):
    """torch.alpha_dropout(input, p, train)."""
    return alpha_dropout(input, p, train)


@torch_function(name="embedding")
def _embedding_top(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse_grad=False):
    """torch.embedding(weight, indices, padding_idx=-1, ...): the weight first;
    padding_idx -1 means none (the low-level op's convention)."""
    return embedding(indices, weight, None if padding_idx == -1 else padding_idx, None, 2.0,
                     scale_grad_by_freq, sparse_grad)


@torch_function(name="adaptive_max_pool1d")
def _adaptive_max_pool1d_top(input, output_size):
    """torch.adaptive_max_pool1d(input, output_size) -> (output, indices)."""
    return adaptive_max_pool1d(input, output_size, True)


@torch_function(name="layer_norm")
def _layer_norm_top(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return layer_norm(input, normalized_shape, weight, bias, eps)


@torch_function(name="group_norm")
def _group_norm_top(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return group_norm(input, num_groups, weight, bias, eps)
