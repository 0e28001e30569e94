"""Conformance sweep: shape ops, joining/splitting, and factories vs PyTorch.

Values, dtypes, shapes and gradients (views included), 0-d and empty tensors,
negative dims, and the exception types PyTorch raises for bad dims/shapes.
"""
import numpy as np
import pytest

from conformance.harness import (A, DT, ErrorSample, OpInfo, Sample, check_error, check_sample,
                                 error_params, params)




def meth(name):
    return lambda m, x, *a, **kw: getattr(x, name)(*a, **kw)


def fn(name):
    return lambda m, *a, **kw: getattr(m, name)(*a, **kw)


OPS = [
    OpInfo("reshape", meth("reshape"), samples=[
        Sample(A(2, 3), 3, 2), Sample(A(2, 3), (6,)), Sample(A(2, 3), -1), Sample(A(2, 3), 3, -1),
        Sample(A(), 1, 1), Sample(A(1), ()), Sample(A(0, 3), 3, 0), Sample(A(0, 3), -1, 3),
        Sample(A(2, 3, dtype="int64"), 6)],
        errors=[ErrorSample(RuntimeError, A(2, 3), 4), ErrorSample(RuntimeError, A(2, 3), -1, -1),
                ErrorSample(RuntimeError, A(0, 3), -1, 0, name="empty-ambiguous")]),
    OpInfo("torch.reshape", lambda m, x, s: m.reshape(x, s), samples=[Sample(A(2, 3), (3, 2))]),
    OpInfo("view", meth("view"), samples=[Sample(A(2, 3), 3, 2), Sample(A(2, 3), -1), Sample(A(), 1)],
           errors=[ErrorSample(RuntimeError, A(2, 3), 5)]),
    OpInfo("flatten", meth("flatten"), samples=[
        Sample(A(2, 3, 4)), Sample(A(2, 3, 4), 1), Sample(A(2, 3, 4), 0, 1), Sample(A(2, 3, 4), -2, -1),
        Sample(A()), Sample(A(2, 0, 3), 1)],
        errors=[ErrorSample(IndexError, A(2, 3), 3)]),
    OpInfo("permute", meth("permute"), samples=[
        Sample(A(2, 3, 4), 2, 0, 1), Sample(A(2, 3, 4), (1, 0, 2)), Sample(A(2, 3, 4), -1, 0, 1), Sample(A(), ())],
        errors=[ErrorSample(RuntimeError, A(2, 3, 4), 0, 1, name="too-few"),
                ErrorSample(RuntimeError, A(2, 3, 4), 0, 0, 1, name="repeated"),
                ErrorSample(IndexError, A(2, 3, 4), 0, 1, 3, name="out-of-range")]),
    OpInfo("torch.permute", lambda m, x, d: m.permute(x, d), samples=[Sample(A(2, 3, 4), (2, 0, 1))],
           errors=[ErrorSample(RuntimeError, A(2, 3), (0,))]),
    OpInfo("transpose", meth("transpose"), samples=[
        Sample(A(2, 3, 4), 0, 2), Sample(A(2, 3), -1, -2), Sample(A(), 0, -1), Sample(A(3), 0, 0)],
        errors=[ErrorSample(IndexError, A(2, 3), 0, 2)]),
    OpInfo("t", meth("t"), samples=[Sample(A(2, 3)), Sample(A(3)), Sample(A())],
           errors=[ErrorSample(RuntimeError, A(2, 3, 4))]),
    OpInfo("T", lambda m, x: x.T, samples=[Sample(A(2, 3)), Sample(A(3))]),
    OpInfo("mT", lambda m, x: x.mT, samples=[Sample(A(2, 3, 4))]),
    OpInfo("swapaxes", meth("swapaxes"), samples=[Sample(A(2, 3, 4), 0, 2)]),
    OpInfo("movedim", meth("movedim"), samples=[Sample(A(2, 3, 4), 0, -1), Sample(A(2, 3, 4), (0, 1), (2, 0))]),
    OpInfo("squeeze", meth("squeeze"), samples=[
        Sample(A(1, 3, 1)), Sample(A(1, 3, 1), 0), Sample(A(1, 3, 1), -1), Sample(A(1, 3, 1), 1),
        Sample(A(1, 3, 1), (0, 2)), Sample(A()), Sample(A(), 0), Sample(A(1, 0, 1), 0)],
        errors=[ErrorSample(IndexError, A(2, 1, 3, 4), 50, name="dim50"),
                ErrorSample(IndexError, A(2, 3), -3),
                ErrorSample(IndexError, A(), 1, name="0d-dim1")]),
    OpInfo("unsqueeze", meth("unsqueeze"), samples=[
        Sample(A(2, 3), 0), Sample(A(2, 3), 2), Sample(A(2, 3), -1), Sample(A(2, 3), -3), Sample(A(), 0),
        Sample(A(), -1)],
        errors=[ErrorSample(IndexError, A(2, 3), 3),
                ErrorSample(IndexError, A(2, 3), -4)]),
    OpInfo("expand", meth("expand"), samples=[
        Sample(A(3, 1), 3, 4), Sample(A(3, 1), -1, 4), Sample(A(3), 2, 3), Sample(A(), 2, 2),
        Sample(A(1, 3), (0, 3))],
        errors=[ErrorSample(RuntimeError, A(3, 2), 3, 4), ErrorSample(RuntimeError, A(3, 1), 4)]),
    OpInfo("expand_as", lambda m, x, y: x.expand_as(y), samples=[Sample(A(3, 1), A(3, 4))]),
    OpInfo("cat", lambda m, ts, *a, **kw: m.cat(ts, *a, **kw), samples=[
        Sample([A(2, 3), A(4, 3)]), Sample([A(2, 3), A(2, 1)], 1), Sample([A(2, 3), A(2, 2)], dim=-1),
        Sample([A(2, 3), A(0, 3)]), Sample([A(2, 3), A(2, 3, dtype="float32")], name="promote-f32-f64"),
        Sample([A(2, 3, dtype="int64"), A(2, 3, dtype="float32")], name="promote-int-f32"),
        Sample([A(2, 3), A(0)], name="legacy-empty-1d"), Sample((A(3), A(2)), name="tuple")],
        errors=[ErrorSample(RuntimeError, [A(2, 3), A(2, 4)]), ErrorSample(IndexError, [A(2, 3), A(2, 3)], 2),
                ErrorSample(RuntimeError, [A(), A()], name="0d"), ErrorSample(RuntimeError, [A(2, 3), A(3)])]),
    OpInfo("stack", lambda m, ts, *a, **kw: m.stack(ts, *a, **kw), samples=[
        Sample([A(2, 3), A(2, 3)]), Sample([A(2, 3), A(2, 3)], 2), Sample([A(2, 3), A(2, 3)], dim=-1),
        Sample([A(), A()]), Sample([A(2, dtype="int64"), A(2, dtype="float32")], name="promote")],
        errors=[ErrorSample(RuntimeError, [A(2, 3), A(3, 2)]), ErrorSample(IndexError, [A(2), A(2)], 3)]),
    OpInfo("hstack", lambda m, ts: m.hstack(ts), samples=[Sample([A(2, 3), A(2, 1)]), Sample([A(3), A(2)])]),
    OpInfo("vstack", lambda m, ts: m.vstack(ts), samples=[Sample([A(2, 3), A(1, 3)]), Sample([A(3), A(3)])]),
    OpInfo("split", lambda m, x, *a, **kw: m.split(x, *a, **kw), samples=[
        Sample(A(5, 3), 2), Sample(A(5, 3), [1, 4]), Sample(A(3, 5), 2, 1), Sample(A(3, 5), [2, 3], dim=-1),
        Sample(A(4, 2), 4), Sample(A(4, 2), 10), Sample(A(0, 2), 1)],
        errors=[ErrorSample(RuntimeError, A(5, 3), [2, 2])]),
    OpInfo("Tensor.split", meth("split"), samples=[Sample(A(5, 3), 2)]),
    OpInfo("chunk", lambda m, x, *a, **kw: m.chunk(x, *a, **kw), samples=[
        Sample(A(5, 3), 2), Sample(A(6, 3), 3), Sample(A(3, 5), 2, 1), Sample(A(3, 5), 4, dim=1),
        Sample(A(2, 3), 5)],
        errors=[ErrorSample(RuntimeError, A(5, 3), 0)]),
    OpInfo("unbind", lambda m, x, *a: m.unbind(x, *a), samples=[Sample(A(3, 2)), Sample(A(3, 2), 1)]),
    OpInfo("tensor_split", lambda m, x, *a, **kw: m.tensor_split(x, *a, **kw), samples=[
        Sample(A(7, 2), 3), Sample(A(7, 2), [1, 5]), Sample(A(2, 7), 3, dim=1)]),
    OpInfo("flip", meth("flip"), samples=[Sample(A(2, 3), 0), Sample(A(2, 3), (0, 1)), Sample(A(2, 3), -1)]),
    OpInfo("roll", meth("roll"), samples=[
        Sample(A(2, 3), 1), Sample(A(2, 3), 1, 1), Sample(A(2, 3), (1, -1), (0, 1)), Sample(A(2, 3), -4, 1)]),
    OpInfo("repeat", meth("repeat"), samples=[
        Sample(A(2, 3), 2, 1), Sample(A(3), 2, 2), Sample(A(), 3), Sample(A(2, 3), 0, 1)],
        errors=[ErrorSample(RuntimeError, A(2, 3), 2)]),
    OpInfo("tile", meth("tile"), samples=[Sample(A(2, 3), (2,)), Sample(A(2, 3), (2, 1, 1))]),
    OpInfo("repeat_interleave", meth("repeat_interleave"), samples=[
        Sample(A(2, 3), 2), Sample(A(2, 3), 2, dim=1), Sample(A(3), np.array([1, 0, 2]))]),
    OpInfo("narrow", meth("narrow"), samples=[Sample(A(4, 3), 0, 1, 2), Sample(A(4, 3), -1, 0, 2)],
           errors=[ErrorSample(RuntimeError, A(4, 3), 0, 3, 2)]),
    OpInfo("diagonal", meth("diagonal"), samples=[Sample(A(3, 4)), Sample(A(3, 4), 1), Sample(A(2, 3, 4), 0, 1, 2)]),
    OpInfo("tril", fn("tril"), samples=[Sample(A(3, 4)), Sample(A(3, 4), 1), Sample(A(2, 3, 3), -1)]),
    OpInfo("triu", fn("triu"), samples=[Sample(A(3, 4)), Sample(A(3, 4), -1)]),
    OpInfo("diag", fn("diag"), samples=[Sample(A(3)), Sample(A(3, 4)), Sample(A(3), 1)]),
    OpInfo("trace", fn("trace"), samples=[Sample(A(3, 4)), Sample(A(3, 3, dtype="int64"))]),
    OpInfo("clone", meth("clone"), samples=[Sample(A(2, 3)), Sample(A())]),
    OpInfo("contiguous", lambda m, x: x.t().contiguous(), samples=[Sample(A(2, 3))]),
    OpInfo("Tensor.size", lambda m, x, *a: x.size(*a), samples=[
        Sample(A(2, 3)), Sample(A(2, 3), -1), Sample(A())], grad=False,
        errors=[ErrorSample(IndexError, A(2, 3), 2)]),
    OpInfo("Tensor.dim/numel", lambda m, x: (x.dim(), x.numel(), x.ndim), samples=[
        Sample(A(2, 3)), Sample(A()), Sample(A(0, 3))], grad=False),
    OpInfo("to(dtype)", lambda m, x, d: x.to(d), samples=[
        Sample(A(2, 3), DT("float32")), Sample(A(2, 3, dtype="float32"), DT("float64")),
        Sample(A(2, 3), DT("int64"), name="f64-to-int64-truncates"),
        Sample(A(2, 3), DT("bool")),
        Sample(A(3, kind="singular"), DT("float32"))]),
    OpInfo("float/double/long/int/bool", lambda m, x: (x.float(), x.double(), x.long(), x.int(), x.bool()),
           samples=[Sample(A(2, 3)), Sample(A(2, 3, dtype="int64"))]),
    OpInfo("type_as", lambda m, x, y: x.type_as(y), samples=[Sample(A(2, dtype="int64"), A(2, dtype="float32"))]),
    OpInfo("item/tolist", lambda m, x: (x.sum().item(), x.tolist()), samples=[
        Sample(A(2, 3)), Sample(A(2, dtype="int64")), Sample(A(2, dtype="bool"))], grad=False),
    OpInfo("einsum", lambda m, eq, *ts: m.einsum(eq, *ts), samples=[
        Sample("ij,jk->ik", A(2, 3), A(3, 4)), Sample("bij->bji", A(2, 3, 4)), Sample("ii", A(3, 3)),
        Sample("i,j->ij", A(2), A(3)), Sample("...ij,...jk", A(2, 2, 3), A(2, 3, 2))]),
]

# ---------------------------------------------------------------- factories
FACTORY_OPS = [
    OpInfo("linspace", fn("linspace"), samples=[
        Sample(0, 1, 5), Sample(-3, 3, 7, dtype=DT("float64")), Sample(0, 1, 1), Sample(0, 1, 0),
        Sample(5, -5, 20, dtype=DT("int32"), name="int32-descending"),
        Sample(0, 10, 7, dtype=DT("int64"), name="int64-ascending"),
        Sample(-5, 5, 12, dtype=DT("int64"), name="int64-cross-zero"),
        Sample(0.5, 10.5, 4, dtype=DT("int64"), name="int64-fractional-ends"),
        Sample(1, 2, 3, dtype=DT("float16"))],
        errors=[ErrorSample(RuntimeError, 0, 1, -1)]),
    OpInfo("arange", fn("arange"), samples=[
        Sample(5), Sample(1, 5), Sample(0, 1, 0.25), Sample(5.0), Sample(0, 5, dtype=DT("float64")),
        Sample(10, 0, -3), Sample(0, 0), Sample(1, 2.5, 0.5), Sample(-1.0, 1.0, 0.3)],
        errors=[ErrorSample(RuntimeError, 0, 5, 0), ErrorSample(RuntimeError, 0, 5, -1)]),
    OpInfo("full", fn("full"), samples=[
        Sample((2, 3), 1.5), Sample((2, 3), 2), Sample((2, 3), True), Sample((), 3.0),
        Sample((2,), 1, dtype=DT("float64")), Sample((0, 3), 1.0)]),
    OpInfo("zeros/ones", lambda m, *a, **kw: (m.zeros(*a, **kw), m.ones(*a, **kw)), samples=[
        Sample(2, 3), Sample((2, 3)), Sample(()), Sample(2, dtype=DT("int64")), Sample([2, 0]),
        Sample(3, dtype=DT("bool"))]),
    OpInfo("eye", fn("eye"), samples=[Sample(3), Sample(2, 3), Sample(2, dtype=DT("int64"))]),
    OpInfo("*_like", lambda m, x: (m.zeros_like(x), m.ones_like(x), m.full_like(x, 7),
                                   m.zeros_like(x, dtype=m.float64)),
           samples=[Sample(A(2, 3, dtype="float32")), Sample(A(2, dtype="int64")), Sample(A())], grad=False),
    OpInfo("new_*", lambda m, x: (x.new_zeros(2), x.new_ones((2, 1)), x.new_full((2,), 3), x.new_tensor([1, 2])),
           samples=[Sample(A(2, dtype="float64")), Sample(A(2, dtype="int64"))], grad=False),
    OpInfo("tensor()", lambda m, d, **kw: m.tensor(d, **kw), samples=[
        Sample([1, 2, 3]), Sample([1.0, 2.0]), Sample([True, False]), Sample(3), Sample(2.5), Sample([]),
        Sample([[1, 2], [3, 4]], dtype=DT("float32")), Sample([1, 2.5]), Sample([True, 2]),
        Sample(np.array([1.0, 2.0]), name="from-f64-numpy")], grad=False),
]


ALL = OPS + FACTORY_OPS


@pytest.mark.parametrize("op,index", params(ALL))
def test_sample(op, index):
    check_sample(op, index)


@pytest.mark.parametrize("op,index", error_params(ALL))
def test_error(op, index):
    check_error(op, index)
