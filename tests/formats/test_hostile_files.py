"""Hostile and broken model files: refused with one error naming the file
(and the global), and provably nothing runs (no side-effect file appears)."""
import io
import os
import pickle
import struct
import subprocess
import zipfile

import numpy as np
import pytest

import neuronet as nt
from neuronet.serialization import CheckpointError
from neuronet.formats import UnsafeFileError

torch = pytest.importorskip("torch")


class _Call:
    """Pickles as ``fn(*args)``: what an attacker's file does."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _payloads(marker):
    cmd = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return {
        "os.system": _Call(os.system, cmd),
        "eval": _Call(eval, code),
        "builtins.exec": _Call(exec, code),
        "subprocess.call": _Call(subprocess.call, ["touch", str(marker)]),
    }


def _torch_zip_with_pickle(path, pickled, folder="archive"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{folder}/data.pkl", pickled)
        zf.writestr(f"{folder}/version", b"3\n")


@pytest.mark.parametrize("name", ["os.system", "eval", "builtins.exec", "subprocess.call"])
@pytest.mark.parametrize("protocol", [2, 4])
def test_code_running_pickles_are_refused(tmp_path, name, protocol):
    marker = tmp_path / "pwned"
    pickled = pickle.dumps(_payloads(marker)[name], protocol=protocol)
    short = name.split(".")[-1]
    for kind in ("zip", "legacy", "bare"):
        path = tmp_path / f"{kind}.pt"
        if kind == "zip":
            _torch_zip_with_pickle(path, pickled)
        elif kind == "legacy":
            path.write_bytes(b"".join(pickle.dumps(x, protocol=2) for x in (
                0x1950a86a20f9469cfc6c, 1001, {"little_endian": True})) + pickled)
        else:
            path.write_bytes(pickled)
        with pytest.raises(UnsafeFileError, match=short) as info:
            nt.load(path)
        assert str(path) in str(info.value) and "never" in str(info.value)
        assert not marker.exists()
    # the real unpickler would have run it: the test can fail
    pickle.loads(pickled)
    assert marker.exists()


def test_torch_save_of_an_object_is_refused_by_name(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"opt": torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)}, path)
    with pytest.raises(UnsafeFileError, match=r"torch\.optim\.sgd\.SGD"):
        nt.load(path)
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(UnsafeFileError, match=r"torch\.nn\.modules\.linear\.Linear"):
        nt.load(path)


def test_reduce_build_and_persistent_ids_outside_the_allow_list(tmp_path):
    path = tmp_path / "x.pt"
    # REDUCE of an allowed class name used as a callable it is not
    _torch_zip_with_pickle(path, b"\x80\x02ctorch\nFloatStorage\n)R.")
    with pytest.raises(UnsafeFileError, match="torch.FloatStorage"):
        nt.load(path)
    # BUILD on a list
    _torch_zip_with_pickle(path, b"\x80\x02]}b.")
    with pytest.raises(UnsafeFileError, match="BUILD"):
        nt.load(path)
    # a persistent id that is not a storage (torch's 'module' source records)
    _torch_zip_with_pickle(path, b"\x80\x02X\x06\x00\x00\x00module\x85Q.")
    with pytest.raises(UnsafeFileError, match="'module'"):
        nt.load(path)
    # INST: a code-running opcode
    _torch_zip_with_pickle(path, b"(ios\nsystem\n.")
    with pytest.raises(UnsafeFileError, match="os.system"):
        nt.load(path)


def test_weights_only_false_is_refused(tmp_path):
    path = tmp_path / "x.pt"
    nt.save({"w": nt.ones(1)}, path)
    with pytest.raises(CheckpointError, match="never executes pickled code"):
        nt.load(path, weights_only=False)


def test_unsafe_zip_paths_and_oversized_sizes(tmp_path):
    path = tmp_path / "slip.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02N.")
        zf.writestr("archive/../../etc/evil", b"x")
    with pytest.raises(CheckpointError, match=r"unsafe path.*\.\."):
        nt.load(path)
    # a storage that declares more elements than its record holds
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(4)}, good)
    with zipfile.ZipFile(good) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    pkl = entries["good/data.pkl"].replace(b"K\x04t", b"J\x00\x00\x00\x10t")     # numel 4 -> 2**28
    assert pkl != entries["good/data.pkl"]
    bad = tmp_path / "big.pt"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, v in entries.items():
            zf.writestr(n, pkl if n.endswith("data.pkl") else v)
    with pytest.raises(CheckpointError, match=r"big\.pt.*declares 268435456"):
        nt.load(bad)
    # a zip entry whose declared size runs past the end of the file
    data = bytearray(good.read_bytes())
    central = data.find(b"good/data/0", data.find(b"PK\x01\x02")) - 46     # its central record
    assert data[central:central + 4] == b"PK\x01\x02"
    struct.pack_into("<II", data, central + 20, 10 ** 9, 10 ** 9)           # compressed, plain sizes
    (tmp_path / "long.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"long\.pt.*declares 1000000000 bytes"):
        nt.load(tmp_path / "long.pt")


@pytest.mark.parametrize("fmt", ["zip", "legacy", "safetensors"])
def test_truncated_and_corrupt_files(tmp_path, fmt):
    path = tmp_path / ("m.safetensors" if fmt == "safetensors" else "m.pt")
    w = {"w": torch.randn(64, 64), "b": torch.zeros(64)}
    if fmt == "safetensors":
        nt.save({k: nt.tensor(v.numpy()) for k, v in w.items()}, path)
    else:
        torch.save(w, path, _use_new_zipfile_serialization=fmt == "zip")
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 3, 20):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="m\\.(pt|safetensors)"):
            nt.load(path)
    broken = bytearray(data)
    broken[len(data) // 3: len(data) // 3 + 40] = b"\xff" * 40
    path.write_bytes(bytes(broken))
    try:
        got = nt.load(path)
    except CheckpointError as e:
        assert "m." in str(e)
    else:   # damage inside raw tensor bytes of a format without checksums: values differ, no crash
        assert fmt != "zip", "the zip CRC must catch damaged bytes"
        assert not np.array_equal(got["w"].numpy(), w["w"].numpy()) or \
            not np.array_equal(got["b"].numpy(), w["b"].numpy())


def test_not_a_model_file(tmp_path):
    (tmp_path / "a.pt").write_text("hello world")
    with pytest.raises(CheckpointError, match="not a model file"):
        nt.load(tmp_path / "a.pt")
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        nt.load(tmp_path / "e.pt")
    with pytest.raises(CheckpointError, match="no such file"):
        nt.load(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="binary mode"):
        nt.load(io.StringIO("x"))


def test_bare_internals_do_not_leak(tmp_path):
    path = tmp_path / "x.pt"
    _torch_zip_with_pickle(path, b"\x80\x02ctorch\nTensor\n.")
    with pytest.raises(CheckpointError, match=r"x\.pt: a bare torch\.Tensor"):
        nt.load(path)


def test_tensor_views_outside_their_storage_are_refused(tmp_path):
    path = tmp_path / "v.pt"
    nt.save({"w": nt.ones(4)}, path)
    with zipfile.ZipFile(path) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    pkl = entries["v/data.pkl"]
    # size (4,) -> (40,): reads past the 4-element storage
    bad = pkl.replace(b"K\x00(K\x04t(K\x01t", b"K\x00(K(t(K\x01t")
    assert bad != pkl
    with zipfile.ZipFile(path, "w") as zf:
        for n, v in entries.items():
            zf.writestr(n, bad if n.endswith("data.pkl") else v)
    with pytest.raises(CheckpointError, match=r"v\.pt.*reaches element 39.*holds 4"):
        nt.load(path)
