# A two-layer ReLU network fitted by regression, written twice as in
# "Learning PyTorch with Examples": first with tensors and a hand-written
# backward pass (mm, clamp, t(), clone), then with autograd. Data and weights
# come from sin/cos formulas, so both trajectories are compared with PyTorch's,
# and the two versions must agree with each other.
# compat: exact-all 2e-4 1e-5
# compat: expect manual_loss_fell == True
# compat: expect autograd_loss_fell == True
# compat: expect manual_equals_autograd == True
import neuronet as torch

dtype = torch.float32
device = torch.device("cpu")
N, D_in, H, D_out = 64, 32, 20, 5


def formula(rows, cols, phase, scale):
    k = torch.arange(rows * cols, dtype=dtype, device=device).reshape(rows, cols)
    return torch.sin(k * 0.731 + phase) * scale


x = formula(N, D_in, 0.0, 1.0)
y = torch.cos(x[:, :D_out] * 2.0) + x[:, D_out:2 * D_out]

# --- manual backward
w1 = formula(D_in, H, 0.3, 0.2)
w2 = formula(H, D_out, 1.1, 0.2)
learning_rate = 1e-3
manual = []
for t in range(200):
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)

    loss = (y_pred - y).pow(2).sum().item()
    manual.append(loss)

    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.t().mm(grad_y_pred)
    grad_h_relu = grad_y_pred.mm(w2.t())
    grad_h = grad_h_relu.clone()
    grad_h[h < 0] = 0
    grad_w1 = x.t().mm(grad_h)

    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2

print("manual: loss", manual[0], "->", manual[-1])

# --- the same with autograd
w1 = formula(D_in, H, 0.3, 0.2).requires_grad_(True)
w2 = formula(H, D_out, 1.1, 0.2)
w2.requires_grad = True
auto = []
for t in range(200):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    auto.append(loss.item())
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()

print("autograd: loss", auto[0], "->", auto[-1])
print("RESULT manual_first", manual[0])
print("RESULT manual_final", manual[-1])
print("RESULT autograd_final", auto[-1])
print("RESULT w2_row0", ",".join(f"{v:.6f}" for v in w2[0].tolist()))
print("RESULT manual_loss_fell", manual[-1] < 0.5 * manual[0])
print("RESULT autograd_loss_fell", auto[-1] < 0.5 * auto[0])
print("RESULT manual_equals_autograd", all(abs(p - q) <= 1e-3 * max(1.0, abs(q)) for p, q in zip(manual, auto)))
