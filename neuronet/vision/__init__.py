"""torchvision's API on neuronet: ``datasets``, ``transforms`` (and
``transforms.functional``), ``models``.

``utils`` has ``make_grid`` and ``save_image``. A tutorial's data lines change
only in their import::

    from neuronet.vision import datasets, transforms      # was: from torchvision import ...

Sits above :mod:`neuronet.data` (the datasets and transforms it builds on) and
:mod:`neuronet.models` (the constructors ``models`` re-exports).
"""
from . import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils", "models"]


def __getattr__(name):
    # models loads the model zoo (and nn): only when asked for
    if name == "models":
        import importlib
        return importlib.import_module(".models", __name__)
    raise AttributeError(f"module 'neuronet.vision' has no attribute {name!r}")
