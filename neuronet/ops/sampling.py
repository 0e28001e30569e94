"""Random sampling: randperm, the ``*_like`` draws, multinomial, bernoulli,
normal, poisson, the in-place fills (``bernoulli_ random_ exponential_
geometric_ cauchy_ log_normal_``) and :class:`Generator`.

Every draw comes from a seeded generator: the module-wide one that
``neuronet.manual_seed`` resets (``backend.generator(xp)``), or a
``Generator`` object passed as ``generator=``. Only uniform
(``random``/``integers``), ``standard_normal`` and ``poisson`` draws are
asked of it -- methods NumPy's and CuPy's generators both have -- and every
other distribution is built from them by inversion (the exponential as
-log(1 - U), the Cauchy as tan(pi (U - 1/2)), ...), so one code path serves
the CPU and the GPU.

Sampling is not differentiable: as in PyTorch, ``normal(mean, std)`` and
``bernoulli(p)`` stay connected to their tensor arguments but send them zero
gradients (use the reparameterization ``mean + std * randn_like(std)`` to
differentiate through a draw).
"""
from __future__ import annotations

import json
import math
import numbers

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..backend import array_module
from ._registry import both, tensor_method, torch_function

_DEFAULT_SEED = 67280421310721      # PyTorch's default seed for a fresh Generator


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _dtype(dtype):
    from ..tensor import _as_dtype
    return _as_dtype(dtype)


# ---------------------------------------------------------------- generators
@torch_function
class Generator:
    """A random-number generator object, as ``torch.Generator``: seed it, pass it as
    ``generator=`` to the sampling functions, save and restore its state.

    >>> g = neuronet.Generator().manual_seed(42)
    >>> neuronet.randperm(5, generator=g)
    """

    def __init__(self, device="cpu"):
        self.device = backend.Device(device)
        self._seed = _DEFAULT_SEED
        self._generators = {}

    def manual_seed(self, seed):
        """Reset the stream to the one ``seed`` defines; returns the generator."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed expected an int seed, received {seed!r}")
        self._seed = int(seed) % (1 << 64)
        self._generators.clear()
        return self

    def seed(self):
        """Seed from the operating system's entropy; returns the new seed."""
        s = int(np.random.SeedSequence().entropy) % (1 << 63)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        """The seed the stream started from."""
        return self._seed

    def _generator(self, xp):
        """The array module's generator behind this object (made on first use)."""
        g = self._generators.get(xp)
        if g is None:
            g = np.random.default_rng(self._seed) if xp is np else xp.random.default_rng(self._seed)
            self._generators[xp] = g
        return g

    def get_state(self):
        """The CPU stream's state as a uint8 tensor (feed it to :meth:`set_state`)."""
        state = {"seed": self._seed, "numpy": self._generator(np).bit_generator.state}
        self._restart_device_streams(state["numpy"])
        data = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy()
        return _tensor()._wrap(data)

    def set_state(self, new_state):
        """Restore a state returned by :meth:`get_state`; returns the generator."""
        arr = backend.to_numpy(new_state.array if hasattr(new_state, "array") else np.asarray(new_state))
        try:
            state = json.loads(arr.astype(np.uint8).tobytes().decode())
            g = np.random.default_rng()
            g.bit_generator.state = state["numpy"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise RuntimeError("Generator.set_state(): expected a state returned by Generator.get_state()") \
                from None
        self._seed = state["seed"]
        self._generators = {np: g}
        self._restart_device_streams(state["numpy"])
        return self

    def _restart_device_streams(self, numpy_state):
        # CuPy keeps its generator state on the GPU with no portable form:
        # taking or restoring a state restarts the GPU stream from a seed the
        # NumPy state defines, so restoring reproduces the GPU draws too.
        cp = backend._cupy
        if cp is not None:
            self._generators[cp] = cp.random.default_rng(backend.seed_from_state(numpy_state))

    def permutation(self, x):
        """A random permutation of ``range(x)`` (an int) or of ``x``'s first axis
        (an array; a shuffled copy), on this generator's device, as NumPy's
        ``Generator.permutation``. On the CPU it is NumPy's own; CuPy's
        ``Generator`` has no ``permutation``, so on a GPU it is the argsort of
        U[0, 1) keys, drawn and sorted there (every order equally likely: the
        keys are i.i.d., so each ranking of them is), as :func:`randperm`."""
        xp = self.device.xp
        g = self._generator(xp)
        if xp is np:
            return g.permutation(x)
        if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
            if x < 0:
                raise ValueError(f"Generator.permutation: x must be a non-negative int or an array, received {x}")
            return xp.argsort(_uniform(g, (int(x),)), kind="stable")
        arr = x.array if isinstance(x, _tensor()) else xp.asarray(x)
        if arr.ndim < 1:
            raise ValueError(f"Generator.permutation: x must be an int or an array with at least one "
                             f"dimension, received a {arr.ndim}-d array")
        return arr[xp.argsort(_uniform(g, (arr.shape[0],)), kind="stable")]

    def __getattr__(self, name):
        # Anything else (integers, random, choice, ...) is the stream's own
        # method, so code that takes a NumPy-style generator -- the data
        # package's samplers, random_split -- accepts a neuronet.Generator too.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._generator(self.device.xp), name)

    def __repr__(self):
        return f"<neuronet.Generator object at {hex(id(self))}>"


class _DefaultGenerator(Generator):
    """The module-wide generator, as a :class:`Generator` (``neuronet.default_generator``):
    its stream is the one ``neuronet.manual_seed`` seeds."""

    def manual_seed(self, seed):
        backend.manual_seed(seed)
        return self

    def initial_seed(self):
        s = backend._seed
        return _DEFAULT_SEED if s is None else s

    def _generator(self, xp):
        return backend.generator(xp)

    def get_state(self):
        state = {"seed": backend._seed, "numpy": backend.get_rng_state()}
        return _tensor()._wrap(np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy())

    def set_state(self, new_state):
        tmp = Generator().set_state(new_state)
        backend.set_rng_state(tmp._generator(np).bit_generator.state)
        return self


default_generator = _DefaultGenerator()
torch_function(default_generator, name="default_generator")


@torch_function
def manual_seed(seed):
    """Seed every random draw neuronet makes; returns ``default_generator`` (as PyTorch)."""
    backend.manual_seed(seed)
    return default_generator


@torch_function
def seed():
    """Seed the module-wide stream from the operating system's entropy; returns the seed."""
    s = int(np.random.SeedSequence().entropy) % (1 << 63)
    backend.manual_seed(s)
    return s


@torch_function
def initial_seed():
    """The seed the module-wide stream started from."""
    return default_generator.initial_seed()


@torch_function
def get_rng_state():
    """The module-wide CPU stream's state as a uint8 tensor (for checkpoints)."""
    return default_generator.get_state()


@torch_function
def set_rng_state(new_state):
    """Restore a state returned by :func:`get_rng_state`."""
    default_generator.set_state(new_state)


def _gen(generator, xp):
    """The ndarray generator to draw from: ``generator``'s, or the module-wide one."""
    if generator is None:
        return backend.generator(xp)
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a neuronet.Generator, received {type(generator).__name__}")
    return generator._generator(xp)


def _uniform(gen, shape):
    """U[0, 1) float64 samples."""
    return gen.random(shape)


def _device(device):
    return backend.Device(device) if device is not None else backend.default_device


class _Sampled(Function):
    """A random draw that stays in the graph of its parameters but sends them zero
    gradients (PyTorch's behaviour for ``normal`` and ``bernoulli``)."""

    @staticmethod
    def forward(ctx, sample, *params):
        ctx.shapes = [getattr(p, "shape", ()) for p in params]
        ctx.dtypes = [getattr(p, "dtype", None) for p in params]
        return sample

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return (None,) + tuple(xp.zeros(s, dtype=d) if n else None
                               for s, d, n in zip(ctx.shapes, ctx.dtypes, ctx.needs_input_grad[1:]))


def _with_params(sample, *params):
    """Wrap ``sample`` (an ndarray), attached to the tensors among ``params``."""
    T = _tensor()
    tensors = [p for p in params if isinstance(p, T)]
    return _Sampled.apply(sample, *tensors) if tensors else T._wrap(sample)


# ---------------------------------------------------------------- factories
@torch_function
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, layout=None,
             pin_memory=False):
    """A random permutation of 0, ..., n - 1 (int64 unless ``dtype`` is given)."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise RuntimeError(f"randperm(): n must be a non-negative int, received {n!r}")
    xp = _device(device).xp
    perm = xp.argsort(_uniform(_gen(generator, xp), (int(n),)), kind="stable")
    t = _tensor()._wrap(perm.astype(_dtype(dtype) or np.int64))
    return t.requires_grad_(True) if requires_grad else t


def _like(input, dtype, device):
    dev = backend.Device(device) if device is not None else input.device
    return dev.xp, (_dtype(dtype) or input.dtype)


@torch_function
def randn_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    """Standard normal samples shaped like ``input`` (its dtype and device unless given)."""
    xp, dt = _like(input, dtype, device)
    if np.dtype(dt).kind != "f":
        raise RuntimeError(f"randn_like(): expected a floating-point dtype, received {dt}")
    t = _tensor()._wrap(_gen(None, xp).standard_normal(input.shape).astype(dt, copy=False))
    return t.requires_grad_(True) if requires_grad else t


@torch_function
def rand_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    """U[0, 1) samples shaped like ``input`` (its dtype and device unless given)."""
    xp, dt = _like(input, dtype, device)
    if np.dtype(dt).kind != "f":
        raise RuntimeError(f"rand_like(): expected a floating-point dtype, received {dt}")
    t = _tensor()._wrap(_uniform(_gen(None, xp), input.shape).astype(dt, copy=False))
    return t.requires_grad_(True) if requires_grad else t


@torch_function
def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False,
                 memory_format=None, layout=None):
    """Integers uniform in [low, high) shaped like ``input``, in its dtype unless given:
    ``randint_like(x, high)`` or ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"randint_like(): expected low < high, received low={low}, high={high}")
    xp, dt = _like(input, dtype, device)
    t = _tensor()._wrap(_gen(None, xp).integers(int(low), int(high), input.shape).astype(dt))
    return t.requires_grad_(True) if requires_grad else t


# ---------------------------------------------------------------- distributions
@both
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Category indices drawn with probabilities proportional to the rows of
    ``input`` (non-negative weights, 1-d (n,) or 2-d (rows, n)); out: (num_samples,)
    or (rows, num_samples), int64.

    With replacement: the inverse CDF of each row at uniform points. Without:
    each category gets an exponential "arrival time" E / w and the first
    ``num_samples`` to arrive are taken -- the same law as drawing one at a
    time and removing it (Efraimidis & Spirakis 2006); zero-weight categories
    arrive last.
    """
    a = input.array
    xp = array_module(a)
    if a.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {a.dtype}")
    if a.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, received shape {list(a.shape)}")
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples (received {num_samples})")
    w = a.reshape(1, -1) if a.ndim == 1 else a
    rows, n = w.shape
    w = w.astype(np.float64)
    if n == 0 or bool((~xp.isfinite(w)).any()) or bool((w < 0).any()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = w.sum(axis=1, keepdims=True)
    if bool((totals <= 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    gen = _gen(generator, xp)
    if replacement:
        cdf = xp.cumsum(w, axis=1) / totals
        # One search over all rows at once: row r's CDF shifted into [r, r + 1].
        offset = xp.arange(rows, dtype=np.float64)[:, None]
        u = _uniform(gen, (rows, num_samples)) + offset
        idx = xp.searchsorted((cdf + offset).reshape(-1), u.reshape(-1), side="right").reshape(rows, num_samples)
        out = xp.minimum(idx - xp.arange(rows)[:, None] * n, n - 1)
    else:
        if num_samples > n:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                               f"(n_sample={num_samples}, size {n})")
        arrival = -xp.log1p(-_uniform(gen, (rows, n)))            # Exp(1), finite
        keys = xp.where(w > 0, arrival / xp.where(w > 0, w, 1.0), xp.inf)
        out = xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    out = out.astype(np.int64)
    return _tensor()._wrap(out.reshape(-1) if a.ndim == 1 else out)


@both
def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or the number ``p``), else 0, elementwise, in
    input's dtype. Zero gradient to ``input``."""
    a = input.array
    xp = array_module(a)
    probs = a if p is None else xp.full(a.shape, float(p))
    if a.dtype.kind != "f" and p is None:
        raise RuntimeError(f"bernoulli(): expected a floating-point tensor of probabilities, received {a.dtype}")
    if probs.size and (bool((probs < 0).any()) or bool((probs > 1).any()) or bool(xp.isnan(probs).any())):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true (bernoulli probabilities must be in [0, 1])")
    sample = (_uniform(_gen(generator, xp), a.shape) < probs).astype(a.dtype)
    return _with_params(sample, input if p is None else None)


def _as_param(v):
    return v.array if hasattr(v, "array") else v


@torch_function
def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples: ``mean`` and ``std`` tensors (broadcast together) or numbers;
    with two numbers ``size`` gives the shape. Zero gradient to tensor arguments."""
    T = _tensor()
    tm, ts = isinstance(mean, T), isinstance(std, T)
    like = mean if tm else (std if ts else None)
    if like is not None:
        xp = array_module(like.array)
        m, s = _as_param(mean), _as_param(std)
        if ts and s.size and bool((s < 0).any()):
            raise RuntimeError(f"normal expects all elements of std >= 0.0, received a minimum of {float(s.min())}")
        if not ts and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        try:
            shape = np.broadcast_shapes(getattr(m, "shape", ()), getattr(s, "shape", ()))
        except ValueError:
            raise RuntimeError(f"normal(): mean of shape {list(getattr(m, 'shape', ()))} and std of shape "
                               f"{list(getattr(s, 'shape', ()))} do not broadcast") from None
        if size is not None and tuple(size) != tuple(shape):
            raise RuntimeError(f"normal(): size {list(size)} does not match the shape {list(shape)} of mean/std")
        dt = _dtype(dtype) or like.dtype
        sample = (m + s * _gen(generator, xp).standard_normal(shape)).astype(dt, copy=False)
        return _with_params(sample, mean if tm else None, std if ts else None)
    if size is None:
        raise TypeError("normal(mean: float, std: float) needs size=(...) for the shape of the result")
    if not isinstance(mean, numbers.Number) or not isinstance(std, numbers.Number):
        raise TypeError(f"normal(): mean and std must be tensors or numbers, received {type(mean).__name__} "
                        f"and {type(std).__name__}")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    xp = _device(device).xp
    shape = tuple(size) if isinstance(size, (tuple, list)) else (int(size),)
    sample = (mean + std * _gen(generator, xp).standard_normal(shape)).astype(_dtype(dtype) or
                                                                              backend.default_dtype)
    t = T._wrap(sample)
    return t.requires_grad_(True) if requires_grad else t


@torch_function
def poisson(input, generator=None):
    """Poisson counts with rates ``input`` (non-negative), elementwise, in input's dtype."""
    a = input.array
    xp = array_module(a)
    if a.size and bool((a < 0).any()):
        raise RuntimeError("poisson(): invalid Poisson rate, expected rate to be non-negative")
    return _with_params(_gen(generator, xp).poisson(a).astype(a.dtype), input)


# ---------------------------------------------------------------- in-place fills
def _fill(self, values, name):
    return self._fill_from(values.astype(self.dtype, copy=False), name)


@tensor_method
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 1 where a uniform draw falls below ``p`` (a number or a tensor
    broadcastable to self), else 0."""
    xp = array_module(self.array)
    probs = p.array if hasattr(p, "array") else xp.asarray(float(p))
    if probs.size and (bool((probs < 0).any()) or bool((probs > 1).any())):
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill(self, _uniform(_gen(generator, xp), self.shape) < probs, "bernoulli_()")


@tensor_method
def random_(self, *args, generator=None, **kwargs):
    """``random_(to)``: integers in [0, to); ``random_(from, to)``: in [from, to);
    ``random_()``: in [0, 2**mantissa] for floats (exact integers), [0, max] for ints."""
    names = ["from", "to"]
    vals = dict(zip(names, args))
    vals.update({k: v for k, v in kwargs.items() if k in names})
    unknown = set(kwargs) - set(names)
    if unknown or len(args) > 2:
        raise TypeError(f"random_(): unexpected arguments {sorted(unknown) or args}")
    if "to" not in vals and "from" in vals and len(args) == 1:
        vals = {"from": 0, "to": vals["from"]}
    low = int(vals.get("from", 0))
    high = vals.get("to")
    dt = self.dtype
    if high is None:
        if dt.kind == "f":
            high = (1 << (np.finfo(dt).nmant + 1)) + 1
        elif dt.kind == "b":
            high = 2
        else:
            high = int(np.iinfo(dt).max) + 1
    high = int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    xp = array_module(self.array)
    return _fill(self, _gen(generator, xp).integers(low, high, self.shape, dtype=np.int64)
                 if high <= (1 << 63) else _gen(generator, xp).integers(low, high, self.shape), "random_()")


def _check_float(self, name):
    if self.dtype.kind != "f":
        raise RuntimeError(f"{name} expects a floating-point tensor, received dtype {self.dtype}")


@tensor_method
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate ``lambd``: -log(1 - U) / lambd."""
    _check_float(self, "exponential_()")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    xp = array_module(self.array)
    return _fill(self, -xp.log1p(-_uniform(_gen(generator, xp), self.shape)) / lambd, "exponential_()")


@tensor_method
def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (>= 1):
    ceil(log(1 - U) / log(1 - p))."""
    if not 0 < p <= 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1], but got p={p}")
    xp = array_module(self.array)
    u = 1.0 - _uniform(_gen(generator, xp), self.shape)            # (0, 1]
    k = xp.ceil(xp.log(u) / math.log1p(-p)) if p < 1 else xp.ones(self.shape)
    return _fill(self, xp.maximum(k, 1), "geometric_()")


@tensor_method
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy samples: median + sigma * tan(pi (U - 1/2))."""
    _check_float(self, "cauchy_()")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    xp = array_module(self.array)
    return _fill(self, median + sigma * xp.tan(math.pi * (_uniform(_gen(generator, xp), self.shape) - 0.5)),
                 "cauchy_()")


@tensor_method
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(mean, std**2)) samples."""
    _check_float(self, "log_normal_()")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    xp = array_module(self.array)
    return _fill(self, xp.exp(mean + std * _gen(generator, xp).standard_normal(self.shape)), "log_normal_()")
