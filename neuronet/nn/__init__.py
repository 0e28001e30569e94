"""``neuronet.nn``: modules (layers with parameters), containers, losses,
initialization schemes and utilities -- PyTorch's names and state_dict keys."""
from . import functional  # noqa: F401
from .parameter import *  # noqa: F401,F403
from .modules import *  # noqa: F401,F403
from . import init, utils  # noqa: F401,E402
from . import parallel  # noqa: F401,E402
