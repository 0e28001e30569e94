"""Tensor printing: repr/str must be PyTorch's, character for character.

Every case builds the same values in neuronet and in torch (the oracle) and
compares ``repr`` exactly; the print options are set identically on both.
"""
import math

import numpy as np
import pytest

import neuronet as nt
from neuronet import _printing
from helpers import requires_torch, torch

pytestmark = requires_torch


def _r(seed=0):
    return np.random.default_rng(seed)


def _cases():
    r = _r()
    f32 = np.float32
    yield "randn 2x3", r.standard_normal((2, 3)).astype(f32)
    yield "randn 4x5x6", r.standard_normal((4, 5, 6)).astype(f32)
    yield "randn 2x1x3x2", r.standard_normal((2, 1, 3, 2)).astype(f32)
    yield "0-d float", np.array(3.5, f32)
    yield "0-d int", np.array(7)
    yield "0-d bool", np.array(True)
    yield "0-d nan", np.array(np.nan, f32)
    yield "0-d tiny", np.array(1e-7, f32)
    yield "ints", np.array([1, 2, 3])
    yield "negative ints", np.array([[-100, 2], [3, 4000]])
    yield "int32", np.array([1, -2, 3], np.int32)
    yield "int8", np.array([1, -2, 3], np.int8)
    yield "uint8", np.array([[0, 255], [7, 8]], np.uint8)
    yield "int16", np.array([5, 6], np.int16)
    yield "bool", np.array([True, False, True])
    yield "bool 2d", np.array([[True], [False]])
    yield "float64", r.standard_normal(4)
    yield "float16", r.standard_normal(5).astype(np.float16)
    yield "integer-valued floats", np.array([1.0, 2.0, -3.0], f32)
    yield "integer-valued big", np.array([1.0, 20000.0], f32)
    yield "integer-valued huge", np.array([1.0, 3e9], f32)
    yield "big", np.array([1.5e10, 2.0], f32)
    yield "small", np.array([1e-5, 2e-5], f32)
    yield "mixed ratio", np.array([0.5, 1234.5], f32)
    yield "ratio just under 1000", np.array([1.5, 1400.0], f32)
    yield "nan inf", np.array([np.nan, np.inf, -np.inf, 1.25], f32)
    yield "nan inf integer", np.array([np.nan, np.inf, 2.0], f32)
    yield "all nan", np.array([np.nan, np.nan], f32)
    yield "all zero", np.zeros((2, 2), f32)
    yield "negative zero", np.array([-0.0, 1.0], f32)
    yield "sci with nan", np.array([1e-8, np.nan, 3.0], f32)
    yield "long row wraps", r.standard_normal(30).astype(f32)
    yield "long int row wraps", np.arange(100)
    yield "wide matrix wraps", r.standard_normal((3, 20)).astype(f32)
    yield "summarized 1-d", r.standard_normal(2000).astype(f32)
    yield "summarized ints", np.arange(1001)
    yield "summarized 2-d", r.standard_normal((50, 50)).astype(f32)
    yield "summarized 3-d", r.standard_normal((10, 10, 20)).astype(f32)
    yield "summarized narrow", r.standard_normal((400, 4)).astype(f32)
    yield "summarized bool", r.standard_normal((40, 40)) > 0
    yield "threshold exactly", r.standard_normal(1000).astype(f32)
    yield "empty", np.zeros((0,), f32)
    yield "empty 0x3", np.zeros((0, 3), f32)
    yield "empty 2x0x4", np.zeros((2, 0, 4), f32)
    yield "empty int", np.zeros((0,), np.int64)
    yield "empty float64", np.zeros((0, 2))
    yield "complex", (r.standard_normal(3) + 1j * r.standard_normal(3)).astype(np.complex64)
    yield "complex 0-d", np.array(1 - 2j, np.complex64)
    yield "complex128", np.array([1 + 0j, -2.5 - 1j])


CASES = list(_cases())


@pytest.mark.parametrize("name,arr", CASES, ids=[c[0] for c in CASES])
def test_repr_matches_torch(name, arr):
    expected = repr(torch.from_numpy(arr.copy()))
    got = repr(nt.tensor(arr))
    assert got == expected, f"\n{got}\n!=\n{expected}"
    assert str(nt.tensor(arr)) == str(torch.from_numpy(arr.copy()))


def test_autograd_suffixes_match_torch():
    a = np.array([[0.1, 0.2]], np.float32)
    x, tx = nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert repr(x) == repr(tx) == "tensor([[0.1000, 0.2000]], requires_grad=True)"
    assert repr(x * 2) == repr(tx * 2) == "tensor([[0.2000, 0.4000]], grad_fn=<MulBackward0>)"
    d = np.array([1.0, 2.0])
    assert repr(nt.tensor(d, requires_grad=True)) == repr(torch.tensor(d, requires_grad=True))


def test_suffix_wraps_to_a_new_line_like_torch():
    a = _r(3).standard_normal((2, 12))          # float64: a dtype suffix that does not fit
    x, tx = nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert repr(x) == repr(tx)
    assert repr(x + 1) == repr(tx + 1)


def test_parameter_repr_matches_torch():
    from neuronet.nn import Parameter
    a = np.array([[1.5, -2.0]], np.float32)
    assert repr(Parameter(nt.tensor(a))) == repr(torch.nn.Parameter(torch.tensor(a)))


OPTION_SETS = [
    dict(precision=2),
    dict(precision=8),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(threshold=5, edgeitems=0),
    dict(linewidth=40),
    dict(profile="short"),
    dict(profile="full"),
]


@pytest.fixture
def restore_printoptions():
    yield
    _printing.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("opts", OPTION_SETS, ids=[str(o) for o in OPTION_SETS])
def test_printoptions_match_torch(opts, restore_printoptions):
    _printing.set_printoptions(**opts)
    torch.set_printoptions(**opts)
    assert _printing.get_printoptions() == torch._tensor_str.get_printoptions()
    for name, arr in [("mixed", np.array([0.5, 1234.5, -7.25], np.float32)),
                      ("matrix", _r(1).standard_normal((8, 9)).astype(np.float32)),
                      ("ints", np.arange(12).reshape(3, 4)),
                      ("cube", _r(2).standard_normal((3, 4, 5))),
                      ("big", _r(4).standard_normal(3000).astype(np.float32)),
                      ("scalar", np.array(0.123456789, np.float32))]:
        got, expected = repr(nt.tensor(arr)), repr(torch.from_numpy(arr.copy()))
        assert got == expected, f"{name} with {opts}:\n{got}\n!=\n{expected}"


def test_printoptions_context_and_profile_restore():
    t = nt.tensor([1.123456])
    with _printing.printoptions(precision=1):
        assert repr(t) == "tensor([1.1])"
    assert repr(t) == "tensor([1.1235])"
    with pytest.raises(ValueError, match="profile"):
        _printing.set_printoptions(profile="tiny")


def test_format_of_zero_dim_tensor_uses_the_number():
    t = nt.tensor(3.14159)
    assert format(t, ".2f") == format(torch.tensor(3.14159), ".2f") == "3.14"
    assert f"{nt.tensor(7):>4d}" == "   7"
    assert f"{nt.tensor(2.5)}" == f"{torch.tensor(2.5)}" == "2.5"     # the number, not the repr


def test_format_of_other_tensors_rejects_a_spec_as_torch():
    for shape in [(1,), (2, 2)]:
        with pytest.raises(TypeError):
            format(nt.ones(*shape), ".2f")
        with pytest.raises(TypeError):
            format(torch.ones(*shape), ".2f")
    assert format(nt.tensor([1.5]), "") == "tensor([1.5000])"


def test_dtype_suffix_follows_the_default_dtype():
    old = nt.backend.default_dtype
    try:
        nt.backend.default_dtype = np.dtype(np.float64)
        assert repr(nt.tensor(np.array([1.5]))) == "tensor([1.5000])"
        assert repr(nt.tensor(np.array([1.5], np.float32))) == "tensor([1.5000], dtype=torch.float32)"
    finally:
        nt.backend.default_dtype = old


def test_printing_a_large_tensor_only_formats_its_edges():
    # 10^6 elements print from the 3 edge items of each dimension: fast, and short.
    t = nt.zeros(1000, 1000)
    s = repr(t)
    assert s.count("\n") == 6 and "..." in s
    assert math.isclose(len(s), len(repr(torch.zeros(1000, 1000))))
