"""``neuronet.optim``: optimizers and learning-rate schedules (PyTorch's names,
hyperparameters, defaults and update formulas, so trajectories match).

Each optimizer updates parameters in place on their backend arrays (NumPy or
CuPy) and keeps its state buffers across steps. Depends only on Tensor and
autograd, never on ``neuronet.nn``.
"""
from .optimizer import Optimizer, check_finite_grads, required
from .sgd import SGD
from .adam import Adam, AdamW
from .adagrad import Adagrad
from .rmsprop import RMSprop
from .adadelta import Adadelta
from .nadam import NAdam
from .radam import RAdam
from .lbfgs import LBFGS
from . import lr_scheduler

__all__ = ["Optimizer", "check_finite_grads", "required", "SGD", "Adam", "AdamW", "Adagrad",
           "RMSprop", "Adadelta", "NAdam", "RAdam", "LBFGS",
           "lr_scheduler"]
