"""neuronet.vision.datasets: torchvision's classes, layout and per-sample
results, on tiny files written here (offline), plus the DataLoader fast path."""
import gzip
import hashlib
import os

import numpy as np
import pytest
from PIL import Image

import neuronet as nt
from neuronet.data import DataLoader, Subset, default_collate
from neuronet.vision import datasets, transforms


def idx_bytes(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()


def write_mnist(root, name="MNIST", n=6, gz=False, seed=0, prefix="train"):
    raw = os.path.join(root, name, "raw")
    os.makedirs(raw, exist_ok=True)
    r = np.random.default_rng(seed)
    imgs = r.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = r.integers(0, 10, n).astype(np.uint8)
    for kind, data in (("images-idx3", imgs), ("labels-idx1", labels)):
        path = os.path.join(raw, f"{prefix}-{kind}-ubyte")
        if gz:
            with gzip.open(path + ".gz", "wb") as f:
                f.write(idx_bytes(data))
        else:
            with open(path, "wb") as f:
                f.write(idx_bytes(data))
    return imgs, labels


def write_cifar10(root, n=5, seed=0):
    folder = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(folder, exist_ok=True)
    r = np.random.default_rng(seed)
    imgs = r.integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)
    labels = r.integers(0, 10, n).astype(np.uint8)
    rec = np.concatenate([labels[:, None], imgs.transpose(0, 3, 1, 2).reshape(n, -1)], 1).tobytes()
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(rec)
    return imgs, labels


MNIST_NORM = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])


# ------------------------------------------------------------------ MNIST family
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_torchvision_layout_and_samples(tmp_path, gz, monkeypatch):
    imgs, labels = write_mnist(tmp_path, gz=gz)
    if gz:  # .gz files are verified against the class's MD5s: declare ours
        raw = tmp_path / "MNIST" / "raw"
        monkeypatch.setattr(datasets.MNIST, "resources", [
            (n, hashlib.md5((raw / n).read_bytes()).hexdigest())
            for n in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")])
    ds = datasets.MNIST(str(tmp_path), train=True)
    assert len(ds) == 6
    img, target = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), imgs[2])
    assert type(target) is int and target == labels[2]
    assert isinstance(ds.data, nt.Tensor) and ds.data.shape == (6, 28, 28) and ds.data.dtype == np.uint8
    assert isinstance(ds.targets, nt.Tensor) and ds.targets.dtype == np.int64
    assert ds.classes[0] == "0 - zero" and ds.class_to_idx["9 - nine"] == 9
    x, y = datasets.MNIST(tmp_path, transform=transforms.ToTensor(), target_transform=lambda t: t + 1)[2]
    assert x.shape == (1, 28, 28) and y == labels[2] + 1


@pytest.mark.parametrize("cls,first", [(datasets.FashionMNIST, "T-shirt/top"), (datasets.KMNIST, "o")])
def test_mnist_variants_read_their_own_folder(tmp_path, cls, first):
    write_mnist(tmp_path, name=cls.__name__, prefix="t10k")
    ds = cls(tmp_path, train=False)
    assert len(ds) == 6 and ds.classes[0] == first
    with pytest.raises(RuntimeError, match="Dataset not found"):
        cls(tmp_path, train=True)


def test_missing_files_raise_torchvisions_error(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True to download it") as e:
        datasets.MNIST(tmp_path)
    assert os.path.join("MNIST", "raw") in str(e.value) and "train-images-idx3-ubyte" in str(e.value)
    with pytest.raises(FileNotFoundError):             # also a FileNotFoundError
        datasets.CIFAR10(tmp_path)


def test_download_offline_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])   # nothing listens there
    monkeypatch.delenv("NEURONET_MIRROR_MNIST", raising=False)
    with pytest.raises(RuntimeError, match=r"(?s)could not download .*no network.*Place these files by hand") as e:
        datasets.MNIST(tmp_path, download=True)
    assert os.path.join(str(tmp_path), "MNIST", "raw") in str(e.value)


def test_bundled_sample_is_real_mnist():
    ds = datasets.MNIST(None, train=False, sample=True)
    assert len(ds) == 2000
    assert np.bincount(ds.targets.numpy(), minlength=10).tolist() == \
        [178, 213, 199, 206, 196, 182, 216, 222, 189, 199]


def test_assigning_a_subset_of_data_and_targets(tmp_path):
    imgs, labels = write_mnist(tmp_path)
    ds = datasets.MNIST(tmp_path)
    ds.data, ds.targets = ds.data[:3], ds.targets[:3]
    assert len(ds) == 3
    np.testing.assert_array_equal(np.asarray(ds[2][0]), imgs[2])
    with pytest.raises(IndexError):
        ds[3]


# ------------------------------------------------------------------ CIFAR
def test_cifar10_binary_samples_are_rgb_pil(tmp_path):
    imgs, labels = write_cifar10(tmp_path)
    ds = datasets.CIFAR10(tmp_path, train=False)
    img, target = ds[1]
    assert img.mode == "RGB" and img.size == (32, 32)
    np.testing.assert_array_equal(np.asarray(img), imgs[1])
    assert target == labels[1] and isinstance(ds.targets, list)
    assert isinstance(ds.data, np.ndarray) and ds.data.shape == (5, 32, 32, 3) and ds.data.dtype == np.uint8
    assert ds.classes[0] == "airplane" and ds.class_to_idx["truck"] == 9
    assert len(datasets.CIFAR10(tmp_path, train=True)) == 25


def test_cifar_python_version_is_refused_with_what_to_download(tmp_path):
    os.makedirs(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"\x80\x04not read")
    with pytest.raises(RuntimeError, match="Dataset not found") as e:
        datasets.CIFAR10(tmp_path)
    msg = str(e.value)
    assert "cifar-10-batches-py" in msg and "pickle" in msg and "cifar-10-binary.tar.gz" in msg


def test_cifar100_fine_and_coarse(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    os.makedirs(folder)
    r = np.random.default_rng(1)
    imgs = r.integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    coarse, fine = r.integers(0, 20, 4).astype(np.uint8), r.integers(0, 100, 4).astype(np.uint8)
    rec = np.concatenate([coarse[:, None], fine[:, None], imgs.transpose(0, 3, 1, 2).reshape(4, -1)], 1).tobytes()
    (folder / "test.bin").write_bytes(rec)
    ds = datasets.CIFAR100(tmp_path, train=False)
    assert ds.targets == fine.tolist() and ds.coarse_targets == coarse.tolist() and len(ds.classes) == 100


# ------------------------------------------------------------------ DataLoader fast path
def test_get_batch_is_the_collated_per_sample_batch(tmp_path):
    write_mnist(tmp_path, n=10)
    ds = datasets.MNIST(tmp_path, transform=MNIST_NORM)
    idx = [7, 0, 3, 3]
    fast = ds.get_batch(idx)
    slow = default_collate([ds[i] for i in idx])
    assert fast[0].shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(fast[0].numpy(), slow[0].numpy())
    np.testing.assert_array_equal(fast[1].numpy(), slow[1].numpy())
    write_cifar10(tmp_path)
    cds = datasets.CIFAR10(tmp_path, transform=transforms.Compose([
        transforms.CenterCrop(28), transforms.Grayscale(3), transforms.ToTensor(),
        transforms.Normalize((0.5,) * 3, (0.25,) * 3)]))
    np.testing.assert_array_equal(cds.get_batch([4, 1])[0].numpy(),
                                  default_collate([cds[4], cds[1]])[0].numpy())


@pytest.mark.parametrize("tf", [
    transforms.Compose([transforms.RandomCrop(28, padding=4), transforms.RandomHorizontalFlip(),
                        transforms.ToTensor(), transforms.RandomErasing()]),          # vectorized
    transforms.Compose([transforms.RandomRotation(10), transforms.ToTensor()])])       # sample by sample
def test_random_transforms_batch_is_the_per_sample_batch(tmp_path, tf):
    write_mnist(tmp_path, n=10)
    ds = datasets.MNIST(tmp_path, transform=tf)
    nt.manual_seed(5)
    fast = ds.get_batch([1, 2, 3, 9])[0].numpy()
    nt.manual_seed(5)
    slow = np.stack([ds[i][0].numpy() for i in (1, 2, 3, 9)])
    np.testing.assert_array_equal(fast, slow)
    # and through the DataLoader: its fast path and the item-by-item path give the same epoch
    runs = []
    for kw in ({}, {"collate_fn": default_collate}):
        nt.manual_seed(2)
        runs.append([x.numpy() for x, _ in DataLoader(ds, batch_size=4, shuffle=True, **kw)])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_dataloader_over_vision_dataset_repeats_under_seed(tmp_path):
    write_mnist(tmp_path, n=10)
    tf = transforms.Compose([transforms.RandomRotation(10), transforms.ToTensor()])
    ds = datasets.MNIST(tmp_path, transform=tf)

    def epoch():
        nt.manual_seed(1)
        return [(x.numpy(), y.numpy()) for x, y in DataLoader(ds, batch_size=4, shuffle=True)]
    a, b = epoch(), epoch()
    assert [x.shape for x, _ in a] == [(4, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)]
    for (x1, y1), (x2, y2) in zip(a, b):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    sub = Subset(datasets.MNIST(tmp_path, transform=MNIST_NORM), [5, 6, 7])
    x, y = next(iter(DataLoader(sub, batch_size=3)))
    assert x.shape == (3, 1, 28, 28)


# ------------------------------------------------------------------ folders, FakeData, models
def test_image_folder_and_dataset_folder(tmp_path):
    r = np.random.default_rng(0)
    for cls, n in (("cat", 2), ("dog", 3)):
        os.makedirs(tmp_path / cls)
        for k in range(n):
            Image.fromarray(r.integers(0, 256, (6, 5, 3)).astype(np.uint8)).save(tmp_path / cls / f"{k}.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 5 and ds.targets == [0, 0, 1, 1, 1]
    x, y = ds[4]
    assert x.shape == (3, 6, 5) and y == 1
    txt = datasets.DatasetFolder(tmp_path, loader=lambda p: open(p).read(), extensions=(".txt",),
                                 allow_empty=True)
    assert len(txt) == 1 and txt[0] == ("not an image", 1)
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes cat"):
        datasets.DatasetFolder(tmp_path, loader=open, extensions=(".txt",))
    with pytest.raises(ValueError, match="exactly one of extensions and is_valid_file"):
        datasets.DatasetFolder(tmp_path, loader=open, extensions=(".txt",), is_valid_file=lambda p: True)
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(tmp_path / "cat")


def test_fake_data_is_repeatable_per_index():
    ds = datasets.FakeData(size=5, image_size=(3, 8, 6), num_classes=4, transform=transforms.ToTensor())
    x, y = ds[2]
    assert x.shape == (3, 8, 6) and 0 <= y < 4
    np.testing.assert_array_equal(ds[2][0].numpy(), x.numpy())
    assert not np.array_equal(ds[3][0].numpy(), x.numpy())
    assert datasets.FakeData(3, (1, 4, 4))[0][0].mode == "L"
    assert not np.array_equal(np.asarray(datasets.FakeData(3, (1, 4, 4), random_offset=7)[0][0]),
                              np.asarray(datasets.FakeData(3, (1, 4, 4))[0][0]))
    with pytest.raises(IndexError):
        ds[5]


def test_tutorial_data_lines_run_with_only_the_import_changed():
    import neuronet as torch
    from neuronet.vision import datasets, transforms  # noqa: F811  (the tutorial's own import line)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    trainset = datasets.MNIST(root=None, train=True, download=False, transform=transform, sample=True)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=16, shuffle=True) \
        if hasattr(torch, "utils") else DataLoader(trainset, batch_size=16, shuffle=True)
    images, labels = next(iter(trainloader))
    assert images.shape == (16, 1, 28, 28) and labels.dtype == np.int64
    assert float(images.min()) >= -1.0 and float(images.max()) <= 1.0


def test_models_under_torchvision_names(tmp_path, monkeypatch):
    from neuronet.data import download
    from neuronet.vision import models
    m = models.resnet18(weights=None, num_classes=10)
    assert sum(p.numel() for p in m.parameters()) == 11181642

    def offline(url, *a, **k):
        raise download.DownloadError(f"could not download {url} (offline)")
    monkeypatch.setenv("NEURONET_HOME", str(tmp_path))
    monkeypatch.setattr(download, "download_url", offline)
    with pytest.raises(RuntimeError, match=r"resnet18-f37072fd\.pth.*put it at"):
        models.resnet18(weights="IMAGENET1K_V1")
