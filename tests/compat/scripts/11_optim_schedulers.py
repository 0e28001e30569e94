# Optimizers and learning-rate schedulers on one small regression problem:
# SGD with momentum, Adam, AdamW, RMSprop, per-layer parameter groups,
# OneCycleLR stepped every batch, CosineAnnealingLR and MultiStepLR stepped
# every epoch, LambdaLR, zero_grad(set_to_none=True), clip_grad_norm_ and
# ReduceLROnPlateau. Data and starting weights come from formulas, so every
# loss, learning rate and gradient norm is compared with PyTorch's.
# compat: exact-all 1e-4 1e-6
# compat: expect grads_none_after_zero_grad == True
# compat: expect all_losses_fell == True
# compat: expect clipped_norm_le_max == True

import neuronet as torch
import neuronet.nn as nn
import neuronet.optim as optim
from neuronet.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, MultiStepLR, OneCycleLR, ReduceLROnPlateau

x = torch.linspace(-2, 2, 64).unsqueeze(1)
features = torch.cat([x, x ** 2, torch.sin(3 * x)], dim=1)          # (64, 3)
target = 0.5 * features[:, :1] - features[:, 1:2] + 0.8 * torch.cos(2 * x)


def make_model():
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            k = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_(torch.cos(k * 0.91 + 0.5 * i).reshape(p.shape) * 0.4)
    return model


loss_fn = nn.MSELoss()


def run(name, make_opt, steps=60, scheduler=None, per_step_sched=True, clip=None):
    model = make_model()
    opt = make_opt(model)
    sched = scheduler(opt) if scheduler else None
    losses, lrs, norms = [], [], []
    for step in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(features), target)
        loss.backward()
        if clip is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=clip)))
        opt.step()
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
        if sched is not None and (per_step_sched or step % 10 == 9):
            sched.step()
    print(f"{name:>10}: loss {losses[0]:.4f} -> {losses[-1]:.6f}")
    print(f"RESULT {name}_final_loss", losses[-1])
    print(f"RESULT {name}_loss_10", losses[10])
    print(f"RESULT {name}_lrs", ",".join(f"{v:.8g}" for v in lrs[::10]))
    return losses, norms, model


results = {}
results["sgd"] = run("sgd", lambda m: optim.SGD(m.parameters(), lr=0.05, momentum=0.9))
results["adam"] = run("adam", lambda m: optim.Adam(m.parameters(), lr=0.01, betas=(0.9, 0.999)))
results["adamw"] = run("adamw", lambda m: optim.AdamW(m.parameters(), lr=0.01, weight_decay=0.1))
results["rmsprop"] = run("rmsprop", lambda m: optim.RMSprop(m.parameters(), lr=0.003, alpha=0.9))
results["groups"] = run("groups", lambda m: optim.SGD([
    {"params": m[0].parameters()},
    {"params": m[2].parameters(), "lr": 0.01},
], lr=0.1, momentum=0.5))
results["onecycle"] = run("onecycle", lambda m: optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
                          scheduler=lambda o: OneCycleLR(o, max_lr=0.1, total_steps=60))
results["cosine"] = run("cosine", lambda m: optim.Adam(m.parameters(), lr=0.02),
                        scheduler=lambda o: CosineAnnealingLR(o, T_max=6, eta_min=1e-4), per_step_sched=False)
results["multistep"] = run("multistep", lambda m: optim.SGD(m.parameters(), lr=0.05),
                           scheduler=lambda o: MultiStepLR(o, milestones=[2, 4], gamma=0.1), per_step_sched=False)
results["lambda"] = run("lambda", lambda m: optim.SGD(m.parameters(), lr=0.05, nesterov=True, momentum=0.8),
                        scheduler=lambda o: LambdaLR(o, lr_lambda=lambda step: 0.97 ** step))
results["clipped"] = run("clipped", lambda m: optim.SGD(m.parameters(), lr=0.1), clip=0.5)

losses, norms, model = results["clipped"]
print("RESULT clip_norms_first", ",".join(f"{v:.6g}" for v in norms[:5]))
print("RESULT clipped_norm_le_max", all(
    float(torch.linalg.vector_norm(p.grad)) <= 0.5 + 1e-5 for p in model.parameters()))
print("RESULT all_losses_fell", all(r[0][-1] < 0.5 * r[0][0] for r in results.values()))

# zero_grad(set_to_none=True) leaves .grad as None; the default in PyTorch 2.x does too
model = make_model()
opt = optim.Adam(model.parameters(), lr=1e-3)
loss_fn(model(features), target).backward()
opt.step()
opt.zero_grad(set_to_none=True)
print("RESULT grads_none_after_zero_grad", all(p.grad is None for p in model.parameters()))
print("RESULT adam_state_keys", ",".join(sorted(opt.state_dict()["state"][0].keys())))
print("RESULT param_group_keys_have_lr", "lr" in opt.param_groups[0] and "betas" in opt.param_groups[0])

# ReduceLROnPlateau watches a metric
opt = optim.SGD(make_model().parameters(), lr=1.0)
plateau = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.7, 0.8, 0.8]:
    plateau.step(metric)
print("RESULT plateau_lr", opt.param_groups[0]["lr"])
