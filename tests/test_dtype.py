"""dtypes and Size: PyTorch's names and printing, NumPy's interoperability."""
import copy
import pickle

import numpy as np
import pytest

import neuronet as nt
from neuronet import _dtype as D
from helpers import requires_torch, torch

NAMES = ["float32", "float64", "float16", "complex64", "complex128", "uint8", "int8", "int16",
         "int32", "int64", "bool"]
ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
           "int": "int32", "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}


@pytest.mark.parametrize("name", NAMES)
def test_dtype_prints_as_torch_and_equals_numpy(name):
    d = getattr(D, name)
    assert repr(d) == str(d) == f"torch.{name}"
    npd = np.dtype(name)
    assert d == npd and npd == d and d == npd.type and not (d != npd)
    assert hash(d) == hash(npd)
    assert {npd: 1}[d] == 1 and {d: 2}[npd] == 2
    assert np.dtype(d) == npd                       # NumPy reads .dtype
    assert np.zeros(2, dtype=d).dtype == npd
    assert np.arange(3).astype(d).dtype == npd
    assert (d.kind, d.char, d.name, d.type, d.itemsize) == (npd.kind, npd.char, npd.name, npd.type,
                                                            npd.itemsize)
    assert pickle.loads(pickle.dumps(d)) is d and copy.deepcopy(d) is d


@requires_torch
@pytest.mark.parametrize("name", NAMES)
def test_dtype_flags_match_torch(name):
    d, td = getattr(D, name), getattr(torch, name)
    assert str(d) == str(td)
    assert (d.is_floating_point, d.is_complex, d.is_signed, d.itemsize) == \
        (td.is_floating_point, td.is_complex, td.is_signed, td.itemsize)


@pytest.mark.parametrize("alias,name", sorted(ALIASES.items()))
def test_aliases_are_the_same_objects(alias, name):
    assert getattr(D, alias) is getattr(D, name)
    assert D.as_dtype(alias) is getattr(D, name)


def test_dtypes_differ_from_each_other_and_from_other_things():
    assert D.float32 != D.float64 and D.int64 != D.int32 and D.bool != D.uint8
    assert D.float32 != "not a dtype" and D.float32 != 3 and D.float32 is not None
    assert D.float32 == "float" and D.float64 != "float"      # PyTorch's names, not NumPy's


def test_tensor_dtype_is_the_neuronet_object():
    t = nt.tensor([1.0, 2.0])
    assert t.dtype is D.float32 and repr(t.dtype) == "torch.float32"
    assert nt.tensor([1, 2]).dtype is D.int64
    assert nt.tensor([True]).dtype is D.bool
    assert nt.tensor(np.zeros(2, np.int16)).dtype is D.int16
    assert t.to(nt.float64).dtype is D.float64 and t.double().dtype == np.float64
    assert nt.zeros(2, dtype=D.int8).dtype is D.int8
    assert t.numpy().astype(t.dtype).dtype == np.float32


def test_python_types_map_as_pytorch():
    assert D.as_dtype(float) is D.float64 and D.as_dtype(int) is D.int64
    assert D.as_dtype(bool) is D.bool and D.as_dtype(complex) is D.complex128
    assert nt.zeros(2, dtype=float).dtype is D.float64
    with pytest.raises(TypeError, match="unknown dtype"):
        D.as_dtype("float7")
    with pytest.raises(TypeError, match="unknown dtype"):
        D.as_dtype(object())


def test_unusual_numpy_dtypes_get_an_object_too():
    be = np.dtype(">f4")
    d = D.from_numpy_dtype(be)
    assert d == be and D.from_numpy_dtype(be) is d


def test_is_floating_point_and_complex():
    assert nt.tensor([1.0]).is_floating_point() and not nt.tensor([1]).is_floating_point()
    assert D.is_floating_point(nt.tensor([1.0])) and not D.is_floating_point(nt.tensor([True]))
    assert D.is_complex(nt.tensor(np.array([1j]))) and not nt.tensor([1.0]).is_complex()
    with pytest.raises(TypeError, match="must be Tensor"):
        D.is_floating_point(np.zeros(2))


def test_default_dtype_round_trip():
    assert D.get_default_dtype() is D.float32
    try:
        D.set_default_dtype(D.float64)
        assert D.get_default_dtype() is D.float64
        assert nt.tensor([1.5]).dtype is D.float64 and nt.zeros(2).dtype is D.float64
        assert repr(nt.tensor([1.5])) == "tensor([1.5000])"
    finally:
        D.set_default_dtype(D.float32)
    assert nt.tensor([1.5]).dtype is D.float32
    with pytest.raises(TypeError, match="floating-point"):
        D.set_default_dtype(D.int64)


@requires_torch
def test_finfo_iinfo_match_torch():
    for name in ["float32", "float64", "float16"]:
        ours, theirs = D.finfo(getattr(D, name)), torch.finfo(getattr(torch, name))
        for attr in ["bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"]:
            assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)
        assert repr(ours) == repr(theirs)
    for name in ["uint8", "int8", "int16", "int32", "int64"]:
        ours, theirs = D.iinfo(getattr(D, name)), torch.iinfo(getattr(torch, name))
        assert (ours.bits, ours.max, ours.min) == (theirs.bits, theirs.max, theirs.min)
        assert repr(ours) == repr(theirs)
    assert D.finfo().eps == torch.finfo().eps
    with pytest.raises(TypeError):
        D.iinfo(D.bool)
    with pytest.raises(TypeError):
        D.finfo(D.int32)


@requires_torch
def test_promote_types_matches_torch():
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
             "complex64", "complex128"]
    for a in names:
        for b in names:
            expected = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert str(D.promote_types(getattr(D, a), getattr(D, b))) == str(expected), (a, b)
    with pytest.raises(RuntimeError, match="not supported"):
        D.promote_types(D.uint16, D.int64)


# ---------------------------------------------------------------- Size
def test_size_is_a_tuple_that_prints_like_torch():
    s = nt.zeros(2, 3).shape
    assert isinstance(s, D.Size) and isinstance(s, tuple)
    assert s == (2, 3) and s != [2, 3]          # equal to tuples, as torch.Size
    assert repr(s) == str(s) == "torch.Size([2, 3])"
    assert f"{s}" == "torch.Size([2, 3])"
    assert repr(D.Size([])) == "torch.Size([])" and repr(nt.tensor(1.0).shape) == "torch.Size([])"
    assert nt.zeros(2, 3).size() == s and nt.zeros(2, 3).size(1) == 3 and nt.zeros(2, 3).size(-1) == 3
    assert s.numel() == 6 and D.Size([]).numel() == 1
    a, b = s
    assert (a, b) == (2, 3) and hash(s) == hash((2, 3))


@requires_torch
def test_size_operations_match_torch():
    ours, theirs = D.Size([2, 3, 4]), torch.Size([2, 3, 4])
    for f in [lambda s: s[1:], lambda s: s + (5,), lambda s: (5,) + s, lambda s: s * 2,
              lambda s: s[0], lambda s: s[-1]]:
        assert repr(f(ours)) == repr(f(theirs))
        assert type(f(ours)).__name__ == type(f(theirs)).__name__
    assert pickle.loads(pickle.dumps(ours)) == ours and type(copy.deepcopy(ours)) is D.Size
    with pytest.raises(TypeError, match="item 0 is 'float'"):
        D.Size([1.5])
    assert D.Size([np.int64(2), nt.tensor(3)]) == (2, 3)


def test_size_out_of_range_is_an_index_error():
    with pytest.raises(IndexError, match="Dimension out of range"):
        nt.zeros(2, 3).size(2)


# ---------------------------------------------------------------- Python scalars
@requires_torch
@pytest.mark.parametrize("convert", [float, int, bool, complex, lambda t: t.item(),
                                     lambda t: t.__index__()], ids=["float", "int", "bool", "complex",
                                                                    "item", "index"])
@pytest.mark.parametrize("data", [[2.5], [[3]], 7, [True], [], [1.0, 2.0], [[1, 2]]],
                         ids=["1-float", "1x1-int", "0d-int", "1-bool", "empty", "2-float", "1x2-int"])
def test_scalar_conversions_match_torch(convert, data):
    def run(make):
        try:
            return "ok", convert(make(data))
        except Exception as e:  # the exception type and message are what is compared
            return type(e).__name__, str(e)
    ours, theirs = run(nt.tensor), run(torch.tensor)
    assert ours == theirs
