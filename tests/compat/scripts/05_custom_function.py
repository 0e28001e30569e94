# Extending autograd with torch.autograd.Function: a Legendre polynomial
# P3(x) = (5x^3 - 3x)/2 with its hand-written derivative, and a clamp with a
# non-tensor argument whose backward returns None for it. The fit of sin(x)
# with y = a + b P3(c + d x) starts from fixed coefficients, so the numbers
# are compared with PyTorch's; gradcheck verifies both backward formulas.
# compat: exact-all 1e-4 1e-5
# compat: expect loss_fell == True
# compat: expect gradcheck_p3 == True
# compat: expect gradcheck_clamp == True
import math

import neuronet as torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3 applied elementwise; saves its input for the backward pass."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class Clamp(torch.autograd.Function):
    """Clamp to [lo, hi]; the gradient passes only where the input was inside."""

    @staticmethod
    def forward(ctx, input, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(input)
        return input.clamp(min=lo, max=hi)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        inside = (input >= ctx.lo) & (input <= ctx.hi)
        grad_input = grad_output.clone()
        grad_input[~inside] = 0
        return grad_input, None, None


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
losses = []
for t in range(400):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= learning_rate * p.grad
            p.grad = None

print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
print("RESULT first_loss", losses[0])
print("RESULT final_loss", losses[-1])
print("RESULT coefficients", ",".join(str(p.item()) for p in (a, b, c, d)))
print("RESULT loss_fell", losses[-1] < 0.5 * losses[0])

z = torch.tensor([-2.0, -0.5, 0.25, 1.5], requires_grad=True)
out = Clamp.apply(z, -1.0, 1.0)
out.sum().backward()
print("RESULT clamp_out", ",".join(str(v) for v in out.tolist()))
print("RESULT clamp_grad", ",".join(str(v) for v in z.grad.tolist()))
print("RESULT grad_fn_name", type(out.grad_fn).__name__.replace("Backward", ""))

inp = torch.tensor([0.3, -0.7, 1.2], dtype=torch.double, requires_grad=True)
print("RESULT gradcheck_p3", torch.autograd.gradcheck(LegendrePolynomial3.apply, (inp,), eps=1e-6, atol=1e-4))
inp2 = torch.tensor([0.3, -0.7, 0.9], dtype=torch.double, requires_grad=True)
print("RESULT gradcheck_clamp", torch.autograd.gradcheck(lambda t: Clamp.apply(t, -1.0, 1.0), (inp2,)))
