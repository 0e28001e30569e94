"""neuronet.save / load_file: round trips, atomic writes, and every bad file."""
import os
import pickle

import numpy as np
import pytest

import neuronet as nt
from neuronet.serialization import CheckpointError, load_file, save


def test_round_trip_is_bit_exact(tmp_path):
    obj = {"w": nt.randn(3, 4), "b": np.arange(5, dtype=np.int64),
           "state": {0: {"step": 3, "exp_avg": nt.zeros(2, dtype=nt.float64)}, 1: {}},
           "groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1]}],
           "name": "lenet5", "none": None, "inf": float("inf"), "flag": True}
    path = tmp_path / "x.npz"
    save(obj, path)
    back, meta = load_file(path)
    assert meta["version"] == 1
    np.testing.assert_array_equal(back["w"].numpy(), obj["w"].numpy())
    assert isinstance(back["w"], nt.Tensor) and isinstance(back["b"], np.ndarray)
    assert back["state"][0]["step"] == 3 and 0 in back["state"]
    assert back["groups"][0]["betas"] == (0.9, 0.999)
    assert back["inf"] == float("inf") and back["none"] is None and back["flag"] is True
    assert nt.load(path)["name"] == "lenet5"


def test_unsupported_objects_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['f'\] of type function"):
        save({"f": lambda: 0}, tmp_path / "x.npz")


def test_pickle_file_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"w": np.zeros(2)}, f)
    with pytest.raises(CheckpointError, match="refusing to load a pickle"):
        load_file(path)


def test_npz_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, __neuronet__=np.frombuffer(b'{"format": "neuronet", "version": 1, "kind": "object", '
                                                 b'"object": {"__ndarray__": "a0"}}', np.uint8),
             a0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="pickle"):
        load_file(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "x.npz"
    save({"w": nt.randn(100, 100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_file(path)


def test_corrupted_bytes(tmp_path):
    path = tmp_path / "x.npz"
    save({"w": nt.randn(100, 100)}, path)
    data = bytearray(path.read_bytes())
    data[200:260] = b"\x00" * 60
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=str(path.name)):
        load_file(path)


def test_not_a_neuronet_file(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a neuronet save"):
        load_file(path)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(CheckpointError, match="not a neuronet file"):
        load_file(tmp_path / "text.npz")
    with pytest.raises(CheckpointError, match="no such file"):
        load_file(tmp_path / "missing.npz")


def test_newer_format_version(tmp_path):
    path = tmp_path / "future.npz"
    np.savez(path, __neuronet__=np.frombuffer(
        b'{"format": "neuronet", "version": 99, "kind": "object", "object": {}}', np.uint8))
    with pytest.raises(CheckpointError, match="newer neuronet.*version 99"):
        load_file(path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.npz"
    save({"w": nt.ones(3)}, path)
    with pytest.raises(TypeError):
        save({"w": nt.zeros(3), "bad": object()}, path)
    back, _ = load_file(path)
    np.testing.assert_array_equal(back["w"].numpy(), np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]   # no temp file left


def test_unwritable_directory_is_reported(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/neuronet-test/x.npz"
    else:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        target = str(d / "x.npz")
    with pytest.raises(OSError, match="cannot write"):
        save({"w": nt.ones(1)}, target)


def test_suffix_chooses_the_format(tmp_path):
    w = {"w": nt.randn(2, 3)}
    nt.save(w, tmp_path / "a.npz")
    nt.save(w, tmp_path / "a.pt")
    nt.save(w, tmp_path / "a")
    nt.save(w, tmp_path / "a.safetensors")
    assert load_file(tmp_path / "a.npz")[1]["format"] == "neuronet"
    import zipfile
    with zipfile.ZipFile(tmp_path / "a.pt") as zf:
        assert "a/data.pkl" in zf.namelist()
    with zipfile.ZipFile(tmp_path / "a") as zf:
        assert "a/data.pkl" in zf.namelist()
    assert (tmp_path / "a.safetensors").read_bytes()[8:9] == b"{"
    for name in ("a.npz", "a.pt", "a", "a.safetensors"):     # read back by content
        np.testing.assert_array_equal(nt.load(tmp_path / name)["w"].numpy(), w["w"].numpy())
    # the content decides, not the name
    (tmp_path / "a.pt").replace(tmp_path / "renamed.npz")
    np.testing.assert_array_equal(nt.load(tmp_path / "renamed.npz")["w"].numpy(), w["w"].numpy())


def test_npz_map_location_callable(tmp_path):
    nt.save({"w": nt.ones(2)}, tmp_path / "a.npz")
    got = nt.load(tmp_path / "a.npz", map_location=lambda t, loc: t * 3)
    assert got["w"].tolist() == [3.0, 3.0]
    assert nt.load(tmp_path / "a.npz", map_location="cpu")["w"].device == "cpu"


def test_new_files_get_umask_permissions(tmp_path):
    old = os.umask(0o077)
    try:
        save({"w": nt.ones(1)}, tmp_path / "private.npz")
        os.umask(0o022)
        save({"w": nt.ones(1)}, tmp_path / "shared.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "private.npz").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "shared.npz").stat().st_mode & 0o777 == 0o644
