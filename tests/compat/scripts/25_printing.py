# What tutorials print, compared line by line with PyTorch: tensors of every
# common dtype and shape (including summarised large ones, NaN/inf, negative
# and scientific values), tensors carrying grad_fn (as `print(loss)` shows
# after a forward pass), set_printoptions, torch.Size / dtype / device, and
# f-string formatting of 0-d tensors. All values come from formulas.
# compat: repr
# compat: exact-all 1e-6 1e-7
import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F


def show(name, obj):
    print(f"BEGIN_REPR {name}")
    print(obj)
    print("END_REPR")


show("int8", torch.tensor([-3, 0, 7], dtype=torch.int8))
show("uint8", torch.arange(250, 256, dtype=torch.uint8))
show("int32", torch.tensor([[1, -20], [300, 4]], dtype=torch.int32))
show("bool2d", torch.tensor([[True, False], [False, True]]))
show("float_neg", torch.tensor([-1.5, 0.0, 2.25]))
show("sci", torch.tensor([1e-8, 1.0, 1e8]))
show("nan_inf", torch.tensor([float('nan'), float('inf'), -float('inf'), 1.0]))
show("big_2d", torch.arange(40 * 40, dtype=torch.float32).view(40, 40) / 7)
show("three_d", torch.arange(12).view(2, 2, 3))
show("empty", torch.empty(0, 3))
show("zero_d_int", torch.tensor(5))
show("float64_2d", torch.linspace(0, 1, 6, dtype=torch.float64).view(2, 3))
show("ones_int_float", torch.ones(2, 2, dtype=torch.int64).float() / 3)
show("size_obj", torch.zeros(2, 3, 4).shape)
show("size_tuple", tuple(torch.zeros(2, 3).size()))
show("dtype_obj", torch.float16)
show("device_obj", torch.device("cpu"))
show("device_tensor", torch.zeros(1).device)

# grad_fn in reprs
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
show("mul_grad_fn", x * 2)
show("add_grad_fn", x + 1)
show("sum_grad_fn", (x * x).sum())
show("mean_grad_fn", x.mean())
show("pow_grad_fn", x ** 2)
show("view_grad_fn", (x * 1).view(3, 1))
show("sigmoid_grad_fn", torch.sigmoid(x))

lin = nn.Linear(3, 2)
with torch.no_grad():
    lin.weight.copy_(torch.tensor([[0.1, -0.2, 0.3], [0.5, 0.4, -0.1]]))
    lin.bias.copy_(torch.tensor([0.01, -0.02]))
out = lin(x.unsqueeze(0))
show("linear_out", out)
loss = F.cross_entropy(out, torch.tensor([1]))
show("ce_loss", loss)
show("mse_loss", F.mse_loss(out, torch.zeros(1, 2)))
show("relu_out", F.relu(out))
show("softmax_out", F.softmax(out, dim=1))
show("param_repr", lin.bias)
show("detached", out.detach())
with torch.no_grad():
    show("no_grad_out", lin(x.unsqueeze(0)))

print(f"RESULT fstring_loss {loss.item():.4f}")
print("RESULT format_tensor", f"{loss:.3f}")
print("RESULT str_equals_repr", str(out) == repr(out))
print("RESULT item_int_type", type(torch.tensor(3).item()).__name__)
print("RESULT tolist_nested", str(torch.arange(4).view(2, 2).tolist()).replace(" ", ""))

torch.set_printoptions(precision=2)
show("precision2", torch.tensor([3.14159, 2.71828]))
torch.set_printoptions(sci_mode=True)
show("sci_mode", torch.tensor([123.456, 0.001]))
torch.set_printoptions(profile="default")
show("back_to_default", torch.tensor([3.14159, 2.71828]))
torch.set_printoptions(threshold=5, edgeitems=2)
show("threshold5", torch.arange(10))
torch.set_printoptions(profile="default")
show("linewidth_default", torch.arange(30, dtype=torch.float32))
