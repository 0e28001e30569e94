"""neuronet.vision.transforms: torchvision's names and per-sample results.

Deterministic transforms are compared with torchvision itself when it can be
imported (its two C++ operators are declared first, see `_torchvision`), and
always with NumPy references written here and with PyTorch's interpolate."""
import numpy as np
import pytest
from PIL import Image

import neuronet as nt
from neuronet.vision import transforms as T
from neuronet.vision.transforms import functional as F
from tests.helpers import import_torchvision

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


tv = import_torchvision()
requires_tv = pytest.mark.skipif(tv is None, reason="torchvision cannot be imported")
requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")


def rgb(h=12, w=10, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


def chw(c=3, h=12, w=10, seed=0):
    return np.random.default_rng(seed).random((c, h, w)).astype(np.float32)


# ------------------------------------------------------------------ conversion
def test_to_tensor_pil_and_array():
    a = rgb()
    for src in (a, Image.fromarray(a)):
        t = T.ToTensor()(src)
        assert isinstance(t, nt.Tensor) and t.shape == (3, 12, 10) and t.dtype == np.float32
        np.testing.assert_array_equal(t.numpy(), a.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    g = T.ToTensor()(Image.fromarray(a[:, :, 0]))
    assert g.shape == (1, 12, 10)


def test_pil_to_tensor_and_back():
    a = rgb()
    t = T.PILToTensor()(Image.fromarray(a))
    assert t.dtype == np.uint8 and t.shape == (3, 12, 10)
    np.testing.assert_array_equal(t.numpy(), a.transpose(2, 0, 1))
    img = T.ToPILImage()(t)
    assert img.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(img), a)
    # floats: x * 255 truncated, as torchvision's mul(255).byte()
    f = nt.tensor(np.array([[[0.0, 0.5, 0.999, 1.0]]], dtype=np.float32))
    img = T.ToPILImage()(f)
    assert img.mode == "L" and np.asarray(img).tolist() == [[0, 127, 254, 255]]
    with pytest.raises(TypeError, match="PIL Image"):
        T.PILToTensor()(a)


def test_convert_image_dtype():
    u = nt.tensor(np.array([[[0, 128, 255]]], dtype=np.uint8))
    f = T.ConvertImageDtype(nt.float32)(u)
    np.testing.assert_allclose(f.numpy(), [[[0, 128 / 255, 1]]], rtol=1e-6)
    back = F.convert_image_dtype(f, np.uint8)
    assert back.numpy().tolist() == [[[0, 128, 255]]]     # x * (255 + 1 - 1e-3) truncated
    assert F.convert_image_dtype(nt.tensor(np.array([0.4999], np.float32)), np.uint8).numpy().tolist() == [127]


def test_normalize_per_channel_and_errors():
    x = chw()
    out = T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))(nt.tensor(x))
    ref = (x - np.array([0.5, 0.4, 0.3], np.float32)[:, None, None]) / np.array([0.2, 0.25, 0.5], np.float32)[:, None, None]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0.5,), (0.5,))(nt.tensor(np.zeros((1, 2, 2), np.uint8)))
    with pytest.raises(TypeError, match="Tensor"):
        T.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32))


# ------------------------------------------------------------------ geometry, references written here
def _bilinear_aa_reference(x, Ho, Wo):
    """Triangle filter widened by the scale factor, per output pixel, loops."""
    def weights(n_in, n_out):
        s = n_in / n_out
        f = max(s, 1.0)
        M = np.zeros((n_out, n_in))
        for i in range(n_out):
            c = (i + 0.5) * s
            for j in range(n_in):
                M[i, j] = max(0.0, 1.0 - abs(j + 0.5 - c) / f)
            M[i] /= M[i].sum()
        return M
    return np.einsum("oh,chw,pw->cop", weights(x.shape[1], Ho), x.astype(np.float64), weights(x.shape[2], Wo))


def test_resize_tensor_matches_loop_reference():
    x = chw(2, 17, 13)
    out = T.Resize((7, 5))(nt.tensor(x)).numpy()
    np.testing.assert_allclose(out, _bilinear_aa_reference(x, 7, 5), atol=1e-6)


def test_resize_int_is_smaller_edge():
    img = Image.fromarray(rgb(30, 20))
    assert T.Resize(10)(img).size == (10, 15)              # PIL size is (W, H)
    assert T.Resize(10)(nt.tensor(chw(3, 30, 20))).shape == (3, 15, 10)
    assert T.Resize(10, max_size=12)(nt.tensor(chw(3, 30, 20))).shape == (3, 12, 8)


@requires_torch
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("out_hw", [(7, 5), (25, 31)])
def test_resize_tensor_matches_torch_interpolate(antialias, mode, out_hw):
    x = chw(2, 17, 13)
    ours = F.resize(nt.tensor(x), list(out_hw), interpolation=mode, antialias=antialias).numpy()
    ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=out_hw, mode=mode, align_corners=False,
                                          antialias=antialias)[0].numpy()
    np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_crop_center_crop_pad_flip_reference():
    a = rgb()
    np.testing.assert_array_equal(F.crop(a, 2, 3, 4, 5), a[2:6, 3:8])
    out = F.crop(a, -1, 8, 3, 4)                          # outside the image reads 0
    assert out.shape == (3, 4, 3) and (out[0] == 0).all() and (out[:, 2:] == 0).all()
    np.testing.assert_array_equal(out[1:, :2], a[0:2, 8:10])
    np.testing.assert_array_equal(T.CenterCrop(4)(a), a[4:8, 3:7])
    np.testing.assert_array_equal(T.Pad((1, 2))(a), np.pad(a, ((2, 2), (1, 1), (0, 0))))
    np.testing.assert_array_equal(T.Pad(2, padding_mode="reflect")(a), np.pad(a, ((2, 2), (2, 2), (0, 0)), "reflect"))
    t = nt.tensor(chw())
    np.testing.assert_array_equal(F.hflip(t).numpy(), chw()[..., ::-1])
    np.testing.assert_array_equal(F.vflip(Image.fromarray(a)), a[::-1])
    # leading batch dims of a tensor get the same operation
    b = nt.tensor(np.stack([chw(seed=0), chw(seed=1)]))
    assert T.CenterCrop(4)(b).shape == (2, 3, 4, 4)


def test_grayscale_pil_formula_on_arrays_and_torchvision_formula_on_tensors():
    a = rgb()
    pil = np.asarray(Image.fromarray(a).convert("L"))
    np.testing.assert_array_equal(T.Grayscale()(a), pil)
    np.testing.assert_array_equal(np.asarray(T.Grayscale()(Image.fromarray(a))), pil)
    x = chw()
    g = T.Grayscale(3)(nt.tensor(x)).numpy()
    ref = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    assert g.shape == (3, 12, 10)
    np.testing.assert_allclose(g[2], ref, atol=1e-6)


def test_rotate_quarter_turn_is_rot90():
    x = chw(1, 6, 6)
    out = F.rotate(nt.tensor(x), 90).numpy()
    np.testing.assert_array_equal(out, np.rot90(x, 1, axes=(1, 2)))   # counter-clockwise on screen


def test_gaussian_blur_reference():
    x = chw(1, 9, 8)
    out = F.gaussian_blur(nt.tensor(x), [3, 5], [0.8, 1.3]).numpy()

    def k1(k, s):
        t = np.arange(k) - (k - 1) / 2
        w = np.exp(-0.5 * (t / s) ** 2)
        return w / w.sum()
    kx, ky = k1(3, 0.8), k1(5, 1.3)
    p = np.pad(x[0].astype(np.float64), ((2, 2), (1, 1)), "reflect")
    ref = np.zeros((9, 8))
    for i in range(9):
        for j in range(8):
            ref[i, j] = (np.outer(ky, kx) * p[i:i + 5, j:j + 3]).sum()
    np.testing.assert_allclose(out[0], ref, atol=1e-6)


# ------------------------------------------------------------------ against torchvision
@requires_tv
def test_deterministic_transforms_match_torchvision_pil_and_tensor():
    import torchvision.transforms as TT
    a = rgb(23, 17)
    img = Image.fromarray(a)
    x = chw(3, 23, 17)
    cases = [
        (T.ToTensor(), TT.ToTensor(), "pil"),
        (T.Resize(9), TT.Resize(9), "pil"),
        (T.Resize((31, 40)), TT.Resize((31, 40)), "pil"),
        (T.Resize((11, 8)), TT.Resize((11, 8)), "tensor"),
        (T.Resize((11, 8), antialias=False), TT.Resize((11, 8), antialias=False), "tensor"),
        (T.Resize(30, interpolation=T.InterpolationMode.NEAREST),
         TT.Resize(30, interpolation=TT.InterpolationMode.NEAREST), "tensor"),
        (T.CenterCrop(10), TT.CenterCrop(10), "pil"),
        (T.CenterCrop((30, 9)), TT.CenterCrop((30, 9)), "tensor"),
        (T.Pad((1, 2, 3, 4), fill=7), TT.Pad((1, 2, 3, 4), fill=7), "pil"),
        (T.Pad(3, padding_mode="symmetric"), TT.Pad(3, padding_mode="symmetric"), "tensor"),
        (T.Pad(3, padding_mode="reflect"), TT.Pad(3, padding_mode="reflect"), "tensor"),
        (T.Grayscale(), TT.Grayscale(), "pil"),
        (T.Grayscale(3), TT.Grayscale(3), "tensor"),
        (T.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7)), TT.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7)), "tensor"),
        (T.GaussianBlur(5, sigma=1.1), TT.GaussianBlur(5, sigma=1.1), "tensor"),
    ]
    for ours, theirs, kind in cases:
        if kind == "pil":
            o, r = ours(img), theirs(img)
            o = o.numpy() if isinstance(o, nt.Tensor) else np.asarray(o)
            r = r.numpy() if isinstance(r, torch.Tensor) else np.asarray(r)
            np.testing.assert_array_equal(o, r, err_msg=repr(ours))
        else:
            o = ours(nt.tensor(x)).numpy()
            r = theirs(torch.from_numpy(x)).numpy()
            np.testing.assert_allclose(o, r, atol=2e-6, err_msg=repr(ours))
    for fn in ("hflip", "vflip"):
        np.testing.assert_array_equal(np.asarray(getattr(F, fn)(img)), np.asarray(getattr(tv.transforms.functional, fn)(img)))
        np.testing.assert_array_equal(getattr(F, fn)(nt.tensor(x)).numpy(),
                                      getattr(tv.transforms.functional, fn)(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(np.asarray(F.rotate(img, 30)), np.asarray(tv.transforms.functional.rotate(img, 30)))
    # tensors: rotate turns counter-clockwise, affine clockwise, shears composed Sh_y Sh_x, as torchvision
    # (not 30 degrees with NEAREST: sin 30 = 1/2 puts samples on exact ties, which float rounding decides)
    sq = chw(2, 21, 21)
    for args in [(33, [0, 0], 1.0, [0.0, 0.0]), (17, [2, 1], 0.9, [10.0, -5.0]), (-40, [-1, 3], 1.2, [5.0, 15.0])]:
        for mode in ("nearest", "bilinear"):
            np.testing.assert_allclose(
                F.affine(nt.tensor(sq), *args, interpolation=mode).numpy(),
                tv.transforms.functional.affine(torch.from_numpy(sq), *args,
                                                interpolation=tv.transforms.InterpolationMode(mode)).numpy(),
                atol=1e-5, err_msg=f"{args} {mode}")
    np.testing.assert_allclose(F.rotate(nt.tensor(sq), 33, interpolation="bilinear").numpy(),
                               tv.transforms.functional.rotate(torch.from_numpy(sq), 33,
                                                               interpolation=tv.transforms.InterpolationMode.BILINEAR).numpy(),
                               atol=1e-5)
    for name, f in (("adjust_brightness", 1.3), ("adjust_contrast", 0.6), ("adjust_saturation", 1.7),
                    ("adjust_hue", 0.2)):
        np.testing.assert_array_equal(np.asarray(getattr(F, name)(img, f)),
                                      np.asarray(getattr(tv.transforms.functional, name)(img, f)), err_msg=name)
        np.testing.assert_allclose(getattr(F, name)(nt.tensor(x), f).numpy(),
                                   getattr(tv.transforms.functional, name)(torch.from_numpy(x), f).numpy(),
                                   atol=1e-5, err_msg=name)


@requires_tv
def test_pil_to_tensor_and_to_pil_match_torchvision():
    import torchvision.transforms as TT
    a = rgb()
    np.testing.assert_array_equal(T.PILToTensor()(Image.fromarray(a)).numpy(),
                                  TT.PILToTensor()(Image.fromarray(a)).numpy())
    x = chw()
    np.testing.assert_array_equal(np.asarray(T.ToPILImage()(nt.tensor(x))),
                                  np.asarray(TT.ToPILImage()(torch.from_numpy(x))))


# ------------------------------------------------------------------ random transforms
def test_random_transforms_repeat_under_manual_seed_and_vary():
    a = rgb(32, 32)
    tf = T.Compose([T.RandomResizedCrop(16), T.RandomHorizontalFlip(), T.RandomRotation(15),
                    T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1),
                                                                       shear=5),
                    T.RandomApply([T.GaussianBlur(3)], p=0.5), T.RandomChoice([T.RandomGrayscale(1.0), T.Lambda(lambda x: x)]),
                    T.ToTensor(), T.RandomErasing(p=1.0)])
    nt.manual_seed(3)
    first = [tf(Image.fromarray(a)).numpy() for _ in range(3)]
    nt.manual_seed(3)
    again = [tf(Image.fromarray(a)).numpy() for _ in range(3)]
    for u, v in zip(first, again):
        assert u.shape == (3, 16, 16)
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(first[0], first[1])


def test_random_crop_padding_and_pad_if_needed():
    a = rgb(8, 8)
    for _ in range(5):
        out = T.RandomCrop(8, padding=2)(a)
        assert out.shape == (8, 8, 3)
    u = (np.arange(64).reshape(8, 8) + 1).astype(np.uint8)
    padded = np.pad(u, 2)

    def offset(out):
        hits = [(i, j) for i in range(5) for j in range(5) if np.array_equal(padded[i:i + 8, j:j + 8], out)]
        assert len(hits) == 1
        return hits[0]
    seen = {offset(T.RandomCrop(8, padding=2)(u)) for _ in range(60)}
    assert len(seen) > 10                                 # the window moves over the 25 offsets
    out = T.RandomCrop((10, 12), pad_if_needed=True)(nt.tensor(chw(3, 8, 8)))
    assert out.shape == (3, 10, 12)
    with pytest.raises(ValueError, match="larger than the input"):
        T.RandomCrop(10)(a)


def test_random_flip_probability():
    a = rgb()
    flips = sum(np.array_equal(T.RandomHorizontalFlip()(a), a[:, ::-1]) for _ in range(200))
    assert 60 < flips < 140
    assert np.array_equal(T.RandomHorizontalFlip(p=1.0)(a), a[:, ::-1])
    assert np.array_equal(T.RandomVerticalFlip(p=0.0)(a), a)


def test_random_erasing_erases_a_rectangle_of_value():
    t = nt.tensor(np.ones((3, 20, 20), np.float32))
    out = T.RandomErasing(p=1.0, value=0)(t).numpy()
    zero = out[0] == 0
    rows, cols = np.where(zero)
    assert zero.sum() > 0 and zero.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert (t.numpy() == 1).all()                          # not in place by default


# ------------------------------------------------------------------ batch forms
def test_batch_exact_chain_equals_stacked_samples():
    imgs = np.stack([rgb(seed=s) for s in range(4)])
    tf = T.Compose([T.Grayscale(), T.Pad(1), T.CenterCrop(9), T.ToTensor(), T.Normalize((0.5,), (0.25,))])
    assert T.batch_exact(tf)
    batch = tf.apply_batch(imgs).numpy()
    per = np.stack([tf(Image.fromarray(im)).numpy() for im in imgs])
    np.testing.assert_array_equal(batch, per)
    assert not T.batch_exact(T.Compose([T.ToTensor(), T.RandomRotation(10)]))
    assert not T.batch_exact(T.Resize(4))


@pytest.mark.parametrize("gray", [False, True])
def test_random_chain_batch_equals_per_sample_under_the_same_seed(gray):
    imgs = np.stack([rgb(10, 9, seed=s) for s in range(6)])
    if gray:
        imgs = imgs[..., 0]
    tf = T.Compose([T.RandomCrop(8, padding=(1, 2), padding_mode="reflect"), T.RandomHorizontalFlip(),
                    T.RandomVerticalFlip(0.3), T.RandomCrop((9, 9), pad_if_needed=True, fill=5), T.ToTensor(),
                    T.Normalize((0.5,), (0.5,)), T.RandomErasing(p=0.7, value="random"),
                    T.RandomErasing(p=0.7, value=0.25)])
    assert T.batch_exact(tf)
    nt.manual_seed(7)
    batch = tf.apply_batch(imgs).numpy()
    nt.manual_seed(7)
    per = np.stack([tf(Image.fromarray(im)).numpy() for im in imgs])
    assert batch.shape == (6, 1 if gray else 3, 9, 9)
    np.testing.assert_array_equal(batch, per)
    nt.manual_seed(8)
    assert not np.array_equal(tf.apply_batch(imgs).numpy(), batch)


def test_errors_name_what_was_received():
    with pytest.raises(TypeError, match="received list"):
        F.hflip([1, 2])
    with pytest.raises(ValueError, match="odd"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(p=2)
    with pytest.raises(TypeError, match="interpolation"):
        T.Resize(4, interpolation="cubic-ish")


# ------------------------------------------------------------------ utils
def test_make_grid_and_save_image(tmp_path):
    from neuronet.vision.utils import make_grid, save_image
    x = np.random.default_rng(0).random((5, 1, 4, 3)).astype(np.float32)
    g = make_grid(nt.tensor(x), nrow=2, padding=1, pad_value=0.5).numpy()
    assert g.shape == (3, 3 * 5 + 1, 2 * 4 + 1)
    np.testing.assert_array_equal(g[0, 1:5, 1:4], x[0, 0])
    np.testing.assert_array_equal(g[2, 11:15, 1:4], x[4, 0])
    assert g[0, 0, 0] == 0.5 and g[1, 11, 5] == 0.5   # frame and the empty cell
    save_image(nt.tensor(x), tmp_path / "g.png", nrow=4)
    im = np.asarray(Image.open(tmp_path / "g.png"))
    assert im.shape == (2 * 6 + 2, 4 * 5 + 2, 3)
    assert im[2, 2, 0] == np.uint8(np.clip(x[0, 0, 0, 0] * 255 + 0.5, 0, 255))
    if tv is not None:
        for kw in ({"nrow": 3}, {"normalize": True}, {"normalize": True, "scale_each": True, "padding": 0},
                   {"normalize": True, "value_range": (0.2, 0.7)}):
            np.testing.assert_allclose(make_grid(nt.tensor(x), **kw).numpy(),
                                       tv.utils.make_grid(torch.from_numpy(x), **kw).numpy(), atol=1e-6,
                                       err_msg=str(kw))


def test_v2_to_image_to_dtype_chain():
    from neuronet.vision.transforms import v2
    a = rgb()
    tf = v2.Compose([v2.ToImage(), v2.ToDtype(nt.float32, scale=True), v2.Normalize((0.5,) * 3, (0.25,) * 3)])
    out = tf(Image.fromarray(a)).numpy()
    np.testing.assert_allclose(out, (a.transpose(2, 0, 1) / 255.0 - 0.5) / 0.25, atol=1e-5)
    assert v2.ToImage()(a).dtype == np.uint8 and v2.ToDtype(nt.float32)(v2.ToImage()(a)).numpy().max() > 1
    assert T.batch_exact(tf)
    imgs = np.stack([rgb(seed=s) for s in range(3)])
    np.testing.assert_array_equal(tf.apply_batch(imgs).numpy(), np.stack([tf(Image.fromarray(i)).numpy() for i in imgs]))
    if tv is not None:
        from torchvision.transforms import v2 as tv2
        ref = tv2.Compose([tv2.ToImage(), tv2.ToDtype(torch.float32, scale=True),
                           tv2.Normalize((0.5,) * 3, (0.25,) * 3)])(Image.fromarray(a))
        np.testing.assert_allclose(out, ref.numpy(), atol=1e-6)
