"""Silently wrong results and unclear errors: image folders (symlink loops,
FIFOs, class names across splits), NaN predictions, and the command line
(arguments checked at parse time, whole messages, --debug)."""
import os

import numpy as np
import pytest
from hostile import cli, one_line_error, small_checkpoint, with_meta, within

PIL = pytest.importorskip("PIL.Image")


def image_folder(root, classes, n=3, size=8):
    r = np.random.default_rng(0)
    for k, c in enumerate(classes):
        d = root / c
        d.mkdir(parents=True)
        for i in range(n):
            PIL.fromarray((r.integers(0, 100, (size, size, 3)) + 100 * k).astype(np.uint8)).save(d / f"{i}.png")
    return root


def test_symlink_loops_neither_duplicate_nor_hang(tmp_path):
    from neuronet.data import ImageFolder
    root = image_folder(tmp_path / "imgs", ["a", "b"])
    os.symlink("..", root / "a" / "up")            # a -> a/up -> root (holds a, b) -> ...
    os.symlink(".", root / "b" / "self")
    os.mkdir(root / "b" / "deep")
    os.symlink("../..", root / "b" / "deep" / "back")
    with within(10):
        ds = ImageFolder(root)
    real = sorted(os.path.realpath(p) for p, _ in ds.samples)
    assert len(real) == len(set(real)), "a sample is listed twice"
    # each image once, under its own class: 'a/up' leads back to the root, not into b
    assert [t for _, t in ds.samples] == [0, 0, 0, 1, 1, 1]


def test_fifo_in_an_image_folder_is_refused_by_name(tmp_path):
    from neuronet.data import ImageFolder
    from neuronet.data.datasets.folder import pil_loader
    root = image_folder(tmp_path / "imgs", ["a", "b"])
    os.mkfifo(root / "a" / "pipe.png")
    with within(10), pytest.raises(OSError, match=r"pipe\.png is not a regular file"):
        ImageFolder(root)
    with within(10), pytest.raises(RuntimeError, match=r"pipe\.png is not a regular file \(a FIFO\)"):
        pil_loader(str(root / "a" / "pipe.png"))


def test_class_indices_agree_across_splits(tmp_path):
    from neuronet.train.recipes import build_data
    image_folder(tmp_path / "d" / "train", ["cat", "dog", "fox"])
    image_folder(tmp_path / "d" / "test", ["dog", "fox"])           # no cats in the test split
    data = build_data(f"folder:{tmp_path / 'd'}", augment=False, image_size=8)
    assert data.classes == ["cat", "dog", "fox"]
    assert sorted(set(data.test.targets)) == [1, 2]                 # dog is 1 in both splits, not 0
    image_folder(tmp_path / "e" / "train", ["cat", "dog"])
    image_folder(tmp_path / "e" / "test", ["cat", "wolf"])
    with pytest.raises(ValueError, match=r"class folder\(s\) \['wolf'\] that are not among the classes"):
        build_data(f"folder:{tmp_path / 'e'}", augment=False, image_size=8)


def test_nan_predictions_are_counted_as_wrong_and_warned():
    import neuronet as nt
    from neuronet import nn
    from neuronet.train import Trainer
    model = nn.Linear(4, 3)
    with nt.no_grad():
        model.weight.fill_(float("nan"))
    x, y = nt.randn(10, 4), nt.tensor(np.zeros(10, np.int64))
    with pytest.warns(RuntimeWarning, match="10 of 10 predictions had NaN"):
        res = Trainer(model, None, num_classes=3, verbose=False).evaluate([(x, y)])
    assert res["accuracy"] == 0.0 and res["nonfinite_predictions"] == 10   # not class 0 for all
    assert res["confusion_matrix"].sum() == 0


@pytest.mark.parametrize("args,words", [
    (("train", "--subset", "0"), "--subset must be an integer >= 2, received 0"),
    (("train", "--early-stopping", "-1"), "--early-stopping must be an integer >= 1, received -1"),
    (("train", "--lr", "nan"), "--lr must be a number > 0, received nan"),
    (("train", "--momentum", "1"), "--momentum must be a number in [0, 1), received 1"),
    (("train", "--image-size", "4"), "--image-size must be an integer in [8, 4096], received 4"),
    (("predict", "x.npz", "y.png", "--topk", "0"), "--topk must be an integer >= 1, received 0"),
    (("predict", "x.npz", "y.png", "--topk", "-1"), "--topk must be an integer >= 1, received -1"),
    (("eval", "x.npz", "--device", "tpu"), "--device must be cpu, cuda or cuda:N, received 'tpu'"),
    (("export", "x.npz", "y.onnx", "--opset", "5"), "--opset must be an integer in [17, 21], received 5"),
])
def test_arguments_are_checked_at_parse_time(args, words):
    one_line_error(cli(*args, timeout=30), words, code=2)


def test_cli_errors_name_the_file_print_the_whole_message_and_debug_shows_a_traceback(tmp_path):
    p = tmp_path / "ck.npz"
    small_checkpoint(p)
    bad = with_meta(p, tmp_path / "v.npz", lambda m: m.update(version=-3))
    one_line_error(cli("info", str(bad)), str(bad), "invalid format version -3")
    os.mkfifo(tmp_path / "fifo.npz")
    one_line_error(cli("info", str(tmp_path / "fifo.npz"), timeout=20), "FIFO")
    os.mkfifo(tmp_path / "fifo.png")
    one_line_error(cli("predict", str(p), str(tmp_path / "fifo.png"), timeout=20), "fifo.png: not a regular file")
    # a model argument that changes a layer's size: PyTorch's detailed mismatch, every line of it
    shrunk = with_meta(p, tmp_path / "s.npz", lambda m: m["object"]["model"]["kwargs"].update(num_classes=5))
    r = cli("eval", str(shrunk), "--data", "mnist-sample")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "size mismatch for layers.2.weight" in r.stderr and str(shrunk) in r.stderr
    r = cli("--debug", "info", str(bad))
    assert r.returncode == 1 and "Traceback" in r.stderr and "CheckpointError" in r.stderr
    r = cli("info", str(bad), "--debug")
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_eval_refuses_a_checkpoint_for_other_class_names(tmp_path):
    image_folder(tmp_path / "d" / "train", ["cat", "dog"], size=28)
    image_folder(tmp_path / "d" / "test", ["cat", "dog"], size=28)
    image_folder(tmp_path / "e" / "train", ["cat", "fox"], size=28)
    image_folder(tmp_path / "e" / "test", ["cat", "fox"], size=28)
    out = tmp_path / "run"
    r = cli("train", "mlp", "--data", f"folder:{tmp_path / 'd'}", "--image-size", "8", "--epochs", "1",
            "--batch-size", "4", "--out", str(out), "--no-report", "--quiet", "--val-split", "0")
    assert r.returncode == 0, r.stderr
    one_line_error(cli("eval", str(out / "last.npz"), "--data", f"folder:{tmp_path / 'e'}"),
                   "class names differ", "1: 'dog' vs 'fox'")
    r = cli("eval", str(out / "last.npz"), "--data", f"folder:{tmp_path / 'd'}", "--json")
    assert r.returncode == 0, r.stderr


def test_neuronet_load_of_a_fifo_is_refused_without_blocking(tmp_path):
    import neuronet
    from neuronet.serialization import CheckpointError
    os.mkfifo(tmp_path / "weights.pt")
    with within(10), pytest.raises(CheckpointError, match=r"weights\.pt: is a FIFO"):
        neuronet.load(tmp_path / "weights.pt")


def test_idx_header_whose_dimensions_overflow_int64_is_refused(tmp_path):
    from neuronet.data.datasets._base import DatasetFormatError
    from neuronet.data.datasets.mnist import read_idx
    path = tmp_path / "train-images-idx3-ubyte"
    # three dimensions of 2**31: their product overflows int64 when computed in NumPy
    path.write_bytes(bytes([0, 0, 8, 3]) + (2 ** 31).to_bytes(4, "big") * 3 + b"\x00" * 16)
    with pytest.raises(DatasetFormatError, match="truncated IDX file"):
        read_idx(path)


def test_cifar_meta_that_is_not_utf8_names_the_file(tmp_path):
    from neuronet.data.datasets._base import DatasetFormatError
    from neuronet.data.datasets.cifar import _class_names
    meta = tmp_path / "batches.meta.txt"
    meta.write_bytes(b"airplane\n\xff\xfe car\n")
    with pytest.raises(DatasetFormatError, match=r"batches\.meta\.txt: not a UTF-8 text file"):
        _class_names(meta)
