"""The zoo's models are plain layer stacks: their speed comes from the layers, so
hooks, a user's own copy of the network, or anything else that observes it never
changes the numbers it computes."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import nn
from neuronet.models import lenet5, resnet20


def _train(model, x, y, steps=3, hooks=False):
    seen = []
    handles = []
    if hooks:
        for m in model.modules():
            handles.append(m.register_forward_pre_hook(lambda mod, inp: None))
            handles.append(m.register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape))))
    opt = nt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for h in handles:
        h.remove()
    assert bool(seen) == hooks
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("build,shape", [(lenet5, (6, 1, 28, 28)), (resnet20, (4, 3, 16, 16))],
                         ids=["lenet5", "resnet20"])
def test_training_with_and_without_hooks_gives_bit_identical_weights(build, shape):
    rng = np.random.default_rng(0)
    x = nt.tensor(rng.standard_normal(shape, dtype=np.float32))
    y = nt.tensor(rng.integers(0, 10, shape[0]))
    nt.manual_seed(1)
    plain = build()
    nt.manual_seed(1)
    hooked = build()
    a, b = _train(plain, x, y), _train(hooked, x, y, hooks=True)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_user_written_lenet5_computes_exactly_what_the_zoo_model_does():
    """The network as a user writes it, given the zoo model's weights: the same outputs
    and the same trained weights, bit for bit (no model has a private fast path)."""
    nt.manual_seed(2)
    zoo = lenet5()
    user = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))
    zoo_params = list(zoo.parameters())
    with nt.no_grad():
        for p, q in zip(user.parameters(), zoo_params, strict=True):
            p.copy_(q)
    rng = np.random.default_rng(3)
    x = nt.tensor(rng.standard_normal((8, 1, 28, 28), dtype=np.float32))
    y = nt.tensor(rng.integers(0, 10, 8))
    with nt.no_grad():
        np.testing.assert_array_equal(user(x).numpy(), zoo(x).numpy())
    a, b = _train(zoo, x, y), _train(user, x, y)
    for pa, pb in zip(a.values(), b.values(), strict=True):
        np.testing.assert_array_equal(pa, pb)
