"""torchvision as a test oracle: imported without its C++ extension (its two
operators declared first, as tests/vision does); None when unavailable."""
import numpy as np
from tests.helpers import import_torchvision

try:
    import torch
except Exception:   # pragma: no cover - torch is a test dependency
    torch = None


tv = import_torchvision()


def randomize_batch_norm(model, seed=0):
    """Give every BatchNorm non-trivial affine parameters and running
    statistics, so that loading them into the wrong place shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return model


def numpy_state_dict(model):
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def relative_error(ours, theirs):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def random_torchvision(name, seed=0, **kwargs):
    """torchvision's ``name`` with random weights, fast: built on the meta
    device (no initialization work), then filled with He-scaled normal
    weights, small biases and randomized BatchNorm statistics. Eval mode."""
    if name == "googlenet":
        kwargs.setdefault("init_weights", False)    # else torchvision warns; the values are ours anyway
    with torch.device("meta"):
        model = getattr(tv.models, name)(weights=None, **kwargs)
    model = model.to_empty(device="cpu")
    # Large tensors tile a pool of genuine draws whose length is prime, so no
    # row or channel of a weight repeats another's (VGG's 120M classifier
    # values would otherwise take most of the test's time to draw).
    pool = torch.from_numpy(np.random.default_rng(seed).standard_normal(1_000_003).astype(np.float32))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            scale = (2.0 / p[0].numel()) ** 0.5 if p.ndim > 1 else 0.1
            draws = torch.roll(pool, 7919 * i) * scale
            flat = p.view(-1)
            for start in range(0, flat.numel(), draws.numel()):
                chunk = flat[start:start + draws.numel()]
                chunk.copy_(draws[:chunk.numel()])
        for bname, b in model.named_buffers():
            if bname.endswith("num_batches_tracked"):
                b.zero_()
    return randomize_batch_norm(model, seed).eval()
