"""AlexNet, VGG and GoogLeNet: parameter counts and state_dict layouts equal
to torchvision's (and the papers' for AlexNet's original form), forward at
small resolution, initialization. Construction uses ``cheap_draws`` (see
conftest.py): the sizes do not depend on the values drawn."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import models
from neuronet.models.vgg import VGG_CONFIGS, make_layers


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def digest(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- AlexNet

ALEXNET_TORCHVISION = {
    "features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,),
    "features.3.weight": (192, 64, 5, 5), "features.3.bias": (192,),
    "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
    "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,),
    "features.10.weight": (256, 256, 3, 3), "features.10.bias": (256,),
    "classifier.1.weight": (4096, 9216), "classifier.1.bias": (4096,),
    "classifier.4.weight": (4096, 4096), "classifier.4.bias": (4096,),
    "classifier.6.weight": (1000, 4096), "classifier.6.bias": (1000,),
}


def test_alexnet_torchvision_layout_and_size(cheap_draws):
    m = models.alexnet()
    assert digest(m) == ALEXNET_TORCHVISION
    assert n_params(m) == 61_100_840
    kinds = [type(x).__name__ for x in m.classifier]
    assert kinds == ["Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]
    assert m.avgpool.output_size in ((6, 6), 6)
    m.eval()
    assert m(nt.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_alexnet_original_is_the_two_gpu_network_of_the_paper(cheap_draws):
    m = models.alexnet(variant="original")
    d = digest(m)
    assert n_params(m) == 60_965_224
    convs = {i: m.features[i] for i in (0, 4, 8, 10, 12)}
    assert [(c.out_channels, c.groups) for c in convs.values()] == [(96, 1), (256, 2), (384, 1), (384, 2), (256, 2)]
    assert d["features.0.weight"] == (96, 3, 11, 11)
    assert d["features.4.weight"] == (256, 48, 5, 5)        # each GPU's half sees its 48 maps
    assert d["features.8.weight"] == (384, 256, 3, 3)       # conv3 crosses the GPUs
    assert d["features.10.weight"] == (384, 192, 3, 3)
    assert d["features.12.weight"] == (256, 192, 3, 3)
    assert d["classifier.0.weight"] == (4096, 9216) and d["classifier.6.weight"] == (1000, 4096)
    lrns = [x for x in m.features if type(x).__name__ == "LocalResponseNorm"]
    assert [m.features[i] for i in (2, 6)] == lrns
    for lrn in lrns:    # the paper's alpha = 1e-4 on the plain sum; PyTorch's divides alpha by n
        assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, pytest.approx(5e-4), 0.75, 2.0)
    pools = [x for x in m.features if type(x).__name__ == "MaxPool2d"]
    assert len(pools) == 3 and all((p.kernel_size, p.stride) in ((3, 2), ((3, 3), (2, 2))) for p in pools)

    # Section 5: weights N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6, fc7; 0 elsewhere
    for key in ("features.4.bias", "features.10.bias", "features.12.bias", "classifier.0.bias", "classifier.3.bias"):
        assert np.all(m.state_dict()[key].numpy() == 1), key
    for key in ("features.0.bias", "features.8.bias", "classifier.6.bias"):
        assert np.all(m.state_dict()[key].numpy() == 0), key
    w = m.classifier[3].weight.numpy()
    assert abs(w.mean()) < 1e-4 and abs(w.std() - 0.01) < 2e-4

    # the paper's 227x227 input reaches 256 x 6 x 6 without the adaptive pool's help
    m.eval()
    x = nt.randn(1, 3, 227, 227)
    f = m.features(x)
    assert f.shape == (1, 256, 6, 6)
    assert m.classifier(m.avgpool(f).flatten(1)).shape == (1, 1000)
    assert m(nt.randn(1, 3, 67, 67)).shape == (1, 1000)
    with pytest.raises(ValueError, match=r"alexnet\(variant='original'\): input height and width must be at least 67"):
        m(nt.randn(1, 3, 64, 64))


# ----------------------------------------------------------------------------- VGG

CLASSIFIER = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000

VGG = {
    # name: (parameters, state_dict entries, index of the last conv in ``features``), torchvision's
    "vgg11": (132_863_336, 22, 18), "vgg13": (133_047_848, 26, 22),
    "vgg16": (138_357_544, 32, 28), "vgg19": (143_667_240, 38, 34),
    "vgg11_bn": (132_868_840, 62, 25), "vgg13_bn": (133_053_736, 76, 31),
    "vgg16_bn": (138_365_992, 97, 40), "vgg19_bn": (143_678_248, 118, 49),
}


@pytest.mark.parametrize("name", list(VGG))
def test_vgg_configurations_give_torchvision_sizes(name):
    """All eight: features as the builder makes them + the shared classifier
    equals torchvision's count; the layer indices equal torchvision's."""
    count, entries, last_conv = VGG[name]
    letter = "ABDE"[[11, 13, 16, 19].index(int(name[3:5]))]
    config = VGG_CONFIGS[letter]
    assert sum(1 for v in config if v != "M") + 3 == int(name[3:5])    # the weight layers the name counts
    features = make_layers(config, batch_norm=name.endswith("_bn"))
    d = digest(features)
    assert n_params(features) + CLASSIFIER == count
    assert len(d) + 6 == entries
    assert d["0.weight"] == (64, 3, 3, 3)
    assert d[f"{last_conv}.weight"] == (512, 512, 3, 3)
    assert len(features) == last_conv + (4 if name.endswith("_bn") else 3)   # (BN,) ReLU, MaxPool after it


@pytest.mark.parametrize("name", ["vgg16", "vgg11_bn"])
def test_vgg_full_build_layout_init_and_forward(name, cheap_draws):
    count, entries, last_conv = VGG[name]
    m = models.get_model(name, num_classes=10)
    d = digest(m)
    assert n_params(m) == count - 4096 * 990 - 990
    assert n_params(m.classifier) == CLASSIFIER - 4096 * 990 - 990
    assert len(d) == entries
    keys = list(d)
    assert keys[0] == "features.0.weight" and keys[-1] == "classifier.6.bias"
    assert d[f"features.{last_conv}.weight"] == (512, 512, 3, 3)
    assert d["classifier.0.weight"] == (4096, 25088)
    assert d["classifier.3.weight"] == (4096, 4096)
    assert d["classifier.6.weight"] == (10, 4096)
    # torchvision's init: conv kaiming_normal_ fan_out, zero bias; BN 1/0; linear N(0, 0.01), zero bias
    conv = m.features[last_conv].weight.numpy()                   # fan_out = 512 * 9
    assert abs(conv.std() - np.sqrt(2 / (512 * 9))) < 0.03 * np.sqrt(2 / (512 * 9))
    assert np.all(m.features[0].bias.numpy() == 0)
    if name.endswith("_bn"):
        assert d["features.1.running_var"] == (64,) and "features.1.num_batches_tracked" in d
        assert np.all(m.features[1].weight.numpy() == 1) and np.all(m.features[1].bias.numpy() == 0)
    fc = m.classifier[0].weight.numpy()
    assert abs(fc.std() - 0.01) < 3e-4 and np.all(m.classifier[0].bias.numpy() == 0)
    m.eval()
    assert m(nt.randn(1, 3, 32, 32)).shape == (1, 10)
    with pytest.raises(ValueError, match=rf"{name}: input height and width must be at least 32"):
        m(nt.randn(1, 3, 16, 16))


# ----------------------------------------------------------------------------- GoogLeNet

GOOGLENET_SPOTS = {
    "conv1.conv.weight": (64, 3, 7, 7), "conv1.bn.running_mean": (64,),
    "conv2.conv.weight": (64, 64, 1, 1), "conv3.conv.weight": (192, 64, 3, 3),
    "inception3a.branch1.conv.weight": (64, 192, 1, 1),
    "inception3a.branch2.0.conv.weight": (96, 192, 1, 1),
    "inception3a.branch2.1.conv.weight": (128, 96, 3, 3),
    "inception3a.branch3.1.conv.weight": (32, 16, 3, 3),      # torchvision's 3x3 (paper: 5x5)
    "inception3a.branch4.1.conv.weight": (32, 192, 1, 1),
    "inception4e.branch1.conv.weight": (256, 528, 1, 1),
    "inception5b.branch2.1.conv.weight": (384, 192, 3, 3),
    "inception5b.branch4.1.bn.num_batches_tracked": (),
    "fc.weight": (1000, 1024), "fc.bias": (1000,),
}
GOOGLENET_AUX_SPOTS = {
    "aux1.conv.conv.weight": (128, 512, 1, 1), "aux1.fc1.weight": (1024, 2048),
    "aux1.fc2.weight": (1000, 1024), "aux2.conv.conv.weight": (128, 528, 1, 1),
    "aux2.conv.bn.running_var": (128,),
}


@pytest.mark.parametrize("aux,count,entries", [(False, 6_624_904, 344), (True, 13_004_888, 364)])
def test_googlenet_size_and_torchvision_layout(aux, count, entries, cheap_draws):
    m = models.googlenet(aux_logits=aux)
    d = digest(m)
    assert n_params(m) == count
    assert len(d) == entries
    keys = list(d)
    assert keys[:2] == ["conv1.conv.weight", "conv1.bn.weight"] and keys[-2:] == ["fc.weight", "fc.bias"]
    for key, shape in GOOGLENET_SPOTS.items():
        assert d[key] == shape, key
    for key, shape in GOOGLENET_AUX_SPOTS.items():
        assert (d.get(key) == shape) if aux else key not in d, key
    assert m.conv1.bn.eps == pytest.approx(0.001)
    assert "conv1.conv.bias" not in d


def test_googlenet_forward_train_with_aux_and_eval(cheap_draws):
    m = models.googlenet(num_classes=5, aux_logits=True)
    out = m(nt.randn(2, 3, 32, 32))
    assert isinstance(out, models.GoogLeNetOutputs)
    assert out.logits.shape == out.aux_logits1.shape == out.aux_logits2.shape == (2, 5)
    (out.logits.sum() + 0.3 * (out.aux_logits1.sum() + out.aux_logits2.sum())).backward()
    assert m.aux1.fc2.weight.grad is not None and m.conv1.conv.weight.grad is not None
    m.eval()
    y = m(nt.randn(1, 3, 32, 32))
    assert isinstance(y, nt.Tensor) and y.shape == (1, 5)


def test_googlenet_initialization_and_transform_input(cheap_draws):
    m = models.googlenet(transform_input=True)
    w = m.inception4a.branch2[1].conv.weight.numpy()
    # trunc_normal_(std=0.01, a=-2, b=2): the cut is absolute, 200 std out, so in effect N(0, 0.01)
    assert abs(w.mean()) < 5e-4 and abs(w.std() - 0.01) < 5e-4
    x = nt.randn(1, 3, 4, 4)
    t = m._transform_input(x).numpy()
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (x.numpy() * std[:, None, None] + mean[:, None, None] - 0.5) / 0.5
    np.testing.assert_allclose(t, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"googlenet: transform_input needs 3 input channels"):
        models.googlenet(transform_input=True, in_channels=1)
