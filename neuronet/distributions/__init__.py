"""``neuronet.distributions``: probability distributions with PyTorch's interface
(``torch.distributions``), for policy gradients, VAEs and likelihoods.

Every distribution has ``batch_shape``/``event_shape``, ``sample(sample_shape)``
(drawn from the generator ``neuronet.manual_seed`` seeds), ``log_prob``,
``entropy``, ``mean``, ``variance``, ``stddev``, ``expand``; the continuous ones
also ``rsample`` (reparameterized: gradients flow into the parameters), except
Beta and Gamma, whose draws are not reparameterized here (PyTorch's are).
``log_prob``, ``entropy`` and ``kl_divergence`` are built from differentiable
tensor ops, so they backpropagate into the parameters like any expression.

Families: :class:`Normal`, :class:`Uniform`, :class:`Bernoulli`, :class:`Beta`, :class:`Gamma`,
:class:`Categorical`, :class:`OneHotCategorical`, :class:`MultivariateNormal`,
:class:`Independent`.
Closed-form ``kl_divergence`` for Normal/Normal, Uniform/Uniform,
Bernoulli/Bernoulli, Categorical/Categorical, OneHotCategorical/OneHotCategorical,
Independent/Independent, MultivariateNormal/MultivariateNormal, Beta/Beta,
Gamma/Gamma; more through ``@register_kl(P, Q)``.
"""
from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .distribution import Distribution
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Categorical", "Distribution", "Gamma", "Independent", "MultivariateNormal", "Normal",
           "OneHotCategorical", "Uniform",
           "constraints", "kl_divergence", "register_kl"]
