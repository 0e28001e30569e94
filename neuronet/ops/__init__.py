"""Tensor-level differentiable ops (arithmetic, reductions, shape), each a
:class:`~neuronet.autograd.Function` with its forward and backward side by side.
The layers of a network live one level up, in :mod:`neuronet.nn.functional`."""
