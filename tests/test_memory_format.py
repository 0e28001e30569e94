"""Memory formats: the layout changes, shape, values and gradients do not (as PyTorch)."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import nn
from tests.helpers import requires_torch, torch


@requires_torch
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 3, 1, 1), (2, 1, 4, 4)])
def test_is_contiguous_follows_torch(shape):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    n, t = nt.tensor(a), torch.tensor(a)
    for fmt in ("contiguous_format", "channels_last"):
        for src_n, src_t in ((n, t), (n.to(memory_format=nt.channels_last),
                                      t.to(memory_format=torch.channels_last))):
            assert src_n.is_contiguous(memory_format=getattr(nt, fmt)) == \
                src_t.is_contiguous(memory_format=getattr(torch, fmt))
            assert src_n.is_contiguous() == src_t.is_contiguous()


def test_relayout_keeps_values_and_gradient():
    x = nt.randn(2, 3, 4, 5, requires_grad=True)
    y = x.to(memory_format=nt.channels_last)
    assert y.shape == x.shape and bool((y == x).all())
    assert y.array.strides[1] == y.array.itemsize            # channels innermost
    (y * nt.arange(120.).reshape(2, 3, 4, 5)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(120.).reshape(2, 3, 4, 5))
    assert y.contiguous().is_contiguous()


def test_module_to_channels_last_gives_the_same_outputs():
    nt.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    x = nt.randn(2, 3, 8, 8)
    ref = m(x)
    m.to(memory_format=nt.channels_last)
    assert m[0].weight.is_contiguous(memory_format=nt.channels_last)
    out = m(x.to(memory_format=nt.channels_last))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_wrong_rank_for_channels_last():
    with pytest.raises(RuntimeError, match="required rank 4"):
        nt.ones(2, 3).contiguous(memory_format=nt.channels_last)
    assert repr(nt.channels_last) == "torch.channels_last"
