"""neuronet.linalg: torch.linalg's names over the ops in ops/linalg.py."""
import numpy as np
import pytest

import neuronet as nt
from tests.helpers import compare_with_torch, torch

A = np.array([[3.0, 4.0, 0.5], [1.0, 2.0, -1.0], [0.0, 1.5, 2.0]])


@pytest.mark.parametrize("call", [
    lambda L, x: L.linalg.norm(x),
    lambda L, x: L.linalg.norm(x, "fro"),
    lambda L, x: L.linalg.vector_norm(x, ord=1, dim=1),
    lambda L, x: L.linalg.vector_norm(x, ord=float("inf")),
    lambda L, x: L.linalg.matrix_norm(x),
    lambda L, x: L.linalg.inv(x),
    lambda L, x: L.linalg.det(x),
    lambda L, x: L.linalg.multi_dot([x, x, x]),
    lambda L, x: L.linalg.vecdot(x, x),
])
def test_linalg_matches_torch(call):
    compare_with_torch(lambda x: call(nt, x), lambda x: call(torch, x), A)


def test_multi_dot_needs_two():
    with pytest.raises(RuntimeError, match="at least 2 tensors"):
        nt.linalg.multi_dot([nt.ones(2, 2)])
