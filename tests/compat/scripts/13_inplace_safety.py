# In-place operations and autograd's safety checks: modifying a tensor that
# a backward formula saved raises at backward() with the version-counter
# message; an in-place op on a leaf that requires grad raises at once; the
# legal cases (in-place on an unsaved intermediate, on a leaf under no_grad,
# ReLU(inplace=True) in a network) work and give the right gradients. The
# errors are caught and printed, as a tutorial would show them. Everything
# is deterministic and compared with PyTorch.
# compat: exact-all 1e-6 1e-7
# compat: expect saved_output_raised == True
# compat: expect saved_input_raised == True
# compat: expect leaf_raised == True
import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F


def csv(t):
    return ",".join(f"{v:.6g}" for v in t.flatten().tolist())


# 1. sigmoid saves its output; scaling that output in place invalidates it
a = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
b = a.sigmoid()
b.mul_(2)
try:
    b.sum().backward()
    raised = False
except RuntimeError as e:
    raised = True
    msg = str(e)
    print("RuntimeError:", msg)
print("RESULT saved_output_raised", raised)
print("RESULT message_names_inplace", raised and "modified by an inplace operation" in msg)
print("RESULT message_names_versions", raised and "is at version 1; expected version 0 instead" in msg)

# 2. x ** 2 saves x; adding to x afterwards is caught too
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
x = a * 2
y = x ** 2
x.add_(1)
print("RESULT version_after_add_", x._version)
try:
    y.sum().backward()
    raised = False
except RuntimeError as e:
    raised = True
    print("RuntimeError:", str(e).splitlines()[0])
print("RESULT saved_input_raised", raised)

# 3. in-place on a leaf that requires grad
w = torch.ones(3, requires_grad=True)
try:
    w.add_(1)
    raised = False
except RuntimeError as e:
    raised = True
    msg = str(e)
    print("RuntimeError:", msg)
print("RESULT leaf_raised", raised)
print("RESULT leaf_message", raised and "a leaf Variable that requires grad is being used in an in-place operation" in msg)
print("RESULT leaf_value_untouched", csv(w.detach()))

# 4. legal: in-place on an intermediate nobody saved
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
x = a * 2
x.add_(1)
x.mul_(3)       # mul saves the other factor, not x
x.sum().backward()
print("RESULT legal_inplace_grad", csv(a.grad))
print("RESULT legal_inplace_value", csv(x.detach()))

# 5. legal: optimizer-style update of a leaf under no_grad bumps its version
p = torch.tensor([1.0, 2.0], requires_grad=True)
v0 = p._version
with torch.no_grad():
    p.sub_(0.5)
    p.mul_(2)
print("RESULT no_grad_update", csv(p.detach()))
print("RESULT no_grad_versions", p._version - v0)
print("RESULT still_leaf", p.is_leaf and p.requires_grad)

# 6. indexing assignment into a non-leaf keeps the graph
a = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
h = a * 1.0
h[1] = 10.0
h[2:] *= 3
(h * h).sum().backward()
print("RESULT setitem_grad", csv(a.grad))

# 7. ReLU(inplace=True) after a linear layer trains normally
lin = nn.Linear(4, 3)
with torch.no_grad():
    lin.weight.copy_(torch.arange(12, dtype=torch.float32).view(3, 4) / 10 - 0.5)
    lin.bias.fill_(0.1)
net = nn.Sequential(lin, nn.ReLU(inplace=True), nn.Linear(3, 1))
with torch.no_grad():
    net[2].weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
    net[2].bias.zero_()
inp = torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.0, 1.0, 0.5]])
out = net(inp)
out.sum().backward()
print("RESULT relu_inplace_out", csv(out.detach()))
print("RESULT relu_inplace_grad", csv(lin.weight.grad))

# 8. F.relu(..., inplace=True) on a tensor sigmoid saved is caught
a = torch.tensor([0.3, -0.2], requires_grad=True)
s = torch.sigmoid(a) - 0.5
t = torch.sigmoid(s)
F.relu(s, inplace=False)
try:
    F.relu(t, inplace=True).sum().backward()
    ok = True
except RuntimeError as e:
    ok = False
    print("RuntimeError:", str(e).splitlines()[0])
print("RESULT relu_inplace_on_sigmoid_output_raises", not ok)

# 9. detach() shares storage: modifying the detached tensor is seen by autograd
a = torch.tensor([1.0, 2.0], requires_grad=True)
e = a.exp()
d = e.detach()
d.zero_()
try:
    e.sum().backward()
    raised = False
except RuntimeError:
    raised = True
print("RESULT detach_shared_version_raised", raised)
