"""The compiled 2x2/2 max-pooling loops (neuronet/_kernels/_numba_pool.py), called
directly, against naive loops written here: values, offsets, ties (the first
maximum wins), NaN (the last NaN wins), -inf windows, an infinite upstream
gradient on a dead unit (0, not NaN), odd sizes, float32 and float64, on the
serial path (small arrays) and on the parallel one (above ``_SERIAL_BELOW``).
"""
import numpy as np
import pytest

numba = pytest.importorskip("numba")
from neuronet._kernels import _numba_pool as K  # noqa: E402

BITS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def naive_pool(x):
    """(out, arg) by the scan rule: row-major, strict ``>``, a NaN replaces anything."""
    P, H, W = x.shape
    out = np.empty((P, H // 2, W // 2), x.dtype)
    arg = np.empty(out.shape, np.uint8)
    for p in range(P):
        for i in range(H // 2):
            for j in range(W // 2):
                m, o = x[p, 2 * i, 2 * j], 0
                for k in (1, 2, 3):
                    v = x[p, 2 * i + k // 2, 2 * j + k % 2]
                    if v > m or np.isnan(v):
                        m, o = v, k
                out[p, i, j], arg[p, i, j] = m, o
    return out, arg


def naive_scatter(g, arg, shape):
    gx = np.zeros(shape, g.dtype)
    P, ho, wo = g.shape
    for p in range(P):
        for i in range(ho):
            for j in range(wo):
                o = arg[p, i, j]
                if o < 4:
                    gx[p, 2 * i + o // 2, 2 * j + o % 2] = g[p, i, j]
    return gx


def nasty(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x[:, 0, :4] = 1.0                                      # ties
    if shape[1] >= 4 and shape[2] >= 3:
        x[0, 2, 2] = x[0, 3, 2] = np.nan                    # two NaNs in a window: the last wins
    x[1, 0, 1] = np.nan
    x[-1, :2, :2] = -np.inf                                 # an all -inf window
    return x


SHAPES = [(3, 6, 8), (2, 7, 9), (4, 2, 2),                  # serial path
          (96, 28, 28), (16 * 40, 11, 10)]                   # parallel path (odd H)


def _ids(shape):
    return "x".join(map(str, shape))


@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maxpool2x2_and_backward_match_naive(shape, dtype):
    x = nasty(shape, dtype, 1)
    out = np.empty((shape[0], shape[1] // 2, shape[2] // 2), dtype)
    arg = np.empty(out.shape, np.uint8)
    K.maxpool2x2(x, out, arg)
    ref, ref_arg = naive_pool(x)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(arg, ref_arg)
    g = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    g[0, 0, 0] = np.inf
    gx = np.full(shape, 7, dtype)                          # garbage: every element must be written
    K.maxpool2x2_backward(g.view(BITS[g.dtype]), arg, gx.view(BITS[g.dtype]))
    np.testing.assert_array_equal(gx, naive_scatter(g, arg, shape))


def test_parallel_and_serial_paths_agree_bit_for_bit():
    """The parallel driver's split of the planes among threads changes nothing."""
    shape = (6 * 256, 28, 28)
    assert np.prod(shape) >= K._SERIAL_BELOW
    x = nasty(shape, np.float32, 6)
    out, arg = np.empty((shape[0], 14, 14), np.float32), np.empty((shape[0], 14, 14), np.uint8)
    K._maxpool2x2_parallel(x, out, arg)
    out_s, arg_s = np.empty_like(out), np.empty_like(arg)
    K._maxpool_planes(x, out_s, arg_s, 0, shape[0])
    np.testing.assert_array_equal(out, out_s)
    np.testing.assert_array_equal(arg, arg_s)
    g = np.random.default_rng(7).standard_normal(out.shape).astype(np.float32)
    gx, gx_s = np.empty(shape, np.float32), np.empty(shape, np.float32)
    K._maxpool2x2_backward_parallel(g.view(np.uint32), arg, gx.view(np.uint32))
    K._maxpool_backward_planes(g.view(np.uint32), arg, gx_s.view(np.uint32), 0, shape[0])
    np.testing.assert_array_equal(gx, gx_s)


@pytest.mark.parametrize("threads", [1, 2])
def test_dispatch_on_thread_count(threads):
    """One numba thread: the serial loop; more: the parallel driver; same numbers."""
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("numba has fewer threads")
    shape = (96, 28, 28)
    x = nasty(shape, np.float32, 8)
    prev = numba.get_num_threads()
    try:
        numba.set_num_threads(threads)
        out, arg = np.empty((96, 14, 14), np.float32), np.empty((96, 14, 14), np.uint8)
        K.maxpool2x2(x, out, arg)
        g = np.random.default_rng(9).standard_normal(out.shape).astype(np.float32)
        gx = np.empty(shape, np.float32)
        K.maxpool2x2_backward(g.view(np.uint32), arg, gx.view(np.uint32))
    finally:
        numba.set_num_threads(prev)
    ref, ref_arg = naive_pool(x)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(arg, ref_arg)
    np.testing.assert_array_equal(gx, naive_scatter(g, ref_arg, shape))
