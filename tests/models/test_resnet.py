"""ResNets: the CIFAR 6n+2 family (option-A shortcuts, PyTorch equivalence
with shared weights) and the ImageNet ResNet-18/34/50 (torchvision layout)."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import models
from helpers import requires_torch, torch


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def digest(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("name,count", [("resnet20", 269_722), ("resnet32", 464_154), ("resnet44", 658_586),
                                        ("resnet56", 853_018), ("resnet110", 1_727_962)])
def test_cifar_resnet_parameter_counts(name, count):
    m = models.get_model(name)
    assert n_params(m) == count
    depth = int(name[len("resnet"):])
    assert len(m.layer1) == len(m.layer2) == len(m.layer3) == (depth - 2) // 6
    assert not any("downsample" in k for k in m.state_dict())        # option A: no shortcut weights


def test_resnet20_layout():
    d = digest(models.resnet20())
    assert len(d) == 116                                              # 19 convs, 19 BNs x 5 entries, fc x 2
    keys = list(d)
    assert keys[:6] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                        "bn1.num_batches_tracked"]
    assert keys[-2:] == ["fc.weight", "fc.bias"]
    assert d["conv1.weight"] == (16, 3, 3, 3)
    assert d["layer2.0.conv1.weight"] == (32, 16, 3, 3)
    assert d["layer3.2.conv2.weight"] == (64, 64, 3, 3)
    assert d["layer3.2.bn2.running_var"] == (64,)
    assert d["fc.weight"] == (10, 64)


def test_option_b_adds_projection_shortcuts():
    m = models.resnet20(shortcut="B")
    assert n_params(m) == 269_722 + (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert digest(m)["layer2.0.downsample.0.weight"] == (32, 16, 1, 1)


def test_option_a_shortcut_subsamples_and_pads_zero_channels():
    block = models.resnet20().layer2[0]
    x = nt.randn(2, 16, 8, 8)
    s = block._option_a(x).numpy()
    assert s.shape == (2, 32, 4, 4)
    np.testing.assert_array_equal(s[:, :16], x.numpy()[:, :, ::2, ::2])
    np.testing.assert_array_equal(s[:, 16:], 0)


def test_resnet20_initialization():
    m = models.resnet20()
    w = m.layer3[1].conv1.weight.numpy()                             # fan_out = 64 * 9
    assert abs(w.std() - np.sqrt(2.0 / (64 * 9))) < 0.1 * np.sqrt(2.0 / (64 * 9))
    assert np.all(m.layer3[1].bn1.weight.numpy() == 1) and np.all(m.layer3[1].bn1.bias.numpy() == 0)
    z = models.resnet20(zero_init_residual=True)
    assert np.all(z.layer1[0].bn2.weight.numpy() == 0) and np.all(z.layer1[0].bn1.weight.numpy() == 1)


def test_resnet20_forward_backward_and_validation():
    m = models.resnet20(num_classes=10)
    y = m(nt.randn(2, 3, 16, 16))
    assert y.shape == (2, 10)
    y.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    assert np.abs(m.conv1.weight.grad.numpy()).sum() > 0
    with pytest.raises(ValueError, match=r"resnet20: expected 3 input channel\(s\), received 1"):
        m(nt.randn(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"resnet20: input height and width must be multiples of 4"):
        m(nt.randn(1, 3, 18, 18))


if torch is not None:
    class TorchBlockA(torch.nn.Module):
        def __init__(self, inplanes, planes, stride):
            super().__init__()
            T = torch.nn
            self.conv1 = T.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = T.BatchNorm2d(planes)
            self.conv2 = T.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = T.BatchNorm2d(planes)
            self.stride, self.extra = stride, planes - inplanes

        def forward(self, x):
            s = x[:, :, ::self.stride, ::self.stride]
            if self.extra:
                s = torch.nn.functional.pad(s, (0, 0, 0, 0, 0, self.extra))
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + s)

    class TorchResNet20(torch.nn.Module):
        def __init__(self):
            super().__init__()
            T = torch.nn
            self.conv1 = T.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = T.BatchNorm2d(16)
            self.layer1 = T.Sequential(*[TorchBlockA(16, 16, 1) for _ in range(3)])
            self.layer2 = T.Sequential(TorchBlockA(16, 32, 2), TorchBlockA(32, 32, 1), TorchBlockA(32, 32, 1))
            self.layer3 = T.Sequential(TorchBlockA(32, 64, 2), TorchBlockA(64, 64, 1), TorchBlockA(64, 64, 1))
            self.fc = T.Linear(64, 10)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


@requires_torch
def test_resnet20_matches_torch_with_torch_weights_in_train_and_eval_mode():
    th = TorchResNet20().double()
    with torch.no_grad():                                    # non-trivial BN state to load
        for mod in th.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5), mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.1, 0.1), mod.running_var.uniform_(0.5, 1.5)
    m = models.resnet20()
    assert digest(m) == {k: tuple(v.shape) for k, v in th.state_dict().items()}
    m.to(nt.float64)                      # before loading: a float32 model would round the weights
    m.load_state_dict(th.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8))

    # training mode: batch statistics; outputs, input and parameter gradients, running stats
    xn, xt = nt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn, yt = m(xn), th(xt)
    np.testing.assert_allclose(yn.numpy(), yt.detach().numpy(), atol=1e-9, rtol=1e-7)
    g = np.random.default_rng(1).standard_normal(yn.shape)
    (yn * nt.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=1e-9, rtol=1e-6)
    tp = dict(th.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), atol=1e-9, rtol=1e-6, err_msg=name)
    ts = th.state_dict()
    np.testing.assert_allclose(m.state_dict()["layer3.2.bn2.running_var"].numpy(),
                               ts["layer3.2.bn2.running_var"].numpy(), rtol=1e-10)

    # evaluation mode: running statistics
    m.eval(), th.eval()
    np.testing.assert_allclose(m(nt.tensor(x)).numpy(), th(torch.tensor(x)).detach().numpy(),
                               atol=1e-9, rtol=1e-7)


# ----------------------------------------------------------------------------- ImageNet

IMAGENET = {
    # name: (parameters, state_dict entries, spot keys -> shapes), torchvision's figures
    "resnet18": (11_689_512, 122, {"layer1.0.conv1.weight": (64, 64, 3, 3),
                                   "layer2.0.downsample.0.weight": (128, 64, 1, 1),
                                   "layer2.0.downsample.1.running_mean": (128,),
                                   "layer4.1.bn2.weight": (512,), "fc.weight": (1000, 512)}),
    "resnet34": (21_797_672, 218, {"layer3.5.conv2.weight": (256, 256, 3, 3),
                                   "layer4.0.downsample.0.weight": (512, 256, 1, 1),
                                   "fc.weight": (1000, 512)}),
    "resnet50": (25_557_032, 320, {"layer1.0.conv1.weight": (64, 64, 1, 1),
                                   "layer1.0.conv3.weight": (256, 64, 1, 1),
                                   "layer1.0.downsample.0.weight": (256, 64, 1, 1),
                                   "layer3.5.bn3.running_var": (1024,),
                                   "layer4.2.conv2.weight": (512, 512, 3, 3), "fc.weight": (1000, 2048)}),
}


@pytest.mark.parametrize("name", list(IMAGENET))
def test_imagenet_resnet_size_and_torchvision_layout(name, cheap_draws):
    count, entries, spots = IMAGENET[name]
    m = models.get_model(name)
    d = digest(m)
    assert n_params(m) == count
    assert len(d) == entries
    assert list(d)[:2] == ["conv1.weight", "bn1.weight"] and list(d)[-2:] == ["fc.weight", "fc.bias"]
    assert d["conv1.weight"] == (64, 3, 7, 7)
    for key, shape in spots.items():
        assert d[key] == shape, key
    assert not any(k.startswith("layer1.0.downsample") for k in d) or name == "resnet50"


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_imagenet_resnet_forward_at_small_size(name):
    m = models.get_model(name, num_classes=7)
    m.eval()
    assert m(nt.randn(1, 3, 32, 32)).shape == (1, 7)


def test_imagenet_resnet_initialization_and_zero_init_residual(cheap_draws):
    m = models.resnet50(zero_init_residual=True)
    w = m.layer4[0].conv2.weight.numpy()                             # fan_out = 512 * 9
    assert abs(w.std() - np.sqrt(2.0 / (512 * 9))) < 0.05 * np.sqrt(2.0 / (512 * 9))
    assert np.all(m.layer4[0].bn3.weight.numpy() == 0) and np.all(m.layer4[0].bn2.weight.numpy() == 1)
    bound = 1 / np.sqrt(2048)                                        # fc: PyTorch's Linear default
    assert np.abs(m.fc.weight.numpy()).max() <= bound
