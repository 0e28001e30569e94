# Automatic differentiation with autograd: a one-layer network's gradients,
# grad_fn, gradient accumulation, no_grad / detach, retain_graph, gradients
# of non-scalar outputs, hooks and autograd.grad. (Higher-order gradients --
# create_graph=True -- are a documented neuronet limitation, not exercised here.)
# Inputs and weights come from formulas, so every
# number is compared with PyTorch's.
# compat: exact-all 1e-5 1e-6
# compat: expect z_requires_grad_under_no_grad == False
# compat: expect detached_requires_grad == False
# compat: expect double_backward_raised == True
import neuronet as torch
import neuronet.nn.functional as F


def csv(t):
    return ",".join(f"{v:.6g}" for v in t.flatten().tolist())


x = torch.ones(5)  # input
y = torch.zeros(3)  # expected output
w = (torch.arange(15, dtype=torch.float32).reshape(5, 3) / 10 - 0.7).requires_grad_()
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w) + b
loss = F.binary_cross_entropy_with_logits(z, y)

print("Gradient function for z =", z.grad_fn)
print("Gradient function for loss =", loss.grad_fn)
print("RESULT z_has_grad_fn", z.grad_fn is not None)
print("RESULT leaf_w", w.is_leaf)
print("RESULT leaf_z", z.is_leaf)
print("RESULT w_grad_before", w.grad is None)

loss.backward()
print("RESULT loss", loss.item())
print("RESULT w_grad", csv(w.grad))
print("RESULT b_grad", csv(b.grad))

# gradients accumulate until zeroed
loss = F.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y)
loss.backward()
print("RESULT b_grad_accumulated", csv(b.grad))
b.grad.zero_()
print("RESULT b_grad_zeroed", csv(b.grad))

# disabling gradient tracking
z = torch.matmul(x, w) + b
print("RESULT z_requires_grad", z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print("RESULT z_requires_grad_under_no_grad", z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print("RESULT detached_requires_grad", z_det.requires_grad)
print("RESULT is_grad_enabled", torch.is_grad_enabled())
torch.set_grad_enabled(False)
print("RESULT grad_disabled", torch.is_grad_enabled())
torch.set_grad_enabled(True)


@torch.no_grad()
def evaluate(v):
    return (v * 2).sum()


print("RESULT decorated_no_grad", evaluate(w).requires_grad)

# Jacobian-vector products: backward of a non-scalar output with a gradient argument
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print("RESULT jvp_first", csv(inp.grad))
out.backward(torch.ones_like(out))
print("RESULT jvp_second", csv(inp.grad))
inp.grad.zero_()
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out))
print("RESULT jvp_after_zero", csv(inp.grad))

# a second backward through a freed graph is an error
a = torch.tensor([2.0, 3.0], requires_grad=True)
s = (a * a).sum()
s.backward()
try:
    s.backward()
    raised = False
except RuntimeError as e:
    raised = True
    print("second backward:", str(e).splitlines()[0])
print("RESULT double_backward_raised", raised)

# hooks on intermediate tensors and retain_grad
v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
mid = v * 3
mid.retain_grad()
seen = []
mid.register_hook(lambda grad: seen.append(grad.clone()))
(mid.sin()).sum().backward()
print("RESULT mid_grad", csv(mid.grad))
print("RESULT hook_grad", csv(seen[0]))
print("RESULT v_grad", csv(v.grad))

# torch.autograd.grad: the gradient returned, .grad left alone
q = torch.tensor([1.0, -2.0], requires_grad=True)
(gq,) = torch.autograd.grad((q ** 2).sum(), q)
print("RESULT autograd_grad", csv(gq))
print("RESULT autograd_grad_leaves_grad_none", q.grad is None)
