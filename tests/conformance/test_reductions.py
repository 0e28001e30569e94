"""Conformance sweep: reductions and scans vs PyTorch.

Full and per-dim reductions, negative dims, tuple dims, keepdim, PyTorch's
``axis=`` alias, 0-d and empty inputs, int/bool inputs (accumulation dtypes),
ties and NaN for max/min/argmax, and the error types for out-of-range dims.
"""
import numpy as np
import pytest

from conformance.harness import (A, DT, ErrorSample, OpInfo, Sample, check_error, check_sample,
                                 error_params, params)


def fn(name):
    return lambda m, x, *a, **kw: getattr(m, name)(x, *a, **kw)


def meth(name):
    return lambda m, x, *a, **kw: getattr(x, name)(*a, **kw)


def reduce_samples(kind="normal", ints=True, bools=False, axis=True, empty_full=True, tuple_dims=True):
    s = [Sample(A(2, 3, kind=kind)), Sample(A(3, 4, dtype="float32", kind=kind), 1),
         Sample(A(2, 3, 4, kind=kind), -1), Sample(A(2, 3, 4, kind=kind), dim=0, keepdim=True),
         Sample(A(kind=kind)), Sample(A(kind=kind), 0, name="0d-dim0"),
         Sample(A(kind=kind), -1, name="0d-dim-1"), Sample(A(kind=kind), 0, keepdim=True, name="0d-keepdim"),
         Sample(A(0, 3, kind=kind), 0, name="empty-dim0")]
    if tuple_dims:
        s += [Sample(A(2, 3, 4, kind=kind), (0, 2)), Sample(A(2, 3, 4, kind=kind), dim=(-1, 0), keepdim=True)]
    if axis:
        s.append(Sample(A(2, 3, kind=kind), axis=0, name="axis0"))
    if empty_full:
        s.append(Sample(A(0, 3, kind=kind), name="empty-full"))
    if ints:
        s.append(Sample(A(2, 3, dtype="int64", kind=kind), name="int-full"))
        s.append(Sample(A(2, 3, dtype="int32", kind=kind), 1, name="int32-dim1"))
    if bools:
        s.append(Sample(A(2, 3, dtype="bool"), name="bool-full"))
        s.append(Sample(A(2, 3, dtype="bool"), 0, name="bool-dim0"))
    s.append(Sample(A(3, 3, kind="singular"), 1, name="singular"))
    return s


DIM_ERRORS = [ErrorSample(IndexError, A(2, 3), 2, name="dim-out-of-range"),
              ErrorSample(IndexError, A(2, 3), -3, name="neg-dim-out-of-range"),
              ErrorSample(IndexError, A(), 1, name="0d-dim1")]

OPS = [
    OpInfo("sum", fn("sum"), samples=reduce_samples(bools=True) + [
        Sample(A(2, 3, dtype="int64"), dtype=DT("float64"), name="dtype-kw")], errors=DIM_ERRORS),
    OpInfo("Tensor.sum", meth("sum"), samples=reduce_samples(bools=True)),
    OpInfo("mean", fn("mean"), samples=reduce_samples(ints=False) + [
        Sample(A(2, 3, dtype="int64"), dtype=DT("float32"), name="int-dtype-kw")],
        errors=DIM_ERRORS + [ErrorSample(RuntimeError, A(2, 3, dtype="int64"), name="int-input")]),
    OpInfo("Tensor.mean", meth("mean"), samples=reduce_samples(ints=False)),
    OpInfo("prod", fn("prod"), samples=[
        Sample(A(2, 3)), Sample(A(2, 3), 1), Sample(A(2, 3), dim=0, keepdim=True),
        Sample(np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]]), 1, name="zeros"),
        Sample(np.array([0.0, 2.0, 3.0]), name="one-zero-full"),
        Sample(np.array([0.0, 0.0, 3.0]), name="two-zeros-full"),
        Sample(A()), Sample(A(), 0), Sample(A(0, 3), 0), Sample(A(2, 3, dtype="int64")),
        Sample(A(2, 3, dtype="bool"), 1), Sample(A(2, 3), 1, dtype=DT("float32"))]),
    OpInfo("var", fn("var"), samples=[
        Sample(A(2, 3)), Sample(A(3, 4, dtype="float32"), 1), Sample(A(2, 3, 4), (0, 2)),
        Sample(A(2, 3), 1, keepdim=True), Sample(A(2, 3), 0, unbiased=False),
        Sample(A(2, 3), dim=1, correction=0), Sample(A(2, 3), dim=1, correction=2),
        Sample(A(2, 3), axis=1, name="axis1"), Sample(A(), name="0d", grad=True),
        Sample(A(1, 3), 0, name="single-elem"), Sample(A(3, 3, kind="singular"), 1)],
        errors=DIM_ERRORS[:2]),
    OpInfo("std", fn("std"), samples=[
        Sample(A(2, 3)), Sample(A(3, 4, dtype="float32"), 1), Sample(A(2, 3), 1, keepdim=True),
        Sample(A(2, 3), 0, unbiased=False), Sample(A(2, 3), dim=1, correction=0),
        Sample(A(2, 3), axis=0, name="axis0"), Sample(np.ones((2, 3)), 1, name="constant-rows")]),
    OpInfo("Tensor.var", meth("var"), samples=[Sample(A(2, 3), 1), Sample(A(2, 3), axis=1, name="axis1")]),
    OpInfo("Tensor.std", meth("std"), samples=[Sample(A(2, 3), 1), Sample(A(2, 3), axis=1, name="axis1")]),
    OpInfo("max(full)", fn("max"), samples=[
        Sample(A(2, 3, kind="distinct")), Sample(A(kind="distinct")), Sample(A(2, 3, dtype="int64")),
        Sample(A(2, 3, dtype="bool")), Sample(np.array([1.0, 3.0, 3.0]), name="ties"),
        Sample(np.array([1.0, np.nan, 3.0]), name="nan")],
        errors=[ErrorSample(RuntimeError, A(0, 3), name="empty")]),
    OpInfo("max(dim)", fn("max"), samples=[
        Sample(A(2, 3, kind="distinct"), 1), Sample(A(2, 3, kind="distinct"), 0, keepdim=True),
        Sample(A(2, 3, 4, kind="distinct"), dim=-1), Sample(A(kind="distinct"), 0),
        Sample(A(2, 3, dtype="int64", kind="distinct"), 1), Sample(A(2, 3, kind="distinct"), axis=1,
                                                                   name="axis1"),
        Sample(np.array([[1.0, np.nan, 3.0]]), 1, name="nan")],
        errors=DIM_ERRORS[:2]),
    OpInfo("max(binary)", fn("max"), samples=[Sample(A(2, 3), A(3))]),
    OpInfo("min(full)", fn("min"), samples=[
        Sample(A(2, 3, kind="distinct")), Sample(A(kind="distinct")), Sample(A(2, 3, dtype="int64")),
        Sample(np.array([1.0, np.nan, 3.0]), name="nan")]),
    OpInfo("min(dim)", fn("min"), samples=[
        Sample(A(2, 3, kind="distinct"), 1), Sample(A(2, 3, kind="distinct"), 0, keepdim=True),
        Sample(A(2, 3, kind="distinct"), axis=1, name="axis1")]),
    OpInfo("Tensor.max(dim)", meth("max"), samples=[Sample(A(2, 3, kind="distinct"), 1),
                                                    Sample(A(2, 3, kind="distinct"), axis=0, name="axis0")]),
    OpInfo("amax", fn("amax"), samples=[
        Sample(A(2, 3)), Sample(A(2, 3, kind="distinct"), 1), Sample(A(2, 3, 4, kind="distinct"), (0, 2)),
        Sample(A(2, 3, kind="distinct"), 0, keepdim=True), Sample(np.array([[1.0, 3.0, 3.0]]), 1, name="ties"),
        Sample(A(2, 3, dtype="int64"), 1), Sample(A(), 0),
        Sample(np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]]), 1, name="nan")]),
    OpInfo("amin", fn("amin"), samples=[
        Sample(A(2, 3, kind="distinct"), 1), Sample(np.array([[1.0, 1.0, 3.0]]), 1, name="ties"),
        Sample(A(2, 3, 4, kind="distinct"), dim=(1, 2))]),
    OpInfo("argmax", fn("argmax"), samples=[
        Sample(A(2, 3, kind="distinct")), Sample(A(2, 3, kind="distinct"), 1),
        Sample(A(2, 3, kind="distinct"), dim=0, keepdim=True), Sample(A(kind="distinct")),
        Sample(np.array([1.0, 3.0, 3.0]), name="ties-first"), Sample(np.array([1.0, np.nan, 3.0]), name="nan"),
        Sample(A(2, 3, dtype="int64"), 1), Sample(A(2, 3, kind="distinct"), keepdim=True, name="keepdim-full")],
        errors=DIM_ERRORS[:2]),
    OpInfo("argmin", fn("argmin"), samples=[
        Sample(A(2, 3, kind="distinct")), Sample(A(2, 3, kind="distinct"), 1),
        Sample(np.array([3.0, 1.0, 1.0]), name="ties-first")]),
    OpInfo("logsumexp", fn("logsumexp"), samples=[
        Sample(A(2, 3), 1), Sample(A(2, 3), 0, keepdim=True), Sample(A(2, 3, 4), (0, 2)),
        Sample(A(3, dtype="float32"), 0), Sample(A(), 0, name="0d"),
        Sample(np.array([[-np.inf, -np.inf], [np.inf, 1.0], [1000.0, 1000.0]]), 1, name="infs-large"),
        Sample(A(0, 3), 0, name="empty"), Sample(A(2, 3, dtype="int64"), 1, name="int")]),
    OpInfo("cumsum", fn("cumsum"), samples=[
        Sample(A(2, 3), 1), Sample(A(2, 3), dim=0), Sample(A(2, 3), -1), Sample(A(), 0),
        Sample(A(0, 3), 1), Sample(A(2, 3, dtype="int32"), 1), Sample(A(2, 3, dtype="bool"), 1),
        Sample(A(2, 3), 1, dtype=DT("float32"))],
        errors=[ErrorSample(IndexError, A(2, 3), 2)]),
    OpInfo("cumprod", fn("cumprod"), samples=[
        Sample(A(2, 3), 1), Sample(np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 1.0, 2.0]]), 1, name="zeros"),
        Sample(A(2, 3, dtype="int64"), 0)]),
    OpInfo("all", fn("all"), samples=[
        Sample(A(2, 3, dtype="bool")), Sample(A(2, 3, dtype="bool"), 1), Sample(A(2, 3), 0, keepdim=True),
        Sample(A(2, 3, dtype="int64"), 1), Sample(A(0, 3, dtype="bool")), Sample(A(2, 3, dtype="bool"),
                                                                                  axis=1, name="axis1"),
        Sample(A(2, 3, dtype="uint8"), name="uint8")]),
    OpInfo("any", fn("any"), samples=[
        Sample(A(2, 3, dtype="bool")), Sample(A(2, 3, dtype="bool"), 1), Sample(A(2, 3), 0, keepdim=True),
        Sample(A(0, 3, dtype="bool")), Sample(A(2, 3, dtype="bool"), axis=0, name="axis0"),
        Sample(np.array([np.nan, 0.0]), name="nan-is-true")]),
    OpInfo("norm", fn("norm"), samples=[
        Sample(A(2, 3)), Sample(A(2, 3), 1), Sample(A(2, 3), p=1), Sample(A(2, 3), p=float("inf")),
        Sample(A(2, 3), p=3, dim=1), Sample(A(2, 3), dim=1, keepdim=True), Sample(A(2, 3), p="fro"),
        Sample(np.zeros((2, 3)), name="zeros-grad"), Sample(np.zeros(3), p=1, name="zeros-p1"),
        Sample(A(3, dtype="float32"))]),
    OpInfo("Tensor.norm", meth("norm"), samples=[Sample(A(2, 3), 2, 1)]),
    OpInfo("median", fn("median"), samples=[
        Sample(A(5, kind="distinct")), Sample(A(4, kind="distinct"), name="even-lower"),
        Sample(A(2, 5, kind="distinct"), 1)]),
    OpInfo("count_nonzero", fn("count_nonzero"), samples=[
        Sample(np.array([[0.0, 1.0], [2.0, 0.0]])), Sample(np.array([[0.0, 1.0], [2.0, 0.0]]), 0)]),
]


@pytest.mark.parametrize("op,index", params(OPS))
def test_sample(op, index):
    check_sample(op, index)


@pytest.mark.parametrize("op,index", error_params(OPS))
def test_error(op, index):
    check_error(op, index)
