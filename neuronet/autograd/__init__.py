"""Define-by-run automatic differentiation: Functions, the backward walk,
grad modes and ``gradcheck``."""
from .function import Context, Function, Node
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck

__all__ = ["Context", "Function", "Node", "enable_grad", "is_grad_enabled", "no_grad",
           "set_grad_enabled", "gradcheck", "GradcheckError"]
