"""U-Net and SegNet: sizes, output = input size, PyTorch equivalence of small
instances with shared weights, the bilinear upsampling, the pooling indices."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import models
from neuronet.models.unet import upsample_bilinear2x
from helpers import check_grad, compare_with_torch, requires_torch, torch


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def digest(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def double_conv_params(a, b, bn=False):
    if bn:
        return 9 * a * b + 2 * b + 9 * b * b + 2 * b
    return 9 * a * b + b + 9 * b * b + b


# ----------------------------------------------------------------------------- U-Net


def test_unet_paper_size(cheap_draws):
    m = models.unet()                                       # 1 channel in, 2 classes, 64 base, depth 4
    assert n_params(m) == 31_030_658
    w = [64, 128, 256, 512, 1024]
    expected = double_conv_params(1, 64) + sum(double_conv_params(w[k - 1], w[k]) for k in range(1, 5))
    expected += sum(4 * w[k] * w[k - 1] + w[k - 1] + double_conv_params(2 * w[k - 1], w[k - 1]) for k in range(1, 5))
    expected += 64 * 2 + 2
    assert expected == 31_030_658
    d = digest(m)
    assert d["encoder.4.0.weight"] == (1024, 512, 3, 3)
    assert d["decoder.0.up.weight"] == (1024, 512, 2, 2)   # ConvTranspose2d: (in, out, kH, kW)
    assert d["decoder.0.conv.0.weight"] == (512, 1024, 3, 3)
    assert d["decoder.3.conv.2.weight"] == (64, 64, 3, 3)
    assert d["head.weight"] == (2, 64, 1, 1)
    # Section 3: Gaussian, std sqrt(2 / fan_in)
    conv = m.encoder[3][2].weight.numpy()                   # fan_in = 512 * 9
    assert abs(conv.std() - np.sqrt(2 / (512 * 9))) < 0.03 * np.sqrt(2 / (512 * 9))
    assert np.all(m.encoder[3][2].bias.numpy() == 0)


@pytest.mark.parametrize("kwargs", [{}, {"bilinear": True}, {"batch_norm": True}])
def test_small_unet_output_has_the_input_size_and_trains(kwargs):
    m = models.unet(in_channels=3, num_classes=4, base_channels=4, depth=3, **kwargs)
    x = nt.randn(2, 3, 16, 24)
    y = m(x)
    assert y.shape == (2, 4, 16, 24)
    target = nt.tensor(np.random.default_rng(0).integers(0, 4, size=(2, 16, 24)))
    nt.nn.functional.cross_entropy(y, target).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name


def test_unet_variants_layout():
    bn = digest(models.unet(base_channels=8, depth=2, batch_norm=True))
    assert "encoder.0.0.bias" not in bn and bn["encoder.0.1.running_mean"] == (8,)
    assert n_params(models.unet(base_channels=8, depth=2, batch_norm=True)) == (
        double_conv_params(1, 8, True) + double_conv_params(8, 16, True) + double_conv_params(16, 32, True)
        + 4 * 32 * 16 + 16 + double_conv_params(32, 16, True) + 4 * 16 * 8 + 8 + double_conv_params(16, 8, True)
        + 8 * 2 + 2)
    bl = digest(models.unet(base_channels=8, depth=2, bilinear=True))
    assert bl["decoder.0.up.conv.weight"] == (16, 32, 1, 1)


def test_unet_refuses_sizes_it_cannot_halve_depth_times():
    m = models.unet(base_channels=4, depth=3)
    with pytest.raises(ValueError, match=r"unet: input height and width must be multiples of 8, received 12x16"):
        m(nt.randn(1, 1, 12, 16))


@requires_torch
def test_bilinear_upsampling_matches_torch_interpolate():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    compare_with_torch(upsample_bilinear2x,
                       lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="bilinear",
                                                                 align_corners=False),
                       x, atol=1e-12, rtol=1e-10)
    one = np.random.default_rng(1).standard_normal((1, 2, 1, 3))   # a single row: edges clamp
    compare_with_torch(upsample_bilinear2x,
                       lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="bilinear",
                                                                 align_corners=False),
                       one, atol=1e-12, rtol=1e-10)


def test_bilinear_upsampling_gradcheck():
    check_grad(upsample_bilinear2x, np.random.default_rng(2).standard_normal((1, 2, 3, 3)))


if torch is not None:
    class TorchUNet(torch.nn.Module):
        """The same network written directly in PyTorch (depth 2, no BN)."""

        def __init__(self, cin, ncls, c):
            super().__init__()
            T = torch.nn

            def dc(a, b):
                return T.Sequential(T.Conv2d(a, b, 3, padding=1), T.ReLU(), T.Conv2d(b, b, 3, padding=1), T.ReLU())

            self.encoder = T.ModuleList([dc(cin, c), dc(c, 2 * c), dc(2 * c, 4 * c)])
            self.decoder = T.ModuleList()
            for a, b in ((4 * c, 2 * c), (2 * c, c)):
                stage = T.Module()
                stage.up = T.ConvTranspose2d(a, b, 2, stride=2)
                stage.conv = dc(2 * b, b)
                self.decoder.append(stage)
            self.head = T.Conv2d(c, ncls, 1)

        def forward(self, x):
            e0 = self.encoder[0](x)
            e1 = self.encoder[1](torch.nn.functional.max_pool2d(e0, 2))
            e2 = self.encoder[2](torch.nn.functional.max_pool2d(e1, 2))
            d = self.decoder[0].conv(torch.cat([e1, self.decoder[0].up(e2)], 1))
            d = self.decoder[1].conv(torch.cat([e0, self.decoder[1].up(d)], 1))
            return self.head(d)


def _load_into_torch(m, th):
    assert digest(m) == {k: tuple(v.shape) for k, v in th.state_dict().items()}
    th.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})


def _forward_backward_both(m, th, x, atol, rtol):
    xn, xt = nt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn, yt = m(xn), th(xt)
    np.testing.assert_allclose(yn.numpy(), yt.detach().numpy(), atol=atol, rtol=rtol)
    g = np.random.default_rng(9).standard_normal(yn.shape)
    (yn * nt.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=atol, rtol=rtol)
    tp = dict(th.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), atol=atol, rtol=rtol, err_msg=name)


@requires_torch
def test_small_unet_matches_torch():
    m = models.unet(in_channels=2, num_classes=3, base_channels=4, depth=2).to(nt.float64)
    th = TorchUNet(2, 3, 4).double()
    _load_into_torch(m, th)
    _forward_backward_both(m, th, np.random.default_rng(0).standard_normal((2, 2, 8, 12)), 1e-10, 1e-7)


# ----------------------------------------------------------------------------- SegNet


def test_segnet_paper_size_and_layout(cheap_draws):
    m = models.segnet()                                      # RGB, 11 classes, VGG-16 widths
    d = digest(m)
    convs = [k for k in d if k.endswith(".weight") and len(d[k]) == 4]
    assert len(convs) == 13 + 12 + 1                        # VGG-16's 13, 12 decoder convs, the classifier
    encoder = sum(v for k, v in ((k, int(np.prod(s))) for k, s in d.items() if k.startswith("encoder")
                                 and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))))
    vgg16_bn_features = 14_723_136                           # torchvision's vgg16_bn.features
    assert encoder == vgg16_bn_features
    assert n_params(m) == 29_449_355
    assert d["encoder.0.0.weight"] == (64, 3, 3, 3) and d["encoder.4.6.weight"] == (512, 512, 3, 3)
    assert d["decoder.0.0.weight"] == (512, 512, 3, 3)      # deepest decoder stage runs first
    assert d["decoder.1.6.weight"] == (256, 512, 3, 3)      # conv4_1_D: 512 -> 256
    assert d["decoder.3.3.weight"] == (64, 128, 3, 3)       # conv2_1_D: 128 -> 64
    assert d["decoder.4.0.weight"] == (64, 64, 3, 3) and "decoder.4.3.weight" not in d   # conv1_2_D only
    assert d["classifier.weight"] == (11, 64, 3, 3)


def test_small_segnet_output_size_and_backward():
    m = models.segnet(in_channels=1, num_classes=3, base_channels=2)
    y = m(nt.randn(2, 1, 32, 64))
    assert y.shape == (2, 3, 32, 64)
    y.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    with pytest.raises(ValueError, match=r"segnet: input height and width must be multiples of 32"):
        m(nt.randn(1, 1, 48, 48))


def test_segnet_decoder_places_values_at_the_encoders_argmax():
    """The unpooled map is zero except where each 2x2 window's maximum was."""
    m = models.segnet(in_channels=1, num_classes=2, base_channels=2)
    m.eval()
    x = nt.randn(1, 1, 32, 32)
    stage0 = m.encoder[0](x)
    pooled, idx = nt.nn.functional.max_pool2d(stage0, 2, 2, return_indices=True)
    up = nt.nn.functional.max_unpool2d(pooled, idx, 2, 2, output_size=(32, 32)).numpy()
    s = stage0.numpy()
    windows = s.reshape(1, 2, 16, 2, 16, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 16, 16, 4)
    mask = np.zeros_like(windows, dtype=bool)
    np.put_along_axis(mask, windows.argmax(-1)[..., None], True, axis=-1)
    mask = mask.reshape(1, 2, 16, 16, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 32, 32)
    np.testing.assert_array_equal(up != 0, mask & (s != 0))
    np.testing.assert_array_equal(up[mask], s[mask])


if torch is not None:
    class TorchSegNet(torch.nn.Module):
        """The same network written directly in PyTorch."""

        def __init__(self, cin, ncls, c):
            super().__init__()
            T = torch.nn

            def cbr(a, b):
                return [T.Conv2d(a, b, 3, padding=1), T.BatchNorm2d(b), T.ReLU()]

            w = [c, 2 * c, 4 * c, 8 * c, 8 * c]
            n = [2, 2, 3, 3, 3]
            enc, a = [], cin
            for k in range(5):
                layers = []
                for _ in range(n[k]):
                    layers += cbr(a, w[k])
                    a = w[k]
                enc.append(T.Sequential(*layers))
            self.encoder = T.ModuleList(enc)
            dec = []
            for k in range(4, 0, -1):
                layers = []
                for i in range(n[k]):
                    layers += cbr(w[k], w[k - 1] if i == n[k] - 1 else w[k])
                dec.append(T.Sequential(*layers))
            dec.append(T.Sequential(*cbr(w[0], w[0])))
            self.decoder = T.ModuleList(dec)
            self.classifier = T.Conv2d(w[0], ncls, 3, padding=1)

        def forward(self, x):
            saved = []
            for stage in self.encoder:
                x = stage(x)
                size = x.shape[2:]
                x, i = torch.nn.functional.max_pool2d(x, 2, 2, return_indices=True)
                saved.append((i, size))
            for stage in self.decoder:
                i, size = saved.pop()
                x = stage(torch.nn.functional.max_unpool2d(x, i, 2, 2, output_size=size))
            return self.classifier(x)


@requires_torch
def test_small_segnet_matches_torch_in_train_mode():
    m = models.segnet(in_channels=2, num_classes=3, base_channels=2).to(nt.float64)
    th = TorchSegNet(2, 3, 2).double()
    _load_into_torch(m, th)
    _forward_backward_both(m, th, np.random.default_rng(0).standard_normal((2, 2, 32, 32)), 1e-8, 1e-6)
