# Weight initialisation: torch.manual_seed reproducibility, a custom init
# function applied to every submodule with model.apply (Xavier for Linear,
# Kaiming for Conv, constants for BatchNorm), the other nn.init schemes
# (orthogonal, trunc_normal, eye, dirac, calculate_gain), PyTorch's default
# Linear bounds, and parameters_to_vector / vector_to_parameters. Random
# draws differ between frameworks, so the statistics are checked against
# the formulas; deterministic quantities are compared with PyTorch exactly.
# compat: exact gain_relu
# compat: exact gain_tanh
# compat: exact gain_leaky
# compat: exact gain_selu
# compat: exact modules_visited
# compat: exact vector_len
# compat: exact eye_trace
# compat: exact dirac_sum
# compat: exact bn_constants
# compat: exact constant_bias
# compat: expect reproducible == True
# compat: expect different_after_draw == True
# compat: expect xavier_within_bound == True
# compat: expect xavier_std_ok == True
# compat: expect kaiming_std_ok == True
# compat: expect default_linear_within_bound == True
# compat: expect orthogonal_ok == True
# compat: expect trunc_normal_within == True
# compat: expect roundtrip_ok == True
# compat: expect normal_stats_ok == True
import math

import neuronet as torch
import neuronet.nn as nn
from neuronet.nn.utils import parameters_to_vector, vector_to_parameters

torch.manual_seed(0)
a = torch.rand(5)
torch.manual_seed(0)
b = torch.rand(5)
c = torch.rand(5)
print("RESULT reproducible", bool(torch.equal(a, b)))
print("RESULT different_after_draw", not torch.equal(b, c))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        )
        self.classifier = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


visited = []


def init_weights(m):
    visited.append(type(m).__name__)
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        m.bias.data.fill_(0.01)
    elif isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)


torch.manual_seed(42)
model = Net()
returned = model.apply(init_weights)
print("RESULT apply_returns_model", returned is model)
print("RESULT modules_visited", len(visited))

w = model.classifier[0].weight
bound = math.sqrt(6.0 / (256 + 512))
print("RESULT xavier_within_bound", bool(w.abs().max().item() <= bound))
print("RESULT xavier_std_ok", abs(w.std().item() - bound / math.sqrt(3)) < 0.05 * bound / math.sqrt(3))
print("RESULT constant_bias", model.classifier[0].bias[0].item())
conv_w = model.features[3].weight
expected_std = math.sqrt(2.0 / (64 * 3 * 3))  # fan_out = out_channels * kernel area
print("RESULT kaiming_std_ok", abs(conv_w.std().item() - expected_std) < 0.05 * expected_std)
bn = model.features[1]
print("RESULT bn_constants", f"{bn.weight.sum().item()},{bn.bias.sum().item()}")

print("RESULT gain_relu", nn.init.calculate_gain('relu'))
print("RESULT gain_tanh", nn.init.calculate_gain('tanh'))
print("RESULT gain_leaky", nn.init.calculate_gain('leaky_relu', 0.2))
print("RESULT gain_selu", nn.init.calculate_gain('selu'))

lin = nn.Linear(400, 300)
lb = 1.0 / math.sqrt(400)
print("RESULT default_linear_within_bound", bool(lin.weight.abs().max() <= lb and lin.bias.abs().max() <= lb))

q = torch.empty(20, 50)
nn.init.orthogonal_(q)
print("RESULT orthogonal_ok", bool(torch.allclose(q @ q.t(), torch.eye(20), atol=1e-4)))

t = torch.empty(1000)
nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=-0.5, b=0.5)
print("RESULT trunc_normal_within", bool((t >= -0.5).all() and (t <= 0.5).all()))

n = torch.empty(20000)
nn.init.normal_(n, mean=2.0, std=0.5)
print("RESULT normal_stats_ok", abs(n.mean().item() - 2.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02)

e = torch.empty(4, 6)
nn.init.eye_(e)
print("RESULT eye_trace", e.sum().item())
d = torch.empty(8, 4, 3, 3)
nn.init.dirac_(d)
print("RESULT dirac_sum", d.sum().item())

vec = parameters_to_vector(model.parameters())
print("RESULT vector_len", vec.numel())
vector_to_parameters(torch.arange(vec.numel(), dtype=torch.float32), model.parameters())
first = next(model.parameters())
print("RESULT roundtrip_ok", bool(first.flatten()[:5].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0])
      and bool(torch.equal(parameters_to_vector(model.parameters()), torch.arange(vec.numel(), dtype=torch.float32))))
