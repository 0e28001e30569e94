"""PyTorch files both ways, with real torch as the oracle: neuronet writes
what torch.load(weights_only=True) reads, and reads what torch.save writes
(zip and legacy formats, every dtype, views sharing storage)."""
import collections
import io
import os
import struct
import zipfile

import numpy as np
import pytest

import neuronet as nt
from tests.helpers import import_torchvision

torch = pytest.importorskip("torch")


tv = import_torchvision()
ALL_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int16,
              torch.int32, torch.int64, torch.uint8, torch.bool]


def _random(dtype, shape, gen):
    if dtype == torch.bool:
        return torch.rand(shape, generator=gen) > 0.5
    if dtype.is_floating_point:
        return torch.randn(shape, generator=gen).to(dtype)
    return torch.randint(-100 if dtype != torch.uint8 else 0, 100, shape, generator=gen).to(dtype)


def _as_numpy(t):
    return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()


def test_neuronet_pt_is_read_by_torch_weights_only(tmp_path):
    a = nt.randn(4, 5)
    obj = collections.OrderedDict(
        w=a, b=nt.arange(3), half=nt.ones(2, dtype=nt.float16), flag=nt.tensor([True, False]),
        i8=nt.tensor([-3, 4], dtype=nt.int8), f64=nt.randn(2, dtype=nt.float64),
        nested={"list": [1, 2.5, "s", None, (True, -7, 2 ** 40)], "empty": {}, "t": (a,)},
        rows=nt.Tensor._wrap(a.array[1:3]), cols=nt.Tensor._wrap(a.array[:, ::2]), T=nt.Tensor._wrap(a.array.T),
        scalar=nt.tensor(3.5), arr=np.arange(6, dtype=np.int32).reshape(2, 3),
        meta={"dtype": nt.float16, "device": nt.device("cpu"), "shape": nt.Size([2, 3])})
    obj["optim"] = {"state": {0: {"step": 3}}, "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999)}]}
    path = tmp_path / "model.pt"
    nt.save(obj, path)
    got = torch.load(path, weights_only=True)
    assert isinstance(got, collections.OrderedDict) and list(got) == list(obj)
    for k in ("w", "b", "half", "flag", "i8", "f64", "rows", "cols", "T", "scalar"):
        assert got[k].dtype == getattr(torch, str(obj[k].dtype).split(".")[1]), k
        np.testing.assert_array_equal(got[k].numpy(), obj[k].numpy())
    np.testing.assert_array_equal(got["arr"].numpy(), obj["arr"])
    assert got["nested"]["list"] == [1, 2.5, "s", None, (True, -7, 2 ** 40)]
    assert got["nested"]["empty"] == {} and got["optim"]["state"][0]["step"] == 3
    assert got["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    # views of one array share one storage in torch too
    storage = got["w"].untyped_storage().data_ptr()
    for k in ("rows", "cols", "T"):
        assert got[k].untyped_storage().data_ptr() == storage, k
    assert got["nested"]["t"][0].untyped_storage().data_ptr() == storage
    got["w"][1, 0] = 123.0
    assert got["rows"][0, 0] == 123.0 and got["T"][0, 1] == 123.0
    assert got["cols"].stride() == (5, 2)
    assert got["meta"] == {"dtype": torch.float16, "device": torch.device("cpu"), "shape": (2, 3)}
    assert nt.load(path)["meta"] == {"dtype": nt.float16, "device": nt.device("cpu"), "shape": (2, 3)}


def test_file_layout_is_torchs(tmp_path):
    path = tmp_path / "weights.pth"
    nt.save({"w": nt.randn(3, 7), "b": nt.zeros(5)}, path)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names[0] == "weights/data.pkl"
        assert zf.read("weights/version") == b"3\n" and zf.read("weights/byteorder") == b"little"
        assert len(zf.read("weights/.data/serialization_id")) == 40
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            n, e = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            assert (info.header_offset + 30 + n + e) % 64 == 0, info.filename     # 64-byte aligned
    # torch can memory-map what we write (needs the alignment)
    got = torch.load(path, weights_only=True, mmap=True)
    assert got["w"].shape == (3, 7)


def test_file_objects_and_permissions(tmp_path):
    buf = io.BytesIO()
    nt.save([nt.ones(2), {"k": "v"}], buf)
    buf.seek(0)
    got = torch.load(buf, weights_only=True)
    assert got[1] == {"k": "v"} and torch.equal(got[0], torch.ones(2))
    old = os.umask(0o027)
    try:
        nt.save({"w": nt.ones(1)}, tmp_path / "m.bin")
    finally:
        os.umask(old)
    assert (tmp_path / "m.bin").stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_files_every_dtype_and_shared_views(tmp_path, legacy):
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(6, 8, generator=gen)
    obj = {"dtypes": {str(d): _random(d, (3, 4), gen) for d in ALL_DTYPES},
           "base": base, "row": base[2], "strided": base[1:, ::3], "T": base.t(),
           "nested": [{"a": torch.arange(5)}, (torch.zeros(0), 7, "x")], "size": torch.Size([2, 3]),
           "dtype": torch.float16, "set": {1, 2}, "cplx": complex(1, 2),
           "param": torch.nn.Parameter(torch.ones(2)), "od": collections.OrderedDict(z=1, a=2)}
    path = tmp_path / "t.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    got = nt.load(path)
    for name, t in obj["dtypes"].items():
        g = got["dtypes"][name]
        assert isinstance(g, nt.Tensor)
        want = _as_numpy(t)
        assert g.array.dtype == want.dtype, name
        np.testing.assert_array_equal(g.numpy(), want)
    for k in ("base", "row", "strided", "T"):
        np.testing.assert_array_equal(got[k].numpy(), obj[k].numpy())
        assert np.shares_memory(got[k].array, got["base"].array), k
    got["base"].array[2, 3] = 42.0              # one storage: the views see it
    assert got["row"].array[3] == 42.0 and got["T"].array[3, 2] == 42.0
    assert got["nested"][0]["a"].tolist() == [0, 1, 2, 3, 4] and got["nested"][1][1:] == (7, "x")
    assert got["nested"][1][0].shape == (0,)
    assert got["size"] == (2, 3) and type(got["size"]) is nt.Size and got["dtype"] == nt.float16
    assert got["set"] == {1, 2} and got["cplx"] == complex(1, 2)
    assert got["param"].requires_grad and got["param"].tolist() == [1.0, 1.0]
    assert type(got["od"]) is collections.OrderedDict and list(got["od"]) == ["z", "a"]


def test_map_location(tmp_path):
    path = tmp_path / "t.pt"
    torch.save({"a": torch.ones(2), "b": torch.zeros(3)}, path)
    seen = []
    got = nt.load(path, map_location=lambda t, loc: seen.append(loc) or t * 2)
    assert seen == ["cpu", "cpu"] and got["a"].tolist() == [2.0, 2.0]
    assert nt.load(path, map_location="cpu")["b"].device == "cpu"
    assert nt.load(path, map_location={"cuda:0": "cpu"})["a"].device == "cpu"
    # a file saved from the GPU: torch's rule -- it goes back to the GPU unless mapped
    with zipfile.ZipFile(path) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    gpu = tmp_path / "gpu.pt"
    with zipfile.ZipFile(gpu, "w") as zf:
        for n, v in entries.items():
            zf.writestr(n, v.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
                        if n.endswith("data.pkl") else v)
    assert torch.load(gpu, map_location="cpu", weights_only=True)["a"].tolist() == [1.0, 1.0]
    got = nt.load(gpu, map_location={"cuda:0": "cpu"})
    assert got["a"].device == "cpu" and got["a"].tolist() == [1.0, 1.0]
    seen = []
    nt.load(gpu, map_location=lambda t, loc: seen.append(loc))
    assert seen == ["cuda:0", "cuda:0"]
    if nt.cuda.is_available():
        assert nt.load(gpu)["a"].device == "cuda"
    else:
        with pytest.raises(nt.serialization.CheckpointError, match="gpu.pt.*'cuda:0'.*map_location='cpu'"):
            nt.load(gpu)


@pytest.mark.skipif(tv is None, reason="torchvision cannot be imported")
def test_resnet18_state_dict_round_trip(tmp_path):
    torch.manual_seed(0)
    model = tv.models.resnet18(weights=None).eval()
    src = tmp_path / "resnet18.pth"
    torch.save(model.state_dict(), src)
    sd = nt.load(src)
    want = model.state_dict()
    assert list(sd) == list(want)
    for k, v in want.items():
        assert sd[k].shape == tuple(v.shape) and sd[k].array.dtype == v.numpy().dtype, k
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())
    # ... and back: neuronet's file loads into a fresh torchvision model with the same outputs
    out = tmp_path / "again.pt"
    nt.save(sd, out)
    other = tv.models.resnet18(weights=None).eval()
    other.load_state_dict(torch.load(out, weights_only=True))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())


def test_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "m.pt"
    nt.save({"w": nt.ones(3)}, path)
    with pytest.raises(TypeError, match=r"obj\['bad'\] of type object"):
        nt.save({"w": nt.zeros(3), "bad": object()}, path)
    assert torch.load(path, weights_only=True)["w"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
    with pytest.raises(TypeError, match="uint16"):
        nt.save({"u": np.zeros(2, np.uint16)}, path)
