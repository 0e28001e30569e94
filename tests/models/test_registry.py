"""The registry: names, builders by name, and the config each model carries."""
import json

import pytest

import neuronet as nt
from neuronet import models

EXPECTED = {"mlp", "lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn",
            "vgg16_bn", "vgg19_bn", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet20",
            "resnet32", "resnet44", "resnet56", "resnet110", "unet", "segnet"}


def test_list_models_names_every_builder():
    names = models.list_models()
    assert set(names) == EXPECTED
    assert names == sorted(names)


def test_get_model_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown model 'lenet6'.*lenet5"):
        models.get_model("lenet6")


def test_get_model_is_case_insensitive_and_forwards_kwargs():
    m = models.get_model("LeNet5", num_classes=7, variant="classic")
    assert isinstance(m, models.LeNet5Classic)
    assert m.output.weight.shape == (7, 84)


def test_config_records_every_argument_and_rebuilds_the_model():
    m = models.get_model("resnet20", num_classes=5)
    assert m.config == {"name": "resnet20", "kwargs": {"num_classes": 5, "shortcut": "A",
                                                       "zero_init_residual": False, "in_channels": 3}}
    json.dumps(m.config)     # a checkpoint can store it as text
    twin = models.get_model(m.config["name"], **m.config["kwargs"])
    assert {k: tuple(v.shape) for k, v in twin.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in m.state_dict().items()}
    twin.load_state_dict(m.state_dict())
    x = nt.randn(2, 3, 8, 8)
    m.eval(), twin.eval()
    assert nt.allclose(m(x), twin(x))


def test_direct_builder_call_sets_config_too():
    m = models.mlp(784, (32,), 10)
    assert m.config == {"name": "mlp", "kwargs": {"in_features": 784, "hidden": (32,), "num_classes": 10,
                                                  "activation": "relu", "dropout": 0.0}}
    m2 = models.unet(base_channels=4, depth=2)
    assert m2.config["kwargs"]["base_channels"] == 4 and m2.config["kwargs"]["in_channels"] == 1


@pytest.mark.parametrize("name,kwargs,message", [
    ("lenet5", {"num_classes": 0}, r"lenet5: num_classes must be a positive integer, received num_classes=0"),
    ("lenet5", {"variant": "lenet4"}, r"lenet5: variant must be one of 'modern', 'classic'.*'lenet4'"),
    ("resnet20", {"shortcut": "C"}, r"resnet20: shortcut must be one of 'A', 'B'"),
    ("alexnet", {"dropout": 1.5}, r"alexnet: dropout must be a probability"),
    ("unet", {"base_channels": 2.5}, r"unet: base_channels must be a positive integer"),
    ("mlp", {"hidden": 64}, r"mlp: hidden must be a sequence"),
    ("mlp", {"activation": "swish"}, r"mlp: activation must be one of"),
])
def test_bad_arguments_are_refused_with_the_model_name(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.get_model(name, **kwargs)


def test_unknown_keyword_names_the_builder_signature():
    with pytest.raises(TypeError, match=r"lenet5: .*num_class.*Signature: lenet5\("):
        models.get_model("lenet5", num_class=10)
