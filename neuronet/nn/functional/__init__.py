"""``neuronet.nn.functional`` (imported as ``F``): the layers of a CNN as
stateless functions, PyTorch's names, signatures and semantics, NCHW.

One file per op family, each op's forward, backward and equation together:

- ``linear``        linear (the perceptron's weighted sum), bilinear
- ``attention``     scaled_dot_product_attention, multi_head_attention_forward
- ``convolution``   conv1d, conv2d, conv_transpose1d/2d (im2col + GEMM; delta rule / chain rule)
- ``pooling``       max/avg_pool1d/2d, adaptive_*_pool1d/2d, max_unpool1d/2d, lp_pool1d/2d
- ``activation``    relu, leaky_relu, elu, selu, celu, rrelu, gelu, silu, mish, prelu, glu, sigmoid,
                    tanh, softplus, hard*, softmax, softmin, log_softmax, gumbel_softmax, ...
                    (``inplace=True`` and the ``*_`` spellings really update the input)
- ``normalization`` batch_norm, layer_norm, rms_norm, group_norm, instance_norm, local_response_norm
- ``dropout``       dropout, dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout
- ``padding``       pad
- ``loss``          cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1/huber, kl_div, bce(_with_logits)
- ``loss_composite`` margin ranking, hinge/cosine embedding, soft/multi margin, triplet, Poisson/Gaussian
                    NLL, multilabel soft margin (compositions of the ops above)
- ``sparse``        embedding, embedding_bag, one_hot
- ``distance``      normalize, cosine_similarity, pairwise_distance, pdist
- ``fold``          unfold (im2col), fold (col2im), channel_shuffle
- ``vision``        affine_grid, grid_sample (spatial transformers)
- ``volumetric``    conv3d, conv_transpose3d, max_pool3d, avg_pool3d, adaptive_avg_pool3d (window views,
                    plain formulas)
- ``upsampling``    interpolate (nearest, linear, bilinear, bicubic, trilinear, area), pixel_(un)shuffle
"""
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .convolution import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .loss_composite import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403
from .volumetric import *  # noqa: F401,F403
from . import _torch_names  # noqa: F401,E402  (neuronet.conv2d, neuronet.pixel_shuffle, ...)
