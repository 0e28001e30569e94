"""The kernel seam (neuronet._kernels): registration, selection, forcing, and every
op run with every kernel the seam can pick, against its portable implementation."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import _kernels
from neuronet.nn import functional as F
from neuronet.nn.functional import _im2col

from conv_reference import conv2d_reference


def test_select_takes_the_first_eligible_kernel_and_force_overrides_it():
    op = "_test_op"
    try:
        _kernels.register(op, "portable")(lambda: "portable")
        _kernels.register(op, "small-only", needs="numpy", priority=5,
                          when=lambda size: size < 10)(lambda: "small")
        assert _kernels.names(op) == ["small-only", "portable"]
        a = np.zeros(3)
        assert _kernels.select(op, a, size=3)() == "small" and _kernels.last(op) == "small-only"
        assert _kernels.select(op, a, size=30)() == "portable"
        with _kernels.force(op, "portable"):
            assert _kernels.select(op, a, size=3)() == "portable"
        with _kernels.force(op, "small-only"):
            with pytest.raises(RuntimeError, match="'small-only' was forced for '_test_op' but cannot"):
                _kernels.select(op, a, size=30)
        assert _kernels.select(op, a, size=3)() == "small"          # the force is gone
        with pytest.raises(KeyError, match="has no kernel 'nope'"):
            with _kernels.force(op, "nope"):
                pass
    finally:
        _kernels._registry.pop(op, None)
        _kernels._last.pop(op, None)
    with pytest.raises(KeyError, match="no kernel registered for op '_test_op'"):
        _kernels.select(op)
    with pytest.raises(ValueError, match="needs must be one of"):
        _kernels.register(op, "x", needs="gpu")


def test_numba_kernels_take_float_numpy_arrays_only_and_can_be_switched_off():
    if _kernels.numba_module() is None:
        pytest.skip("numba not installed")
    x = np.zeros((2, 4, 4), np.float32)
    _kernels.select("maxpool2x2", x)
    assert _kernels.last("maxpool2x2") == "numba"
    with pytest.raises(RuntimeError, match="no kernel of 'maxpool2x2' takes this call"):
        _kernels.select("maxpool2x2", x.astype(np.int32))
    prev = _kernels.set_enabled(False)
    try:
        assert not _kernels.enabled()
        assert _kernels.select("max_pool2d", x, tiled=True, kernel=(2, 2), return_indices=False) \
            is not None and _kernels.last("max_pool2d") == "numpy-tiled"
    finally:
        _kernels.set_enabled(prev)


def test_every_op_has_a_portable_kernel_first_registered_last_tried():
    """Each op keeps one implementation that takes any array module and every call, so a
    kernel choice can only change the speed; it is the last one tried."""
    for op in _kernels.ops():
        if op.startswith("_test"):
            continue
        last = _kernels._registry[op][-1]
        if op in ("maxpool2x2", "maxpool2x2_backward"):
            continue        # compiled-only sub-kernels of max_pool2d's "numba-2x2"
        assert last.needs is None and last.when is None, op


# ------------------------------------------------ every op x every kernel, forced
def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _im2col_case():
    x = _rand(3, 2, 7, 6)
    return lambda: _im2col.im2col(x, (3, 2), (1, 1), (1, 1), (5, 5))


def _col2im_case():
    c = _rand(3, 3, 2, 2, 5, 5)
    return lambda: _im2col.col2im(c, (7, 6), (1, 1), (1, 1))


def _im2col_nchw_case():
    x = _rand(4, 3, 7, 6)
    return lambda: _im2col.im2col_nchw(x, 1, 3, (3, 3), (2, 1), (1, 1, 0, 2), (1, 1), (4, 6))


def _col2im_nchw_case():
    c = _rand(3, 3, 3, 2, 4, 6)
    return lambda: _im2col.col2im_nchw(c, 1, (2, 1), (1, 1, 0, 2), (1, 1), np.zeros((4, 3, 7, 6)))


def _cm_to_nchw_case():
    r, b = _rand(5, 2, 9), _rand(5)
    return lambda: _im2col.cm_to_nchw(r, 1, b, np.zeros((4, 5, 9)))


def _nchw_to_cm_case():
    g = _rand(4, 5, 9)
    return lambda: _im2col.nchw_to_cm(g, 1, np.empty((5, 2, 9)))


def _pool_case():
    x = nt.tensor(_rand(2, 3, 6, 8).astype(np.float32), requires_grad=True)

    def run():
        x.grad = None
        out = F.max_pool2d(x, 2)
        out.backward(nt.ones_like(out))
        return out.numpy(), x.grad.numpy()
    return run


def _conv_case():
    y, w = _rand(3, 4, 7, 6), _rand(5, 4, 3, 3)

    def run():
        yt, wt = nt.tensor(y, requires_grad=True), nt.tensor(w, requires_grad=True)
        out = F.conv2d(yt, wt, padding=1)
        out.backward(nt.ones_like(out))
        np.testing.assert_allclose(out.numpy(), conv2d_reference(y, w, padding=1), rtol=1e-10,
                                   atol=1e-10)
        return out.numpy(), yt.grad.numpy(), wt.grad.numpy()
    return run


# op -> (case, the ops whose kernels the case exercises through it)
CASES = {
    "im2col": _im2col_case, "col2im": _col2im_case, "im2col_nchw": _im2col_nchw_case,
    "col2im_nchw": _col2im_nchw_case, "cm_to_nchw": _cm_to_nchw_case,
    "nchw_to_cm": _nchw_to_cm_case, "max_pool2d": _pool_case, "conv2d": _conv_case,
}
# Sub-kernels reached only through another op's kernel (forced there).
REACHED_THROUGH = {"maxpool2x2": ("max_pool2d", "numba-2x2"),
                   "maxpool2x2_backward": ("max_pool2d", "numba-2x2")}


def test_every_registered_op_is_covered_here():
    """A new kernel cannot hide behind a heuristic: its op must be in CASES."""
    missing = [op for op in _kernels.ops() if op not in CASES and op not in REACHED_THROUGH
               and not op.startswith("_test")]
    assert not missing, f"add a forced-kernel case for {missing}"


def _results_equal(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", sorted(CASES))
def test_every_kernel_forced_gives_the_portable_kernels_result(op):
    if _kernels.numba_module() is None and any(k.needs == "numba" for k in _kernels._registry[op]):
        pytest.skip("numba not installed")
    run = CASES[op]()
    portable = _kernels._registry[op][-1].name
    with _kernels.force(op, portable):
        want = run()
    for name in _kernels.names(op):
        with _kernels.force(op, name):
            try:
                got = run()
            except RuntimeError as e:
                if "cannot take this call" in str(e):
                    continue
                raise
        assert _kernels.last(op) == name
        _results_equal(got, want)


_PIN_PROBE = """
import os
from neuronet import _kernels
_kernels.numba_module()
pinned = _kernels._state.get("pinned")
print(repr(pinned if not isinstance(pinned, list) else
           [(cpu, sorted(os.sched_getaffinity(tid))) for tid, cpu in pinned]))
print(sorted(os.sched_getaffinity(0)))
"""


@pytest.mark.parametrize("opt_out", [False, True])
def test_numba_workers_are_pinned_one_per_cpu_unless_opted_out(opt_out):
    import ast
    import os
    import subprocess
    import sys
    if _kernels.numba_module() is None or not hasattr(os, "sched_getaffinity"):
        pytest.skip("numba or the affinity API missing")
    cpus = sorted(os.sched_getaffinity(0))
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    env.pop("NUMBA_THREADING_LAYER", None)
    if opt_out:
        env["NEURONET_PIN_THREADS"] = "0"
    out = subprocess.run([sys.executable, "-c", _PIN_PROBE], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    pinned, main_cpus = ast.literal_eval(out[0]), ast.literal_eval(out[1])
    assert main_cpus == cpus                       # the main thread is never pinned
    if opt_out:
        assert pinned is None
    elif len(cpus) < 2:
        assert pinned == []
    elif isinstance(pinned, str):
        pytest.skip(pinned)                        # e.g. a sandbox that refuses affinity
    else:
        assert len(pinned) == 2 and [aff for _, aff in pinned] == [[cpu] for cpu, _ in pinned]
        assert len({cpu for cpu, _ in pinned}) == 2


@pytest.mark.parametrize("case,want", [("fresh", "4"), ("user-set", "9"), ("numpy-first", None)])
def test_openblas_spin_is_shortened_only_before_numpy_and_only_if_unset(case, want):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if case == "user-set":
        env["OPENBLAS_THREAD_TIMEOUT"] = "9"
    code = ("import numpy\n" if case == "numpy-first" else "") + \
        "import os, neuronet\nprint(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    assert out == str(want)
