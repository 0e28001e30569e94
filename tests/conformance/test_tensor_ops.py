"""Conformance sweep: Tensor operators and torch.* elementwise math vs PyTorch."""
import pytest

from conformance.harness import A, OpInfo, Sample, ErrorSample, params, error_params, check_sample, check_error

OPS = [
    OpInfo("add", lambda m, a, b: a + b,
           samples=[Sample(A(2, 3), A(3)), Sample(A(2, 3, dtype="float32"), 0.5),
                    Sample(A(2, dtype="int64"), 0.5)],
           errors=[ErrorSample(RuntimeError, A(2, 3), A(4))]),
]


@pytest.mark.parametrize("op,index", params(OPS))
def test_sample(op, index):
    check_sample(op, index)


@pytest.mark.parametrize("op,index", error_params(OPS))
def test_error(op, index):
    check_error(op, index)
