"""nn.utils: parameters_to_vector / vector_to_parameters, rnn.pad_sequence."""
import numpy as np
import pytest

import neuronet as nt
import neuronet.nn as nn
from neuronet.nn.utils import parameters_to_vector, vector_to_parameters
from neuronet.nn.utils.rnn import pad_sequence
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


def test_parameters_to_vector_and_back():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    params = list(net.parameters())
    vec = parameters_to_vector(net.parameters())
    assert vec.shape == (sum(p.numel() for p in params),)
    np.testing.assert_array_equal(vec.numpy(), np.concatenate([p.numpy().ravel() for p in params]))
    (vec * nt.arange(vec.shape[0]).float()).sum().backward()     # differentiable
    np.testing.assert_array_equal(params[0].grad.numpy().ravel(), np.arange(6))
    new = nt.arange(vec.shape[0]).float() / 10
    vector_to_parameters(new, net.parameters())
    assert net[0].weight is params[0]
    np.testing.assert_allclose(parameters_to_vector(net.parameters()).detach().numpy(), new.numpy())
    with pytest.raises(RuntimeError, match="1-D vector of 11"):
        vector_to_parameters(nt.zeros(3), net.parameters())
    with pytest.raises(TypeError):
        vector_to_parameters(np.zeros(11), net.parameters())


@requires_torch
def test_vectorization_matches_torch():
    tnet = torch.nn.Linear(3, 2)
    net = nn.Linear(3, 2)
    net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    np.testing.assert_array_equal(parameters_to_vector(net.parameters()).detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(tnet.parameters()).detach().numpy())


def naive_pad(seqs, batch_first, value, side):
    longest = max(len(s) for s in seqs)
    out = np.full((len(seqs), longest) + seqs[0].shape[1:], value)
    for i, s in enumerate(seqs):
        if side == "right":
            out[i, :len(s)] = s
        else:
            out[i, longest - len(s):] = s
    return out if batch_first else np.swapaxes(out, 0, 1)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    seqs = [randn(3, 2, seed=1), randn(5, 2, seed=2), randn(1, 2, seed=3)]
    out = pad_sequence([nt.tensor(s) for s in seqs], batch_first, -1.0, side)
    np.testing.assert_array_equal(out.numpy(), naive_pad(seqs, batch_first, -1.0, side))
    check_grad(lambda a, b, c: pad_sequence([a, b, c], batch_first, 0.5, side), *seqs)
    if torch is not None:
        compare_with_torch(lambda a, b, c: pad_sequence([a, b, c], batch_first, 0.5, side),
                           lambda a, b, c: torch.nn.utils.rnn.pad_sequence([a, b, c], batch_first, 0.5, side),
                           *seqs)
    with pytest.raises(RuntimeError, match="every sequence"):
        pad_sequence([nt.zeros(2, 3), nt.zeros(2, 4)])


@requires_torch
def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    from neuronet.nn.utils import clip_grads_with_norm_, get_total_norm
    tnet = torch.nn.Linear(4, 3)
    net = nn.Linear(4, 3)
    net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    x = randn(5, 4, seed=9).astype(np.float32)
    (net(nt.tensor(x)) ** 2).sum().backward()
    (tnet(torch.tensor(x)) ** 2).sum().backward()
    for p in (2.0, 1.0, float("inf")):
        ours = get_total_norm([q.grad for q in net.parameters()], p)
        theirs = torch.nn.utils.get_total_norm([q.grad for q in tnet.parameters()], p)
        np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-5)
    total = get_total_norm([q.grad for q in net.parameters()])
    clip_grads_with_norm_(net.parameters(), 0.5, total, foreach=None)
    torch.nn.utils.clip_grads_with_norm_(tnet.parameters(), 0.5,
                                         torch.nn.utils.get_total_norm([q.grad for q in tnet.parameters()]))
    np.testing.assert_allclose(net.weight.grad.numpy(), tnet.weight.grad.numpy(), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- weight_norm / spectral_norm
@requires_torch
@pytest.mark.filterwarnings("ignore:.*weight_norm.? is deprecated")
@pytest.mark.parametrize("kind, dim", [("weight", 0), ("weight", 1), ("weight", None), ("spectral", None)])
def test_weight_and_spectral_norm_match_torch(kind, dim):
    from neuronet.nn.utils import spectral_norm, weight_norm
    torch.manual_seed(0)
    tl, l = torch.nn.Conv2d(3, 4, 3).double(), nn.Conv2d(3, 4, 3).double()
    if kind == "weight":
        tl, l = torch.nn.utils.weight_norm(tl, dim=dim), weight_norm(l, dim=dim)
    else:
        tl, l = torch.nn.utils.spectral_norm(tl), spectral_norm(l)
    assert list(l.state_dict()) == list(tl.state_dict())
    l.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    for step in range(2):                    # spectral norm: two power-iteration steps in a row
        x = randn(2, 3, 5, 5, seed=step)
        compare_with_torch(l, tl, x, atol=1e-10)
    tparams = dict(tl.named_parameters())
    for name, p in l.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=1e-10, err_msg=name)
    for name, b in tl.named_buffers():
        np.testing.assert_allclose(dict(l.named_buffers())[name].numpy(), b.numpy(), atol=1e-12)


def test_weight_norm_naive_and_remove():
    from neuronet.nn.utils import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm
    lin = nn.Linear(3, 2).double()
    w = lin.weight.numpy().copy()
    with pytest.warns(FutureWarning):
        weight_norm(lin)
    np.testing.assert_allclose(lin.weight_g.numpy(), np.sqrt((w ** 2).sum(1, keepdims=True)), rtol=1e-12)
    lin(nt.ones(1, 3, dtype=nt.float64))
    np.testing.assert_allclose(lin.weight.numpy(), w, rtol=1e-12)          # g v / ||v|| reproduces w
    remove_weight_norm(lin)
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight"]
    spectral_norm(lin)
    for _ in range(30):
        lin(nt.ones(1, 3, dtype=nt.float64))
    np.testing.assert_allclose(np.linalg.svd(lin.weight.numpy(), compute_uv=False)[0], 1.0, rtol=1e-6)
    remove_spectral_norm(lin)
    assert "weight" in lin._parameters and not lin._forward_pre_hooks


# ---------------------------------------------------------------- parametrizations
@requires_torch
@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm"])
def test_parametrizations_match_torch(kind):
    from neuronet.nn.utils import parametrizations as P
    from torch.nn.utils import parametrizations as TP
    torch.manual_seed(0)
    tl, l = torch.nn.Conv2d(3, 4, 3).double(), nn.Conv2d(3, 4, 3).double()
    tl, l = getattr(TP, kind)(tl), getattr(P, kind)(l)
    assert type(l).__name__ == "ParametrizedConv2d" and repr(l) == repr(tl)
    assert list(l.state_dict()) == list(tl.state_dict())
    l.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    for step in range(2):
        compare_with_torch(l, tl, randn(2, 3, 5, 5, seed=step), atol=1e-10)
    tparams = dict(tl.named_parameters())
    for name, p in l.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=1e-10, err_msg=name)


def test_register_and_remove_a_custom_parametrization():
    from neuronet.nn.utils import parametrize

    class Symmetric(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

    lin = nn.Linear(3, 3)
    original = lin.weight
    parametrize.register_parametrization(lin, "weight", Symmetric())
    assert parametrize.is_parametrized(lin, "weight") and lin.parametrizations.weight.original is original
    w = lin.weight.numpy()
    np.testing.assert_array_equal(w, w.T)
    lin(nt.ones(2, 3)).sum().backward()
    g = original.grad.numpy()
    assert np.allclose(np.tril(g, -1), 0)             # only the upper triangle is a free parameter
    with parametrize.cached():
        assert lin.weight is lin.weight
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and not parametrize.is_parametrized(lin)
    np.testing.assert_array_equal(lin.weight.numpy(), w)
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight"]
