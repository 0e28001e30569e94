"""Define-by-run automatic differentiation: Functions, the backward walk,
grad modes and ``gradcheck``."""
from .function import Context, Node
from .custom_function import Function, FunctionCtx
from .graph import backward, grad
from . import function as function  # noqa: F401  (the array-level base of neuronet's own ops)
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck

__all__ = ["Context", "Function", "FunctionCtx", "Node", "backward", "grad", "enable_grad", "is_grad_enabled", "no_grad",
           "set_grad_enabled", "inference_mode", "gradcheck", "GradcheckError"]
