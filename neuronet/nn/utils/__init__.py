"""``neuronet.nn.utils``: helpers that act on parameters and their gradients, weight
reparameterizations, and variable-length sequences (``rnn``)."""
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .weight_reparam import weight_norm, remove_weight_norm, spectral_norm, remove_spectral_norm  # noqa: F401
from . import parametrizations, parametrize, rnn  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters", "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm",
           "parametrize", "parametrizations", "rnn"]
