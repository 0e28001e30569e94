"""Module API beyond layers: full backward hooks (against PyTorch), path
lookups, buffers, zero_grad, dtype/device moves, containers' list/dict
protocols."""
from collections import OrderedDict

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn as nn
from helpers import randn, requires_torch, torch


def small_net(L):
    return L.Sequential(L.Linear(3, 4), L.Tanh(), L.Linear(4, 2))


def load_same_weights(net, tnet):
    net.double()
    tnet.double()
    net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})


# ---------------------------------------------------------------- backward hooks
@requires_torch
def test_full_backward_hooks_see_the_same_gradients_as_torch():
    tnet = small_net(torch.nn)
    net = small_net(nn)
    load_same_weights(net, tnet)
    x = randn(5, 3, seed=1)
    logs = {}
    for name, model, lib in (("nt", net, nt), ("th", tnet, torch)):
        log = logs[name] = []
        for i in (0, 2):
            model[i].register_full_backward_hook(
                lambda m, gi, go, i=i, log=log: log.append(
                    (i, [None if g is None else g.detach().numpy().copy() for g in gi],
                     [g.detach().numpy().copy() for g in go])))
            model[i].register_full_backward_pre_hook(
                lambda m, go, i=i, log=log: log.append((f"pre{i}", [g.detach().numpy().copy() for g in go])))
        inp = lib.tensor(x, requires_grad=True)
        model(inp).pow(2).sum().backward()
    assert [e[0] for e in logs["nt"]] == [e[0] for e in logs["th"]] == ["pre2", 2, "pre0", 0]
    for a, b in zip(logs["nt"], logs["th"]):
        for ga, gb in zip(a[1:], b[1:]):
            for u, v in zip(ga, gb):
                np.testing.assert_allclose(u, v, atol=1e-12)


@requires_torch
def test_backward_hook_and_pre_hook_can_replace_gradients_as_torch():
    tnet = small_net(torch.nn)
    net = small_net(nn)
    load_same_weights(net, tnet)
    x = randn(5, 3, seed=2)
    grads = []
    for model, lib in ((net, nt), (tnet, torch)):
        model[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
        model[2].register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        inp = lib.tensor(x, requires_grad=True)
        model(inp).sum().backward()
        grads.append((inp.grad.numpy(), model[0].weight.grad.numpy(), model[2].weight.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_backward_hook_without_input_grad_fires_with_none_and_handles_remove():
    lin = nn.Linear(3, 2)
    calls = []
    h = lin.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go[0].shape)))
    lin(nt.ones(4, 3)).sum().backward()
    assert len(calls) == 1 and calls[0][0] == (None,) and calls[0][1] == (4, 2)
    h.remove()
    lin(nt.ones(4, 3)).sum().backward()
    assert len(calls) == 1
    with nt.no_grad():                         # no graph, no hooks
        lin.register_full_backward_hook(lambda *a: calls.append(a))
        lin(nt.ones(1, 3))
    assert len(calls) == 1


def test_backward_hook_replacing_grad_of_several_inputs_is_refused():
    class Add(nn.Module):
        def forward(self, a, b):
            return a + b
    m = Add()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0, gi[1]))
    a, b = nt.ones(2, requires_grad=True), nt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="several inputs"):
        m(a * 1, b * 1).sum().backward()


def test_forward_hook_always_call_runs_when_forward_raises():
    lin = nn.Linear(3, 2)
    seen = []
    lin.register_forward_hook(lambda m, args, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError):
        lin(nt.ones(2, 5))
    assert seen == [None]


# ---------------------------------------------------------------- lookups, buffers, grads, dtypes
def test_get_parameter_buffer_submodule_and_set_submodule():
    net = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), bn=nn.BatchNorm2d(2)))
    assert net.get_parameter("conv.weight") is net.conv.weight
    assert net.get_buffer("bn.running_mean") is net.bn.running_mean
    assert net.get_submodule("bn") is net.bn
    with pytest.raises(AttributeError, match="not an nn.Parameter"):
        net.get_parameter("bn.running_mean")
    with pytest.raises(AttributeError, match="not a buffer"):
        net.get_buffer("conv.weight")
    with pytest.raises(AttributeError):
        net.get_submodule("fc")
    net.set_submodule("bn", nn.Identity())
    assert isinstance(net.bn, nn.Identity) and isinstance(net[1], nn.Identity)
    net.register_module("act", nn.ReLU())
    assert list(net._modules) == ["conv", "bn", "act"]


def test_non_persistent_buffer_is_kept_out_of_the_state_dict_and_del_removes():
    m = nn.Module()
    m.register_buffer("a", nt.zeros(2))
    m.register_buffer("b", nt.ones(2), persistent=False)
    assert list(m.state_dict()) == ["a"]
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    del m.b
    assert [n for n, _ in m.named_buffers()] == ["a"]


def test_zero_grad_sets_to_none_by_default_and_requires_grad_():
    lin = nn.Linear(2, 2)
    lin(nt.ones(1, 2)).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad()
    assert lin.weight.grad is None
    lin(nt.ones(1, 2)).sum().backward()
    lin.zero_grad(set_to_none=False)
    assert (lin.weight.grad.numpy() == 0).all()
    lin.requires_grad_(False)
    assert not any(p.requires_grad for p in lin.parameters())


def test_to_dtype_tensor_half_type_and_to_empty():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    net.to(nt.float64)
    assert net[0].weight.dtype == nt.float64 and net[1].num_batches_tracked.dtype == nt.int64
    net.to(nt.zeros(1, dtype=nt.float32))
    assert net[0].weight.dtype == nt.float32
    net.half()
    assert net[0].bias.dtype == nt.float16
    net.type(nt.float64)
    assert net[1].running_var.dtype == nt.float64
    w = net[0].weight
    net.to_empty(device="cpu")
    assert net[0].weight is w and w.shape == (3, 2)
    with pytest.raises(TypeError, match="floating point"):
        net.to(nt.int64)
    assert net.share_memory() is net


# ---------------------------------------------------------------- containers
def test_sequential_list_protocol():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    seq = nn.Sequential(a, b)
    seq.append(c)
    assert len(seq) == 3 and seq[-1] is c and list(seq[1:]) == [b, c]
    seq += nn.Sequential(nn.Identity())
    assert len(seq) == 4
    doubled = nn.Sequential(a, b) * 2
    assert list(doubled) == [a, b, a, b] and list(doubled._modules) == ["0", "1", "2", "3"]
    seq.insert(0, nn.Identity())
    assert isinstance(seq[0], nn.Identity) and seq[1] is a
    del seq[0]
    assert seq[0] is a and list(seq._modules) == ["0", "1", "2", "3"]
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert named.first is a and named[1] is b


def test_modulelist_and_parameterdict_protocols():
    ml = nn.ModuleList([nn.ReLU()])
    ml.extend([nn.Tanh(), nn.Sigmoid()])
    ml.insert(1, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["ReLU", "Identity", "Tanh", "Sigmoid"]
    pd = nn.ParameterDict({"a": nn.Parameter(nt.ones(2))})
    assert pd.get("b") is None and pd.get("a") is pd["a"]
    pd.setdefault("b", nt.zeros(3))
    assert list(pd.keys()) == ["a", "b"] and [n for n, _ in pd.named_parameters()] == ["a", "b"]
    copy = pd.copy()
    assert copy["a"] is pd["a"]
    key, p = pd.popitem()
    assert key == "b" and "b" not in pd
    assert pd.pop("a").shape == (2,) and len(pd) == 0
    copy.clear()
    assert len(copy) == 0 and list(copy.parameters()) == []


# ---------------------------------------------------------------- in-place layers inside a network
@requires_torch
def test_inplace_relu_and_dropout_in_a_residual_block_match_torch():
    def block(L):
        class Block(L.Module):
            def __init__(self):
                super().__init__()
                self.c1, self.b1 = L.Conv2d(3, 3, 3, padding=1, bias=False), L.BatchNorm2d(3)
                self.c2, self.b2 = L.Conv2d(3, 3, 3, padding=1, bias=False), L.BatchNorm2d(3)
                self.relu, self.drop, self.pool = L.ReLU(inplace=True), L.Dropout(0.0, inplace=True), L.MaxPool2d(2)

            def forward(self, x):
                out = self.relu(self.b1(self.c1(x)))
                out = self.b2(self.c2(out))
                out += x
                return self.pool(self.drop(self.relu(out)))
        return Block()
    tnet, net = block(torch.nn).double(), block(nn).double()
    net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    x = randn(2, 3, 6, 6, seed=3)
    a, t = nt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = net(a), tnet(t)
    g = randn(*out.shape, seed=4)
    (out * nt.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(net.c1.weight.grad.numpy(), tnet.c1.weight.grad.numpy(), atol=1e-12)


def test_buffer_assignment_registers_a_buffer():
    m = nn.Module()
    m.scale = nn.Buffer(nt.ones(2))
    m.mask = nn.Buffer(nt.zeros(3), persistent=False)
    assert list(m.state_dict()) == ["scale"]
    assert [n for n, _ in m.named_buffers()] == ["scale", "mask"]
    m.to(nt.float64)
    assert m.scale.dtype == nt.float64
