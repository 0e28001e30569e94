"""The model registry: builders by name, and the config each model remembers.

Every builder decorated with :func:`register_model` is listed by
:func:`list_models` and built by :func:`get_model`. The model it returns
carries ``model.config = {"name": ..., "kwargs": {...}}`` with *every*
constructor argument (defaults filled in), so a checkpoint that stores the
config next to the state_dict can rebuild the exact architecture without the
user's code::

    model = get_model("resnet20", num_classes=10)
    model.config          # {'name': 'resnet20', 'kwargs': {'num_classes': 10, ...}}
    twin = get_model(model.config["name"], **model.config["kwargs"])
"""
import functools
import inspect
import numbers

__all__ = ["register_model", "get_model", "list_models"]

_MODELS = {}


def register_model(fn):
    """Register ``fn`` under its function name; the wrapped builder stamps
    ``model.config`` on the module it returns."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"register_model: a model named {name!r} is already registered")
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def builder(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{name}: {e}. Signature: {name}{signature}") from None
        bound.apply_defaults()
        model = fn(*bound.args, **bound.kwargs)
        # Only keyword form is stored: every builder argument has a name. The
        # config describes the architecture: where pretrained weights came from
        # (``weights``, ``progress``) is left out, so rebuilding from a
        # checkpoint never downloads -- its state_dict holds the weights.
        # A builder that resolves an argument left at None (GoogLeNet's
        # ``transform_input``) records the value it used in ``_resolved_kwargs``.
        kwargs = {k: v for k, v in bound.arguments.items() if k not in ("weights", "progress")}
        kwargs.update(model.__dict__.pop("_resolved_kwargs", {}))
        model.config = {"name": name, "kwargs": kwargs}
        return model

    _MODELS[name] = builder
    return builder


def list_models():
    """The names :func:`get_model` accepts, sorted."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Build the registered model ``name`` with the builder's ``kwargs``.

    >>> get_model("lenet5", num_classes=10).config["name"]
    'lenet5'
    """
    if not isinstance(name, str):
        raise TypeError(f"get_model: name must be a string, received {type(name).__name__}")
    key = name.lower()
    if key not in _MODELS:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(list_models())}")
    return _MODELS[key](**kwargs)


# ----------------------------------------------------------------------------- argument checks

def check_positive_int(model, arg, value):
    """``value`` must be an int >= 1 (bools refused): the error names the model."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{model}: {arg} must be a positive integer, received {arg}={value!r}")
    return int(value)


def check_probability(model, arg, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{model}: {arg} must be a probability in [0, 1), received {arg}={value!r}")
    return float(value)


def check_choice(model, arg, value, choices):
    if value not in choices:
        raise ValueError(f"{model}: {arg} must be one of {', '.join(map(repr, choices))}, received {arg}={value!r}")
    return value


def check_input(model, x, channels=None, min_size=None, multiple_of=None):
    """Validate a batch ``x: (N, C, H, W)`` at a model's entrance."""
    shape = tuple(x.shape)
    if len(shape) != 4:
        raise ValueError(f"{model}: expected a 4D input (N, C, H, W), received shape {shape}")
    _, c, h, w = shape
    if channels is not None and c != channels:
        raise ValueError(f"{model}: expected {channels} input channel(s), received {c} (input shape {shape})")
    if min_size is not None and (h < min_size or w < min_size):
        raise ValueError(f"{model}: input height and width must be at least {min_size}, received {h}x{w}")
    if multiple_of is not None and (h % multiple_of or w % multiple_of):
        raise ValueError(f"{model}: input height and width must be multiples of {multiple_of}, "
                         f"received {h}x{w}")
