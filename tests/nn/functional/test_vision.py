"""affine_grid and grid_sample: a per-point naive sampler, gradcheck, PyTorch."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def naive_grid_sample(x, grid, align_corners, border=False):
    N, C, H, W = x.shape
    _, Ho, Wo, _ = grid.shape
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                gx, gy = grid[n, i, j]
                if align_corners:
                    ix, iy = (gx + 1) / 2 * (W - 1), (gy + 1) / 2 * (H - 1)
                else:
                    ix, iy = ((gx + 1) * W - 1) / 2, ((gy + 1) * H - 1) / 2
                if border:
                    ix, iy = min(max(ix, 0), W - 1), min(max(iy, 0), H - 1)
                x0, y0 = math.floor(ix), math.floor(iy)
                for yy, wy in ((y0, 1 - (iy - y0)), (y0 + 1, iy - y0)):
                    for xx, wx in ((x0, 1 - (ix - x0)), (x0 + 1, ix - x0)):
                        if 0 <= yy < H and 0 <= xx < W:
                            out[n, :, i, j] += wy * wx * x[n, :, yy, xx]
    return out


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
def test_grid_sample_naive_gradcheck_torch(align_corners, padding_mode):
    x = randn(2, 2, 4, 5, seed=1)
    grid = np.random.default_rng(2).uniform(-1.2, 1.2, (2, 3, 4, 2))
    out = F.grid_sample(nt.tensor(x), nt.tensor(grid), "bilinear", padding_mode, align_corners)
    np.testing.assert_allclose(out.numpy(), naive_grid_sample(x, grid, align_corners, padding_mode == "border"),
                               atol=1e-12)
    check_grad(lambda a, g: F.grid_sample(a, g, "bilinear", padding_mode, align_corners), x, grid)
    compare_with_torch(lambda a, g: F.grid_sample(a, g, "bilinear", padding_mode, align_corners),
                       lambda a, g: TF.grid_sample(a, g, "bilinear", padding_mode, align_corners), x, grid,
                       atol=1e-10)


@requires_torch
def test_grid_sample_nearest_matches_torch():
    x = randn(1, 3, 5, 5, seed=3)
    grid = np.random.default_rng(4).uniform(-1.1, 1.1, (1, 4, 4, 2))
    compare_with_torch(lambda a, g: F.grid_sample(a, g, "nearest", align_corners=False),
                       lambda a, g: TF.grid_sample(a, g, "nearest", align_corners=False), x, grid)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(nt.tensor(x), nt.tensor(grid))


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_identity_naive_gradcheck_torch(align_corners):
    eye = np.array([[[1.0, 0, 0], [0, 1.0, 0]]])
    grid = F.affine_grid(nt.tensor(eye), (1, 1, 3, 4), align_corners=align_corners).numpy()
    xs = [(2 * j + 1) / 4 - 1 if not align_corners else -1 + 2 * j / 3 for j in range(4)]
    ys = [(2 * i + 1) / 3 - 1 if not align_corners else -1 + i for i in range(3)]
    np.testing.assert_allclose(grid[0, :, :, 0], np.tile(xs, (3, 1)), atol=1e-12)
    np.testing.assert_allclose(grid[0, :, :, 1], np.tile(np.array(ys)[:, None], (1, 4)), atol=1e-12)
    theta = randn(2, 2, 3, seed=5)
    check_grad(lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=align_corners), theta)
    compare_with_torch(lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=align_corners),
                       lambda t: TF.affine_grid(t, (2, 1, 3, 4), align_corners=align_corners), theta, atol=1e-12)


@requires_torch
def test_spatial_transformer_end_to_end_matches_torch():
    x, theta = randn(2, 1, 6, 6, seed=6), randn(2, 2, 3, seed=7) * 0.5
    compare_with_torch(lambda a, t: F.grid_sample(a, F.affine_grid(t, (2, 1, 6, 6), align_corners=False),
                                                  align_corners=False),
                       lambda a, t: TF.grid_sample(a, TF.affine_grid(t, (2, 1, 6, 6), align_corners=False),
                                                   align_corners=False), x, theta, atol=1e-10)


def test_grid_sample_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(nt.randn(1, 1, 2, 2), nt.zeros(1, 1, 1, 2), padding_mode="foo")
    with pytest.raises(RuntimeError, match="grid"):
        F.grid_sample(nt.randn(1, 1, 2, 2), nt.zeros(1, 1, 2))
    with pytest.raises(ValueError, match="Nx2x3"):
        F.affine_grid(nt.randn(1, 3, 3), (1, 1, 2, 2), align_corners=False)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_grid_pixel_centres_are_pytorchs_to_the_bit(dtype):
    """An identity transform samples exactly at pixel centres, where bilinear sampling's
    gradient with respect to the grid jumps: a centre one ulp off flips it. So the
    centres must be rounded as PyTorch rounds them, for every size."""
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    for align in (False, True):
        for h, w in [(28, 28), (7, 13), (224, 3), (1, 5)]:
            th = np.array([[[1, 0, 0], [0, 1, 0]]], dtype=dtype)
            ours = F.affine_grid(nt.tensor(th), (1, 1, h, w), align_corners=align).numpy()
            ref = torch.nn.functional.affine_grid(torch.tensor(th, dtype=tdt), (1, 1, h, w),
                                                  align_corners=align).numpy()
            np.testing.assert_array_equal(ours, ref, err_msg=f"{h}x{w} align_corners={align}")


@requires_torch
def test_identity_stn_theta_gradient_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    th = np.array([[[1, 0, 0], [0, 1, 0]]] * 2, np.float32)
    w = np.cos(np.arange(2 * 28 * 28)).reshape(2, 1, 28, 28).astype(np.float32)
    grads = []
    for lib in (nt, torch):
        t = lib.tensor(th, requires_grad=True)
        grid = lib.nn.functional.affine_grid(t, (2, 1, 28, 28), align_corners=False)
        out = lib.nn.functional.grid_sample(lib.tensor(x), grid, align_corners=False)
        (out * lib.tensor(w)).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-3)
