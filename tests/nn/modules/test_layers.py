"""Every layer against PyTorch: repr, state_dict names and shapes, forward
output and the gradients of inputs and parameters (float64, PyTorch's weights
loaded into ours through NumPy), plus the default init and BatchNorm's
running statistics."""
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn as nn
from helpers import randn, requires_torch, torch

pytestmark = requires_torch
if torch is not None:
    import torch.nn as tnn


def both(name, *args, **kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)


def load_from_torch(mod, tmod):
    """Our module takes torch's weights through NumPy: the path a user takes."""
    res = mod.load_state_dict({k: v.numpy() for k, v in tmod.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == []


def _flat(out):
    if isinstance(out, (tuple, list)):
        return tuple(t for o in out for t in _flat(o))
    return (out,)


def run_both(mod, tmod, inputs, train=True, atol=1e-9, rtol=1e-7):
    """Forward both on float64 copies of ``inputs`` (float arrays get gradients,
    int arrays are targets/indices); compare outputs, then backprop one shared
    random upstream gradient and compare input and parameter gradients."""
    tmod.double()
    mod.double()
    load_from_torch(mod, tmod)
    mod.train(train)
    tmod.train(train)
    nt_in, th_in = [], []
    for a in inputs:
        floating = a.dtype.kind == "f"
        nt_in.append(nt.tensor(a, requires_grad=floating))
        th_in.append(torch.tensor(a, requires_grad=floating))
    out, tout = mod(*nt_in), tmod(*th_in)
    outs, touts = _flat(out), _flat(tout)      # e.g. LSTM's (output, (h_n, c_n))
    for o, t in zip(outs, touts):
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), atol=atol, rtol=rtol)
    if not outs[0].requires_grad:
        return out
    g = randn(*outs[0].shape, seed=5)
    (outs[0] * nt.tensor(g)).sum().backward()
    (touts[0] * torch.tensor(g)).sum().backward()
    for a, b in zip(nt_in, th_in):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol * 10, rtol=rtol * 10)
    tparams = dict(tmod.named_parameters())
    for name, p in mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=atol * 10, rtol=rtol * 10,
                                   err_msg=f"gradient of {name}")
    buffers = dict(mod.named_buffers())
    for name, b in tmod.named_buffers():
        np.testing.assert_allclose(buffers[name].numpy(), b.numpy(), atol=atol, rtol=rtol, err_msg=f"buffer {name}")
    return out


def x(*shape, seed=0):
    return randn(*shape, seed=seed)


def labels(n, c, seed=0):
    return np.random.default_rng(seed).integers(0, c, n).astype(np.int64)


def signs(n, seed=0):
    return np.where(np.random.default_rng(seed).random(n) < 0.5, -1, 1).astype(np.int64)


def counts(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 5, shape).astype(np.float64)


def probs(*shape, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, shape)


# (id, layer name, args, kwargs, inputs, train mode)
CASES = [
    ("conv", "Conv2d", (3, 4, 3), {}, [x(2, 3, 7, 7)], True),
    ("conv_strided_dilated_nobias", "Conv2d", (3, 4, 3), dict(stride=2, padding=1, dilation=2, bias=False),
     [x(2, 3, 9, 8)], True),
    ("conv_groups_same", "Conv2d", (4, 6, 3), dict(padding="same", groups=2), [x(2, 4, 6, 6)], True),
    ("conv_same_even_kernel", "Conv2d", (2, 3, 4), dict(padding="same"), [x(2, 2, 6, 5)], True),
    ("conv_valid", "Conv2d", (2, 3, 2), dict(padding="valid"), [x(1, 2, 4, 4)], True),
    ("conv_reflect", "Conv2d", (2, 3, (3, 2)), dict(padding=(1, 2), padding_mode="reflect"), [x(2, 2, 5, 6)], True),
    ("conv_replicate", "Conv2d", (2, 3, 3), dict(padding=2, padding_mode="replicate"), [x(2, 2, 5, 5)], True),
    ("conv_circular", "Conv2d", (2, 3, 3), dict(padding=1, padding_mode="circular"), [x(2, 2, 5, 5)], True),
    ("conv_unbatched", "Conv2d", (3, 4, 3), {}, [x(3, 6, 6)], True),
    ("convT", "ConvTranspose2d", (4, 3, 3), dict(stride=2, padding=1, output_padding=1), [x(2, 4, 4, 4)], True),
    ("convT_groups_dilation", "ConvTranspose2d", (4, 6, 2), dict(groups=2, dilation=2, bias=False),
     [x(2, 4, 3, 3)], True),
    ("linear", "Linear", (5, 3), {}, [x(4, 5)], True),
    ("linear_3d_nobias", "Linear", (5, 3), dict(bias=False), [x(2, 3, 5)], True),
    ("maxpool", "MaxPool2d", (2,), {}, [x(2, 3, 6, 6)], True),
    ("maxpool_pad_ceil", "MaxPool2d", (3, 2, 1), dict(ceil_mode=True), [x(2, 2, 6, 7)], True),
    ("maxpool_dilation", "MaxPool2d", (2,), dict(stride=1, dilation=2), [x(1, 2, 5, 5)], True),
    ("maxpool_indices", "MaxPool2d", (2,), dict(return_indices=True), [x(2, 2, 4, 4)], True),
    ("maxpool_unbatched", "MaxPool2d", (2,), {}, [x(3, 4, 4)], True),
    ("avgpool", "AvgPool2d", (2,), {}, [x(2, 3, 6, 6)], True),
    ("avgpool_pad", "AvgPool2d", (3, 2, 1), dict(count_include_pad=False, ceil_mode=True), [x(2, 2, 7, 6)], True),
    ("avgpool_divisor", "AvgPool2d", ((2, 3),), dict(divisor_override=4), [x(2, 2, 6, 6)], True),
    ("adaptive_avg", "AdaptiveAvgPool2d", ((3, 2),), {}, [x(2, 3, 7, 5)], True),
    ("adaptive_avg_1", "AdaptiveAvgPool2d", (1,), {}, [x(2, 3, 4, 4)], True),
    ("adaptive_max", "AdaptiveMaxPool2d", (2,), {}, [x(2, 3, 5, 5)], True),
    ("relu", "ReLU", (), {}, [x(3, 4)], True),
    ("relu6", "ReLU6", (), {}, [x(3, 4) * 5], True),
    ("leaky_relu", "LeakyReLU", (0.2,), {}, [x(3, 4)], True),
    ("elu", "ELU", (0.7,), {}, [x(3, 4)], True),
    ("gelu", "GELU", (), {}, [x(3, 4)], True),
    ("gelu_tanh", "GELU", ("tanh",), {}, [x(3, 4)], True),
    ("sigmoid", "Sigmoid", (), {}, [x(3, 4)], True),
    ("tanh", "Tanh", (), {}, [x(3, 4)], True),
    ("softmax", "Softmax", (1,), {}, [x(3, 4, 2)], True),
    ("log_softmax", "LogSoftmax", (), dict(dim=-1), [x(3, 4)], True),
    ("flatten", "Flatten", (), {}, [x(2, 3, 2, 2)], True),
    ("flatten_range", "Flatten", (0, 2), {}, [x(2, 3, 2, 2)], True),
    ("unflatten", "Unflatten", (1, (3, 4)), {}, [x(2, 12)], True),
    ("identity", "Identity", (), {}, [x(2, 3)], True),
    ("dropout_eval", "Dropout", (0.5,), {}, [x(4, 5)], False),
    ("dropout_p0", "Dropout", (0.0,), {}, [x(4, 5)], True),
    ("dropout2d_eval", "Dropout2d", (), {}, [x(2, 3, 4, 4)], False),
    ("bn1d", "BatchNorm1d", (3,), {}, [x(6, 3)], True),
    ("bn1d_3d", "BatchNorm1d", (3,), {}, [x(4, 3, 5)], True),
    ("bn1d_eval", "BatchNorm1d", (3,), {}, [x(6, 3)], False),
    ("bn2d", "BatchNorm2d", (3,), {}, [x(4, 3, 3, 3)], True),
    ("bn2d_eval", "BatchNorm2d", (3,), {}, [x(4, 3, 3, 3)], False),
    ("bn2d_no_affine_momentum_none", "BatchNorm2d", (3,), dict(affine=False, momentum=None),
     [x(4, 3, 3, 3)], True),
    ("bn2d_no_bias", "BatchNorm2d", (3,), dict(bias=False), [x(4, 3, 3, 3)], True),
    ("bn2d_untracked_eval", "BatchNorm2d", (3,), dict(track_running_stats=False), [x(4, 3, 3, 3)], False),
    ("lrn", "LocalResponseNorm", (3,), dict(alpha=0.1, beta=0.5, k=2.0), [x(2, 5, 3, 3)], True),
    ("zeropad", "ZeroPad2d", ((1, 2, 0, 3),), {}, [x(2, 2, 3, 3)], True),
    ("constpad", "ConstantPad2d", (1, 2.5), {}, [x(2, 2, 3, 3)], True),
    ("reflectpad", "ReflectionPad2d", (2,), {}, [x(2, 2, 4, 4)], True),
    ("replicatepad", "ReplicationPad2d", ((1, 0, 2, 1),), {}, [x(2, 2, 3, 3)], True),
    ("ce", "CrossEntropyLoss", (), {}, [x(5, 4), labels(5, 4)], True),
    ("ce_weight_smooth_ignore", "CrossEntropyLoss", (), dict(ignore_index=1, label_smoothing=0.1),
     [x(6, 4), labels(6, 4)], True),
    ("ce_spatial_sum", "CrossEntropyLoss", (), dict(reduction="sum"), [x(2, 3, 2, 2), labels(8, 3).reshape(2, 2, 2)],
     True),
    ("ce_probs_target", "CrossEntropyLoss", (), {}, [x(4, 3), probs(4, 3)], True),
    ("nll", "NLLLoss", (), {}, [x(5, 4), labels(5, 4)], True),
    ("nll_none", "NLLLoss", (), dict(reduction="none"), [x(5, 4), labels(5, 4)], True),
    ("mse", "MSELoss", (), {}, [x(3, 4), x(3, 4, seed=1)], True),
    ("l1_sum", "L1Loss", (), dict(reduction="sum"), [x(3, 4), x(3, 4, seed=1)], True),
    ("bce", "BCELoss", (), {}, [probs(3, 4), probs(3, 4, seed=1)], True),
    ("bce_logits", "BCEWithLogitsLoss", (), {}, [x(3, 4), probs(3, 4, seed=1)], True),
    # sequences
    ("conv1d", "Conv1d", (3, 4, 3), {}, [x(2, 3, 9)], True),
    ("conv1d_strided_dilated_groups", "Conv1d", (4, 6, 3), dict(stride=2, padding=2, dilation=2, groups=2),
     [x(2, 4, 11)], True),
    ("conv1d_same_even", "Conv1d", (2, 3, 4), dict(padding="same", bias=False), [x(2, 2, 7)], True),
    ("conv1d_reflect", "Conv1d", (2, 3, 3), dict(padding=2, padding_mode="reflect"), [x(2, 2, 7)], True),
    ("conv1d_circular_unbatched", "Conv1d", (2, 3, 3), dict(padding=1, padding_mode="circular"), [x(2, 7)], True),
    ("convT1d", "ConvTranspose1d", (4, 3, 3), dict(stride=2, padding=1, output_padding=1), [x(2, 4, 5)], True),
    ("conv3d", "Conv3d", (4, 6, 3), dict(stride=(1, 2, 1), padding=1, groups=2), [x(2, 4, 4, 5, 4)], True),
    ("conv3d_same_replicate", "Conv3d", (2, 3, (2, 3, 1)), dict(padding=(0, 1, 0), padding_mode="replicate"),
     [x(2, 2, 3, 4, 3)], True),
    ("conv3d_unbatched_same", "Conv3d", (2, 3, 3), dict(padding="same", bias=False), [x(2, 3, 4, 3)], True),
    ("maxpool3d", "MaxPool3d", (2,), {}, [x(2, 3, 4, 4, 4)], True),
    ("maxpool3d_pad", "MaxPool3d", (3, 2, 1), {}, [x(1, 2, 5, 4, 5)], True),
    ("avgpool3d", "AvgPool3d", (3, 2, 1), dict(count_include_pad=False), [x(1, 2, 5, 4, 5)], True),
    ("adaptive_avg3d", "AdaptiveAvgPool3d", ((2, 3, 1),), {}, [x(2, 2, 5, 4, 3)], True),
    ("maxpool1d", "MaxPool1d", (3, 2, 1), {}, [x(2, 3, 9)], True),
    ("maxpool1d_indices", "MaxPool1d", (2,), dict(return_indices=True), [x(2, 3, 8)], True),
    ("avgpool1d", "AvgPool1d", (3, 2, 1), dict(count_include_pad=False), [x(2, 3, 9)], True),
    ("adaptive_avg1d", "AdaptiveAvgPool1d", (4,), {}, [x(2, 3, 9)], True),
    ("adaptive_max1d", "AdaptiveMaxPool1d", (4,), {}, [x(2, 3, 9)], True),
    # activations
    ("selu", "SELU", (), {}, [x(3, 4)], True),
    ("celu", "CELU", (0.5,), {}, [x(3, 4)], True),
    ("threshold", "Threshold", (0.1, 20.0), {}, [x(3, 4)], True),
    ("hardtanh", "Hardtanh", (-0.5, 0.7), {}, [x(3, 4)], True),
    ("silu", "SiLU", (), {}, [x(3, 4)], True),
    ("mish", "Mish", (), {}, [x(3, 4)], True),
    ("softplus", "Softplus", (2.0, 3.0), {}, [x(3, 4)], True),
    ("hardswish", "Hardswish", (), {}, [x(3, 4) * 3], True),
    ("hardsigmoid", "Hardsigmoid", (), {}, [x(3, 4) * 3], True),
    ("logsigmoid", "LogSigmoid", (), {}, [x(3, 4)], True),
    ("softsign", "Softsign", (), {}, [x(3, 4)], True),
    ("tanhshrink", "Tanhshrink", (), {}, [x(3, 4)], True),
    ("hardshrink", "Hardshrink", (0.3,), {}, [x(3, 4)], True),
    ("softshrink", "Softshrink", (), {}, [x(3, 4)], True),
    ("prelu", "PReLU", (), {}, [x(2, 3, 4)], True),
    ("prelu_channels", "PReLU", (3,), dict(init=0.1), [x(2, 3, 4, 2)], True),
    ("glu", "GLU", (1,), {}, [x(2, 4, 3)], True),
    ("rrelu_eval", "RReLU", (0.1, 0.4), {}, [x(2, 4, 3)], False),
    ("dropout3d_eval", "Dropout3d", (), {}, [x(2, 3, 2, 2, 2)], False),
    ("feature_alpha_dropout_eval", "FeatureAlphaDropout", (0.3,), {}, [x(2, 3, 2)], False),
    ("softmin", "Softmin", (1,), {}, [x(3, 4)], True),
    ("softmax2d", "Softmax2d", (), {}, [x(2, 3, 2, 2)], True),
    ("dropout1d_eval", "Dropout1d", (), {}, [x(2, 3, 4)], False),
    ("alpha_dropout_eval", "AlphaDropout", (0.2,), {}, [x(2, 3)], False),
    # normalization
    ("layernorm", "LayerNorm", (4,), {}, [x(2, 3, 4)], True),
    ("layernorm_2d_nobias", "LayerNorm", ((3, 4),), dict(bias=False), [x(2, 3, 4)], True),
    ("layernorm_no_affine", "LayerNorm", (4,), dict(elementwise_affine=False, eps=1e-3), [x(5, 4)], True),
    ("groupnorm", "GroupNorm", (2, 4), {}, [x(2, 4, 3, 3)], True),
    ("groupnorm_no_affine", "GroupNorm", (1, 3), dict(affine=False), [x(2, 3, 5)], True),
    ("bn3d", "BatchNorm3d", (3,), {}, [x(2, 3, 2, 2, 2)], True),
    ("instancenorm2d", "InstanceNorm2d", (3,), {}, [x(2, 3, 4, 4)], True),
    ("instancenorm2d_affine_tracked", "InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True),
     [x(2, 3, 4, 4)], True),
    ("instancenorm2d_tracked_eval", "InstanceNorm2d", (3,), dict(track_running_stats=True), [x(2, 3, 4, 4)],
     False),
    ("instancenorm1d_unbatched", "InstanceNorm1d", (3,), dict(affine=True), [x(3, 6)], True),
    # losses
    ("smooth_l1", "SmoothL1Loss", (), dict(beta=0.5), [x(3, 4), x(3, 4, seed=1)], True),
    ("huber", "HuberLoss", (), dict(delta=0.7, reduction="sum"), [x(3, 4), x(3, 4, seed=1)], True),
    ("kldiv_batchmean", "KLDivLoss", (), dict(reduction="batchmean"), [x(3, 4), probs(3, 4, seed=1)], True),
    ("kldiv_log_target", "KLDivLoss", (), dict(reduction="sum", log_target=True), [x(3, 4), x(3, 4, seed=1)],
     True),
    # others
    ("bilinear", "Bilinear", (3, 4, 5), {}, [x(6, 3), x(6, 4, seed=1)], True),
    ("bilinear_nobias_3d", "Bilinear", (3, 2, 2), dict(bias=False), [x(2, 5, 3), x(2, 5, 2, seed=1)], True),
    ("upsample_nearest", "Upsample", (), dict(scale_factor=2), [x(2, 3, 3, 4)], True),
    ("upsample_bilinear", "Upsample", (), dict(size=(5, 7), mode="bilinear"), [x(2, 3, 3, 4)], True),
    ("upsample_bicubic_ac", "Upsample", (), dict(scale_factor=1.5, mode="bicubic", align_corners=True),
     [x(1, 2, 4, 4)], True),
    ("upsample_linear", "Upsample", (), dict(scale_factor=3, mode="linear"), [x(1, 2, 4)], True),
    ("upsampling_nearest2d", "UpsamplingNearest2d", (), dict(scale_factor=3), [x(1, 2, 3, 2)], True),
    ("upsampling_bilinear2d", "UpsamplingBilinear2d", ((5, 4),), {}, [x(1, 2, 3, 2)], True),
    ("pixel_shuffle", "PixelShuffle", (2,), {}, [x(2, 8, 3, 3)], True),
    ("pixel_unshuffle", "PixelUnshuffle", (2,), {}, [x(2, 2, 4, 6)], True),
    ("cosine_similarity", "CosineSimilarity", (), dict(dim=-1), [x(3, 5), x(3, 5, seed=1)], True),
    ("pairwise_distance", "PairwiseDistance", (), dict(p=1.0, keepdim=True), [x(3, 5), x(3, 5, seed=1)], True),
    ("embedding", "Embedding", (7, 3), dict(padding_idx=2), [labels(10, 7).reshape(2, 5)], True),
    ("margin_ranking", "MarginRankingLoss", (0.2,), {}, [x(6), x(6, seed=1), signs(6)], True),
    ("hinge_embedding", "HingeEmbeddingLoss", (), dict(reduction="sum"), [x(6), signs(6)], True),
    ("soft_margin", "SoftMarginLoss", (), {}, [x(6), signs(6)], True),
    ("cosine_embedding", "CosineEmbeddingLoss", (0.1,), {}, [x(4, 5), x(4, 5, seed=1), signs(4)], True),
    ("triplet", "TripletMarginLoss", (), dict(margin=2.0, p=1.0), [x(4, 5), x(4, 5, seed=1), x(4, 5, seed=2)],
     True),
    ("triplet_swap", "TripletMarginLoss", (), dict(swap=True, reduction="none"),
     [x(4, 5), x(4, 5, seed=1), x(4, 5, seed=2)], True),
    # counts > 1: PyTorch's Stirling term gives the target a NaN gradient at y <= 1
    ("poisson_nll", "PoissonNLLLoss", (), dict(full=True), [x(3, 4), counts(3, 4) + 2], True),
    ("poisson_nll_rate", "PoissonNLLLoss", (False,), {}, [probs(3, 4) * 3, counts(3, 4)], True),
    ("gaussian_nll", "GaussianNLLLoss", (), dict(full=True), [x(3, 4), x(3, 4, seed=1), probs(3, 4)], True),
    ("gaussian_nll_homoscedastic", "GaussianNLLLoss", (), dict(reduction="sum"), [x(3, 4), x(3, 4, seed=1),
                                                                                  probs(3, 1)], True),
    ("multilabel_soft_margin", "MultiLabelSoftMarginLoss", (), {}, [x(3, 4), counts(3, 4).clip(0, 1)], True),
    ("mha", "MultiheadAttention", (8, 2), {}, [x(5, 3, 8), x(4, 3, 8, seed=1), x(4, 3, 8, seed=2)], True),
    ("mha_batch_first_kvdim", "MultiheadAttention", (8, 4), dict(kdim=6, vdim=5, batch_first=True, bias=False),
     [x(3, 5, 8), x(3, 4, 6, seed=1), x(3, 4, 5, seed=2)], True),
    ("mha_unbatched", "MultiheadAttention", (6, 3), {}, [x(5, 6), x(5, 6, seed=1), x(5, 6, seed=2)], True),
    ("encoder_layer", "TransformerEncoderLayer", (8, 2, 16, 0.0), {}, [x(5, 3, 8)], True),
    ("encoder_layer_prenorm_gelu", "TransformerEncoderLayer", (8, 2, 16, 0.0),
     dict(activation="gelu", norm_first=True, batch_first=True), [x(3, 5, 8)], True),
    ("decoder_layer", "TransformerDecoderLayer", (8, 2, 16, 0.0), {}, [x(4, 3, 8), x(5, 3, 8, seed=1)], True),
    ("decoder_layer_prenorm", "TransformerDecoderLayer", (8, 2, 16, 0.0), dict(norm_first=True, batch_first=True),
     [x(3, 4, 8), x(3, 5, 8, seed=1)], True),
    ("transformer", "Transformer", (8, 2, 2, 1, 16, 0.0), {}, [x(5, 2, 8), x(4, 2, 8, seed=1)], True),
    ("rnn", "RNN", (3, 4), {}, [x(5, 2, 3)], True),
    ("rnn_relu_2layer_bidir", "RNN", (3, 4, 2), dict(nonlinearity="relu", bidirectional=True), [x(5, 2, 3)], True),
    ("lstm", "LSTM", (3, 4), {}, [x(5, 2, 3)], True),
    ("lstm_2layer_bidir_batch_first", "LSTM", (3, 4, 2), dict(bidirectional=True, batch_first=True),
     [x(2, 5, 3)], True),
    ("lstm_proj_nobias", "LSTM", (3, 5), dict(proj_size=2, bias=False), [x(4, 2, 3)], True),
    ("lstm_unbatched", "LSTM", (3, 4), {}, [x(5, 3)], True),
    ("gru", "GRU", (3, 4), {}, [x(5, 2, 3)], True),
    ("gru_2layer_bidir", "GRU", (3, 4, 2), dict(bidirectional=True), [x(5, 2, 3)], True),
    ("gru_h0", "GRU", (3, 4, 2), dict(dropout=0.5), [x(5, 2, 3), x(2, 2, 4, seed=1)], False),
    ("rnn_cell", "RNNCell", (3, 4), {}, [x(2, 3), x(2, 4, seed=1)], True),
    ("lstm_cell", "LSTMCell", (3, 4), {}, [x(2, 3)], True),
    ("gru_cell", "GRUCell", (3, 4), dict(bias=False), [x(3), x(4, seed=1)], True),
    ("lppool1d", "LPPool1d", (2, 3), {}, [x(2, 3, 8)], True),
    ("lppool2d", "LPPool2d", (1.5, 2), dict(stride=1), [np.abs(x(2, 3, 5, 5)) + 0.1], True),
    ("multi_margin", "MultiMarginLoss", (), dict(p=2, margin=0.5), [x(5, 4), labels(5, 4)], True),
    ("triplet_distance", "TripletMarginWithDistanceLoss", (), dict(margin=0.5, swap=True),
     [x(4, 5), x(4, 5, seed=1), x(4, 5, seed=2)], True),
    ("zeropad1d", "ZeroPad1d", ((1, 2),), {}, [x(2, 3, 4)], True),
    ("constpad1d", "ConstantPad1d", (2, 1.5), {}, [x(3, 4)], True),
    ("reflectpad1d", "ReflectionPad1d", (2,), {}, [x(2, 3, 4)], True),
    ("replicatepad1d", "ReplicationPad1d", ((0, 3),), {}, [x(2, 3, 4)], True),
    ("circularpad1d", "CircularPad1d", (2,), {}, [x(2, 3, 4)], True),
    ("circularpad2d", "CircularPad2d", ((1, 0, 2, 1),), {}, [x(2, 2, 3, 3)], True),
    ("rmsnorm", "RMSNorm", (4,), {}, [x(2, 3, 4)], True),
    ("rmsnorm_eps_2d", "RMSNorm", ((3, 4),), dict(eps=1e-3), [x(2, 3, 4)], True),
    ("rmsnorm_no_affine", "RMSNorm", (4,), dict(elementwise_affine=False), [x(5, 4)], True),
    ("unfold", "Unfold", (3,), dict(padding=1, stride=2), [x(2, 3, 5, 6)], True),
    ("fold", "Fold", ((5, 6), 3), dict(padding=1, stride=2), [x(2, 27, 9)], True),
    ("fold_dilated", "Fold", ((6, 5), (2, 3)), dict(dilation=2), [x(1, 12, 4)], True),
    ("channel_shuffle", "ChannelShuffle", (3,), {}, [x(2, 6, 2, 2)], True),
    ("embedding_bag", "EmbeddingBag", (7, 3), dict(mode="max"), [labels(8, 7).reshape(2, 4)], True),
    ("embedding_max_norm", "Embedding", (7, 3), dict(max_norm=0.5, scale_grad_by_freq=True), [labels(6, 7)], True),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")   # torch's own note
@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")   # torch's Transformer note
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_torch(case):
    _, name, args, kwargs, inputs, train = case
    mod, tmod = both(name, *args, **kwargs)
    assert repr(mod) == repr(tmod)
    assert [(k, v.shape) for k, v in mod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tmod.state_dict().items()]
    run_both(mod, tmod, inputs, train=train)


def test_losses_with_class_weights_and_pos_weight_registered_as_buffers():
    w = np.array([0.2, 1.0, 2.0, 0.5])
    for name, inputs, kw in [("CrossEntropyLoss", [x(6, 4), labels(6, 4)], dict(label_smoothing=0.2)),
                             ("NLLLoss", [x(6, 4), labels(6, 4)], {}),
                             ("BCELoss", [probs(3, 4), probs(3, 4, seed=1)], {})]:
        mod = getattr(nn, name)(weight=nt.tensor(w), **kw)
        tmod = getattr(tnn, name)(weight=torch.tensor(w), **kw)
        assert list(mod.state_dict()) == list(tmod.state_dict()) == ["weight"]
        run_both(mod, tmod, inputs)
    mod = nn.BCEWithLogitsLoss(weight=nt.tensor(w), pos_weight=nt.tensor(w[::-1].copy()))
    tmod = tnn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(w[::-1].copy()))
    assert list(mod.state_dict()) == list(tmod.state_dict()) == ["weight", "pos_weight"]
    run_both(mod, tmod, [x(3, 4), probs(3, 4, seed=1)])
    assert nn.BCEWithLogitsLoss().state_dict() == OrderedDict()
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")
    assert nn.MSELoss(size_average=False).reduction == "sum"     # PyTorch's legacy mapping
    assert nn.L1Loss(reduce=False).reduction == "none"


def test_conv_transpose_output_size_and_max_unpool():
    mod, tmod = both("ConvTranspose2d", 3, 2, 3, stride=2, padding=1)
    tmod.double()
    mod.double()
    load_from_torch(mod, tmod)
    a = x(1, 3, 4, 4)
    out = mod(nt.tensor(a), output_size=(8, 8))
    tout = tmod(torch.tensor(a), output_size=[8, 8])
    assert out.shape == (1, 2, 8, 8)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-10)
    with pytest.raises(ValueError, match=r"valid sizes range from \(7, 7\) to \(8, 8\)"):
        mod(nt.tensor(a), output_size=(10, 10))
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    tpool, tunpool = tnn.MaxPool2d(2, return_indices=True), tnn.MaxUnpool2d(2)
    assert repr(unpool) == repr(tunpool)
    a = x(2, 2, 4, 5)
    y, idx = pool(nt.tensor(a))
    ty, tidx = tpool(torch.tensor(a))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_allclose(unpool(y, idx, output_size=(4, 5)).numpy(),
                               tunpool(ty, tidx, output_size=[4, 5]).numpy())


def test_softmax_without_dim_warns_and_uses_pytorch_legacy_dim():
    a = x(3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(nt.tensor(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = tnn.Softmax()(torch.tensor(a))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-12)


# ---------------------------------------------------------------- whole networks
def lenet(lib, in_channels=1):
    """A LeNet-5-like Sequential (LeCun et al. 1998) with batch norm, built the
    same way from either library."""
    return lib.Sequential(OrderedDict([
        ("features", lib.Sequential(
            lib.Conv2d(in_channels, 6, 5), lib.BatchNorm2d(6), lib.ReLU(), lib.MaxPool2d(2, 2),
            lib.Conv2d(6, 16, 5), lib.BatchNorm2d(16), lib.ReLU(), lib.MaxPool2d(2, 2))),
        ("flatten", lib.Flatten()),
        ("classifier", lib.Sequential(
            lib.Linear(16 * 5 * 5, 120), lib.ReLU(), lib.Dropout(0.5), lib.Linear(120, 84), lib.ReLU(),
            lib.Linear(84, 10))),
    ]))


def test_lenet_repr_and_state_dict_keys_equal_torch():
    net, tnet = lenet(nn), lenet(tnn)
    assert repr(net) == repr(tnet)
    assert "  (features): Sequential(\n    (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))" in repr(net)
    keys = [(k, v.shape) for k, v in net.state_dict().items()]
    assert keys == [(k, tuple(v.shape)) for k, v in tnet.state_dict().items()]
    assert ("features.1.num_batches_tracked", ()) in keys
    assert net.state_dict()["features.1.num_batches_tracked"].dtype == np.int64
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in tnet.parameters())


def test_lenet_loaded_from_torch_gives_torch_outputs_in_eval_and_train():
    tnet = lenet(tnn)
    # Give the running statistics non-trivial values first.
    tnet.train()
    for s in range(3):
        tnet(torch.tensor(x(8, 1, 32, 32, seed=s), dtype=torch.float32))
    tnet.eval()
    net = lenet(nn)
    load_from_torch(net, tnet)
    net.eval()
    a = x(4, 1, 32, 32, seed=9).astype(np.float32)
    np.testing.assert_allclose(net(nt.tensor(a)).numpy(), tnet(torch.tensor(a)).detach().numpy(),
                               atol=1e-5, rtol=1e-4)
    # Train mode with dropout off: batch statistics and running updates match too.
    net.classifier[2].p = 0.0
    tnet.classifier[2].p = 0.0
    run_both(net, tnet, [x(6, 1, 32, 32, seed=4)], train=True, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_track_torch_over_steps(momentum):
    bn, tbn = both("BatchNorm2d", 3, momentum=momentum)
    for step in range(4):
        a = x(5, 3, 4, 4, seed=step) * (step + 1) + step
        bn(nt.tensor(a.astype(np.float32)))
        tbn(torch.tensor(a, dtype=torch.float32))
        assert bn.num_batches_tracked.item() == tbn.num_batches_tracked.item() == step + 1
        np.testing.assert_allclose(bn.running_mean.numpy(), tbn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-5, atol=1e-6)
    bn.eval()
    tbn.eval()
    a = x(2, 3, 4, 4, seed=7).astype(np.float32)
    np.testing.assert_allclose(bn(nt.tensor(a)).numpy(), tbn(torch.tensor(a)).detach().numpy(), atol=1e-5)
    assert bn.num_batches_tracked.item() == 4          # eval does not count


def test_train_eval_switch_dropout_and_batchnorm_behaviour():
    d = nn.Dropout(0.5)
    a = nt.ones(200, 50)
    y = d(a).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    d.eval()
    assert d(a) is a or np.array_equal(d(a).numpy(), a.numpy())
    bn = nn.BatchNorm1d(2)
    b = nt.tensor(x(8, 2).astype(np.float32) * 3 + 1)
    train_out = bn(b).numpy()
    np.testing.assert_allclose(train_out.mean(0), 0, atol=1e-5)
    bn.eval()
    eval_out = bn(b).numpy()       # running stats after one step: 0.9*(0,1) + 0.1*batch
    assert not np.allclose(eval_out, train_out)
    before = bn.running_mean.numpy().copy()
    bn(b)
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)


def test_batchnorm_load_without_num_batches_tracked_keeps_count():
    bn = nn.BatchNorm2d(2)
    bn.num_batches_tracked.array[...] = 5
    sd = {k: v.numpy() for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    bn.load_state_dict(sd)
    assert bn.num_batches_tracked.item() == 5


# ---------------------------------------------------------------- default init
@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(400, 120), 400),
    (lambda: nn.Conv2d(6, 16, 5), 6 * 25),
    (lambda: nn.Conv2d(8, 4, 3, groups=4), 2 * 9),
    (lambda: nn.ConvTranspose2d(16, 6, 4), 6 * 16),
    (lambda: nn.ConvTranspose2d(4, 8, 3, groups=2), 4 * 9),
])
def test_default_init_is_uniform_within_one_over_sqrt_fan_in(make, fan_in):
    m = make()
    bound = 1 / math.sqrt(fan_in)
    w = m.weight.numpy()
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.9 * bound                 # fills the interval
    assert abs(w.mean()) < 0.1 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound   # uniform's std
    assert np.abs(m.bias.numpy()).max() <= bound
    assert len(np.unique(m.bias.numpy())) == m.bias.numel()


def test_init_is_reproducible_with_manual_seed():
    nt.manual_seed(3)
    a = nn.Linear(4, 3).weight.numpy().copy()
    nt.manual_seed(3)
    b = nn.Linear(4, 3).weight.numpy()
    np.testing.assert_array_equal(a, b)


def test_constructor_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 6, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding must be"):
        nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="in_features must be a non-negative int"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match="num_features must be a positive int"):
        nn.BatchNorm2d(0)


# ---------------------------------------------------------------- bad inputs name the layer
def test_conv_wrong_channels_names_layer_and_shapes():
    conv = nn.Conv2d(3, 16, 5)
    with pytest.raises(ValueError) as info:
        conv(nt.zeros(8, 1, 28, 28))
    assert str(info.value) == ("Conv2d(3, 16, kernel_size=(5, 5), stride=(1, 1)): expected input of shape "
                               "(N, 3, H, W), received (8, 1, 28, 28)")
    with pytest.raises(ValueError) as info:
        conv(nt.zeros(8, 784))
    assert str(info.value) == ("Conv2d(3, 16, kernel_size=(5, 5), stride=(1, 1)): expected a 4-D input "
                               "(N, C, H, W) or 3-D (C, H, W), received a 2-D input of shape (8, 784)")
    with pytest.raises(ValueError, match=r"expected input of shape \(3, H, W\), received \(1, 28, 28\)"):
        conv(nt.zeros(1, 28, 28))
    with pytest.raises(TypeError, match=r"^Conv2d\(3, 16.*expected input to be a neuronet.Tensor, "
                                        r"received numpy.ndarray"):
        conv(np.zeros((8, 3, 28, 28)))


def test_linear_batchnorm_pool_errors_name_layer_and_shapes():
    with pytest.raises(ValueError, match=r"^Linear\(in_features=400, out_features=120, bias=True\): expected "
                                         r"input of shape \(\*, 400\) .*received \(8, 256\)$"):
        nn.Linear(400, 120)(nt.zeros(8, 256))
    with pytest.raises(ValueError, match=r"^BatchNorm2d\(16, .*\): expected input with 16 channels \(dim 1\), "
                                         r"received 6 channels in an input of shape \(2, 6, 5, 5\)$"):
        nn.BatchNorm2d(16)(nt.zeros(2, 6, 5, 5))
    with pytest.raises(ValueError, match=r"^BatchNorm2d\(16, .*\): expected a 4-D \(N, C, H, W\) input, "
                                         r"received a 2-D input of shape \(2, 16\)$"):
        nn.BatchNorm2d(16)(nt.zeros(2, 16))
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(4, .*\): expected a 2-D \(N, C\) or 3-D"):
        nn.BatchNorm1d(4)(nt.zeros(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"^MaxPool2d\(kernel_size=2.*expected a 4-D input .*received a 2-D"):
        nn.MaxPool2d(2)(nt.zeros(8, 784))
    # The window does not fit: F raises, the layer's name is prefixed once.
    with pytest.raises((ValueError, RuntimeError)) as info:
        nn.MaxPool2d(5)(nt.zeros(1, 1, 3, 3))
    msg = str(info.value)
    assert msg.startswith("MaxPool2d(kernel_size=5, stride=5, padding=0, dilation=1, ceil_mode=False): ")
    assert msg.count("MaxPool2d(kernel_size=5") == 1
    with pytest.raises((ValueError, RuntimeError), match=r"^AvgPool2d\(kernel_size=4, stride=4, padding=0\): "):
        nn.AvgPool2d(4)(nt.zeros(1, 1, 2, 2))


def test_error_inside_nested_sequential_names_the_child_path():
    net = lenet(nn)
    with pytest.raises(ValueError) as info:
        net(nt.zeros(2, 3, 32, 32))
    assert str(info.value).startswith("features.0 (Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))): "
                                      "expected input of shape (N, 1, H, W), received (2, 3, 32, 32)")
    # A 28x28 image is too small for LeNet's flattened size: the Linear says so.
    with pytest.raises(ValueError) as info:
        net(nt.zeros(2, 1, 28, 28))
    assert str(info.value) == ("classifier.0 (Linear(in_features=400, out_features=120, bias=True)): "
                               "expected input of shape (*, 400) (last dim = in_features), received (2, 256)")
    # A conv deeper in: swap the second conv for one with the wrong in_channels.
    net.features[4] = nn.Conv2d(3, 16, 5)
    with pytest.raises(ValueError, match=r"^features\.4 \(Conv2d\(3, 16, kernel_size=\(5, 5\), "
                                         r"stride=\(1, 1\)\)\): expected input of shape \(N, 3, H, W\), "
                                         r"received \(2, 6, 14, 14\)$"):
        net(nt.zeros(2, 1, 32, 32))
