"""LeNet-5 (modern and classic) and the MLP: sizes, the C3 table, PyTorch
equivalence with shared weights, gradients."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import models
from neuronet.autograd import gradcheck
from neuronet.models.lenet import C3_TABLE, PartialConv2d, ScaledTanh
from helpers import requires_torch, torch


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def digest(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def torch_digest(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def assert_grads_match(nt_model, th_model, atol=1e-5, rtol=1e-4):
    th_params = dict(th_model.named_parameters())
    for name, p in nt_model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient"
        np.testing.assert_allclose(p.grad.numpy(), th_params[name].grad.numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of {name} differs from PyTorch")


def run_both(nt_model, th_model, x, atol=1e-5, rtol=1e-4):
    """Forward both on ``x``, backprop a shared random upstream gradient,
    compare outputs, parameter gradients and the input gradient."""
    xn = nt.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yn, yt = nt_model(xn), th_model(xt)
    np.testing.assert_allclose(yn.numpy(), yt.detach().numpy(), atol=atol, rtol=rtol)
    g = np.random.default_rng(5).standard_normal(tuple(yn.shape)).astype(x.dtype)
    (yn * nt.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=atol, rtol=rtol)
    assert_grads_match(nt_model, th_model, atol, rtol)


# ----------------------------------------------------------------------------- modern

MODERN_DIGEST = {
    "features.0.weight": (6, 1, 5, 5), "features.0.bias": (6,),
    "features.3.weight": (16, 6, 5, 5), "features.3.bias": (16,),
    "classifier.0.weight": (120, 400), "classifier.0.bias": (120,),
    "classifier.2.weight": (84, 120), "classifier.2.bias": (84,),
    "classifier.4.weight": (10, 84), "classifier.4.bias": (10,),
}


def test_modern_lenet5_has_61706_parameters_and_its_layout():
    m = models.lenet5()
    assert n_params(m) == 61_706
    assert digest(m) == MODERN_DIGEST


def test_modern_lenet5_for_cifar_size_input():
    m = models.lenet5(num_classes=10, in_channels=3, input_size=32)
    assert m.state_dict()["classifier.0.weight"].shape == (120, 16 * 6 * 6)
    assert n_params(m) == 456 + 2_416 + 69_240 + 10_164 + 850
    assert m(nt.randn(2, 3, 32, 32)).shape == (2, 10)


def test_modern_lenet5_forward_backward():
    m = models.lenet5(num_classes=10)
    x = nt.randn(4, 1, 28, 28)
    y = m(x)
    assert y.shape == (4, 10)
    nt.nn.functional.cross_entropy(y, nt.tensor(np.array([0, 1, 2, 3]))).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name


@pytest.mark.parametrize("shape,message", [
    ((2, 3, 28, 28), r"lenet5: expected 1 input channel\(s\), received 3"),
    ((2, 1, 32, 32), r"lenet5: built for 28x28 input \(input_size=28\), received 32x32"),
    ((1, 28, 28), r"lenet5: expected a 4D input"),
])
def test_modern_lenet5_refuses_wrong_inputs(shape, message):
    with pytest.raises(ValueError, match=message):
        models.lenet5()(nt.randn(*shape))


class TorchLeNet5(torch.nn.Module if torch else object):
    def __init__(self):
        super().__init__()
        T = torch.nn
        self.features = T.Sequential(T.Conv2d(1, 6, 5, padding=2), T.ReLU(), T.MaxPool2d(2, 2),
                                     T.Conv2d(6, 16, 5), T.ReLU(), T.MaxPool2d(2, 2))
        self.classifier = T.Sequential(T.Linear(400, 120), T.ReLU(), T.Linear(120, 84), T.ReLU(),
                                       T.Linear(84, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


@requires_torch
def test_modern_lenet5_matches_torch_with_torch_weights():
    th = TorchLeNet5().double()
    m = models.lenet5()
    assert digest(m) == torch_digest(th)
    m.to(nt.float64)
    m.load_state_dict(th.state_dict())
    run_both(m, th, np.random.default_rng(0).standard_normal((3, 1, 28, 28)), atol=1e-10, rtol=1e-8)


# ----------------------------------------------------------------------------- classic

# Table I of LeCun et al. 1998, written as the S2 maps each C3 map reads.
PAPER_TABLE_I = [
    {0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {4, 5, 0}, {5, 0, 1},
    {0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {3, 4, 5, 0}, {4, 5, 0, 1}, {5, 0, 1, 2},
    {0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5},
    {0, 1, 2, 3, 4, 5},
]


def test_c3_table_is_table_one_of_the_paper():
    assert C3_TABLE.shape == (6, 16)
    assert int(C3_TABLE.sum()) == 60
    assert [set(np.nonzero(C3_TABLE[:, o])[0].tolist()) for o in range(16)] == PAPER_TABLE_I
    assert not C3_TABLE.flags.writeable


def test_classic_lenet5_layer_sizes_are_the_papers():
    m = models.lenet5(variant="classic")
    sizes = {name: sum(p.numel() for p in getattr(m, name).parameters())
             for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output")}
    assert sizes == {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164, "output": 850}
    assert sum(v for k, v in sizes.items() if k != "output") == 60_000     # "60,000 trainable parameters"
    assert m.c3.weight.shape == (60, 5, 5) and m.c3.connections == 60
    assert n_params(m) == 60_850


def test_scaled_tanh_is_the_papers_squashing_function():
    a = nt.tensor(np.array([-1.0, 0.0, 1.0, 3.0]))
    y = ScaledTanh()(a).numpy()
    np.testing.assert_allclose(y, 1.7159 * np.tanh(2 * a.numpy() / 3))
    np.testing.assert_allclose(y[[0, 2]], [-1.0, 1.0], atol=1e-4)   # f(+-1) = +-1


def test_partial_conv_equals_dense_conv_with_masked_kernel():
    c3 = models.lenet5(variant="classic").c3
    dense = c3.dense_weight().numpy()
    assert dense.shape == (16, 6, 5, 5)
    connected = np.abs(dense).sum(axis=(2, 3)) > 0
    np.testing.assert_array_equal(connected, C3_TABLE.T)
    x = nt.randn(2, 6, 14, 14)
    ref = nt.nn.functional.conv2d(x, nt.tensor(dense), c3.bias)
    np.testing.assert_allclose(c3(x).numpy(), ref.numpy(), atol=1e-5)


def test_partial_conv_gradcheck_on_a_small_table():
    table = np.array([[1, 0, 1], [1, 1, 0]], dtype=bool)     # 2 input maps, 3 output maps
    layer = PartialConv2d(table, kernel_size=2)
    assert layer.weight.shape == (4, 2, 2)
    w = nt.tensor(np.random.default_rng(1).standard_normal((4, 2, 2)), requires_grad=True)
    b = nt.tensor(np.random.default_rng(2).standard_normal(3), requires_grad=True)
    x = nt.tensor(np.random.default_rng(3).standard_normal((2, 2, 4, 4)), requires_grad=True)

    def fn(x, w, b):
        # the layer computes with the gradcheck inputs as its parameters
        layer._parameters["weight"], layer._parameters["bias"] = w, b
        return layer(x)

    assert gradcheck(fn, [x, w, b])


def test_classic_lenet5_initialization_follows_appendix_a():
    m = models.lenet5(variant="classic")
    assert np.abs(m.c1.weight.numpy()).max() <= 2.4 / 25
    assert np.abs(m.c5.weight.numpy()).max() <= 2.4 / 400
    assert np.abs(m.f6.weight.numpy()).max() <= 2.4 / 120
    # C3: each kernel bounded by 2.4 / (25 * its map's number of inputs)
    fan = C3_TABLE.sum(axis=0) * 25
    kernel_map = np.nonzero(C3_TABLE.T)[0]
    peak = np.abs(m.c3.weight.numpy()).max(axis=(1, 2))
    assert np.all(peak <= 2.4 / fan[kernel_map])
    assert np.all(peak > 0.5 * 2.4 / fan[kernel_map])           # drawn over the whole range


@pytest.mark.parametrize("side", [28, 32])
def test_classic_lenet5_forward_backward(side):
    m = models.lenet5(variant="classic")
    y = m(nt.randn(2, 1, side, side))
    assert y.shape == (2, 10)
    y.sum().backward()
    assert m.c3.weight.grad.shape == (60, 5, 5) and m.s2.weight.grad.shape == (6,)


def test_classic_lenet5_refuses_other_sizes():
    with pytest.raises(ValueError, match=r"expected 32x32 input \(or 28x28, padded to 32x32\), received 30x30"):
        models.lenet5(variant="classic")(nt.randn(1, 1, 30, 30))


class TorchClassicLeNet5(torch.nn.Module if torch else object):
    """An independent PyTorch rendering: C3 as one convolution per C3 map over
    the S2 maps Table I lists, subsampling as 2x2 window sums."""

    def __init__(self):
        super().__init__()
        P = torch.nn.Parameter
        self.c1 = torch.nn.Conv2d(1, 6, 5)
        self.s2 = torch.nn.Module()
        self.s2.weight, self.s2.bias = P(torch.ones(6)), P(torch.zeros(6))
        self.c3 = torch.nn.Module()
        self.c3.weight, self.c3.bias = P(torch.zeros(60, 5, 5)), P(torch.zeros(16))
        self.s4 = torch.nn.Module()
        self.s4.weight, self.s4.bias = P(torch.ones(16)), P(torch.zeros(16))
        self.c5 = torch.nn.Conv2d(16, 120, 5)
        self.f6 = torch.nn.Linear(120, 84)
        self.output = torch.nn.Linear(84, 10)

    @staticmethod
    def f(a):
        return 1.7159 * torch.tanh(2 * a / 3)

    @staticmethod
    def subsample(x, layer):
        s = x[:, :, 0::2, 0::2] + x[:, :, 1::2, 0::2] + x[:, :, 0::2, 1::2] + x[:, :, 1::2, 1::2]
        return s * layer.weight.view(1, -1, 1, 1) + layer.bias.view(1, -1, 1, 1)

    def forward(self, x):
        x = torch.nn.functional.pad(x, (2, 2, 2, 2))
        x = self.f(self.c1(x))
        x = self.f(self.subsample(x, self.s2))
        maps, k = [], 0
        for o, inputs in enumerate(PAPER_TABLE_I):
            acc = self.c3.bias[o]
            for c in sorted(inputs):
                acc = acc + torch.nn.functional.conv2d(x[:, c:c + 1], self.c3.weight[k].view(1, 1, 5, 5))
                k += 1
            maps.append(acc)
        x = self.f(torch.cat(maps, 1))
        x = self.f(self.subsample(x, self.s4))
        x = self.f(self.c5(x))
        x = self.f(self.f6(torch.flatten(x, 1)))
        return self.output(x)


@requires_torch
def test_classic_lenet5_matches_an_independent_torch_rendering():
    m = models.lenet5(variant="classic").to(nt.float64)
    th = TorchClassicLeNet5().double()
    assert digest(m) == torch_digest(th)
    th.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    run_both(m, th, np.random.default_rng(0).standard_normal((2, 1, 28, 28)), atol=1e-10, rtol=1e-7)


# ----------------------------------------------------------------------------- MLP

def test_mlp_default_size_layout_and_training_step():
    m = models.mlp()
    assert n_params(m) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10 == 235_146
    assert list(digest(m)) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
                               "layers.4.weight", "layers.4.bias"]
    y = m(nt.randn(3, 1, 28, 28))
    assert y.shape == (3, 10)
    y.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_mlp_dropout_and_activation_layers():
    m = models.mlp(in_features=12, hidden=(8, 8), num_classes=3, activation="tanh", dropout=0.5)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    assert models.mlp(in_features=5, hidden=(), num_classes=2)(nt.randn(4, 5)).shape == (4, 2)
    with pytest.raises(ValueError, match=r"mlp: expected 12 features per sample after flattening, received 10"):
        m(nt.randn(2, 10))


@requires_torch
def test_mlp_matches_torch():
    m = models.mlp(in_features=20, hidden=(16, 8), num_classes=4).to(nt.float64)
    T = torch.nn
    th = T.Module()
    th.layers = T.Sequential(T.Linear(20, 16), T.ReLU(), T.Linear(16, 8), T.ReLU(), T.Linear(8, 4)).double()
    th.forward = lambda x: th.layers(torch.flatten(x, 1))
    assert digest(m) == torch_digest(th)
    th.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    run_both(m, th, np.random.default_rng(0).standard_normal((5, 4, 5)), atol=1e-10, rtol=1e-8)
