# The dtype and NumPy rules everyday code relies on without noticing: what
# torch.tensor infers from Python and NumPy values, type promotion between
# tensors, scalars and dtypes, true and floor division of integers, the
# familiar errors (numpy() on a tensor that requires grad, an in-place op
# that would need a narrower dtype, mismatched shapes in matmul), the
# .detach().cpu().numpy() idiom, as_tensor/from_numpy sharing memory,
# Python conversions (float(), int(), bool(), len(), iteration, tolist) and
# sum() over a list of tensors. Everything is deterministic and compared with
# PyTorch.
# compat: exact-all 1e-6 1e-7
import numpy as np

import neuronet as torch


def dt(t):
    return str(t.dtype).split(".")[-1]


print("RESULT infer_int", dt(torch.tensor([1, 2])))
print("RESULT infer_float", dt(torch.tensor([1.0, 2])))
print("RESULT infer_bool", dt(torch.tensor([True, False])))
print("RESULT infer_np_float64", dt(torch.tensor(np.array([1.0, 2.0]))))
print("RESULT infer_np_int32", dt(torch.tensor(np.array([1, 2], dtype=np.int32))))
print("RESULT infer_np_scalar", dt(torch.tensor(np.float32(2.5))))
print("RESULT from_numpy_float64", dt(torch.from_numpy(np.zeros(3))))
print("RESULT tensor_dtype_arg", dt(torch.tensor([1, 2], dtype=torch.float32)))

i64 = torch.tensor([1, 2, 3])
f32 = torch.tensor([0.5, 1.5, 2.5])
f64 = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64)
i32 = torch.tensor([1, 2, 3], dtype=torch.int32)
u8 = torch.tensor([250, 5, 3], dtype=torch.uint8)
print("RESULT promote_int_float_scalar", dt(i64 * 1.5))
print("RESULT promote_int_int_scalar", dt(i64 * 2))
print("RESULT promote_f32_f64", dt(f32 + f64))
print("RESULT promote_i64_f32", dt(i64 + f32))
print("RESULT promote_i32_i64", dt(i32 + i64))
print("RESULT promote_f32_pyfloat", dt(f32 * 2.0))
print("RESULT promote_f32_0d_f64", dt(f32 * torch.tensor(2.0, dtype=torch.float64)))
print("RESULT promote_bool_int", dt(torch.tensor([True, False]) + 1))
print("RESULT promote_u8_int", dt(u8 + 1))
print("RESULT u8_wraps", ",".join(str(v) for v in (u8 + 10).tolist()))
print("RESULT int_true_div", dt(i64 / 2), ",".join(str(v) for v in (i64 / 2).tolist()))
print("RESULT int_floor_div", ",".join(str(v) for v in (torch.tensor([-7, 7]) // 2).tolist()))
print("RESULT int_remainder", ",".join(str(v) for v in (torch.tensor([-7, 7]) % 3).tolist()))
print("RESULT compare_dtype", dt(f32 > 1))
print("RESULT mean_of_int_raises", end=" ")
try:
    i64.mean()
    print(False)
except RuntimeError as e:
    print(True)
print("RESULT sum_int_dtype", dt(i32.sum()))
print("RESULT argmax_dtype", dt(f32.argmax()))
print("RESULT float_cast_rounds_toward_zero", ",".join(str(v) for v in torch.tensor([-1.7, 1.7]).int().tolist()))

# (PyTorch refuses w.numpy() on a tensor that requires grad; neuronet returns
# the array -- a documented difference -- so the tutorial's detach() form is used.)
w = torch.ones(2, requires_grad=True)
print("RESULT detached_numpy", w.detach().numpy().tolist())
arr = (w * 2).detach().cpu().numpy()
print("RESULT detach_numpy", type(arr).__name__, arr.dtype)

z = torch.zeros(3, dtype=torch.long)
try:
    z.add_(0.5)
    raised = False
except RuntimeError as e:
    raised = True
    print("in-place cast error:", e)
print("RESULT inplace_narrowing_raises", raised)

try:
    torch.ones(2, 3) @ torch.ones(2, 3)
    raised = False
except RuntimeError as e:
    raised = True
    print("matmul error:", e)
print("RESULT matmul_shape_raises", raised)

try:
    torch.ones(2, 3) + torch.ones(3, 2)
    raised = False
except RuntimeError as e:
    raised = True
print("RESULT broadcast_mismatch_raises", raised)

n = np.arange(4, dtype=np.float32)
a = torch.as_tensor(n)
n[0] = 10
print("RESULT as_tensor_shares", a[0].item())
b = torch.tensor(n)
n[1] = 20
print("RESULT tensor_copies", b[1].item())
print("RESULT np_asarray_of_tensor", np.asarray(torch.arange(3)).tolist())
print("RESULT np_array_op", (np.ones(3) * torch.tensor([1.0, 2.0, 3.0]).numpy()).tolist())

t = torch.tensor([[1.5, 2.5], [3.5, 4.5]])
print("RESULT float_of_0d", float(t[0, 0]))
print("RESULT int_of_0d", int(t[1, 1]))
print("RESULT bool_of_0d", bool(t[0, 0] > 1))
print("RESULT len_of_tensor", len(t))
print("RESULT rows_iterated", ",".join(str(row.sum().item()) for row in t))
print("RESULT sum_of_list", sum([torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.5)]).item())
print("RESULT python_max", max(torch.tensor([3, 9, 2])).item())
print("RESULT in_operator", 9 in torch.tensor([3, 9, 2]))
print("RESULT round_trip_list", str(torch.tensor(t.tolist()).tolist()).replace(" ", ""))
print("RESULT index_with_tensor", t[torch.tensor(1)].tolist())
print("RESULT index_with_np_int", t[np.int64(0), 1].item())
print("RESULT bool_ambiguous_raises", end=" ")
try:
    bool(t > 0)
    print(False)
except RuntimeError:
    print(True)
