"""Conformance sweep: indexing (basic, advanced, mixed, boolean), gather/scatter
family, where/masked ops and sorting vs PyTorch.

PyTorch's axis placement for advanced indexing: integers select first, so
``x[1, :, 3:11:2, idx, 0:2]`` keeps idx's dims in place (NumPy would move them
to the front); index tensors separated by a slice go to the front.
"""
import numpy as np
import pytest

from conformance.harness import (A, ErrorSample, OpInfo, Sample, check_error, check_sample,
                                 error_params, params)


def I(*values):
    """An int64 index array."""
    return np.array(values, dtype=np.int64)


def M(*values):
    """A bool mask."""
    return np.array(values, dtype=bool)


def getitem(m, x, *index):
    return x[index if len(index) != 1 else index[0]]


X5 = A(3, 4, 12, 5, 4)

def setitem(m, x, v, *index):
    y = x * 1            # a non-leaf copy, so autograd sees the write
    y[index if len(index) != 1 else index[0]] = v
    return y


OPS = [
    OpInfo("setitem", setitem, samples=[
        Sample(A(4, 5), 1.5, 1), Sample(A(4, 5), A(5), 2), Sample(A(4, 5), A(2, 1), slice(1, 3)),
        Sample(A(4, 5), A(3), I(0, 2, 3), 1), Sample(A(4, 5), 0.0, M(True, False, True, False)),
        Sample(A(4, 5), A(2, 5), I(3, 0)),
        Sample(A(3, 4, 5), A(4, 2), 1, slice(None), I(0, 2), name="mixed-int-slice-idx"),
        Sample(X5, A(4, 4, 3, 2), 1, slice(None), slice(3, 11, 2), I(0, 2, 4), slice(0, 2), name="issue-example"),
        Sample(A(4, 5, dtype="int64"), 7, slice(None), 0),
        Sample(A(3, 4, 5, dtype="int64"), A(4, 2, dtype="int64"), 1, slice(None), I(0, 2),
               name="mixed-int-no-grad")],
        errors=[ErrorSample(RuntimeError, A(4, 5), A(3), 0, name="shape-mismatch"),
                ErrorSample(IndexError, A(4, 5), 1.0, 4)]),
    OpInfo("getitem-basic", getitem, samples=[
        Sample(A(4, 5), 1), Sample(A(4, 5), -1), Sample(A(4, 5), slice(1, 3)), Sample(A(4, 5), 1, 2),
        Sample(A(4, 5), slice(None), slice(None, None, 2)), Sample(A(4, 5), Ellipsis, 0),
        Sample(A(4, 5), None, 1), Sample(A(4, 5), slice(None), None), Sample(A(4, 5), slice(10, 20)),
        Sample(A(4, 5), slice(-3, -1), 0), Sample(A(), None), Sample(A(), Ellipsis), Sample(A(0, 3), slice(None), 0, name="empty-rows"),
        Sample(A(4, 5, dtype="int64"), 1)],
        errors=[ErrorSample(IndexError, A(4, 5), 4), ErrorSample(IndexError, A(4, 5), 0, 0, 0),
                ErrorSample(IndexError, A(), 0, name="0d"), ErrorSample(IndexError, A(0, 3), 0, name="empty")]),
    OpInfo("getitem-advanced", getitem, samples=[
        Sample(A(4, 5), I(0, 2, 2)), Sample(A(4, 5), I(0, 3), I(1, 4)), Sample(A(4, 5), slice(None), I(4, 0)),
        Sample(A(4, 5), I(1, 1, 1), name="repeated-grad-accumulates"),
        Sample(A(4, 5), np.array([[0, 1], [2, 3]]), name="2d-index"),
        Sample(A(4, 5), I(-1, 0)), Sample(A(4, 5), [0, 2], name="list-index"),
        Sample(A(3, 4, 5), I(0, 2), slice(None), I(1, 3), name="separated-to-front"),
        Sample(A(3, 4, 5), slice(None), I(0, 2), I(1, 3), name="adjacent-in-place"),
        Sample(A(3, 4, 5), I(0, 2), None, I(1, 3), name="none-separates"),
        Sample(A(3, 4, 5), Ellipsis, I(0, 2)),
        Sample(A(3, 4), I()[:0], name="empty-index")],
        errors=[ErrorSample(IndexError, A(4, 5), I(0, 4)),
                ErrorSample(IndexError, A(4, 5), I(0, 1), I(0, 1, 2), name="shape-mismatch")]),
    OpInfo("getitem-mixed-int", getitem, samples=[
        Sample(X5, 1, slice(None), slice(3, 11, 2), I(0, 2, 4), slice(0, 2), name="issue-example"),
        Sample(A(3, 4, 5), 1, slice(None), I(0, 2), name="int-slice-idx"),
        Sample(A(3, 4, 5), I(0, 2), slice(None), 1, name="idx-slice-int"),
        Sample(A(3, 4, 5), I(0, 2), 1, slice(None), name="idx-int-adjacent"),
        Sample(A(3, 4, 5), 0, I(1, 2), I(3, 4), name="int-then-adjacent"),
        Sample(A(3, 4, 5, 2), I(0, 1), slice(None), I(2, 3), 0, name="sep-plus-int"),
        Sample(A(3, 4, 5), Ellipsis, 1, I(0, 2), name="ellipsis-int-idx"),
        Sample(A(3, 4, 5), 1, Ellipsis, I(0, 2), name="int-ellipsis-idx"),
        Sample(A(3, 4, 5), -1, slice(None), M(True, False, True, True, False), name="int-slice-mask"),
        Sample(A(3, 4, 5), np.int64(1), slice(None), I(0, 2), name="numpy-int")]),
    OpInfo("getitem-bool", getitem, samples=[
        Sample(A(4, 5), M(True, False, True, False)), Sample(A(2, 3), np.array([[True, False, True],
                                                                                [False, True, True]])),
        Sample(A(4, 5), slice(None), M(True, False, False, True, True)),
        Sample(A(4, 5), M(False, False, False, False), name="all-false"),
        Sample(A(3), True, name="scalar-true"), Sample(A(3), False, name="scalar-false"),
        Sample(A(), True, name="0d-true")],
        errors=[ErrorSample(IndexError, A(4, 5), M(True, False))]),
    OpInfo("getitem-tensor-0d", lambda m, x, i: x[i], samples=[Sample(A(4, 5), np.array(2))]),
    OpInfo("index_select", lambda m, x, d, i: m.index_select(x, d, i), samples=[
        Sample(A(4, 5), 0, I(0, 3, 3)), Sample(A(4, 5), 1, I(4)), Sample(A(4, 5), -1, I()[:0])],
        errors=[ErrorSample(IndexError, A(4, 5), 0, I(4)), ErrorSample(RuntimeError, A(4, 5), 1, I(5)),
                ErrorSample(IndexError, A(4, 5, 2), 2, I(2))]),
    OpInfo("gather", lambda m, x, d, i: m.gather(x, d, i), samples=[
        Sample(A(3, 4), 1, np.array([[0, 0], [1, 3], [2, 2]])), Sample(A(3, 4), 0, np.array([[0, 1, 2, 0]])),
        Sample(A(3, 4), -1, np.array([[3], [3], [0]]))],
        errors=[ErrorSample(RuntimeError, A(3, 4), 1, np.array([[4], [0], [0]]))]),
    OpInfo("scatter", lambda m, x, d, i, s: m.scatter(x, d, i, s), samples=[
        Sample(A(3, 4), 1, np.array([[0, 1], [1, 3], [2, 0]]), A(3, 2)),
        Sample(A(3, 4), 0, np.array([[0, 1, 2, 0]]), 1.5)]),
    OpInfo("scatter_add", lambda m, x, d, i, s: m.scatter_add(x, d, i, s), samples=[
        Sample(A(3, 4), 1, np.array([[0, 0], [1, 3], [2, 2]]), A(3, 2))]),
    OpInfo("index_add", lambda m, x, d, i, s: m.index_add(x, d, i, s), samples=[
        Sample(A(4, 3), 0, I(0, 0, 2), A(3, 3))],
        errors=[ErrorSample(RuntimeError, A(4, 5), 0, I(4), A(1, 5))]),
    OpInfo("index_copy", lambda m, x, d, i, s: x.index_copy(d, i, s), samples=[
        Sample(A(4, 3), 0, I(0, 2), A(2, 3))],
        errors=[ErrorSample(IndexError, A(4, 5), 0, I(4), A(1, 5))]),
    OpInfo("index_fill", lambda m, x, d, i, v: x.index_fill(d, i, v), samples=[
        Sample(A(4, 3), 1, I(0, 2), 1.5)],
        errors=[ErrorSample(IndexError, A(4, 5), 0, I(4), 1.0)]),
    OpInfo("masked_fill", lambda m, x, msk, v: m.masked_fill(x, msk, v), samples=[
        Sample(A(2, 3), A(2, 3, dtype="bool"), 0.5), Sample(A(2, 3), A(3, dtype="bool"), -1.0),
        Sample(A(2, 3, dtype="int64"), A(2, 3, dtype="bool"), 7), Sample(A(2, 3), A(2, 3, dtype="bool"), float("-inf"))]),
    OpInfo("masked_select", lambda m, x, msk: m.masked_select(x, msk), samples=[
        Sample(A(2, 3), A(2, 3, dtype="bool")), Sample(A(2, 3), A(3, dtype="bool"))]),
    OpInfo("take", lambda m, x, i: m.take(x, i), samples=[Sample(A(2, 3), I(0, 5, -1))]),
    OpInfo("take_along_dim", lambda m, x, i, d: m.take_along_dim(x, i, d), samples=[
        Sample(A(3, 4), np.array([[0], [3], [1]]), 1)]),
    OpInfo("nonzero", lambda m, x, **kw: m.nonzero(x, **kw), samples=[
        Sample(np.array([[0.0, 1.0], [2.0, 0.0]])), Sample(np.array([[0.0, 1.0], [2.0, 0.0]]), as_tuple=True),
        Sample(np.array(0.0)), Sample(np.array(3.0))], grad=False),
    OpInfo("sort", lambda m, x, *a, **kw: m.sort(x, *a, **kw), samples=[
        Sample(A(3, 4, kind="distinct")), Sample(A(3, 4, kind="distinct"), 0), Sample(A(3, 4, kind="distinct"),
                                                                                      descending=True),
        Sample(np.array([3.0, 1.0, 1.0, 2.0, 1.0]), stable=True, name="ties-stable"),
        Sample(np.array([3.0, np.nan, 1.0, -np.inf]), name="nan-last"),
        Sample(np.array([3.0, np.nan, 1.0, -np.inf]), descending=True, name="nan-first-desc"),
        Sample(A(kind="distinct")), Sample(A(4, dtype="int64", kind="distinct"))]),
    OpInfo("argsort", lambda m, x, *a, **kw: m.argsort(x, *a, **kw), samples=[
        Sample(A(3, 4, kind="distinct"), 1), Sample(A(3, 4, kind="distinct"), descending=True)]),
    OpInfo("topk", lambda m, x, *a, **kw: m.topk(x, *a, **kw), samples=[
        Sample(A(3, 5, kind="distinct"), 2), Sample(A(3, 5, kind="distinct"), 2, 0),
        Sample(A(3, 5, kind="distinct"), 3, largest=False), Sample(A(5, kind="distinct"), 0)],
        errors=[ErrorSample(RuntimeError, A(3, 5), 6)]),
    OpInfo("kthvalue", lambda m, x, *a: m.kthvalue(x, *a), samples=[
        Sample(A(3, 5, kind="distinct"), 2), Sample(A(3, 5, kind="distinct"), 1, 0)]),
    OpInfo("median/nanmedian", lambda m, x, *a: (m.median(x, *a),) if not a else tuple(m.median(x, *a)), samples=[
        Sample(np.array([3.0, np.nan, 1.0]), name="nan-propagates"), Sample(np.array([[3.0, np.nan, 1.0]]), 1,
                                                                            name="nan-dim"),
        Sample(A(2, 4, kind="distinct"), 1, name="even-lower")]),
    OpInfo("sort(empty/0d)", lambda m, x: tuple(m.sort(x)), samples=[Sample(A(0)), Sample(A()), Sample(A(2, 0))]),
    OpInfo("argsort stable", lambda m, x: m.argsort(x, stable=True), samples=[
        Sample(np.array([2.0, 1.0, 2.0, 1.0, 0.0]))]),
    OpInfo("topk ties/nan", lambda m, x, k: tuple(m.topk(x, k)), samples=[
        Sample(np.array([1.0, np.nan, 3.0, 2.0]), 2, name="nan-largest")]),
    OpInfo("unique", lambda m, x, **kw: m.unique(x, **kw), samples=[
        Sample(np.array([3, 1, 2, 3, 1])), Sample(np.array([3, 1, 2, 3, 1]), return_counts=True,
                                                  return_inverse=True)], grad=False),
]


@pytest.mark.parametrize("op,index", params(OPS))
def test_sample(op, index):
    check_sample(op, index)


@pytest.mark.parametrize("op,index", error_params(OPS))
def test_error(op, index):
    check_error(op, index)
