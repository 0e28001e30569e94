"""L-BFGS (Liu & Nocedal 1989), with an optional strong-Wolfe line search
(Nocedal & Wright, *Numerical Optimization*, Algorithms 3.5/3.6) -- the
algorithm, stopping rules and state of PyTorch's ``torch.optim.LBFGS``.

All parameters are treated as one flat vector ``x`` (their concatenation in
order); the gradient ``g`` likewise. The method keeps the last ``history_size``
pairs ``s_k = x_{k+1} - x_k`` and ``y_k = g_{k+1} - g_k`` and turns them into
an approximation of the inverse Hessian applied to ``-g`` by the two-loop
recursion (no matrix is ever formed)::

    q <- -g
    for i = newest .. oldest:   a_i <- rho_i s_i.q ;  q <- q - a_i y_i     (rho_i = 1 / y_i.s_i)
    r <- H0 q                                   (H0 = s.y / y.y of the newest pair)
    for i = oldest .. newest:   b_i <- rho_i y_i.r ;  r <- r + (a_i - b_i) s_i
    d <- r                                      (the search direction)

A pair is stored only when ``y.s > 1e-10`` (curvature condition), so the
approximation stays positive definite. The step length is ``lr`` (the first
iteration ever: ``min(1, 1/|g|_1) lr``), or is found by the strong-Wolfe line
search (sufficient decrease ``f(x+td) <= f + c1 t g.d`` and curvature
``|g(x+td).d| <= c2 |g.d|``, c1 = 1e-4, c2 = 0.9), bracketing then zooming with
cubic interpolation.

Scalars (``g.d``, ``y.s``, step sizes) are computed in the parameters' dtype
from 0-d arrays, as PyTorch's 0-d tensors, so float32 trajectories round as
PyTorch's do.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _num(v):
    """A state scalar as a plain Python number (exact: float32 -> float is lossless)."""
    if v is None or isinstance(v, (int, float)):
        return v
    return float(v)


def _axpy(y, alpha, x):
    """y <- y + alpha * x in place, rounded once (as the fused multiply-add of
    PyTorch's ``add_(x, alpha=...)``): float32 goes through float64, where the
    product is exact, so trajectories keep matching PyTorch's over many iterations."""
    xp = backend.array_module(y)
    if y.dtype == xp.float32:
        a = float(np.float32(float(alpha)))   # the float32 multiplier PyTorch's kernel uses
        y[...] = y.astype(xp.float64) + a * x.astype(xp.float64)
    else:
        y += alpha * x


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2,
    clipped to ``bounds`` (default: the interval between x1 and x2); the midpoint
    when the cubic has no minimizer (Nocedal & Wright eq. 3.59)."""
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = backend.array_module(d2_square).sqrt(d2_square) if hasattr(d2_square, "dtype") \
            else math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search along ``d`` from ``x`` (loss ``f``, gradient ``g``, slope ``gtd``)
    for a step ``t`` meeting the strong Wolfe conditions.

    ``obj_func(x, t, d)`` returns the loss and flat gradient at ``x + t d``.
    Returns ``(f_new, g_new, t, number of evaluations)``. First a bracket is
    grown (each trial extrapolated by cubic interpolation within
    ``[t + 0.01 (t - t_prev), 10 t]``) until a trial fails sufficient decrease,
    stops decreasing, or has a non-negative slope; then the bracket is shrunk
    ("zoom") until a point satisfies both conditions, at most ``max_ls``
    evaluations in all.
    """
    xp = backend.array_module(d)
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # still descending: extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_old = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = t_old, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:   # out of evaluations while growing: bracket [0, t]
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket around a point satisfying both conditions
    insuf_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # A trial too close to an end of the bracket makes little progress; the
        # second time in a row (or when it is on the end) move it 10% inside.
        b_max, b_min = max(bracket), min(bracket)
        eps = 0.1 * (b_max - b_min)
        if min(b_max - t, t - b_min) < eps:
            if insuf_progress or t >= b_max or t <= b_min:
                t = b_max - eps if abs(t - b_max) < abs(t - b_min) else b_min + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            # no sufficient decrease, or not below the low end: t becomes the high end
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # the minimum lies on the other side of t: the old low becomes the high end
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new

    return bracket_f[low], bracket_g[low], bracket[low], ls_func_evals


class LBFGS(Optimizer):
    r"""L-BFGS: a quasi-Newton method for smooth, deterministic objectives
    (PyTorch's ``torch.optim.LBFGS``; see the module docstring for the math).

    Each ``step(closure)`` runs up to ``max_iter`` iterations, calling
    ``closure`` (which must zero the gradients, recompute the loss, call
    ``backward()`` and return the loss) once or more per iteration::

        opt = neuronet.optim.LBFGS([x], lr=1, line_search_fn="strong_wolfe")
        def closure():
            opt.zero_grad()
            loss = objective(x)
            loss.backward()
            return loss
        for _ in range(10):
            opt.step(closure)

    A step stops early when ``max(|g|) <= tolerance_grad``, when the slope
    ``g.d > -tolerance_change``, after ``max_eval`` closure calls, when the
    update ``max(|t d|)`` or the loss change falls below ``tolerance_change``.

    Args:
        params: the tensors to optimize -- one parameter group only.
        lr (float): step length (scales the line search's first trial) (default 1).
        max_iter (int): iterations per ``step`` (default 20).
        max_eval (int): closure calls per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad (float): stop when the largest gradient entry is below it (1e-7).
        tolerance_change (float): stop when the loss or the parameters change less (1e-9).
        history_size (int): number of ``(s, y)`` pairs kept (default 100).
        line_search_fn (str or None): ``"strong_wolfe"`` or None (fixed step ``lr``).

    Memory: ``2 * history_size + 3`` vectors the size of all parameters together.

    State (on the first parameter, as PyTorch's): ``func_evals``, ``n_iter``
    (totals over all steps), ``d`` (last direction), ``t`` (last step length),
    ``old_dirs`` (the ``y``), ``old_stps`` (the ``s``), ``ro`` (``1/y.s``),
    ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``; vectors are 1-D
    tensors, scalars Python floats.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if isinstance(lr, Tensor):
            if lr.numel() != 1:
                raise ValueError(f"LBFGS: Tensor lr must be 1-element, received shape {lr.shape}")
            lr = lr.item()
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite=False)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): "
                             f"received {len(self.param_groups)} groups; pass one list of tensors")
        self._params = self.param_groups[0]["params"]

    def _validate_group(self, group):
        def is_num(v):
            return isinstance(v, numbers.Real) and not isinstance(v, bool)

        lr = group["lr"]
        if not is_num(lr) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LBFGS: Invalid learning rate: {lr!r} (expected a finite number >= 0)")
        for key in ("max_iter", "max_eval"):      # counts; PyTorch runs with floats too
            v = group[key]
            if not is_num(v) or not v > 0:
                raise ValueError(f"LBFGS: {key} must be a positive number, received {v!r}")
        v = group["history_size"]
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
            raise ValueError(f"LBFGS: history_size must be a positive int, received {v!r}")
        for key in ("tolerance_grad", "tolerance_change"):
            if not is_num(group[key]) or group[key] < 0:
                raise ValueError(f"LBFGS: {key} must be a number >= 0, received {group[key]!r}")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError("LBFGS: only 'strong_wolfe' is supported as line_search_fn (or None), "
                             f"received {group['line_search_fn']!r}")

    # ------------------------------------------------------------ flat views
    def _gather_flat_grad(self):
        """All gradients as one 1-D array (zeros for a parameter without one)."""
        xp = backend.array_module(self._params[0].array)
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(xp.zeros(p.array.size, dtype=p.array.dtype))
            else:
                parts.append(p.grad.array.reshape(-1))
        return xp.concatenate(parts)

    def _add_grad(self, step_size, update):
        """x <- x + step_size * update, in place on every parameter."""
        offset = 0
        for p in self._params:
            n = p.array.size
            _axpy(p.array, step_size, update[offset:offset + n].reshape(p.array.shape))
            p._vc[0] += 1
            offset += n

    def _clone_param(self):
        return [p.array.copy() for p in self._params]

    def _set_param(self, arrays):
        for p, a in zip(self._params, arrays):
            p.array[...] = a
            p._vc[0] += 1

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are restored to ``x``."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------ step
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss from the first
        call of ``closure`` (the loss before this step's updates)."""
        if closure is None:
            raise TypeError("LBFGS.step() requires a closure: a function that clears the "
                            "gradients, recomputes the loss, calls loss.backward() and returns "
                            "the loss (L-BFGS evaluates it several times per step)")
        if not callable(closure):
            raise TypeError(f"LBFGS.step(): closure must be callable, received "
                            f"{type(closure).__name__}")
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): "
                             f"the optimizer now has {len(self.param_groups)} groups")
        group = self.param_groups[0]
        self._validate_group(group)
        self._opt_called = True

        def evaluate():
            with enable_grad():
                return closure()

        with no_grad():
            return self._step(evaluate, group)

    def _step(self, closure, group):
        lr = group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # All state lives on the first parameter (as PyTorch's, so checkpoints match).
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        xp = backend.array_module(flat_grad)
        opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:
            return orig_loss

        def arr(v):
            return v.array if isinstance(v, Tensor) else v

        d = arr(state.get("d"))
        t = state.get("t")
        old_dirs = [arr(v) for v in state.get("old_dirs") or []]
        old_stps = [arr(v) for v in state.get("old_stps") or []]
        ro = list(state.get("ro") or [])
        H_diag = state.get("H_diag")
        prev_flat_grad = arr(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        if prev_flat_grad is not None:
            prev_flat_grad = prev_flat_grad.copy()   # never write into the caller's arrays

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:   # curvature condition: keep the pair
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                if "al" not in state or len(state["al"]) < history_size:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    _axpy(q, -al[i], old_dirs[i])
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    _axpy(r, al[i] - be_i, old_stps[i])

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # ---- step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:   # not a descent direction (any more)
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # the last iteration does not re-evaluate (the next step's first call will)
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping rules
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:   # parameters stopped moving
                break
            if abs(loss - prev_loss) < tolerance_change:  # loss stopped changing
                break

        state["d"] = Tensor._wrap(d)
        state["t"] = _num(t)
        state["old_dirs"] = [Tensor._wrap(v) for v in old_dirs]
        state["old_stps"] = [Tensor._wrap(v) for v in old_stps]
        state["ro"] = [_num(v) for v in ro]
        state["H_diag"] = _num(H_diag)
        state["prev_flat_grad"] = Tensor._wrap(prev_flat_grad)
        state["prev_loss"] = _num(prev_loss)
        if "al" in state:
            state["al"] = [_num(v) for v in state["al"]]
        return orig_loss

    # ------------------------------------------------------------ checkpoints
    @staticmethod
    def _cast_state(p, name, value, index, who):
        """LBFGS state: counters, scalars, flat 1-D vectors (sized like all the
        parameters together) and lists of them; vectors go to ``p``'s device and dtype."""
        if isinstance(value, (list, tuple)):
            return [LBFGS._cast_state(p, name, v, index, who) for v in value]
        if isinstance(value, Tensor):
            value = value.array
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            if value.ndim == 0:
                return value.item()
            if value.ndim != 1:
                raise ValueError(f"{who}: state '{name}' holds an array of shape "
                                 f"{tuple(value.shape)}; LBFGS keeps flat 1-D vectors")
            arr = backend.to_device(value, p.device)
            return Tensor._wrap(arr.astype(p.array.dtype, copy=True))
        return value

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._params = self.param_groups[0]["params"]
        n = sum(p.array.size for p in self._params)
        for name in ("d", "prev_flat_grad"):
            for s in self.state.values():
                v = s.get(name)
                if v is not None and v.shape[0] != n:
                    raise ValueError(f"LBFGS.load_state_dict: state '{name}' has {v.shape[0]} "
                                     f"entries but the parameters have {n} in all")
