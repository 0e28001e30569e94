"""Transforms: layouts and dtypes, determinism, geometry against np.rot90 /
hand-computed shifts / a naive sampling loop / PyTorch, masks following images."""
import time

import numpy as np
import pytest

import neuronet as nt
from neuronet.data import mnist_sample
from neuronet.data import transforms as T
from neuronet.data.transforms import _rgb_to_hsv, _hsv_to_rgb, _sample

from helpers import requires_torch, torch


def rand_img(h, w, c=None, seed=0, dtype=np.uint8):
    r = np.random.default_rng(seed)
    shape = (h, w) if c is None else (h, w, c)
    return r.integers(0, 256, shape).astype(dtype)


# ------------------------------------------------------------------ ToTensor / Normalize
def test_to_tensor_layouts_and_scaling():
    a = rand_img(5, 4)
    t = T.ToTensor()(a)
    assert isinstance(t, nt.Tensor) and t.shape == (1, 5, 4) and t.dtype == np.float32
    np.testing.assert_allclose(t.numpy()[0], a / 255.0, rtol=1e-6)
    b = rand_img(5, 4, 3)
    t = T.ToTensor()(b)
    assert t.shape == (3, 5, 4)
    np.testing.assert_allclose(t.numpy(), b.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    batch = T.ToTensor().apply_batch(np.stack([b, b]))
    assert batch.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(batch.numpy()[1], t.numpy())
    f = np.full((2, 2), 3.5, dtype=np.float32)
    assert T.ToTensor()(f).numpy().max() == 3.5                  # non-uint8 keeps its values
    with pytest.raises(TypeError, match="already a Tensor"):
        T.ToTensor()(t)


def test_to_tensor_pil():
    Image = pytest.importorskip("PIL.Image")
    a = rand_img(6, 7, 3)
    np.testing.assert_allclose(T.ToTensor()(Image.fromarray(a)).numpy(), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    # geometric transforms hand a PIL image back
    out = T.RandomHorizontalFlip(p=1.0)(Image.fromarray(a))
    np.testing.assert_array_equal(np.asarray(out), a[:, ::-1])


def test_normalize_values_and_errors():
    x = nt.tensor(np.random.default_rng(0).random((3, 4, 4)).astype(np.float32))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    ref = (x.numpy() - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6, atol=1e-6)
    batch = nt.stack([x, x])
    np.testing.assert_allclose(T.Normalize(mean, std).apply_batch(batch).numpy()[1], ref, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="3 values, the tensor has 1 channels"):
        T.Normalize(mean, std)(nt.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="zero"):
        T.Normalize((0.0,), (0.0,))


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize("make", [
    lambda: T.RandomAffine(20, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=(-10, 10, -5, 5)),
    lambda: T.RandomRotation(30, interpolation="bilinear"),
    lambda: T.RandomCrop(24, padding=3, padding_mode="reflect"),
    lambda: T.ElasticTransform(alpha=20.0, sigma=3.0),
    lambda: T.RandomHorizontalFlip(),
])
def test_random_transforms_repeat_under_a_seed(make):
    x = mnist_sample(train=False).data[:16]
    nt.manual_seed(5)
    a = make().apply_batch(x)
    b = make().apply_batch(x)
    nt.manual_seed(5)
    np.testing.assert_array_equal(make().apply_batch(x), a)
    assert not np.array_equal(a, b)                              # the stream advanced
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    t1, t2 = make(), make()
    t1.generator, t2.generator = g1, g2
    np.testing.assert_array_equal(t1(x[0]), t2(x[0]))            # explicit generator


# ------------------------------------------------------------------ geometry
def test_flip_twice_is_identity():
    a = rand_img(7, 5, 3)
    h = T.RandomHorizontalFlip(p=1.0)
    v = T.RandomVerticalFlip(p=1.0)
    np.testing.assert_array_equal(h(a), a[:, ::-1])
    np.testing.assert_array_equal(v(a), a[::-1])
    np.testing.assert_array_equal(h(h(a)), a)
    np.testing.assert_array_equal(v(v(a)), a)
    np.testing.assert_array_equal(T.hflip(T.hflip(a)), a)
    assert np.array_equal(T.RandomHorizontalFlip(p=0.0)(a), a)
    # per-sample decisions in a batch
    batch = np.stack([rand_img(4, 4, seed=s) for s in range(64)])
    out = T.RandomHorizontalFlip(p=0.5).apply_batch(batch)
    flipped = [np.array_equal(o, b[:, ::-1]) for o, b in zip(out, batch)]
    kept = [np.array_equal(o, b) for o, b in zip(out, batch)]
    assert all(f or k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 54


@pytest.mark.parametrize("n", [5, 6, 28])
@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_rotate_90_is_rot90(n, interp):
    a = rand_img(n, n, 3, seed=n).astype(np.float32)
    np.testing.assert_allclose(T.rotate(a, 90, interpolation=interp), np.rot90(a, 1, axes=(0, 1)), atol=1e-4)
    np.testing.assert_allclose(T.rotate(a, -90, interpolation=interp), np.rot90(a, -1, axes=(0, 1)), atol=1e-4)
    np.testing.assert_allclose(T.rotate(a, 180, interpolation=interp), a[::-1, ::-1], atol=1e-4)
    t = nt.tensor(a.transpose(2, 0, 1))                          # tensor form: (C, H, W)
    np.testing.assert_allclose(T.rotate(t, 90, interpolation=interp).numpy(),
                               np.rot90(a, 1, axes=(0, 1)).transpose(2, 0, 1), atol=1e-4)


def test_translation_moves_a_dot():
    a = np.zeros((28, 28), dtype=np.uint8)
    a[10, 12] = 255
    out = T.affine(a, translate=(3, -2), interpolation="bilinear")
    assert out[8, 15] == 255 and out.sum() == 255                # right 3, up 2
    # RandomAffine with translation only: each sample's dot moves by its own whole-pixel shift
    batch = np.repeat(a[None], 32, 0)
    out = T.RandomAffine(0, translate=(0.2, 0.2)).apply_batch(batch)
    for o in out:
        (y,), (x,) = np.nonzero(o)
        assert abs(x - 12) <= 0.2 * 28 + 0.5 and abs(y - 10) <= 0.2 * 28 + 0.5
        assert o.sum() == 255
    shifts = {tuple(np.argwhere(o)[0]) for o in out}
    assert len(shifts) > 10


def test_scale_about_the_centre():
    a = np.zeros((9, 9), dtype=np.float32)
    a[4, 6] = 1.0                                               # 2 px right of the centre (4, 4)
    out = T.affine(a, scale=2.0, interpolation="nearest")
    assert out[4, 8] == 1.0


def naive_bilinear(x, sx, sy, fill):
    """Textbook bilinear sampling, one output pixel at a time."""
    N, C, H, W = x.shape
    out = np.zeros((N, C) + sx.shape[1:])
    for n in range(N):
        for i in range(sx.shape[1]):
            for j in range(sx.shape[2]):
                px, py = sx[n, i, j], sy[n, i, j]
                x0, y0 = int(np.floor(px)), int(np.floor(py))
                for yy, xx, w in ((y0, x0, (1 - (px - x0)) * (1 - (py - y0))), (y0, x0 + 1, (px - x0) * (1 - (py - y0))),
                                  (y0 + 1, x0, (1 - (px - x0)) * (py - y0)), (y0 + 1, x0 + 1, (px - x0) * (py - y0))):
                    v = x[n, :, yy, xx] if (0 <= yy < H and 0 <= xx < W) else np.full(C, fill)
                    out[n, :, i, j] += w * v
    return out


def test_sampling_kernel_matches_naive_loop():
    r = np.random.default_rng(0)
    x = r.standard_normal((2, 3, 5, 6))
    sx = r.uniform(-3, 9, (2, 4, 7))                             # many positions outside the image
    sy = r.uniform(-3, 8, (2, 4, 7))
    np.testing.assert_allclose(_sample(x, sx, sy, "bilinear", 0.7), naive_bilinear(x, sx, sy, 0.7), atol=1e-12)
    near = _sample(x, sx, sy, "nearest", -1.0)
    ix, iy = np.floor(sx + 0.5).astype(int), np.floor(sy + 0.5).astype(int)
    for n in range(2):
        for i in range(4):
            for j in range(7):
                inside = 0 <= ix[n, i, j] < 6 and 0 <= iy[n, i, j] < 5
                ref = x[n, :, iy[n, i, j], ix[n, i, j]] if inside else -1.0
                np.testing.assert_allclose(near[n, :, i, j], ref)


@requires_torch
def test_affine_matches_torch_grid_sample():
    r = np.random.default_rng(1)
    x = r.standard_normal((1, 2, 11, 11))
    angle, t, s, sh = 23.0, (1.5, -2.0), 1.1, (7.0, 0.0)
    ours = T.affine(nt.tensor(x[0]), angle=angle, translate=t, scale=s, shear=sh).numpy()
    A = T._affine_matrix([angle], [s], [sh[0]], [sh[1]])[0]
    Ainv = np.linalg.inv(A)
    half = (11 - 1) / 2
    theta = np.concatenate([Ainv, (-Ainv @ np.array(t) / half)[:, None]], 1)[None]
    grid = torch.nn.functional.affine_grid(torch.tensor(theta), (1, 2, 11, 11), align_corners=True)
    ref = torch.nn.functional.grid_sample(torch.tensor(x), grid, mode="bilinear", padding_mode="zeros",
                                          align_corners=True)[0].numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-9)


@requires_torch
@pytest.mark.parametrize("size", [(13, 17), (5, 4), 9])
def test_resize_matches_torch_bilinear(size):
    x = np.random.default_rng(2).standard_normal((2, 3, 8, 10))
    ours = T.Resize(size).apply_batch(nt.tensor(x)).numpy()
    out_hw = size if isinstance(size, tuple) else (9, int(9 * 10 / 8))
    ref = torch.nn.functional.interpolate(torch.tensor(x), size=out_hw, mode="bilinear", align_corners=False).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    near = T.Resize(size, interpolation="nearest").apply_batch(nt.tensor(x)).numpy()
    ref = torch.nn.functional.interpolate(torch.tensor(x), size=out_hw, mode="nearest").numpy()
    np.testing.assert_array_equal(near, ref)


def test_pad_crop_center_crop():
    a = rand_img(6, 5, 2)
    for mode in ("constant", "edge", "reflect", "symmetric"):
        out = T.Pad((1, 2, 3, 4), padding_mode=mode, fill=0)(a)
        ref = np.pad(a, ((2, 4), (1, 3), (0, 0)), mode=mode)
        np.testing.assert_array_equal(out, ref)
    out = T.Pad(1, fill=(7, 9))(a)
    assert out[0, 0].tolist() == [7, 9] and out.shape == (8, 7, 2)
    np.testing.assert_array_equal(T.CenterCrop((2, 3))(a), a[2:4, 1:4])
    assert T.CenterCrop(8)(a).shape == (8, 8, 2)
    np.testing.assert_array_equal(T.crop(a, 1, 2, 3, 2), a[1:4, 2:4])
    # RandomCrop: every output is a window of the padded image
    batch = np.stack([rand_img(8, 8, seed=s) for s in range(10)])
    out = T.RandomCrop(6, padding=1).apply_batch(batch)
    assert out.shape == (10, 6, 6)
    for o, b in zip(out, batch):
        p = np.pad(b, 1)
        assert any(np.array_equal(o, p[i:i + 6, j:j + 6]) for i in range(5) for j in range(5))
    np.testing.assert_array_equal(T.RandomCrop(8)(batch[0]), batch[0])
    assert T.RandomCrop(10, pad_if_needed=True)(batch[0]).shape == (10, 10)
    with pytest.raises(ValueError, match="larger than"):
        T.RandomCrop(10)(batch[0])


def test_batch_form_equals_item_form_for_deterministic_transforms():
    batch = np.stack([rand_img(9, 7, 3, seed=s) for s in range(4)])
    for t in (T.Resize((5, 11)), T.CenterCrop(4), T.Pad(2, padding_mode="reflect"), T.ToTensor()):
        out = t.apply_batch(batch)
        out = out.numpy() if isinstance(out, nt.Tensor) else out
        items = [t(b) for b in batch]
        items = np.stack([i.numpy() if isinstance(i, nt.Tensor) else i for i in items])
        np.testing.assert_array_equal(out, items)


# ------------------------------------------------------------------ masks follow the image
@pytest.mark.parametrize("make", [
    lambda: T.RandomAffine(40, translate=(0.2, 0.2), scale=(0.7, 1.3), shear=15),
    lambda: T.RandomRotation(90),
    lambda: T.RandomCrop(20, padding=4),
    lambda: T.ElasticTransform(alpha=30.0, sigma=3.0, interpolation="nearest"),
    lambda: T.Compose([T.RandomHorizontalFlip(), T.RandomVerticalFlip(), T.Resize(40, interpolation="nearest")]),
])
def test_mask_follows_image_geometry(make):
    """Image = the mask's class ids: with nearest sampling the image and the mask
    must come out identical, pixel for pixel, whatever the random draw."""
    from neuronet.data.datasets import Shapes
    ds = Shapes(num_samples=4, size=32, noise=0.0, seed=3)
    masks = np.stack([ds.generate(i)[1] for i in range(4)])          # (4, 32, 32) int64
    img = nt.tensor(masks[:, None].astype(np.float32))               # (4, 1, 32, 32)
    t = make()
    out, m = t.apply_batch(img, masks)
    assert m.dtype == np.int64 and m.shape == out.shape[:1] + out.shape[2:]
    np.testing.assert_array_equal(out.numpy()[:, 0], m)
    assert len(np.unique(m)) > 1
    x1, m1 = t(img[0], nt.tensor(masks[0]))                           # single-sample call form
    assert isinstance(m1, nt.Tensor) and m1.dtype == np.int64
    np.testing.assert_array_equal(x1.numpy()[0], m1.numpy())


def test_mask_with_bilinear_image_is_sampled_nearest():
    mask = np.zeros((16, 16), dtype=np.int64)
    mask[4:12, 4:12] = 3
    img = mask.astype(np.float32)
    out, m = T.rotate(img, 30, interpolation="bilinear", mask=mask)
    assert set(np.unique(m)) <= {0, 3}                                # no blended class ids
    assert len(np.unique(out)) > 2                                    # the image is interpolated


# ------------------------------------------------------------------ other augmentations
def test_elastic_zero_alpha_is_identity_and_field_is_smooth():
    a = rand_img(12, 12, seed=1)
    np.testing.assert_array_equal(T.ElasticTransform(alpha=0.0, sigma=2.0)(a), a)
    dx, dy = T.elastic_displacement(3, 28, 28, 34.0, 4.0, np.random.default_rng(0))
    assert dx.shape == (3, 28, 28)
    assert np.abs(np.diff(dx, axis=2)).mean() < 0.2 * np.abs(dx).mean()   # smooth
    assert 0.2 < np.abs(dx).mean() < 10


def test_random_erasing():
    x = nt.ones(8, 3, 20, 20)
    out = T.RandomErasing(p=1.0, value=0).apply_batch(x).numpy()
    for o in out:
        zero = np.argwhere(o[0] == 0)
        assert len(zero) > 0
        (r0, c0), (r1, c1) = zero.min(0), zero.max(0)
        assert (r1 - r0 + 1) * (c1 - c0 + 1) == len(zero)             # one rectangle
        assert 0.02 * 400 * 0.5 <= len(zero) <= 0.33 * 400 * 1.5
        assert np.array_equal(o[0] == 0, o[2] == 0)                   # all channels
    np.testing.assert_array_equal(T.RandomErasing(p=0.0).apply_batch(x).numpy(), x.numpy())


def test_color_jitter():
    x = nt.tensor(np.random.default_rng(0).uniform(0.1, 0.6, (6, 3, 4, 4)).astype(np.float32))
    out = T.ColorJitter(brightness=0.5).apply_batch(x).numpy()
    ratio = out / x.numpy()
    for r in ratio:                                                   # one factor per sample
        np.testing.assert_allclose(r, r.flat[0], rtol=1e-5)
        assert 0.5 <= r.flat[0] <= 1.5
    grey = nt.tensor(np.random.default_rng(1).random((2, 1, 4, 4)).astype(np.float32))
    np.testing.assert_array_equal(T.ColorJitter(saturation=0.9, hue=0.4).apply_batch(grey).numpy(), grey.numpy())
    rgb = np.random.default_rng(2).random((5, 3, 4, 4))
    np.testing.assert_allclose(_hsv_to_rgb(*_rgb_to_hsv(rgb, np), np), rgb, atol=1e-12)
    u8 = rand_img(5, 5, 3)
    out = T.ColorJitter(0.3, 0.3, 0.3, 0.1)(u8)
    assert out.dtype == np.uint8 and out.shape == u8.shape
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)


def test_errors_name_the_transform():
    with pytest.raises(ValueError, match="RandomAffine: translate"):
        T.RandomAffine(10, translate=(2, 0))
    with pytest.raises(ValueError, match=r"RandomCrop: expected an image array of shape \(H, W\)"):
        T.RandomCrop(2)(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="a mask must have shape"):
        T.RandomHorizontalFlip()(np.zeros((4, 4)), np.zeros((1, 4, 4)))


def test_random_affine_batch_is_fast():
    """Augmentation must not be the bottleneck of a LeNet epoch: a batch of
    256 digits takes a few ms (generous bound for loaded CI machines)."""
    x = mnist_sample(train=False).data[:256]
    t = T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10, interpolation="bilinear")
    t.apply_batch(x)
    best = min(_timed(lambda: t.apply_batch(x)) for _ in range(5))
    print(f"RandomAffine(bilinear) on 256 digits: {best * 1e3:.1f} ms")
    assert best < 0.1


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@requires_torch
def test_nearest_sampling_rounds_ties_to_even_as_grid_sample():
    # a 2x zoom-out about the centre of a 4x4 image reads source positions
    # -1.5, 0.5, 2.5, 4.5 on each axis: every read is a tie between two pixels
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 1, 4, 4)
    ours = T.affine(nt.tensor(x[0]), scale=0.5, interpolation="nearest").numpy()
    theta = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    grid = torch.nn.functional.affine_grid(theta, (1, 1, 4, 4), align_corners=False)
    ref = torch.nn.functional.grid_sample(torch.from_numpy(x), grid, mode="nearest", align_corners=False)
    np.testing.assert_array_equal(ours, ref[0].numpy())
    assert ours[0, 1].tolist() == [0, 1, 3, 0]          # row 0.5 -> 0; columns 0.5 -> 0, 2.5 -> 2
