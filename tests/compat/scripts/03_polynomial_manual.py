# Fit y = sin(x) with a third-order polynomial y = a + b x + c x^2 + d x^3,
# written with tensors and autograd only: weights updated by hand under
# no_grad, then their gradients reset (first with .zero_(), later by setting
# them to None). The coefficients start from fixed values, so the whole
# trajectory is compared with PyTorch's.
# compat: exact-all 1e-4 1e-5
# compat: expect loss_fell == True
# compat: expect grad_none_after_reset == True
import math

import neuronet as torch

dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

a = torch.tensor(0.3, device=device, dtype=dtype, requires_grad=True)
b = torch.tensor(-0.2, device=device, dtype=dtype, requires_grad=True)
c = torch.tensor(0.1, device=device, dtype=dtype, requires_grad=True)
d = torch.tensor(0.05, device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
losses = []
for t in range(600):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    if t % 100 == 99:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        if t < 300:
            a.grad.zero_()
            b.grad.zero_()
            c.grad.zero_()
            d.grad.zero_()
        else:
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
print("RESULT first_loss", losses[0])
print("RESULT loss_300", losses[300])
print("RESULT final_loss", losses[-1])
print("RESULT coefficients", ",".join(str(p.item()) for p in (a, b, c, d)))
print("RESULT loss_fell", losses[-1] < 0.1 * losses[0])
print("RESULT grad_none_after_reset", a.grad is None)
print("RESULT still_leaf", a.is_leaf and a.requires_grad)
