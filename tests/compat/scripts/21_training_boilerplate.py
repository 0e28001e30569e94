# The boilerplate around the model in popular training repositories:
# argparse options, a seed_everything helper (random, NumPy, torch), cudnn
# flags, device selection, a mixed-precision GradScaler/autocast pair that is
# disabled on CPU, gradient accumulation, an AverageMeter, an exponential
# moving average of the weights, inference_mode for evaluation, a best-model
# checkpoint with copy.deepcopy(state_dict), and a learning-rate warmup with
# LambdaLR. Data and weights come from formulas and nothing is shuffled, so
# the numbers are compared with PyTorch's.
# compat: exact-all 1e-4 1e-6
# compat: expect accumulation_equals_full_batch == True
# compat: expect loss_fell == True
# compat: expect ema_between == True
# compat: expect best_restored == True
import argparse
import copy
import random
from contextlib import nullcontext

import numpy as np

import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F
from neuronet.utils.data import DataLoader, TensorDataset


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


class AverageMeter:
    """Computes and stores the average and current value."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.val = self.avg = self.sum = self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


parser = argparse.ArgumentParser(description="boilerplate")
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--accum", type=int, default=2)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--amp", action="store_true")
args = parser.parse_args([])

seed_everything(0)
torch.set_num_threads(1)
torch.set_float32_matmul_precision("high")
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
device_type = "cuda" if device.type == "cuda" else "cpu"
ctx = nullcontext() if device_type == "cpu" else torch.autocast(device_type=device_type, dtype=torch.bfloat16)
scaler = torch.amp.GradScaler(enabled=args.amp and device_type == "cuda")
print("RESULT scaler_enabled", scaler.is_enabled())

x = torch.stack([torch.linspace(-1, 1, 64), torch.cos(torch.linspace(0, 6, 64))], dim=1)
y = (x[:, 0] * 1.5 - x[:, 1] > 0).long()
train_loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=False)


def make_model():
    m = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    with torch.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.9 + i).view_as(p) * 0.5)
    return m.to(device)


# gradient accumulation over 2 batches of 8 equals one batch of 16 (mean losses)
m1, m2 = make_model(), make_model()
(F.cross_entropy(m1(x[:16]), y[:16])).backward()
for xb, yb in ((x[:8], y[:8]), (x[8:16], y[8:16])):
    (F.cross_entropy(m2(xb), yb) / 2).backward()
same = all(torch.allclose(a.grad, b.grad, atol=1e-6) for a, b in zip(m1.parameters(), m2.parameters()))
print("RESULT accumulation_equals_full_batch", same)

model = make_model()
ema = copy.deepcopy(model)
for p in ema.parameters():
    p.requires_grad_(False)
optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
warmup = 4
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))

best_loss, best_state, history = float("inf"), None, []
for epoch in range(args.epochs):
    model.train()
    meter = AverageMeter()
    optimizer.zero_grad(set_to_none=True)
    for it, (xb, yb) in enumerate(train_loader):
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        with ctx:
            logits = model(xb)
            loss = F.cross_entropy(logits, yb) / args.accum
        scaler.scale(loss).backward()
        meter.update(loss.item() * args.accum, xb.size(0))
        if (it + 1) % args.accum == 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            with torch.no_grad():
                for e, p in zip(ema.parameters(), model.parameters()):
                    e.mul_(0.9).add_(p.detach(), alpha=0.1)
    history.append(meter.avg)
    if meter.avg < best_loss:
        best_loss, best_state = meter.avg, copy.deepcopy(model.state_dict())
    print(f"epoch {epoch} loss {meter.avg:.4f} lr {scheduler.get_last_lr()[0]:.4f}")

model.eval()
with torch.inference_mode():
    acc = (model(x).argmax(dim=1) == y).float().mean().item()
    ema_acc = (ema(x).argmax(dim=1) == y).float().mean().item()
    out = model(x[:2])
print("RESULT inference_mode_no_grad", not out.requires_grad)
print("RESULT epoch_losses", ",".join(f"{v:.6f}" for v in history))
print("RESULT loss_fell", history[-1] < 0.5 * history[0])
print("RESULT accuracy", acc)
print("RESULT ema_accuracy", ema_acc)
w_first = make_model()[0].weight
print("RESULT ema_between", bool(not torch.equal(ema[0].weight, model[0].weight)
                                 and not torch.equal(ema[0].weight, w_first)))
model.load_state_dict(best_state)
print("RESULT best_restored", all(torch.equal(v, best_state[k]) for k, v in model.state_dict().items()))
print("RESULT best_loss", best_loss)
