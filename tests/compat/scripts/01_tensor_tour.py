# A first look at tensors: creation, attributes, indexing, joining, arithmetic,
# in-place operations and the NumPy bridge, in the style of "Learn the Basics".
# Every value here is deterministic, so all results and printed tensors are
# compared with PyTorch's.
# compat: exact-all 1e-6 1e-6
# compat: repr
# compat: expect numpy_shares_memory == True
# compat: expect from_numpy_shares_memory == True
import numpy as np
import neuronet as torch


def show(name, obj):
    print(f"BEGIN_REPR {name}")
    print(obj)
    print("END_REPR")


# --- creating tensors
data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
show("x_data", x_data)

np_array = np.array(data)
x_np = torch.from_numpy(np_array)
show("x_np", x_np)

x_ones = torch.ones_like(x_data)
show("ones_like", x_ones)
x_rand = torch.rand_like(x_data, dtype=torch.float)
print("RESULT rand_like_in_unit", bool(((x_rand >= 0) & (x_rand < 1)).all()))
print("RESULT rand_like_dtype_float", x_rand.dtype == torch.float32)

shape = (2, 3,)
show("zeros", torch.zeros(shape))
show("ones", torch.ones(shape))
show("full", torch.full((2, 2), 7.5))
show("arange", torch.arange(0, 10, 2))
show("linspace", torch.linspace(0, 1, steps=5))
show("eye", torch.eye(3))
show("empty_shape", torch.empty(3, 4).shape)

# --- attributes
tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4)
print("RESULT shape", ",".join(str(s) for s in tensor.shape))
print("RESULT ndim", tensor.ndim)
print("RESULT numel", tensor.numel())
print("RESULT dtype_is_float32", tensor.dtype == torch.float32)
print("RESULT device_is_cpu", tensor.device.type == "cpu")
print("RESULT size1", tensor.size(1))
show("dtype", tensor.dtype)
show("int_dtype", x_data.dtype)
show("size", tensor.size())

# --- indexing and slicing
tensor = torch.ones(4, 4)
print("RESULT first_row", ",".join(str(v) for v in tensor[0].tolist()))
print("RESULT last_column", ",".join(str(v) for v in tensor[..., -1].tolist()))
tensor[:, 1] = 0
show("col1_zero", tensor)
grid = torch.arange(16).view(4, 4)
show("rows_1_3", grid[1:3])
show("every_other", grid[::2, ::2])
show("fancy", grid[[0, 2], [1, 3]])
show("bool_mask", grid[grid > 10])
grid2 = grid.clone()
grid2[grid2 % 3 == 0] = -1
show("masked_assign", grid2)

# --- joining and reshaping
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print("RESULT cat_shape", ",".join(map(str, t1.shape)))
st = torch.stack([torch.zeros(2), torch.ones(2)])
show("stack", st)
r = torch.arange(6)
show("view", r.view(2, 3))
show("transpose", r.view(2, 3).t())
show("permute", torch.arange(24).reshape(2, 3, 4).permute(2, 0, 1).shape)
show("unsqueeze", r.unsqueeze(0).shape)
show("squeeze", torch.zeros(1, 3, 1).squeeze().shape)
show("flatten", torch.arange(8).reshape(2, 2, 2).flatten(1))
a, b = torch.arange(10).chunk(2)
show("chunk", b)
show("split", [s.tolist() for s in torch.arange(7).split(3)])

# --- arithmetic
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
print("RESULT matmul_agree", bool(torch.equal(y1, y2) and torch.equal(y1, y3)))
z1 = tensor * tensor
z2 = tensor.mul(tensor)
print("RESULT mul_agree", bool(torch.equal(z1, z2)))
agg = tensor.sum()
agg_item = agg.item()
print("RESULT sum_item", agg_item)
print("RESULT sum_item_type", type(agg_item).__name__)
m = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
print("RESULT mean", m.mean().item())
print("RESULT std", m.std().item())
print("RESULT max", m.max().item())
print("RESULT argmax_dim1", ",".join(str(i) for i in m.argmax(dim=1).tolist()))
vals, idx = m.max(dim=0)
print("RESULT max_dim0_values", ",".join(str(v) for v in vals.tolist()))
print("RESULT max_dim0_indices", ",".join(str(v) for v in idx.tolist()))
show("abs_clamp", m.abs().clamp(max=4))
show("sum_keepdim", m.sum(dim=1, keepdim=True))
show("exp_round", torch.exp(m / 10).round(decimals=3))

# --- in-place operations (suffix _)
t = torch.zeros(2, 3)
show("before_add_", t)
t.add_(5)
t.mul_(2).sub_(1)
show("after_add_", t)
t.zero_()
t.fill_(0.25)
t.clamp_(0.0, 0.2)
show("after_fill_clamp", t)

# --- dtypes
i = torch.tensor([1, 2, 3])
print("RESULT int_default_int64", i.dtype == torch.int64)
f = i.float()
print("RESULT float_is_float32", f.dtype == torch.float32)
d = i.to(torch.float64)
print("RESULT to_float64", d.dtype == torch.float64)
print("RESULT int_div_float", ",".join(str(v) for v in (i / 2).tolist()))
print("RESULT int_floordiv", ",".join(str(v) for v in (i // 2).tolist()))
show("bool_tensor", i > 1)
show("long_from_float", torch.tensor([1.7, -1.7]).long())
show("float64_print", torch.tensor([0.1, 2.0], dtype=torch.float64))
show("requires_grad_print", torch.tensor([1.0, 2.0], requires_grad=True))
show("scalar", torch.tensor(3.5))
show("big", torch.arange(2000))
show("small_floats", torch.tensor([1e-5, 1.0, 100.0]))
show("half", torch.tensor([1.5, 2.25]).half())

# --- the NumPy bridge
t = torch.ones(5)
n = t.numpy()
t.add_(1)
print("RESULT numpy_shares_memory", bool(n[0] == 2.0))
n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print("RESULT from_numpy_shares_memory", bool(t[0].item() == 2.0))
show("from_numpy_float64", t)
