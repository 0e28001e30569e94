"""Module machinery: registration, traversal, state_dict, hooks, modes, dtype
moves, containers, and the layer-naming of errors. Uses only toy modules
built from Parameters and Tensor ops, so it does not depend on the layers."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn as nn
from helpers import requires_torch, torch


class Affine(nn.Module):
    """y = x * scale + shift, with a persistent and a non-persistent buffer."""

    def __init__(self, n=3):
        super().__init__()
        self.scale = nn.Parameter(nt.ones(n))
        self.shift = nn.Parameter(nt.zeros(n))
        self.register_buffer("count", nt.zeros(1))
        self.register_buffer("cache", nt.zeros(n), persistent=False)

    def forward(self, x):
        return x * self.scale + self.shift


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Affine(3)
        self.block = nn.Sequential(Affine(3), Affine(3))
        self.head = nn.Parameter(nt.ones(3))

    def forward(self, x):
        return (self.block(self.a(x)) * self.head).sum()


# ---------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_that_shares_data_and_reprs_like_torch():
    t = nt.randn(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, nt.Tensor) and p.requires_grad and p.is_leaf
    assert p.array is t.array
    assert repr(p).startswith("Parameter containing:\ntensor(") and repr(p).endswith("requires_grad=True)")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 2.0, np.float32))


# ---------------------------------------------------------------- registration
def test_assignment_registers_parameters_buffers_and_children():
    m = Net()
    assert list(m._parameters) == ["head"]
    assert list(m._modules) == ["a", "block"]
    assert list(m.a._buffers) == ["count", "cache"]
    assert m.a.scale is m.a._parameters["scale"]
    # Plain tensors and other values are ordinary attributes.
    m.note = nt.zeros(2)
    m.k = 3
    assert "note" not in m._parameters and "note" not in m._buffers and m.k == 3


def test_assignment_type_errors_and_reassignment():
    m = Affine()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        m.scale = nt.ones(3)
    m.scale = None                       # an absent parameter, as bias=False
    assert m._parameters["scale"] is None and m.scale is None
    assert [n for n, _ in m.named_parameters()] == ["shift"]
    with pytest.raises(TypeError, match="buffer 'count'"):
        m.count = 3
    m.count = nt.ones(1)                 # a tensor replaces a buffer
    assert m._buffers["count"].item() == 1
    child = nn.Module()
    m.sub = child
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 5
    # A parameter replacing a child moves it between registries.
    m.sub = nn.Parameter(nt.ones(1))
    assert "sub" not in m._modules and "sub" in m._parameters
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("shift", nt.zeros(1))
    with pytest.raises(KeyError, match='parameter name cannot contain'):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="Parameter or None required"):
        m.register_parameter("w", nt.ones(2))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("w", _non_leaf_param())


def _non_leaf_param():
    p = nn.Parameter(nt.ones(2))
    q = p * 2
    q.__class__ = nn.Parameter       # a Parameter object that is not a leaf
    return q


def test_registration_before_init_and_missing_attribute():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(nt.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()
    with pytest.raises(AttributeError, match="'Affine' object has no attribute 'nope'"):
        Affine().nope


def test_delattr_and_dir():
    m = Affine()
    assert {"scale", "shift", "count", "cache", "forward"} <= set(dir(m))
    del m.scale
    del m.count
    assert "scale" not in m._parameters and "count" not in m._buffers
    assert "scale" not in dir(m)
    with pytest.raises(AttributeError):
        m.scale


# ---------------------------------------------------------------- traversal
def test_named_parameters_order_and_dedup_of_shared_parameters():
    m = Net()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["head", "a.scale", "a.shift", "block.0.scale", "block.0.shift",
                     "block.1.scale", "block.1.shift"]
    # Share one module twice and one parameter across modules: each counted once.
    m.block[1] = m.a
    m.block[0].scale = m.head
    names = [n for n, _ in m.named_parameters()]
    assert names == ["head", "a.scale", "a.shift", "block.0.shift"]
    assert sum(p.numel() for p in m.parameters()) == 12
    assert [n for n, _ in m.named_parameters(remove_duplicate=False)] == [
        "head", "a.scale", "a.shift", "block.0.scale", "block.0.shift", "block.1.scale", "block.1.shift"]
    assert [n for n, _ in m.named_parameters(prefix="net", recurse=False)] == ["net.head"]
    assert [n for n, _ in m.named_modules()] == ["", "a", "block", "block.0"]
    assert [n for n, _ in m.named_children()] == ["a", "block"]
    assert len(list(m.children())) == 2 and len(list(m.modules())) == 4


def test_buffers_and_get_submodule_and_apply():
    m = Net()
    assert [n for n, _ in m.named_buffers()] == ["a.count", "a.cache", "block.0.count", "block.0.cache",
                                                  "block.1.count", "block.1.cache"]
    assert len(list(m.buffers(recurse=False))) == 0
    assert m.get_submodule("block.1") is m.block[1]
    assert m.get_submodule("") is m
    with pytest.raises(AttributeError, match="no submodule `9`"):
        m.get_submodule("block.9")
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Affine", "Affine", "Affine", "Sequential", "Net"]


# ---------------------------------------------------------------- state dict
def test_state_dict_keys_order_and_sharing():
    m = Net()
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["head", "a.scale", "a.shift", "a.count", "block.0.scale", "block.0.shift",
                        "block.0.count", "block.1.scale", "block.1.shift", "block.1.count"]
    v = sd["a.scale"]
    assert not isinstance(v, nn.Parameter) and not v.requires_grad
    assert v.array is m.a.scale.array          # detached, not copied (as torch)
    assert m.state_dict(keep_vars=True)["a.scale"] is m.a.scale
    assert list(m.state_dict(prefix="model."))[0] == "model.head"


def test_load_state_dict_round_trip_from_numpy_and_cast_to_param_dtype():
    src, dst = Net(), Net()
    for p in src.parameters():
        with nt.no_grad():
            p.normal_()
    arrays = {k: v.numpy().astype(np.float64) for k, v in src.state_dict().items()}
    scale = dst.a.scale
    old_array = scale.array
    res = dst.load_state_dict(arrays)
    assert res.missing_keys == [] and res.unexpected_keys == [] and repr(res) == "<All keys matched successfully>"
    assert dst.a.scale is scale and scale.array is old_array        # copied in place
    assert scale.dtype == np.float32
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), src.state_dict()[k].numpy())
    # Python scalars and objects with __array__ load too.

    class ArrayLike:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a
    arrays["a.count"] = ArrayLike(np.array([7.0]))
    dst.load_state_dict(arrays)
    assert dst.a.count.item() == 7.0

    class HasNumpy:
        def numpy(self):
            return np.array([8.0])
    arrays["a.count"] = HasNumpy()
    dst.load_state_dict(arrays)
    assert dst.a.count.item() == 8.0
    arrays["a.count"] = [9.0]
    dst.load_state_dict(arrays)
    assert dst.a.count.item() == 9.0
    arrays["a.count"] = object()
    with pytest.raises(TypeError, match="the value for 'a.count' is a object"):
        dst.load_state_dict(arrays)


def test_load_state_dict_reports_all_problems_in_one_error_and_changes_nothing():
    m = Net()
    sd = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    del sd["a.shift"]
    sd["extra.weight"] = np.zeros(2)
    sd["block.0.scale"] = np.zeros((3, 1), np.float32)
    sd["head"] = np.full(3, 5.0, np.float32)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert 'Missing key(s) in state_dict: "a.shift".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    assert ("size mismatch for block.0.scale: copying a param with shape (3, 1), "
            "the model expects (3,)") in msg
    np.testing.assert_array_equal(m.head.numpy(), np.ones(3))      # nothing was copied
    # strict=False: missing/unexpected are returned, shapes still refused.
    with pytest.raises(RuntimeError, match=r"size mismatch for block\.0\.scale"):
        m.load_state_dict(sd, strict=False)
    sd["block.0.scale"] = np.zeros(3, np.float32)
    res = m.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["a.shift"] and res.unexpected_keys == ["extra.weight"]
    assert res == (["a.shift"], ["extra.weight"])
    np.testing.assert_array_equal(m.head.numpy(), np.full(3, 5.0))
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


@requires_torch
def test_load_state_dict_accepts_torch_tensors_directly():
    m = Affine()
    sd = {"scale": torch.arange(3.0), "shift": torch.ones(3, requires_grad=True), "count": torch.tensor([2.0])}
    m.load_state_dict(sd)
    np.testing.assert_array_equal(m.scale.numpy(), [0, 1, 2])
    np.testing.assert_array_equal(m.shift.numpy(), [1, 1, 1])


# ---------------------------------------------------------------- hooks, call
def test_forward_hooks_fire_modify_and_can_be_removed():
    m = Affine()
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 2,)

    def post(mod, args, out):
        calls.append("post")
        assert mod is m
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    x = nt.ones(3)
    np.testing.assert_array_equal(m(x).numpy(), np.full(3, 3.0))
    assert calls == ["pre", "post"]
    h1.remove()
    np.testing.assert_array_equal(m(x).numpy(), np.full(3, 2.0))
    h2.remove()
    h2.remove()                      # removing twice is harmless
    np.testing.assert_array_equal(m(x).numpy(), np.ones(3))
    assert calls == ["pre", "post", "post"]
    # Non-tuple pre-hook results are wrapped; kwargs hooks; prepend order.
    order = []
    m.register_forward_hook(lambda mod, a, o: order.append(1))
    m.register_forward_hook(lambda mod, a, o: order.append(0), prepend=True)
    m.register_forward_pre_hook(lambda mod, a: a[0] * 0)
    m.register_forward_hook(lambda mod, a, kw, o: order.append(("kw", dict(kw))), with_kwargs=True)
    np.testing.assert_array_equal(m(x).numpy(), np.zeros(3))
    assert order == [0, 1, ("kw", {})]


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(nt.ones(1))


# ---------------------------------------------------------------- modes and grads
def test_train_eval_recurse():
    m = Net()
    assert m.training and m.block[0].training
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("no")


def test_zero_grad_and_requires_grad_():
    m = Net()
    m(nt.ones(3)).backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_double_then_float_keeps_objects_and_int_buffers():
    m = Net()
    m.register_buffer("steps", nt.tensor(0))          # int64 buffer: never cast
    m(nt.ones(3)).backward()
    params = list(m.parameters())
    arrays_seen_by_optimizer = params                  # an optimizer holds these objects
    assert m.to(nt.float64) is m
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in m.parameters())
    assert all(a is b for a, b in zip(arrays_seen_by_optimizer, m.parameters()))
    assert m.a.count.dtype == np.float64 and m.steps.dtype == np.int64
    out = m(nt.ones(3, dtype=nt.float64))
    assert out.dtype == np.float64
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters()) and m.steps.dtype == np.int64
    m.double()
    assert m.head.dtype == np.float64
    m.to(dtype="float32")
    assert m.head.dtype == np.float32
    assert m.cpu() is m and m.to("cpu") is m
    with pytest.raises(TypeError, match="floating point"):
        m.to(nt.int64)


@pytest.mark.skipif(nt.cupy_available(), reason="checks the message shown without a GPU")
def test_cuda_without_gpu_says_so():
    with pytest.raises(RuntimeError, match="CuPy"):
        Affine().cuda()


def test_deepcopy_gives_independent_parameters():
    m = Net()
    m.block[1] = m.a                     # sharing survives the copy
    c = copy.deepcopy(m)
    assert isinstance(c.a.scale, nn.Parameter) and c.a.scale.requires_grad
    assert c.a.scale is not m.a.scale and c.a.scale.array is not m.a.scale.array
    assert c.block[1] is c.a
    with nt.no_grad():
        c.a.scale.fill_(3.0)
    assert m.a.scale.numpy()[0] == 1.0


# ---------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_editing():
    a, b, c = Affine(), Affine(), Affine()
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and list(s) == [a, b, c] and s[-1] is c
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c] and list(sub._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        s[3]
    d = Affine()
    s.append(d)
    assert s[3] is d and list(s._modules) == ["0", "1", "2", "3"]
    del s[0]
    assert list(s) == [b, c, d] and list(s._modules) == ["0", "1", "2"]
    s.insert(0, a)
    assert list(s) == [a, b, c, d]
    s[1] = Affine()
    assert s[1] is not b
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert list(named._modules) == ["first", "second"] and named.first is a
    assert list((named + nn.Sequential(c))._modules) == ["0", "1", "2"]
    x = nt.tensor([1.0, 2.0, 3.0])
    with nt.no_grad():
        a.scale.fill_(2.0)
        b.shift.fill_(1.0)
    np.testing.assert_array_equal(named(x).numpy(), [3.0, 5.0, 7.0])


def test_module_list_dict_and_parameter_list():
    ml = nn.ModuleList([Affine(), Affine()])
    ml.append(Affine())
    ml.extend([Affine()])
    ml.insert(0, nn.Identity())
    assert len(ml) == 5 and isinstance(ml[0], nn.Identity) and list(ml._modules) == list("01234")
    assert len(list(ml.parameters())) == 8
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == list("0123")
    with pytest.raises(TypeError, match="iterable of modules"):
        ml.extend(Affine())

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([Affine(2)])
            self.heads = nn.ModuleDict({"x": Affine(2)})
            self.ws = nn.ParameterList([nn.Parameter(nt.zeros(2)), nt.ones(1)])
    h = Holder()
    assert list(h.state_dict()) == ["layers.0.scale", "layers.0.shift", "layers.0.count",
                                    "heads.x.scale", "heads.x.shift", "heads.x.count", "ws.0", "ws.1"]
    assert "x" in h.heads and list(h.heads.keys()) == ["x"] and len(h.heads) == 1
    assert all(isinstance(p, nn.Parameter) for p in h.ws) and len(h.ws) == 2
    pd = nn.ParameterDict({"a": nt.ones(2)})
    assert isinstance(pd["a"], nn.Parameter) and list(pd) == ["a"]


# ---------------------------------------------------------------- errors name the layer
class Fails(nn.Module):
    def forward(self, x):
        raise ValueError("bad input")


class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Affine(), Fails())

    def forward(self, x):
        return self.body(x)


def test_errors_are_prefixed_with_the_failing_layer_and_its_path():
    with pytest.raises(ValueError, match=r"^Fails\(\): bad input$"):
        Fails()(nt.ones(1))
    with pytest.raises(ValueError, match=r"^1 \(Fails\(\)\): bad input$"):
        nn.Sequential(Affine(), Fails())(nt.ones(3))
    with pytest.raises(ValueError, match=r"^body\.1 \(Fails\(\)\): bad input$"):
        Wrapper()(nt.ones(3))
    # Errors from the ops inside a custom forward (here broadcasting (4,) with
    # (3,)) keep their type and get the module's name.
    with pytest.raises((ValueError, RuntimeError), match=r"^Affine\(\): "):
        Affine()(nt.ones(4))
