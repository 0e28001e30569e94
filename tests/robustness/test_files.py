"""Malformed and malicious model files, generated here: each is refused with
one CheckpointError naming the file and what was wrong, before anything is
allocated, inflated, executed or waited on."""
import io
import os
import pickle
import time
import zipfile

import numpy as np
import pytest
from hostile import META, npy_bytes, read_entries, small_checkpoint, with_meta, within, write_entries

import neuronet
from neuronet.serialization import CheckpointError, load_file
from neuronet.train import load_checkpoint


def refused(path, *words, loader=load_checkpoint):
    with within(10), pytest.raises(CheckpointError) as e:
        loader(path)
    msg = str(e.value)
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_a_good_checkpoint_loads(ckpt):
    ck = load_checkpoint(ckpt)
    assert ck.epoch == 1 and ck.build_model()(neuronet.randn(2, 12)).shape == (2, 3)


@pytest.mark.parametrize("value,name", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_weights_name_the_parameter(ckpt, tmp_path, value, name):
    entries = read_entries(ckpt)
    w = np.load(io.BytesIO(entries["a2.npy"]))
    w[1, 3] = value
    entries["a2.npy"] = npy_bytes(w)
    write_entries(tmp_path / "bad.npz", entries)
    refused(tmp_path / "bad.npz", "weight 'layers.2.weight'", "1 NaN/infinite")


def test_non_finite_optimizer_state(ckpt, tmp_path):
    entries = read_entries(ckpt)
    entries["a5.npy"] = npy_bytes(np.full(8, np.nan, np.float32))
    write_entries(tmp_path / "bad.npz", entries)
    refused(tmp_path / "bad.npz", "optimizer state 'momentum_buffer' of parameter 1")


def test_text_array_in_place_of_a_weight(ckpt, tmp_path):
    entries = read_entries(ckpt)
    entries["a1.npy"] = npy_bytes(np.array(["1.5"] * 8))
    write_entries(tmp_path / "bad.npz", entries)
    refused(tmp_path / "bad.npz", "a tensor stored as <U3", "model_state")


def test_pickled_object_entry_is_never_unpickled(ckpt, tmp_path):
    entries = read_entries(ckpt)
    entries["a1.npy"] = npy_bytes(np.array([os.system], dtype=object))
    write_entries(tmp_path / "bad.npz", entries)
    refused(tmp_path / "bad.npz", "entry 'a1'", "pickled object")
    (tmp_path / "p.npz").write_bytes(pickle.dumps({"w": 1}))
    refused(tmp_path / "p.npz", "pickle")


@pytest.mark.parametrize("version,words", [(-3, "invalid format version -3"), (True, "invalid format version True"),
                                           ("1", "invalid format version '1'"), (0, "invalid format version 0"),
                                           (2, "newer neuronet (format version 2")])
def test_format_versions(ckpt, tmp_path, version, words):
    p = with_meta(ckpt, tmp_path / "v.npz", lambda m: m.update(version=version))
    msg = refused(p, words)
    assert "newer than" not in msg


@pytest.mark.parametrize("edit,words", [
    (lambda m: m["object"]["model_state"].update({"x": {"__tensor__": "a99"}}), "array entry 'a99'"),
    (lambda m: m["object"]["model_state"].update({"x": {"__tensor__": 3}}), "array entry 3"),
    (lambda m: m["object"].update(epoch={"__float__": "boom"}), "__float__"),
    (lambda m: m["object"].update(epoch={"__dict__": "x"}), "__dict__ must hold a list"),
    (lambda m: m["object"].update(epoch={"__dict__": [[True, 1]]}), "__dict__ items"),
    (lambda m: m["object"].update(epoch={"__tuple__": 5}), "__tuple__ must hold a list"),
    (lambda m: m["object"].update(epoch=-1), "'epoch' must be an integer >= 0"),
    (lambda m: m["object"].update(epoch=True), "'epoch' must be an integer >= 0"),
    (lambda m: m["object"].update(model_state=[1, 2]), "'model_state' must be a dict"),
    (lambda m: m["object"].update(history="x"), "'history' must be a list"),
    (lambda m: m["object"]["model_state"].update({"y": 1.5}), "model_state['y'] must be a numeric tensor"),
    (lambda m: m["object"].update(model={"name": 5}), "'model' must be"),
    (lambda m: m["object"]["optimizer"].update({"class": None}), "'optimizer' must be"),
    (lambda m: m.update(kind=["checkpoint"]), "'kind' must be a string"),
    (lambda m: m.pop("object"), "no 'object' entry"),
])
def test_malformed_metadata(ckpt, tmp_path, edit, words):
    refused(with_meta(ckpt, tmp_path / "m.npz", edit), words)


@pytest.mark.parametrize("raw,words", [(b"\xff\xfe{", "not UTF-8 JSON"), (b"[1, 2]", "expected a JSON object"),
                                       (b"[" * 100000 + b"]" * 100000, "malformed metadata"),
                                       (b'{"format": "neuronet", "version": 1, "object": '
                                        + b'{"a": ' * 500 + b"1" + b"}" * 501, "nested more than 100")])
def test_unreadable_metadata(ckpt, tmp_path, raw, words):
    refused(with_meta(ckpt, tmp_path / "m.npz", raw=raw), words, loader=load_file)


def test_array_header_larger_than_its_entry_is_not_allocated(ckpt, tmp_path):
    """A header claiming 10^13 floats (the 'Unable to allocate 36 TiB' case)
    is compared with the bytes the entry holds, before any allocation."""
    entries = read_entries(ckpt)
    good = entries["a0.npy"]
    entries["a0.npy"] = good.replace(b"(8, 12)", b"(10000000, 1000000)", 1)
    assert entries["a0.npy"] != good
    write_entries(tmp_path / "big.npz", entries)
    refused(tmp_path / "big.npz", "entry 'a0'", "declares shape (10000000, 1000000)")


def test_zip_bomb_refused_before_inflating(ckpt, tmp_path):
    entries = read_entries(ckpt)
    entries["a9.npy"] = npy_bytes(np.zeros(80 << 20, np.uint8))      # 80 MB of zeros: ~80 kB deflated
    write_entries(tmp_path / "bomb.npz", entries, zipfile.ZIP_DEFLATED)
    assert os.path.getsize(tmp_path / "bomb.npz") < 1 << 20
    t0 = time.perf_counter()
    refused(tmp_path / "bomb.npz", "refusing to inflate", loader=load_file)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("value", [20_000_000, 2e7])
def test_forged_model_arguments_cannot_allocate(ckpt, tmp_path, value):
    """num_classes=2*10^7 would be a 8 x 2*10^7 layer (640 MB): refused before it is built."""
    import resource
    p = with_meta(ckpt, tmp_path / "args.npz",
                  lambda m: m["object"]["model"]["kwargs"].update(num_classes=value))
    ck = load_checkpoint(p)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with within(10), pytest.raises(CheckpointError) as e:
        ck.build_model()
    assert "num_classes=20000000" in str(e.value) and str(p) in str(e.value)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 100_000       # kB: nothing large allocated


def test_truncated_and_corrupted(ckpt, tmp_path):
    data = ckpt.read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "t.npz", "corrupted or truncated")
    flipped = bytearray(data)
    flipped[200] ^= 0xFF           # inside the first array's bytes: the CRC no longer matches
    (tmp_path / "f.npz").write_bytes(bytes(flipped))
    refused(tmp_path / "f.npz")


def test_fifo_and_directory_are_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    refused(fifo, "FIFO", "regular files only")
    refused(fifo, "FIFO", loader=load_file)
    refused(tmp_path, "directory", loader=load_file)


def test_scheduler_state_of_another_class(tmp_path):
    from neuronet import optim
    from neuronet.optim import lr_scheduler as S
    from neuronet.train import Trainer
    p = tmp_path / "ck.npz"
    model, opt, _ = small_checkpoint(p, scheduler="step")
    cos = S.CosineAnnealingLR(opt, T_max=5)
    tr = Trainer(model, opt, scheduler=cos, verbose=False)
    msg = refused(p, "'StepLR'", "CosineAnnealingLR", loader=tr.resume)
    assert "scheduler" in msg
    # directly: another class's attributes are refused, and nothing replaces a method
    with pytest.raises(ValueError, match=r"step_size"):
        cos.load_state_dict(S.StepLR(opt, 2).state_dict())
    with pytest.raises(ValueError, match=r"get_lr"):
        cos.load_state_dict(dict(cos.state_dict(), get_lr="pwned"))
    with pytest.raises(ValueError, match=r"last_epoch"):
        cos.load_state_dict(dict(cos.state_dict(), last_epoch="x"))
    assert callable(cos.get_lr) and isinstance(cos.last_epoch, int)
    adam = optim.Adam(model.parameters())
    with pytest.raises(ValueError, match=r"momentum"):
        adam.load_state_dict(opt.state_dict())


def test_neuronet_load_gives_the_same_errors(ckpt, tmp_path):
    p = with_meta(ckpt, tmp_path / "m.npz", lambda m: m.update(version=-3))
    with pytest.raises(CheckpointError, match="invalid format version -3"):
        neuronet.load(str(p))
