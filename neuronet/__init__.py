"""neuronet: convolutional networks from the equations up, on NumPy or CuPy.

>>> import neuronet as nt
>>> x = nt.randn(4, 3, requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad  # == 2 x
"""
from .tensor import *  # noqa: F401,F403  (Tensor, factories, math functions, dtypes)
from .tensor import Tensor, tensor  # noqa: F401
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import Device, device, manual_seed, cupy_available  # noqa: F401
from . import backend, autograd  # noqa: F401

__version__ = "0.1.0"
