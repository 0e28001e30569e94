"""Datasets: the bundled MNIST sample, IDX/CIFAR parsing and their errors,
ImageFolder, Shapes, mean_std."""
import gzip
import hashlib
import os

import numpy as np
import pytest

import neuronet as nt
from neuronet.data import mean_std, mnist_sample
from neuronet.data import transforms as T
from neuronet.data.datasets import (CIFAR10, CIFAR100, KMNIST, MNIST, DatasetFormatError, FashionMNIST,
                                    ImageFolder, Shapes, read_idx)
from neuronet.data.datasets import mnist as mnist_mod
from neuronet.data.download import ChecksumError


# ------------------------------------------------------------------ helpers
def idx_bytes(arr, code=0x08):
    arr = np.asarray(arr)
    dt = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(dt).tobytes()


def write_mnist(folder, n=5, labels_n=None, size=(28, 28), seed=0, gz=False, prefix="train"):
    os.makedirs(folder, exist_ok=True)
    r = np.random.default_rng(seed)
    imgs = r.integers(0, 256, (n,) + size).astype(np.uint8)
    labels = r.integers(0, 10, labels_n if labels_n is not None else n).astype(np.uint8)
    paths = []
    for name, data in ((f"{prefix}-images-idx3-ubyte", idx_bytes(imgs)), (f"{prefix}-labels-idx1-ubyte", idx_bytes(labels))):
        p = os.path.join(folder, name + (".gz" if gz else ""))
        with (gzip.open(p, "wb") if gz else open(p, "wb")) as f:
            f.write(data)
        paths.append(p)
    return imgs, labels, paths


def cifar_records(n, label_bytes, seed=0, n_fine=10):
    r = np.random.default_rng(seed)
    imgs = r.integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)
    fine = r.integers(0, n_fine, n).astype(np.uint8)
    coarse = r.integers(0, 20, n).astype(np.uint8)
    planes = imgs.transpose(0, 3, 1, 2).reshape(n, 3072)
    labels = fine[:, None] if label_bytes == 1 else np.stack([coarse, fine], 1)
    return np.concatenate([labels, planes], 1).tobytes(), imgs, fine, coarse


# ------------------------------------------------------------------ bundled sample
def test_bundled_sample_loads_offline_with_counts():
    train = MNIST(sample=True, train=True)
    test = mnist_sample(train=False)
    assert len(train) == 6000 and len(test) == 2000
    assert train.data.shape == (6000, 28, 28) and train.data.dtype == np.uint8
    assert test.data.shape == (2000, 28, 28) and test.data.dtype == np.uint8
    assert np.bincount(train.targets, minlength=10).tolist() == [615, 684, 596, 628, 580, 511, 600, 641, 551, 594]
    assert np.bincount(test.targets, minlength=10).tolist() == [178, 213, 199, 206, 196, 182, 216, 222, 189, 199]
    img, label = train[0]
    assert img.shape == (28, 28) and img.dtype == np.uint8 and isinstance(label, int)
    assert 0 < train.data.mean() < 128          # real digits: mostly dark background
    for name, sha in mnist_mod.SAMPLE_SHA256.items():
        with open(os.path.join(mnist_mod.SAMPLE_DIR, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha


def test_bundled_sample_checksum_is_verified(monkeypatch):
    bad = dict(mnist_mod.SAMPLE_SHA256, **{"t10k-labels-idx1-ubyte.gz": "0" * 64})
    monkeypatch.setattr(mnist_mod, "SAMPLE_SHA256", bad)
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz"):
        MNIST(sample=True, train=False)


def test_sample_with_transform_returns_tensors():
    ds = mnist_sample(train=False, transform=T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
    x, y = ds[3]
    assert isinstance(x, nt.Tensor) and x.shape == (1, 28, 28) and x.dtype == np.float32
    assert y == int(ds.targets[3])
    assert ds.classes[0] == "0 - zero" and ds.class_to_idx["9 - nine"] == 9


# ------------------------------------------------------------------ IDX files and their errors
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_local_idx_files(tmp_path, gz):
    imgs, labels, paths = write_mnist(tmp_path / "MNIST" / "raw", n=7, gz=gz)
    cls = MNIST
    if gz:  # .gz files are verified against the class's MD5s: declare ours
        md5 = [hashlib.md5(open(p, "rb").read()).hexdigest() for p in paths]
        cls = type("MNIST", (MNIST,), {"resources": [(os.path.basename(paths[0]), md5[0]),
                                                     (os.path.basename(paths[1]), md5[1])]})
    ds = cls(root=tmp_path, train=True)
    np.testing.assert_array_equal(ds.data, imgs)
    np.testing.assert_array_equal(ds.targets, labels)
    assert ds.targets.dtype == np.int64


@pytest.mark.parametrize("cls", [FashionMNIST, KMNIST])
def test_mnist_variants_use_own_folder_and_classes(tmp_path, cls):
    write_mnist(tmp_path / cls.__name__ / "raw", n=3, prefix="t10k")
    ds = cls(root=tmp_path, train=False)
    assert len(ds) == 3 and len(ds.classes) == 10


def test_idx_wrong_magic_names_file(tmp_path):
    _, _, paths = write_mnist(tmp_path / "MNIST" / "raw")
    raw = open(paths[0], "rb").read()
    open(paths[0], "wb").write(b"\x12\x34" + raw[2:])
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte.*wrong magic number"):
        MNIST(root=tmp_path)


def test_idx_truncated_names_file(tmp_path):
    _, _, paths = write_mnist(tmp_path / "MNIST" / "raw")
    raw = open(paths[0], "rb").read()
    open(paths[0], "wb").write(raw[:-100])
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte.*truncated"):
        MNIST(root=tmp_path)


def test_idx_trailing_bytes_rejected(tmp_path):
    p = tmp_path / "x-idx1-ubyte"
    p.write_bytes(idx_bytes(np.arange(4)) + b"\x00")
    with pytest.raises(DatasetFormatError, match="unexpected bytes"):
        read_idx(p)


def test_idx_truncated_gzip_names_file(tmp_path):
    _, _, paths = write_mnist(tmp_path, gz=True)
    raw = open(paths[0], "rb").read()
    open(paths[0], "wb").write(raw[: len(raw) // 2])
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte.gz.*truncated"):
        read_idx(paths[0])


def test_label_image_count_mismatch_names_both_files(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", n=5, labels_n=4)
    with pytest.raises(DatasetFormatError, match=r"count mismatch.*train-images.*5 images.*train-labels.*4 labels"):
        MNIST(root=tmp_path)


def test_wrong_image_size_names_file(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", size=(20, 20))
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte.*wrong image size.*\(N, 28, 28\)"):
        MNIST(root=tmp_path)


def test_files_on_disk_are_checked_by_format_not_by_the_archives_checksum(tmp_path):
    # a valid IDX file whose .gz bytes differ from the published archive (a
    # re-compressed copy, a subset) loads: checksums belong to downloads
    write_mnist(tmp_path / "MNIST" / "raw", gz=True, n=3)
    assert len(MNIST(root=tmp_path)) == 3


def test_missing_files_say_what_to_place_where(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        MNIST(root=tmp_path, train=False)
    msg = str(e.value)
    assert str(tmp_path / "MNIST" / "raw") in msg and "t10k-images-idx3-ubyte.gz" in msg
    assert "download=True" in msg and "sample=True" in msg


def test_root_none_uses_cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONET_DATA", str(tmp_path))
    write_mnist(tmp_path / "MNIST" / "raw", n=2)
    assert len(MNIST(root=None)) == 2


# ------------------------------------------------------------------ CIFAR binary
def write_cifar10(root, n_per=4):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    truth = {}
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        raw, imgs, fine, _ = cifar_records(n_per, 1, seed=i)
        (folder / name).write_bytes(raw)
        truth[name] = (imgs, fine)
    return truth


def test_cifar10_binary_layout(tmp_path):
    truth = write_cifar10(tmp_path)
    train = CIFAR10(root=tmp_path, train=True)
    test = CIFAR10(root=tmp_path, train=False)
    assert len(train) == 20 and len(test) == 4
    assert train.data.shape == (20, 32, 32, 3) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data[4:8], truth["data_batch_2.bin"][0])   # R, G, B planes -> HWC
    np.testing.assert_array_equal(train.targets[4:8], truth["data_batch_2.bin"][1])
    np.testing.assert_array_equal(test.data, truth["test_batch.bin"][0])
    img, label = test[1]
    assert img.shape == (32, 32, 3) and label == int(truth["test_batch.bin"][1][1])
    assert train.classes[0] == "airplane"


def test_cifar100_coarse_and_fine(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    raw, imgs, fine, coarse = cifar_records(6, 2, seed=3, n_fine=100)
    (folder / "train.bin").write_bytes(raw)
    (folder / "test.bin").write_bytes(cifar_records(2, 2, n_fine=100)[0])
    ds = CIFAR100(root=tmp_path)
    np.testing.assert_array_equal(ds.data, imgs)
    np.testing.assert_array_equal(ds.targets, fine)
    np.testing.assert_array_equal(ds.coarse_targets, coarse)
    assert len(ds.classes) == 100 and len(ds.coarse_classes) == 20


def test_cifar_truncated_file_names_it(tmp_path):
    write_cifar10(tmp_path)
    p = tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin"
    p.write_bytes(p.read_bytes()[:-5])
    with pytest.raises(DatasetFormatError, match=r"data_batch_3.bin.*truncated"):
        CIFAR10(root=tmp_path)


def test_cifar_bad_label_names_file(tmp_path):
    write_cifar10(tmp_path)
    p = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    raw = bytearray(p.read_bytes())
    raw[0] = 200
    p.write_bytes(bytes(raw))
    with pytest.raises(DatasetFormatError, match=r"test_batch.bin.*label 200"):
        CIFAR10(root=tmp_path, train=False)


def test_cifar_missing_says_where(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-binary.tar.gz.*cifar-10-batches-bin"):
        CIFAR10(root=tmp_path)


# ------------------------------------------------------------------ ImageFolder
def test_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    r = np.random.default_rng(0)
    truth = {}
    for cls, n in (("cat", 2), ("dog", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            a = r.integers(0, 256, (6, 5, 3)).astype(np.uint8)
            path = tmp_path / cls / f"{i}.png"
            Image.fromarray(a).save(path)
            truth[str(path)] = a
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path, transform=T.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 5 and [t for _, t in ds.samples] == [0, 0, 1, 1, 1]
    for i, (path, target) in enumerate(ds.samples):
        x, y = ds[i]
        assert y == target and x.shape == (3, 6, 5)
        np.testing.assert_allclose(x.numpy(), truth[path].transpose(2, 0, 1) / 255.0, atol=1e-6)


def test_image_folder_unreadable_image_names_it(tmp_path):
    pytest.importorskip("PIL.Image")
    (tmp_path / "a").mkdir()
    bad = tmp_path / "a" / "broken.png"
    bad.write_bytes(b"\x89PNG but not really")
    ds = ImageFolder(tmp_path)
    with pytest.raises(RuntimeError, match=r"cannot read image .*broken.png"):
        ds[0]


def test_image_folder_empty_class_is_an_error(tmp_path):
    pytest.importorskip("PIL.Image")
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes"):
        ImageFolder(tmp_path)


# ------------------------------------------------------------------ Shapes
def test_shapes_segmentation_set():
    ds = Shapes(num_samples=12, size=32, channels=3, noise=0.0, seed=1)
    assert len(ds) == 12
    counts = np.zeros(4, dtype=int)
    for i in range(len(ds)):
        x, m = ds[i]
        assert x.shape == (3, 32, 32) and x.dtype == np.float32 and m.shape == (32, 32) and m.dtype == np.int64
        a, k = x.numpy(), m.numpy()
        assert 0 <= a.min() and a.max() <= 1
        counts += np.bincount(k.ravel(), minlength=4)
        # without noise, pixels of one class in one image share one colour per shape and the
        # background is uniform: every background pixel equals the corner pixel when it is background
        if k[0, 0] == 0:
            assert np.all(a[:, k == 0] == a[:, :1, 0])
    assert np.all(counts > 0)                                   # all four classes appear
    x0, m0 = ds[5]
    x1, m1 = Shapes(num_samples=12, size=32, noise=0.0, seed=1)[5]
    np.testing.assert_array_equal(x0.numpy(), x1.numpy())       # seeded, order-independent
    x2, _ = Shapes(num_samples=12, size=32, noise=0.0, seed=2)[5]
    assert not np.array_equal(x0.numpy(), x2.numpy())
    assert Shapes(train=False, num_samples=3, size=32, channels=1)[0][0].shape == (1, 32, 32)


def test_shapes_joint_transform_moves_mask():
    ds = Shapes(num_samples=4, size=32, noise=0.0, seed=0,
                transforms=T.Compose([T.RandomHorizontalFlip(p=1.0), T.RandomVerticalFlip(p=1.0)]))
    plain = Shapes(num_samples=4, size=32, noise=0.0, seed=0)
    x, m = ds[2]
    x0, m0 = plain[2]
    np.testing.assert_array_equal(m.numpy(), m0.numpy()[::-1, ::-1])
    np.testing.assert_array_equal(x.numpy(), x0.numpy()[:, ::-1, ::-1])


# ------------------------------------------------------------------ mean_std
def test_mean_std_known_values():
    a = np.zeros((4, 2, 2, 3), dtype=np.uint8)
    a[..., 0] = 255                     # channel 0: all ones after scaling
    a[:2, ..., 1] = 255                 # channel 1: half ones, half zeros
    mean, std = mean_std(a)
    np.testing.assert_allclose(mean, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(std, [0.0, 0.5, 0.0])
    t = nt.tensor(np.random.default_rng(0).standard_normal((50, 2, 4, 4)) * [[[[2.0]], [[3.0]]]] + 1.0)
    mean, std = mean_std(t)
    ref = t.numpy().transpose(1, 0, 2, 3).reshape(2, -1)
    np.testing.assert_allclose(mean, ref.mean(1), rtol=1e-6)
    np.testing.assert_allclose(std, ref.std(1), rtol=1e-6)


def test_mean_std_dataset_paths_agree():
    ds = mnist_sample(train=False)
    m_fast = mean_std(ds)                                  # straight from ds.data
    m_items = mean_std(mnist_sample(train=False, transform=T.ToTensor()))   # item by item
    np.testing.assert_allclose(m_fast, m_items, rtol=1e-6)
    ref = ds.data.astype(np.float64) / 255
    np.testing.assert_allclose(m_fast[0], [ref.mean()], rtol=1e-9)
    np.testing.assert_allclose(m_fast[1], [ref.std()], rtol=1e-9)
