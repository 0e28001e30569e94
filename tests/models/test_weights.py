"""Pretrained weights: torchvision's entries (URLs, hash prefixes, metadata,
preprocessing) compared with torchvision's own enums; the cache, an offline
download, a verified download, local files. Offline: "downloads" read
``file://`` URLs or are refused by a patched ``urlopen``."""
import hashlib
import os
import urllib.error
import urllib.request

import numpy as np
import pytest

import neuronet as nt
from neuronet import models
from neuronet.models import weights as W
from neuronet.vision import models as vm

from ._torchvision import numpy_state_dict, random_torchvision, relative_error, torch, tv

requires_tv = pytest.mark.skipif(tv is None, reason="torchvision cannot be imported")

ENUMS = ["AlexNet_Weights", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
         "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights", "GoogLeNet_Weights",
         "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty weights cache, and no network: urlopen refuses http(s)."""
    monkeypatch.setenv("NEURONET_HOME", str(tmp_path / "home"))
    real = urllib.request.urlopen

    def offline(req, *args, **kwargs):
        url = req.full_url if isinstance(req, urllib.request.Request) else req
        if not url.startswith("file:"):
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution (test: offline)")
        return real(req, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return tmp_path / "home" / "weights"


# ----------------------------------------------------------------------------- metadata

@requires_tv
@pytest.mark.parametrize("enum_name", ENUMS)
def test_entries_equal_torchvisions(enum_name):
    ours, theirs = getattr(W, enum_name), getattr(tv.models, enum_name)
    assert list(ours.__members__) == list(theirs.__members__)      # DEFAULT included
    assert ours.DEFAULT.name == theirs.DEFAULT.name
    for entry in theirs:
        mine = ours[entry.name]
        assert mine.url == entry.url
        assert mine.meta["categories"] == entry.meta["categories"]
        for key in ("num_params", "recipe", "_ops", "_file_size"):
            assert mine.meta[key] == entry.meta[key], (enum_name, key)
        assert tuple(mine.meta["min_size"]) == tuple(entry.meta["min_size"])
        np.testing.assert_equal(mine.meta["_metrics"], entry.meta["_metrics"])   # NaN for VGG16 features
        t_ours, t_theirs = mine.transforms(), entry.transforms()
        assert (t_ours.crop_size, t_ours.resize_size) == (t_theirs.crop_size, t_theirs.resize_size)
        np.testing.assert_allclose(t_ours.mean, t_theirs.mean)
        np.testing.assert_allclose(t_ours.std, t_theirs.std)


def test_categories_file_hash_prefix_and_cache_path(home):
    e = models.ResNet18_Weights.IMAGENET1K_V1
    assert len(e.meta["categories"]) == 1000 and len(set(e.meta["categories"])) == 1000
    assert e.meta["categories"][0] == "tench" and e.meta["categories"][999] == "toilet tissue"
    assert e.meta["_metrics"]["ImageNet-1K"] == {"acc@1": 69.758, "acc@5": 89.078}
    assert e.file_name == "resnet18-f37072fd.pth" and e.sha256_prefix == "f37072fd"
    assert models.AlexNet_Weights.DEFAULT.sha256_prefix == "7be5be79"      # alexnet-owt-7be5be79.pth
    assert e.path == str(home / "resnet18-f37072fd.pth")
    assert models.ResNet50_Weights.DEFAULT is models.ResNet50_Weights.IMAGENET1K_V2
    assert models.get_weight("ResNet50_Weights.IMAGENET1K_V1") is models.ResNet50_Weights.IMAGENET1K_V1
    assert repr(models.ResNet50_Weights.DEFAULT) == "ResNet50_Weights.IMAGENET1K_V2"


def test_transforms_output_shape_and_values():
    from PIL import Image
    t = models.ResNet50_Weights.IMAGENET1K_V2.transforms()     # resize 232, crop 224
    rgb = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    out = t(Image.fromarray(rgb))
    assert tuple(out.shape) == (3, 224, 224) and out.dtype == nt.float32
    batch = t(nt.tensor(np.stack([rgb.transpose(2, 0, 1)] * 2)))
    assert tuple(batch.shape) == (2, 3, 224, 224)
    assert np.allclose(batch.numpy()[1], out.numpy())
    # a constant image of ImageNet's mean colour comes out as zeros
    mean = np.round(255 * np.array([0.485, 0.456, 0.406])).astype(np.uint8)
    flat = t(nt.tensor(np.broadcast_to(mean[:, None, None], (3, 256, 256)).copy())).numpy()
    assert np.abs(flat).max() < 0.01


@requires_tv
def test_transforms_match_torchvisions_preset():
    rgb = np.random.default_rng(1).integers(0, 256, (3, 240, 320), dtype=np.uint8)
    ours = models.ResNet18_Weights.DEFAULT.transforms()(nt.tensor(rgb)).numpy()
    theirs = tv.models.ResNet18_Weights.DEFAULT.transforms()(torch.from_numpy(rgb)).numpy()
    assert ours.shape == theirs.shape == (3, 224, 224)
    # torchvision rounds the resized uint8 image back to integers: one grey level at most
    assert np.abs(ours - theirs).max() <= 1.01 / 255 / 0.224


# ----------------------------------------------------------------------------- resolving the argument

def test_weights_argument_errors(home):
    with pytest.raises(W.WeightsError, match=r"resnet18: unknown weights 'IMAGENET1K_V9'.*'IMAGENET1K_V1', "
                                             r"'DEFAULT'"):
        models.resnet18(weights="IMAGENET1K_V9")
    with pytest.raises(W.WeightsError, match=r"resnet18: weights must be a ResNet18_Weights entry, received "
                                             r"VGG16_Weights.IMAGENET1K_V1"):
        models.resnet18(weights=models.VGG16_Weights.IMAGENET1K_V1)
    with pytest.raises(W.WeightsError, match=r"have 1000 classes, received num_classes=10"):
        models.resnet18(weights="DEFAULT", num_classes=10)
    with pytest.raises(W.WeightsError, match=r"no such file"):
        models.resnet18(weights=str(home / "nothing.pth"))


def test_offline_download_is_one_clear_error_naming_the_url_and_the_place(home):
    entry = models.ResNet18_Weights.IMAGENET1K_V1
    with pytest.raises(W.WeightsError) as info:
        vm.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1)
    msg = str(info.value)
    assert "\n" not in msg
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in msg
    assert f"put it at {entry.path}" in msg and "name resolution" in msg
    assert not home.exists() or os.listdir(home) == []        # nothing partial left behind


# ----------------------------------------------------------------------------- loading

def _resnet18_file(path, seed=0):
    """A torchvision-layout ResNet-18 state_dict with random weights at
    ``path``; returns the torchvision model (the oracle)."""
    ref = random_torchvision("resnet18", seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    nt.save(numpy_state_dict(ref), str(path))
    return ref


def _same_outputs(ours, ref, size=32):
    x = np.random.default_rng(2).standard_normal((1, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    with nt.no_grad():
        got = ours.eval()(nt.tensor(x)).numpy()
    return relative_error(got, expected)


@requires_tv
def test_a_file_in_the_cache_is_used_without_download(home):
    ref = _resnet18_file(home / "resnet18-f37072fd.pth")
    entry = models.ResNet18_Weights.IMAGENET1K_V1
    for weights in ("IMAGENET1K_V1", "DEFAULT", entry, "ResNet18_Weights.IMAGENET1K_V1"):
        assert W.resolve(weights, models.ResNet18_Weights, "resnet18") is entry
    assert _same_outputs(vm.resnet18(weights=entry), ref) < 1e-4
    m = models.get_model("resnet18", weights="DEFAULT")
    assert _same_outputs(m, ref) < 1e-4
    assert m.config == {"name": "resnet18", "kwargs": {"num_classes": 1000, "zero_init_residual": False,
                                                       "in_channels": 3}}   # rebuilding never downloads


@requires_tv
def test_local_path_and_mismatched_file(home, tmp_path):
    path = tmp_path / "mine.pth"
    ref = _resnet18_file(path, seed=3)
    assert _same_outputs(vm.resnet18(weights=str(path)), ref) < 1e-4
    with pytest.raises(W.WeightsError, match=r"resnet34: the weights in .*mine.pth do not fit the model"):
        models.resnet34(weights=path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a weights file")
    with pytest.raises(W.WeightsError, match=r"resnet18: cannot read the weights file .*junk.pth"):
        models.resnet18(weights=str(junk))


@requires_tv
def test_a_torch_saved_file_loads_through_neuronet_load(home, tmp_path):
    ref = random_torchvision("resnet18", seed=4)
    path = tmp_path / "torch_saved.pth"
    torch.save(ref.state_dict(), path)
    try:
        nt.load(str(path))
    except Exception as e:      # neuronet.formats (PyTorch files) is another change
        pytest.skip(f"neuronet.load cannot read torch.save files yet: {e}")
    assert _same_outputs(models.resnet18(weights=str(path)), ref) < 1e-4


@requires_tv
def test_download_is_verified_against_the_hash_in_the_file_name(home, tmp_path, monkeypatch):
    entry = models.ResNet18_Weights.IMAGENET1K_V1
    served = tmp_path / "server" / "resnet18.pth"
    ref = _resnet18_file(served)
    prefix = hashlib.sha256(served.read_bytes()).hexdigest()[:8]
    good = served.with_name(f"resnet18-{prefix}.pth")
    served.rename(good)
    monkeypatch.setattr(entry.value, "url", good.as_uri())
    m = models.resnet18(weights=entry)
    assert _same_outputs(m, ref) < 1e-4
    assert os.listdir(home) == [good.name]                    # cached under the published name

    bad = good.with_name("resnet18-00000000.pth")
    good.rename(bad)
    monkeypatch.setattr(entry.value, "url", bad.as_uri())
    with pytest.raises(W.WeightsError, match=r"has SHA-256 [0-9a-f]{64}, but its published name says it "
                                             r"starts with 00000000; it was not kept"):
        models.resnet18(weights=entry)
    assert sorted(os.listdir(home)) == [good.name]            # nothing else kept


@requires_tv
def test_googlenet_pretrained_behaves_as_torchvisions(home):
    # torchvision's file holds the aux heads; the ported weights want transform_input
    ref = random_torchvision("googlenet", aux_logits=True, transform_input=True, init_weights=False)
    home.mkdir(parents=True, exist_ok=True)
    nt.save(numpy_state_dict(ref), str(home / "googlenet-1378be20.pth"))
    m = vm.googlenet(weights="DEFAULT")
    assert m.transform_input and m.aux1 is None and m.aux2 is None and not m.aux_logits
    assert not any(k.startswith("aux") for k in m.state_dict())
    assert m.config["kwargs"]["transform_input"] is True      # rebuilt from a checkpoint: same inputs
    assert _same_outputs(m, ref) < 1e-4
    m = models.googlenet(weights="DEFAULT", aux_logits=True)
    assert m.aux1 is not None and _same_outputs(m, ref) < 1e-4
