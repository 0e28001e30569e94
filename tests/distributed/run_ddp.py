"""Run under mpiexec -n R: DDP and SyncBatchNorm against one process on the concatenated batch.

Every rank also trains, alone, a copy of the model on the whole global batch
(the reference); the DDP replica (each rank on its slice) must match it to
float32 rounding, and every rank's weights must be bit-identical."""
import hashlib

import numpy as np

import neuronet as torch
import neuronet.distributed as dist
from neuronet import nn
from neuronet.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
GLOBAL = 64 if size <= 2 else 16 * size
per = GLOBAL // size
STEPS = 4


def net(bn):
    torch.manual_seed(0)
    layers = [nn.Conv2d(3, 6, 3, padding=1)]
    layers += [nn.BatchNorm2d(6)] if bn else []
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(6 * 6 * 6, 5)]
    return nn.Sequential(*layers)


def batches():
    g = np.random.default_rng(1)
    for _ in range(STEPS):
        yield (torch.from_numpy(g.standard_normal((GLOBAL, 3, 6, 6)).astype("float32")),
               torch.from_numpy(g.integers(0, 5, GLOBAL)))


def train(model, shard, accumulate=1):
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    for x, y in batches():
        if shard:
            x, y = x[rank * per:(rank + 1) * per], y[rank * per:(rank + 1) * per]
        opt.zero_grad()
        if accumulate == 1:
            nn.functional.cross_entropy(model(x), y).backward()
        else:                          # the same step in two halves, the first under no_sync
            h = x.shape[0] // 2
            with model.no_sync():
                (nn.functional.cross_entropy(model(x[:h]), y[:h]) / 2).backward()
            (nn.functional.cross_entropy(model(x[h:]), y[h:]) / 2).backward()
        opt.step()
    return model


def check_identical(model, what):
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).digest()
    every = [torch.zeros(32, dtype=torch.uint8) for _ in range(size)]
    dist.all_gather(every, torch.from_numpy(np.frombuffer(digest, np.uint8).copy()))
    assert all((e.numpy() == every[0].numpy()).all() for e in every), f"{what}: weights differ across ranks"


def check_close(a, b, what):
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-4, atol=2e-5,
                                   err_msg=f"{what}: {n}")


# 1. no batch norm; small buckets so that several reductions overlap backward
ref = train(net(False), shard=False)
model = DDP(net(False), bucket_cap_mb=0.001)
assert len(model._buckets) > 1
train(model, shard=True)
check_identical(model, "plain")
check_close(model.module, ref, "plain DDP vs one process on the global batch")
assert list(model.state_dict())[0].startswith("module."), list(model.state_dict())

# 1b. a forward without grad between forward and backward (evaluation) changes nothing
X, Y = next(batches())
alone = net(False)
nn.functional.cross_entropy(alone(X), Y).backward()
m = DDP(net(False))
loss = nn.functional.cross_entropy(m(X[rank * per:(rank + 1) * per]), Y[rank * per:(rank + 1) * per])
with torch.no_grad():
    m(X[:2])
loss.backward()
for p, q in zip(m.module.parameters(), alone.parameters()):
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)

# 2. gradient accumulation with no_sync gives the same step
acc = DDP(net(False))
train(acc, shard=True, accumulate=2)
check_identical(acc, "no_sync")
check_close(acc.module, ref, "no_sync accumulation")

# 3. SyncBatchNorm: equals BatchNorm on the concatenated batch, running statistics too
ref = train(net(True), shard=False)
model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(net(True)), bucket_cap_mb=0.001)
assert isinstance(model.module[1], nn.SyncBatchNorm)
train(model, shard=True)
check_identical(model, "SyncBatchNorm")
check_close(model.module, ref, "SyncBatchNorm DDP vs BatchNorm on the global batch")
for name in ("running_mean", "running_var"):
    np.testing.assert_allclose(getattr(model.module[1], name).numpy(), getattr(ref[1], name).numpy(),
                               rtol=1e-4, atol=1e-6, err_msg=name)

# 4. plain BatchNorm under DDP: rank 0's running statistics are broadcast at each forward
model = DDP(net(True))
train(model, shard=True)
before = [torch.zeros(6) for _ in range(size)]
dist.all_gather(before, model.module[1].running_mean.clone())
assert size == 1 or (before[0].numpy() != before[1].numpy()).any(), "shards should give different statistics"
model.module[1].momentum = 0.0          # this forward leaves the statistics as broadcast
model(torch.randn(2, 3, 6, 6))          # forward copies rank 0's buffers first
np.testing.assert_array_equal(model.module[1].running_mean.numpy(), before[0].numpy())
model.zero_grad()


# 5. a weight used twice, and a parameter the loss does not use (find_unused_parameters)
class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.a = nn.Linear(4, 4)
        self.unused = nn.Linear(4, 4)

    def forward(self, x):
        return self.a(torch.tanh(self.a(x)))


x = torch.from_numpy(np.random.default_rng(7).standard_normal((6 * size, 4)).astype("float32"))
alone = Tied()
alone(x).pow(2).mean().backward()
model = DDP(Tied(), find_unused_parameters=True)
model(x[rank * 6:(rank + 1) * 6]).pow(2).mean().backward()
np.testing.assert_allclose(model.module.a.weight.grad.numpy(), alone.a.weight.grad.numpy(), rtol=1e-4, atol=1e-6)
assert model.module.unused.weight.grad is None
strict = DDP(Tied())
strict(x).sum().backward()
try:
    strict(x)
except RuntimeError as e:
    assert "unused.weight" in str(e) and "find_unused_parameters" in str(e), e
else:
    raise AssertionError("an unused parameter without find_unused_parameters must be reported")
print(f"rank {rank}/{size}: DDP OK", flush=True)

# 6. the training-loop helpers
from neuronet.distributed import training as dt  # noqa: E402
assert dt.setup() == size and dt.rank() == rank
wrapped = dt.wrap_model(net(True), sync_batchnorm=True)
assert (size == 1) == (wrapped is dt.unwrap_model(wrapped))
assert not any(k.startswith("module.") for k in dt.unwrap_model(wrapped).state_dict())
sampler = dt.sampler_for(list(range(10)), seed=1)
if size > 1:
    dt.set_epoch(sampler, 3)
    mine = list(sampler)
    every = [torch.zeros(len(mine), dtype=torch.int64) for _ in range(size)]
    dist.all_gather(every, torch.tensor(mine))
    assert set(np.concatenate([e.numpy() for e in every])) == set(range(10))
loss, acc = dt.mean_over_ranks([2.0 * (rank + 1), rank], count=2)
assert abs(loss - sum(2.0 * (r + 1) for r in range(size)) / (2 * size)) < 1e-12
assert dt.broadcast_flag(rank == 0) is True
bn_model = net(True)
bn_model[1].running_mean.fill_(float(rank))
dt.broadcast_buffers(bn_model)
assert (bn_model[1].running_mean.numpy() == 0).all()
print(f"rank {rank}/{size}: helpers OK", flush=True)
