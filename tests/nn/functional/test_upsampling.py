"""interpolate (every mode), pixel_shuffle / pixel_unshuffle: naive per-pixel
formulas, gradcheck, PyTorch."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


# ---------------------------------------------------------------- naive references, one pixel at a time
def naive_bilinear(x, Ho, Wo, align_corners):
    n, c, H, W = x.shape
    out = np.zeros((n, c, Ho, Wo))

    def src(o, L_in, L_out):
        if align_corners:
            return o * (L_in - 1) / (L_out - 1) if L_out > 1 else 0.0
        return max((o + 0.5) * L_in / L_out - 0.5, 0.0)
    for i in range(Ho):
        for j in range(Wo):
            y, x_ = src(i, H, Ho), src(j, W, Wo)
            y0, x0 = min(int(math.floor(y)), H - 1), min(int(math.floor(x_)), W - 1)
            y1, x1 = min(y0 + 1, H - 1), min(x0 + 1, W - 1)
            ty, tx = y - y0, x_ - x0
            out[:, :, i, j] = ((1 - ty) * (1 - tx) * x[:, :, y0, x0] + (1 - ty) * tx * x[:, :, y0, x1]
                               + ty * (1 - tx) * x[:, :, y1, x0] + ty * tx * x[:, :, y1, x1])
    return out


def naive_nearest(x, Ho, Wo):
    H, W = x.shape[-2:]
    out = np.zeros(x.shape[:2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, min(int(i * H / Ho), H - 1), min(int(j * W / Wo), W - 1)]
    return out


@pytest.mark.parametrize("Ho, Wo", [(7, 9), (3, 2), (10, 10)])
def test_nearest_and_bilinear_match_naive(Ho, Wo):
    x = randn(2, 3, 5, 5, seed=1)
    np.testing.assert_array_equal(F.interpolate(nt.tensor(x), size=(Ho, Wo)).numpy(), naive_nearest(x, Ho, Wo))
    for ac in (False, True):
        np.testing.assert_allclose(
            F.interpolate(nt.tensor(x), size=(Ho, Wo), mode="bilinear", align_corners=ac).numpy(),
            naive_bilinear(x, Ho, Wo, ac), atol=1e-12)


CASES = [
    ((2, 3, 5, 6), dict(size=(9, 4))),
    ((2, 3, 5, 6), dict(scale_factor=2)),
    ((2, 3, 5, 6), dict(scale_factor=1.7)),
    ((2, 3, 5, 6), dict(scale_factor=(0.5, 2.5))),
    ((2, 3, 5, 6), dict(scale_factor=1.7, recompute_scale_factor=True)),
]
MODES_4D = [("nearest", None), ("nearest-exact", None), ("area", None), ("bilinear", False),
            ("bilinear", True), ("bicubic", False), ("bicubic", True)]


@requires_torch
@pytest.mark.parametrize("mode, align", MODES_4D)
@pytest.mark.parametrize("shape, kw", CASES)
def test_interpolate_4d_matches_torch_and_gradcheck(mode, align, shape, kw):
    x = randn(*shape, seed=2)
    compare_with_torch(lambda t: F.interpolate(t, mode=mode, align_corners=align, **kw),
                       lambda t: TF.interpolate(t, mode=mode, align_corners=align, **kw), x, atol=1e-10)
    check_grad(lambda t: F.interpolate(t, mode=mode, align_corners=align, **kw), randn(1, 2, 4, 3, seed=3))


@requires_torch
@pytest.mark.parametrize("mode, align, shape", [
    ("linear", False, (2, 3, 7)), ("linear", True, (2, 3, 7)), ("nearest", None, (2, 3, 7)),
    ("area", None, (2, 3, 7)), ("trilinear", False, (1, 2, 3, 4, 5)), ("trilinear", True, (1, 2, 3, 4, 5)),
    ("nearest", None, (1, 2, 3, 4, 5))])
def test_interpolate_3d_and_5d_match_torch(mode, align, shape):
    x = randn(*shape, seed=4)
    for kw in (dict(scale_factor=2), dict(size=tuple(s + 2 for s in shape[2:]))):
        compare_with_torch(lambda t: F.interpolate(t, mode=mode, align_corners=align, **kw),
                           lambda t: TF.interpolate(t, mode=mode, align_corners=align, **kw), x, atol=1e-10)


def test_interpolate_float32_stays_float32():
    x = nt.randn(1, 2, 3, 3)
    assert F.interpolate(x, scale_factor=2, mode="bilinear").dtype == nt.float32


def test_interpolate_argument_errors():
    x = nt.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(NotImplementedError, match="4D"):
        F.interpolate(nt.randn(1, 1, 4), size=3, mode="bilinear")
    with pytest.raises(ValueError, match="spatial dimensions"):
        F.interpolate(x, size=(2, 3, 4))


# ---------------------------------------------------------------- pixel shuffle
def naive_pixel_shuffle(x, r):
    n, c, h, w = x.shape
    out = np.zeros((n, c // (r * r), h * r, w * r))
    for ch in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                out[:, ch, i::r, j::r] = x[:, ch * r * r + i * r + j]
    return out


@pytest.mark.parametrize("r", [1, 2, 3])
def test_pixel_shuffle_naive_roundtrip_gradcheck_torch(r):
    x = randn(2, 2 * r * r, 3, 4, seed=5)
    out = F.pixel_shuffle(nt.tensor(x), r)
    np.testing.assert_array_equal(out.numpy(), naive_pixel_shuffle(x, r))
    np.testing.assert_array_equal(F.pixel_unshuffle(out, r).numpy(), x)
    check_grad(lambda t: F.pixel_shuffle(t, r), x)
    check_grad(lambda t: F.pixel_unshuffle(t, r), randn(1, 2, 3 * r, 2 * r, seed=6))
    if torch is not None:
        compare_with_torch(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), x)
        y = randn(3, 6 * r, 2 * r, seed=7)       # unbatched
        compare_with_torch(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r), y)


def test_pixel_shuffle_errors():
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_shuffle(nt.randn(1, 3, 2, 2), 2)
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_unshuffle(nt.randn(1, 1, 3, 4), 2)
