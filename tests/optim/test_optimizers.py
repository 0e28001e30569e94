"""Optimizers: trajectories against PyTorch, closed-form steps, validation,
non-finite gradients, state_dict resume."""
import json
import math

import numpy as np
import pytest
from helpers import requires_torch, torch

import neuronet as nt
from neuronet import optim

# ---------------------------------------------------------------- a small network
# A 2-layer tanh MLP on fixed data, written with plain leaf tensors.
SHAPES = {"fc1.weight": (6, 4), "fc1.bias": (6,), "fc2.weight": (3, 6), "fc2.bias": (3,)}


def init_arrays(seed=0):
    r = np.random.default_rng(seed)
    return {k: r.standard_normal(s) * 0.5 for k, s in SHAPES.items()}


def data(seed=1):
    r = np.random.default_rng(seed)
    return r.standard_normal((8, 4)), r.standard_normal((8, 3))


def nt_params(arrays):
    return {k: nt.tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}


def nt_loss(P, x, y):
    h = (x @ P["fc1.weight"].T + P["fc1.bias"]).tanh()
    out = h @ P["fc2.weight"].T + P["fc2.bias"]
    return ((out - y) ** 2).mean()


def th_loss(P, x, y):
    h = torch.tanh(x @ P["fc1.weight"].T + P["fc1.bias"])
    out = h @ P["fc2.weight"].T + P["fc2.bias"]
    return ((out - y) ** 2).mean()


def split_groups(P, group_kwargs):
    """Two param groups: weights, then biases (with their own hyperparameters)."""
    if group_kwargs is None:
        return list(P.values())
    return [{"params": [P["fc1.weight"], P["fc2.weight"]]},
            {"params": [P["fc1.bias"], P["fc2.bias"]], **group_kwargs}]


CONFIGS = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.1, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.02), dict(lr=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True), None),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05), None),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01), dict(weight_decay=0.0)),
    ("Adam", dict(lr=0.01, maximize=True), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), None),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True), dict(weight_decay=0.0, lr=0.005)),
    ("Adagrad", dict(lr=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1,
                     eps=1e-8), None),
    ("Adagrad", dict(lr=0.05, maximize=True), None),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.8, weight_decay=0.01), None),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5), dict(alpha=0.95)),
    ("RMSprop", dict(lr=0.005, centered=True, maximize=True), None),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.01), None),
    ("Adadelta", dict(lr=0.5, maximize=True), None),
    ("NAdam", dict(), None),
    ("NAdam", dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.01, momentum_decay=0.01), None),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), None),
    ("NAdam", dict(lr=0.01, maximize=True), None),
    ("RAdam", dict(lr=0.01), None),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.99), weight_decay=0.05), None),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.02)),
    ("RAdam", dict(lr=0.01, maximize=True), None),
]


@pytest.fixture
def torch_float64():
    """PyTorch's scalar state (step, NAdam's mu_product) in float64 for tight comparison."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@requires_torch
@pytest.mark.parametrize("name,kwargs,group_kwargs", CONFIGS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
def test_trajectory_matches_torch(name, kwargs, group_kwargs, torch_float64):
    arrays = init_arrays()
    x, y = data()
    P = nt_params(arrays)
    T = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
    opt = getattr(optim, name)(split_groups(P, group_kwargs), **kwargs)
    topt = getattr(torch.optim, name)(split_groups(T, group_kwargs), **kwargs)
    xn, yn, xt, yt = nt.tensor(x), nt.tensor(y), torch.tensor(x), torch.tensor(y)
    for step in range(20):
        opt.zero_grad()
        topt.zero_grad()
        ln = nt_loss(P, xn, yn)
        lt = th_loss(T, xt, yt)
        ln.backward()
        lt.backward()
        opt.step()
        topt.step()
        for k in SHAPES:
            np.testing.assert_allclose(P[k].numpy(), T[k].detach().numpy(), rtol=1e-5, atol=1e-10,
                                       err_msg=f"{name} {kwargs}: {k} after step {step + 1}")
    # the state holds the same buffers, under PyTorch's names
    for k in SHAPES:
        ours, theirs = opt.state[P[k]], topt.state[T[k]]
        assert set(ours) == set(theirs), (set(ours), set(theirs))
        for key, v in theirs.items():
            if key == "step":
                assert ours[key] == int(v.item())
            elif key == "mu_product":
                assert ours[key] == pytest.approx(v.item(), rel=1e-12)
            else:
                np.testing.assert_allclose(ours[key].numpy(), v.numpy(), rtol=1e-5, atol=1e-10)


# ---------------------------------------------------------------- closed forms (no torch)
def one_param(values, grad, dtype=np.float64):
    p = nt.tensor(np.array(values, dtype=dtype), requires_grad=True)
    p.grad = nt.tensor(np.array(grad, dtype=dtype))
    return p


def test_sgd_momentum_by_hand():
    p = one_param([1.0, -2.0], [0.5, 1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    opt.step()                       # g = [0.6, 0.8]; buf = g
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.06, -2.0 - 0.08])
    p.grad = nt.tensor(np.array([0.5, 1.0]))
    opt.step()                       # g = [0.5 + 0.094, 1 - 0.208]; buf = 0.9 [0.6, 0.8] + g
    g2 = np.array([0.5, 1.0]) + 0.1 * np.array([0.94, -2.08])
    buf = 0.9 * np.array([0.6, 0.8]) + g2
    np.testing.assert_allclose(p.numpy(), np.array([0.94, -2.08]) - 0.1 * buf)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"].numpy(), buf)


def test_sgd_nesterov_by_hand():
    p = one_param([1.0], [2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True)
    opt.step()                       # buf = 2, g = 2 + 0.5 * 2 = 3
    np.testing.assert_allclose(p.numpy(), [0.7])
    opt.step()                       # buf = 0.5 * 2 + 2 = 3, g = 2 + 1.5
    np.testing.assert_allclose(p.numpy(), [0.7 - 0.35])


def test_adam_first_steps_by_hand():
    p = one_param([1.0, 2.0], [0.3, -4.0])
    opt = optim.Adam([p], lr=0.1, eps=1e-8)
    opt.step()                       # bias-corrected m = g, v = g^2: step = lr * g / (|g| + eps)
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 * 0.3 / (0.3 + 1e-8),
                                           2.0 + 0.1 * 4.0 / (4.0 + 1e-8)], rtol=1e-12)
    opt.step()                       # same gradient again: m_hat = g, v_hat = g^2
    np.testing.assert_allclose(p.numpy(), [0.8, 2.2], rtol=1e-7)


def test_adamw_decoupled_decay_by_hand():
    p = one_param([2.0], [0.5])
    optim.AdamW([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.numpy(), [2.0 * (1 - 0.05) - 0.1 * 0.5 / (0.5 + 1e-8)], rtol=1e-12)
    q = one_param([2.0], [0.5])      # coupled: the decay enters the gradient, Adam normalises it away
    optim.Adam([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(q.numpy(), [2.0 - 0.1 * 1.5 / (1.5 + 1e-8)], rtol=1e-12)


def test_amsgrad_keeps_max_by_hand():
    p = one_param([0.0], [2.0])
    opt = optim.Adam([p], lr=0.1, betas=(0.0, 0.5), amsgrad=True)
    opt.step()                       # v = 0.5 * 4 = 2
    p.grad = nt.tensor(np.array([0.1]))
    opt.step()                       # v = 0.5 * 2 + 0.5 * 0.01 = 1.005 < v_max = 2
    assert opt.state[p]["max_exp_avg_sq"].numpy()[0] == pytest.approx(2.0)
    bc2 = 1 - 0.5 ** 2
    expected = -0.1 * 2.0 / (2.0 + 1e-8) - 0.1 * 0.1 / (math.sqrt(2.0) / math.sqrt(bc2) + 1e-8)
    np.testing.assert_allclose(p.numpy(), [expected], rtol=1e-10)


def test_adagrad_by_hand():
    p = one_param([1.0], [2.0])
    opt = optim.Adagrad([p], lr=0.5, lr_decay=0.5, initial_accumulator_value=1.0, eps=0.0)
    opt.step()                       # s = 1 + 4, p -= 0.5 * 2 / sqrt 5
    opt.step()                       # s = 9, lr = 0.5 / 1.5
    np.testing.assert_allclose(p.numpy(), [1.0 - 1.0 / math.sqrt(5) - (0.5 / 1.5) * 2 / 3])


def test_rmsprop_by_hand():
    p = one_param([1.0], [2.0])
    optim.RMSprop([p], lr=0.01, alpha=0.75, eps=0.0).step()   # v = 0.25 * 4 = 1
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.01 * 2.0])
    q = one_param([1.0], [2.0])
    optim.RMSprop([q], lr=0.01, alpha=0.75, eps=0.0, centered=True).step()
    # grad_avg = 0.5, v - a^2 = 1 - 0.25
    np.testing.assert_allclose(q.numpy(), [1.0 - 0.01 * 2.0 / math.sqrt(0.75)])


def test_adadelta_by_hand():
    p = one_param([1.0], [2.0])
    optim.Adadelta([p], lr=1.0, rho=0.5, eps=1e-2).step()
    v = 0.5 * 4.0
    dx = math.sqrt(1e-2) / math.sqrt(v + 1e-2) * 2.0
    np.testing.assert_allclose(p.numpy(), [1.0 - dx])


def test_nadam_first_step_by_hand():
    p = one_param([1.0], [2.0])
    b1, md, lr, eps = 0.9, 4e-3, 0.01, 1e-8
    optim.NAdam([p], lr=lr, momentum_decay=md, eps=eps).step()
    mu1 = b1 * (1 - 0.5 * 0.96 ** md)
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * md))
    m = 0.1 * 2.0
    d = 2.0 + eps                    # sqrt(v / (1 - beta2)) = |g|
    expected = 1.0 - lr * (1 - mu1) / (1 - mu1) * 2.0 / d - lr * mu2 / (1 - mu1 * mu2) * m / d
    np.testing.assert_allclose(p.numpy(), [expected], rtol=1e-12)


def test_radam_warmup_then_rectified_by_hand():
    p = one_param([0.0], [1.0])
    opt = optim.RAdam([p], lr=0.1, betas=(0.9, 0.999))
    for _ in range(5):                # rho_t <= 5 for t <= 5 with beta2 = 0.999: m_hat = g = 1
        opt.step()
    np.testing.assert_allclose(p.numpy(), [-0.5], rtol=1e-12)
    opt.step()                        # t = 6: rectified adaptive step of size lr * r_6
    b2, t = 0.999, 6
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    sq = math.sqrt(1 - b2 ** t)       # v = (1 - beta2^t) g^2 with g = 1
    np.testing.assert_allclose(p.numpy(), [-0.5 - 0.1 * r * sq / (sq + 1e-8)], rtol=1e-12)


def test_float32_params_stay_float32_and_state_is_allocated_once():
    p = nt.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1, amsgrad=True)
    p.grad = nt.ones(3, 2)
    opt.step()
    bufs = {k: v.array for k, v in opt.state[p].items() if k != "step"}
    arr = p.array
    for _ in range(3):
        p.grad = nt.ones(3, 2)
        opt.step()
    assert p.array is arr and p.dtype == np.float32
    for k, v in bufs.items():
        assert opt.state[p][k].array is v and v.dtype == np.float32


# ---------------------------------------------------------------- weight decay exclusion
def test_param_groups_exclude_biases_from_weight_decay():
    """The recipe in Optimizer's docstring: decay weights, not biases/norm params."""
    P = nt_params(init_arrays())
    decay = [p for n, p in P.items() if not n.endswith(".bias") and p.ndim > 1]
    no_decay = [p for n, p in P.items() if n.endswith(".bias") or p.ndim <= 1]
    opt = optim.SGD([{"params": decay, "weight_decay": 0.5},
                     {"params": no_decay, "weight_decay": 0.0}], lr=0.1)
    before = {k: v.numpy().copy() for k, v in P.items()}
    for p in P.values():
        p.grad = nt.zeros(*p.shape, dtype=p.dtype)   # zero loss gradient: only decay acts
    opt.step()
    for k, p in P.items():
        expected = before[k] * (1 - 0.05) if k.endswith("weight") else before[k]
        np.testing.assert_allclose(p.numpy(), expected, err_msg=k)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.5, 0.0]
    assert opt.param_groups[0]["lr"] == 0.1      # filled from the defaults


# ---------------------------------------------------------------- hygiene
def test_params_without_grad_are_skipped():
    a = one_param([1.0], [1.0])
    b = nt.tensor(np.array([5.0]), requires_grad=True)   # no .grad
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    assert b.numpy()[0] == 5.0 and b not in opt.state
    assert a.numpy()[0] != 1.0 and opt.state[a]["step"] == 1


def test_nonfinite_gradient_raises_naming_the_parameter_by_index():
    a = one_param([1.0, 2.0], [1.0, 1.0])
    b = one_param([3.0, 4.0], [np.nan, 1.0])
    opt = optim.SGD([a, b], lr=0.1)
    with pytest.raises(RuntimeError, match=r"param_groups\[0\]\['params'\]\[1\].*1 NaN, 0 inf"):
        opt.step()
    # nothing was updated, not even the finite parameter
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(b.numpy(), [3.0, 4.0])


def test_nonfinite_gradient_raises_naming_the_parameter_by_name():
    P = nt_params(init_arrays())
    for p in P.values():
        p.grad = nt.ones(*p.shape, dtype=p.dtype)
    P["fc2.bias"].grad.array[1] = np.inf
    opt = optim.Adam(list(P.items()), lr=0.1)
    assert opt.param_groups[0]["param_names"] == list(SHAPES)
    with pytest.raises(RuntimeError, match=r"'fc2\.bias'.*0 NaN, 1 inf"):
        opt.step()
    assert not opt.state                       # no state created, no weight touched
    opt_unchecked = optim.SGD(list(P.items()), lr=0.1, check_finite=False)
    opt_unchecked.step()                       # opted out: the inf goes through
    assert np.isinf(P["fc2.bias"].numpy()[1])


def test_check_finite_grads_helper():
    P = nt_params(init_arrays())
    for p in P.values():
        p.grad = nt.zeros(*p.shape, dtype=p.dtype)
    assert optim.check_finite_grads(P.items()) is None
    P["fc1.weight"].grad.array[0, 0] = np.nan
    P["fc2.weight"].grad.array[0, 0] = -np.inf
    with pytest.raises(RuntimeError, match=r"'fc1\.weight'.*1 NaN.*'fc2\.weight'.*1 inf"):
        optim.check_finite_grads(P.items())
    with pytest.raises(RuntimeError, match=r"'#0'"):
        optim.check_finite_grads(list(P.values()))


def test_named_parameters_in_groups_and_state_dict():
    P = nt_params(init_arrays())
    named = list(P.items())
    opt = optim.SGD([{"params": named[:2]}, {"params": named[2:], "lr": 0.5}], lr=0.1)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["param_names"] == ["fc1.weight", "fc1.bias"]
    assert sd["param_groups"][1]["params"] == [2, 3]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [nt.zeros(2, requires_grad=True)]})


# ---------------------------------------------------------------- validation
def test_validation_messages():
    p = nt.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([{"params": [p], "lr": -1.0}], lr=0.1)     # per-group values are checked too
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 1.0"):
        optim.Adam([p], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: -0.1"):
        optim.AdamW([p], betas=(0.9, -0.1))
    with pytest.raises(ValueError, match="Invalid epsilon"):
        optim.RMSprop([p], eps=-1)
    with pytest.raises(ValueError, match="Invalid weight_decay"):
        optim.NAdam([p], weight_decay=-1)
    with pytest.raises(ValueError, match="Invalid rho"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match="Invalid lr_decay"):
        optim.Adagrad([p], lr_decay=-1)


def test_params_input_validation():
    p = nt.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordering of tensors in sets"):
        optim.SGD({p}, lr=0.1)
    with pytest.raises(TypeError, match="ordering of tensors in sets"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    frozen = nt.ones(2)                       # accepted as in PyTorch, and left alone
    opt = optim.SGD([frozen, p], lr=0.1)
    p.grad = nt.ones(2)
    opt.step()
    np.testing.assert_array_equal(frozen.numpy(), [1.0, 1.0])
    frozen.requires_grad_(True)               # unfrozen later: now it trains
    frozen.grad = nt.ones(2)
    opt.step()
    np.testing.assert_allclose(frozen.numpy(), [0.9, 0.9])
    p.grad = None
    with pytest.raises(TypeError, match="can only optimize Tensors.*ndarray"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    q = nt.zeros(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": p})
    opt.add_param_group({"params": q, "lr": 0.01})      # a single tensor is wrapped
    assert opt.param_groups[1]["params"][0] is q and opt.param_groups[1]["momentum"] == 0


def test_zero_grad():
    p = one_param([1.0, 2.0], [3.0, 4.0])
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_called_with_grad_enabled():
    P = nt_params(init_arrays())
    x, y = (nt.tensor(a) for a in data())
    opt = optim.SGD(list(P.values()), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = nt_loss(P, x, y)
        loss.backward()
        return loss

    with nt.no_grad():
        loss = opt.step(closure)
    assert loss.item() > 0 and P["fc1.weight"].grad is not None


# ---------------------------------------------------------------- state_dict / resume
def _save_load_roundtrip(sd, tmp_path, name):
    """Write a state_dict the way a checkpoint module would (arrays -> .npz, the
    rest -> JSON; no pickle), and read it back."""
    arrays = {}

    def encode(obj, path):
        if isinstance(obj, nt.Tensor):
            arrays[path] = obj.numpy()
            return {"__array__": path}
        if isinstance(obj, dict):
            return {str(k): encode(v, f"{path}/{k}") for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [encode(v, f"{path}/{i}") for i, v in enumerate(obj)]
        assert obj is None or isinstance(obj, (bool, int, float, str)), (path, type(obj))
        return obj

    meta = encode(sd, name)
    (tmp_path / f"{name}.json").write_text(json.dumps(meta))
    np.savez(tmp_path / f"{name}.npz", **{k.replace("/", "."): v for k, v in arrays.items()})
    loaded = np.load(tmp_path / f"{name}.npz", allow_pickle=False)

    def decode(obj):
        if isinstance(obj, dict):
            if set(obj) == {"__array__"}:
                return loaded[obj["__array__"].replace("/", ".")]
            return {k: decode(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [decode(v) for v in obj]
        return obj

    return decode(json.loads((tmp_path / f"{name}.json").read_text()))


RESUME = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adadelta", dict(lr=0.5)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
]


@pytest.mark.parametrize("name,kwargs", RESUME, ids=[r[0] for r in RESUME])
def test_resume_from_state_dict_is_bit_exact(name, kwargs, tmp_path):
    from neuronet.optim.lr_scheduler import OneCycleLR, StepLR
    x, y = (nt.tensor(a) for a in data())
    arrays = init_arrays()
    n_steps, cut = 16, 7

    def make(P):
        opt = getattr(optim, name)(split_groups(P, dict(lr=kwargs["lr"] * 0.5)), **kwargs)
        if "betas" in opt.defaults or "momentum" in opt.defaults:
            sched = OneCycleLR(opt, max_lr=[kwargs["lr"], kwargs["lr"] * 0.5], total_steps=n_steps)
        else:
            sched = StepLR(opt, step_size=3, gamma=0.5)
        return opt, sched

    def train(P, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            nt_loss(P, x, y).backward()
            opt.step()
            sched.step()

    P_full = nt_params(arrays)
    opt, sched = make(P_full)
    train(P_full, opt, sched, n_steps)

    P1 = nt_params(arrays)
    opt1, sched1 = make(P1)
    train(P1, opt1, sched1, cut)
    osd = _save_load_roundtrip(opt1.state_dict(), tmp_path, "optim")
    ssd = _save_load_roundtrip(sched1.state_dict(), tmp_path, "sched")
    saved_params = {k: v.numpy().copy() for k, v in P1.items()}
    del opt1, sched1, P1

    P2 = {k: nt.tensor(v, requires_grad=True) for k, v in saved_params.items()}
    opt2, sched2 = make(P2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    train(P2, opt2, sched2, n_steps - cut)
    for k in SHAPES:
        np.testing.assert_array_equal(P2[k].numpy(), P_full[k].numpy(), err_msg=k)
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


def test_state_dict_format_matches_torch_layout():
    P = nt_params(init_arrays())
    opt = optim.Adam(split_groups(P, dict(lr=0.5)), lr=0.1)
    for p in P.values():
        p.grad = nt.ones(*p.shape, dtype=p.dtype)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert sd["state"][2]["exp_avg"].shape == SHAPES["fc1.bias"]   # index 2: first of group 1


def test_load_state_dict_validates_and_copies():
    p = one_param([1.0, 2.0], [1.0, 1.0])
    opt = optim.Adam([p], lr=0.1)
    opt.step()
    sd = opt.state_dict()
    q = one_param([1.0, 2.0], [1.0, 1.0])
    opt2 = optim.Adam([q], lr=0.3)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["params"][0] is q
    assert opt2.state[q]["exp_avg"].array is not opt.state[p]["exp_avg"].array   # copied
    with pytest.raises(ValueError, match="different number|parameter groups"):
        optim.Adam([{"params": [q]}, {"params": [one_param([0.0], [0.0])]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([q, one_param([0.0], [0.0])]).load_state_dict(sd)
    with pytest.raises(ValueError, match="has shape"):
        optim.Adam([one_param([0.0, 1.0, 2.0], [0.0, 0.0, 0.0])]).load_state_dict(sd)


@requires_torch
def test_load_state_dict_from_torch(torch_float64):
    """A PyTorch optimizer's state_dict (tensors as ndarrays) resumes the same trajectory."""
    arrays = init_arrays()
    x, y = data()
    T = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
    topt = torch.optim.Adam(list(T.values()), lr=0.01, weight_decay=0.01)
    for _ in range(5):
        topt.zero_grad()
        th_loss(T, torch.tensor(x), torch.tensor(y)).backward()
        topt.step()
    tsd = topt.state_dict()
    sd = {"state": {k: {n: (v.numpy() if n != "step" else v.item()) for n, v in s.items()}
                    for k, s in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    P = {k: nt.tensor(v.detach().numpy().copy(), requires_grad=True) for k, v in T.items()}
    opt = optim.Adam(list(P.values()), lr=0.5)
    opt.load_state_dict(sd)
    xn, yn = nt.tensor(x), nt.tensor(y)
    for _ in range(5):
        topt.zero_grad()
        opt.zero_grad()
        th_loss(T, torch.tensor(x), torch.tensor(y)).backward()
        nt_loss(P, xn, yn).backward()
        topt.step()
        opt.step()
    for k in SHAPES:
        np.testing.assert_allclose(P[k].numpy(), T[k].detach().numpy(), rtol=1e-10, atol=1e-12)
