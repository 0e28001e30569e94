"""safetensors both ways, with the safetensors package (and torch) as oracles."""
import numpy as np
import pytest

import neuronet as nt
from neuronet.formats.safetensors import read_metadata
from neuronet.serialization import CheckpointError

st = pytest.importorskip("safetensors.numpy")


def test_neuronet_writes_what_safetensors_reads(tmp_path):
    a = nt.randn(3, 4)
    obj = {"w": a, "cols": nt.Tensor._wrap(a.array[:, ::2]), "i": nt.arange(5), "h": nt.ones(2, dtype=nt.float16),
           "m": nt.tensor([True, False]), "s": nt.tensor(1.5), "__metadata__": {"format": "pt", "note": "hi"}}
    path = tmp_path / "m.safetensors"
    nt.save(obj, path)
    got = st.load_file(str(path))
    assert sorted(got) == ["cols", "h", "i", "m", "s", "w"]
    for k in got:
        np.testing.assert_array_equal(got[k], obj[k].numpy())
        assert got[k].dtype == obj[k].array.dtype
    assert read_metadata(path) == {"format": "pt", "note": "hi"}
    back = nt.load(path)
    assert set(back) == set(got) and all(isinstance(v, nt.Tensor) for v in back.values())


def test_safetensors_files_load_in_neuronet(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"f32": rng.standard_normal((2, 3)).astype(np.float32), "f64": rng.standard_normal(4),
              "f16": rng.standard_normal(3).astype(np.float16), "i8": np.array([-1, 2], np.int8),
              "i16": np.array([7], np.int16), "i32": np.arange(3, dtype=np.int32), "i64": np.arange(2),
              "u8": np.array([255], np.uint8), "b": np.array([True]), "scalar": np.array(2.5, np.float32),
              "empty": np.zeros((0, 3), np.float32)}
    path = tmp_path / "x.bin"             # the name does not matter: the content says safetensors
    st.save_file(arrays, str(path), metadata={"k": "v"})
    got = nt.load(path)
    for k, v in arrays.items():
        assert got[k].array.dtype == v.dtype and got[k].shape == v.shape, k
        np.testing.assert_array_equal(got[k].numpy(), v)


def test_bfloat16_is_widened_to_float32(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    t = torch.randn(5, 3).bfloat16()
    path = tmp_path / "bf.safetensors"
    st_torch.save_file({"t": t}, str(path))
    got = nt.load(path)["t"]
    assert got.dtype == nt.float32
    np.testing.assert_array_equal(got.numpy(), t.float().numpy())


def test_bad_safetensors_input(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['nested'\] is a dict"):
        nt.save({"nested": {"a": nt.ones(1)}}, tmp_path / "a.safetensors")
    assert not (tmp_path / "a.safetensors").exists()
    path = tmp_path / "h.safetensors"
    nt.save({"w": nt.ones(4)}, path)
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[:8], "little")
    header = bytes(data[8:8 + n]).replace(b'"data_offsets":[0,16]', b'"data_offsets":[0,4000]')
    assert header != bytes(data[8:8 + n])
    path.write_bytes(len(header).to_bytes(8, "little") + header + bytes(data[8 + n:]))
    with pytest.raises(CheckpointError, match=r"h\.safetensors.*'w'"):
        nt.load(path)
