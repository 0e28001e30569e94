"""``neuronet.nn.functional`` (imported as ``F``): the layers of a CNN as
stateless functions, PyTorch's names, signatures and semantics, NCHW.

One file per op family, each op's forward, backward and equation together:

- ``linear``        linear (the perceptron's weighted sum)
- ``convolution``   conv2d, conv_transpose2d (im2col + GEMM; delta rule / chain rule)
- ``pooling``       max_pool2d, avg_pool2d, adaptive_*_pool2d, max_unpool2d
- ``activation``    relu, leaky_relu, elu, gelu, sigmoid, tanh, softmax, log_softmax
- ``normalization`` batch_norm, local_response_norm
- ``dropout``       dropout, dropout2d
- ``padding``       pad
- ``loss``          cross_entropy, nll_loss, mse_loss, l1_loss, binary_cross_entropy(_with_logits)
"""
from .activation import *  # noqa: F401,F403
from .convolution import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
