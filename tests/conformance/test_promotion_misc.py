"""Conformance sweep: PyTorch's type promotion over a dtype grid, in-place ops,
torch.linalg, and the dtypes/shapes of the random factories.

Promotion: dimensioned tensors over 0-d tensors over Python scalars, and a
lower tier counts only when its category (bool < integer < floating) is higher
(``int_tensor + 0.5`` is float32, ``int32_tensor + int64_0d`` stays int32).
"""
import itertools

import numpy as np
import pytest

from conformance.harness import (A, DT, ErrorSample, OpInfo, Sample, check_error, check_sample,
                                 error_params, params)

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float32", "float64"]
SCALARS = [True, 2, -3, 0.5, -1.5]




def operand(dtype, zero_dim=False):
    kind = "positive" if dtype != "bool" else "normal"
    return A(dtype=dtype, kind=kind) if zero_dim else A(3, dtype=dtype, kind=kind)


def promotion_samples(skip_bool=False):
    s = []
    for a, b in itertools.product(DTYPES, DTYPES):
        if skip_bool and "bool" in (a, b):
            continue
        s.append(Sample(operand(a), operand(b), name=f"{a}-{b}", grad=False))
        s.append(Sample(operand(a), operand(b, zero_dim=True), name=f"{a}-0d{b}", grad=False))
    for a, c in itertools.product(DTYPES, SCALARS):
        if skip_bool and (a == "bool" or isinstance(c, bool)):
            continue
        s.append(Sample(operand(a), c, name=f"{a}-scalar{c!r}", grad=False))
        s.append(Sample(operand(a, zero_dim=True), c, name=f"0d{a}-scalar{c!r}", grad=False))
    return s


OPS = [
    OpInfo("promote:add", lambda m, a, b: a + b, samples=promotion_samples()),
    OpInfo("promote:mul", lambda m, a, b: a * b, samples=promotion_samples()),
    OpInfo("promote:rsub", lambda m, a, b: b - a, samples=promotion_samples(skip_bool=True)),
    OpInfo("promote:truediv", lambda m, a, b: a / b, samples=promotion_samples()),
    OpInfo("promote:maximum", lambda m, a, b: m.maximum(a, b),
           samples=[s for s in promotion_samples() if not isinstance(s.args[1], (int, float))]),
    OpInfo("promote:eq", lambda m, a, b: a == b, samples=promotion_samples()),
    OpInfo("promote:where", lambda m, a, b: m.where(a > 0 if a.dtype != m.bool else a, a, b),
           samples=[s for s in promotion_samples()]),
    OpInfo("promote:cat", lambda m, a, b: m.cat([a, b]),
           samples=[s for s in promotion_samples() if s.name.count("0d") == 0 and "scalar" not in s.name]),
    # Python's sign rules for // and % (PyTorch follows Python: floor division, remainder has the divisor's sign)
    OpInfo("floordiv/mod signs", lambda m, a, b: (a // b, a % b, m.fmod(a, b), m.remainder(a, b)), samples=[
        Sample(np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])),
        Sample(np.array([7.5, -7.5, 7.5, -7.5]), np.array([2.0, 2.0, -2.0, -2.0])),
        Sample(np.array([7, -7]), 3, name="int-scalar"), Sample(np.array([7, -7]), -2.5, name="int-floatscalar"),
        Sample(np.array([0.0, -0.0, np.inf, np.nan]), np.array([1.0, 1.0, 2.0, 1.0]), name="specials")]),
    OpInfo("int-division-by-zero", lambda m, a, b: a // b, errors=[
        ErrorSample(RuntimeError, np.array([1, 2]), np.array([0, 1]))]),
    OpInfo("float-division-by-zero", lambda m, a, b: (a / b, a // b, a % b), samples=[
        Sample(np.array([1.0, -1.0, 0.0]), np.array([0.0, 0.0, 0.0]), grad=False)]),
    OpInfo("int pow negative", lambda m, a, b: a ** b, errors=[
        ErrorSample(RuntimeError, np.array([2, 3]), -1)]),
    # in-place ops: value, dtype, version-independent results
    OpInfo("add_/mul_/sub_/div_", lambda m, a, b: (a.clone().add_(b), a.clone().mul_(b), a.clone().sub_(b),
                                                     a.clone().div_(b)),
           samples=[Sample(A(2, 3), A(3)), Sample(A(2, 3, dtype="float32"), 2), Sample(A(3), A())]),
    OpInfo("inplace int result", lambda m, a, b: a.clone().add_(b), samples=[
        Sample(A(3, dtype="int64"), A(3, dtype="int64"))],
        errors=[ErrorSample(RuntimeError, A(3, dtype="int64"), 0.5, name="float-into-int")]),
    OpInfo("clamp_/pow_/neg_/abs_", lambda m, a: (a.clone().clamp_(-0.5, 0.5), a.clone().abs_().pow_(2),
                                                   a.clone().neg_(), a.clone().abs_()),
           samples=[Sample(A(2, 3))]),
    OpInfo("zero_/fill_", lambda m, a: (a.clone().zero_(), a.clone().fill_(2.5)),
           samples=[Sample(A(2, 3)), Sample(A(3, dtype="int64"))]),
    OpInfo("inplace broadcast error", lambda m, a, b: a.clone().add_(b), errors=[
        ErrorSample(RuntimeError, A(3), A(2, 3))]),
    # torch.linalg and friends
    OpInfo("linalg.norm", lambda m, x, *a, **kw: m.linalg.norm(x, *a, **kw), samples=[
        Sample(A(2, 3)), Sample(A(3)), Sample(A(3), 1), Sample(A(2, 3), "fro"), Sample(A(2, 3), dim=1),
        Sample(A(3), float("inf")), Sample(np.zeros(3), name="zeros-grad")]),
    OpInfo("linalg.vector_norm", lambda m, x, *a, **kw: m.linalg.vector_norm(x, *a, **kw), samples=[
        Sample(A(2, 3)), Sample(A(2, 3), 1, dim=0), Sample(A(2, 3), 0), Sample(A(2, 3), float("-inf"))]),
    OpInfo("linalg.det", lambda m, x: m.linalg.det(x), samples=[Sample(A(3, 3)), Sample(A(2, 3, 3))]),
    OpInfo("linalg.inv", lambda m, x: m.linalg.inv(x), samples=[Sample(np.eye(3) * 2 + 0.1 * np.arange(9).reshape(3, 3))],
           errors=[ErrorSample(RuntimeError, np.zeros((2, 2)), name="singular")]),
    OpInfo("linalg.matrix_norm", lambda m, x, *a: m.linalg.matrix_norm(x, *a), samples=[
        Sample(A(3, 3)), Sample(A(2, 3, 4), "fro"), Sample(A(3, 3), "nuc")]),
    # sign: compared without requires_grad (PyTorch marks it differentiable with a zero gradient;
    # neuronet's Function.apply returns auxiliary outputs without grad)
    OpInfo("linalg.slogdet", lambda m, x: (m.linalg.slogdet(x)[0].detach(), m.linalg.slogdet(x)[1]), samples=[
        Sample(A(3, 3)), Sample(A(2, 3, 3)), Sample(-np.eye(3), name="negative-det")]),
    OpInfo("logdet", lambda m, x: m.logdet(x), samples=[Sample(np.eye(3) * 2 + 0.1, name="positive"),
                                                         Sample(-np.eye(3), name="negative-nan")]),
    OpInfo("linalg.multi_dot", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), samples=[
        Sample(A(2, 3), A(3, 4), A(4, 2)), Sample(A(3), A(3, 4), A(4))]),
    OpInfo("linalg.vecdot", lambda m, a, b: m.linalg.vecdot(a, b), samples=[Sample(A(2, 3), A(3))]),
    OpInfo("mv/addmv/baddbmm", lambda m, a, v, c, b1, b2: (m.mv(a, v), m.addmv(v[:2], a, v, beta=2),
                                                           m.baddbmm(c, b1, b2, alpha=0.5)),
           samples=[Sample(A(2, 3), A(3), A(2, 2, 4), A(2, 2, 3), A(2, 3, 4))]),
    OpInfo("vdot/inner/trace", lambda m, a, b, sq: (m.vdot(a, b), m.inner(a, b), m.trace(sq)),
           samples=[Sample(A(3), A(3), A(3, 3))]),
    OpInfo("diag_embed", lambda m, x, *a: m.diag_embed(x, *a), samples=[Sample(A(2, 3)), Sample(A(3), 1)]),
    OpInfo("matmul int/bool", lambda m, a, b: a @ b, samples=[
        Sample(A(2, 3, dtype="int32"), A(3, 2, dtype="int32"))],
        errors=[ErrorSample(RuntimeError, A(2, 3, dtype="int64"), A(3, 2), name="mixed-dtypes")]),
    OpInfo("cross/outer/kron-like", lambda m, a, b: m.outer(a, b), samples=[Sample(A(3), A(2))]),
    OpInfo("addmm", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2), samples=[Sample(A(2, 4), A(2, 3), A(3, 4))]),
    OpInfo("tensordot", lambda m, a, b: m.tensordot(a, b, dims=([1], [0])), samples=[Sample(A(2, 3), A(3, 4))]),
    # random factories: dtypes and shapes (values are the generator's)
    OpInfo("random dtypes", lambda m: tuple((t.shape, t.dtype) for t in (
        m.rand(2, 3), m.randn(4), m.rand(2, dtype=m.float64), m.randint(0, 5, (3,)),
        m.randperm(4), m.randn(()), m.rand(0, 2), m.multinomial(m.ones(3), 2), m.bernoulli(m.full((3,), 0.5)),
        m.normal(0.0, 1.0, (2,)), m.empty(2, 3), m.rand_like(m.zeros(2, dtype=m.float64)),
        m.randint_like(m.zeros(2), 3), m.randn_like(m.zeros(2, 1)))),
           samples=[Sample()], grad=False),
    OpInfo("randint(high, size)", lambda m: (m.randint(5, (2, 2)).shape, m.randint(5, (2, 2)).dtype),
           samples=[Sample()], grad=False),
    OpInfo("promote:functions", lambda m, a, b: (m.add(a, b), m.mul(a, b), m.div(a, b)), samples=[
        Sample(A(3, dtype="uint8", kind="positive"), -3, name="uint8-wraps", grad=False),
        Sample(A(3, dtype="int8", kind="positive"), 200, name="int8-wraps", grad=False)]),
]


@pytest.mark.parametrize("op,index", params(OPS))
def test_sample(op, index):
    check_sample(op, index)


@pytest.mark.parametrize("op,index", error_params(OPS))
def test_error(op, index):
    check_error(op, index)
