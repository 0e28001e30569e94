# Tensor plumbing that training code leans on: gather for picking per-row
# entries (as in a policy-gradient or label-smoothing loss), scatter_ /
# scatter_add_ / one_hot, topk accuracy, where, masked_fill for attention
# masks, index_select, nonzero, sort/argsort, unique, bincount, cumsum,
# einsum and bmm, and clamp/lerp. All inputs are formulas, so every result
# (and the gradients through gather and masked softmax) is compared with
# PyTorch's.
# compat: exact-all 1e-5 1e-6
import neuronet as torch
import neuronet.nn.functional as F


def csv(t):
    if isinstance(t, (list, tuple)):
        return ",".join(str(v) for v in t)
    return ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in t.flatten().tolist())


logits = torch.sin(torch.arange(20, dtype=torch.float32).view(4, 5) * 1.3)
targets = torch.tensor([1, 0, 4, 2])

# gather: log-probability of each target
logp = F.log_softmax(logits, dim=1)
picked = logp.gather(1, targets.unsqueeze(1)).squeeze(1)
print("RESULT gathered", csv(picked))
print("RESULT gather_matches_nll", bool(torch.allclose(-picked.mean(), F.cross_entropy(logits, targets))))

# scatter_ builds one-hot targets; label smoothing by hand
one_hot = torch.zeros(4, 5).scatter_(1, targets.unsqueeze(1), 1.0)
print("RESULT scatter_one_hot", csv(one_hot))
print("RESULT one_hot_equal", bool(torch.equal(one_hot.long(), F.one_hot(targets, num_classes=5))))
smooth = one_hot * 0.9 + 0.1 / 5
print("RESULT smoothed_loss", -(smooth * logp).sum(dim=1).mean().item())
print("RESULT builtin_smoothing", F.cross_entropy(logits, targets, label_smoothing=0.1).item())

# scatter_add_: per-class sums
values = torch.arange(1, 9, dtype=torch.float32)
groups = torch.tensor([0, 2, 1, 0, 2, 2, 1, 0])
sums = torch.zeros(3).scatter_add_(0, groups, values)
print("RESULT scatter_add", csv(sums))
print("RESULT bincount", csv(torch.bincount(groups)))
print("RESULT index_add", csv(torch.zeros(3).index_add_(0, groups, values)))

# top-k accuracy
maxk = 3
_, pred = logits.topk(maxk, 1, True, True)
pred = pred.t()
correct = pred.eq(targets.view(1, -1).expand_as(pred))
res = [correct[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / 4).item() for k in (1, 3)]
print("RESULT topk_indices", csv(pred.t()))
print("RESULT top1_top3", csv(res))
vals, idx = torch.topk(logits.flatten(), 4, largest=False)
print("RESULT smallest4", csv(vals))

# where / masked_fill / attention-style masking
mask = torch.tril(torch.ones(4, 4)).bool()
scores = torch.cos(torch.arange(16, dtype=torch.float32).view(4, 4))
scores.requires_grad_(True)
att = scores.masked_fill(~mask, float('-inf')).softmax(dim=-1)
print("RESULT attention_row2", csv(att[2].detach()))
(att * torch.arange(4, dtype=torch.float32)).sum().backward()
print("RESULT attention_grad_row3", csv(scores.grad[3]))
print("RESULT where", csv(torch.where(logits > 0, logits, torch.zeros_like(logits))[0]))
print("RESULT nonzero", csv(torch.nonzero(targets > 0).flatten()))
print("RESULT index_select", csv(torch.index_select(logits, 0, torch.tensor([3, 0]))[:, 0]))

# gradient through gather
w = torch.arange(6, dtype=torch.float32).view(2, 3).requires_grad_()
w.gather(1, torch.tensor([[2, 2], [0, 1]])).sum().backward()
print("RESULT gather_grad", csv(w.grad))

# sorting, unique, cumulative ops
s, order = torch.sort(torch.tensor([3.0, -1.0, 2.0, 7.0, 0.5]), descending=True)
print("RESULT sorted", csv(s))
print("RESULT argsort", csv(order))
u, inv, counts = torch.unique(torch.tensor([3, 1, 3, 2, 1, 3]), return_inverse=True, return_counts=True)
print("RESULT unique", csv(u))
print("RESULT unique_inverse", csv(inv))
print("RESULT unique_counts", csv(counts))
print("RESULT cumsum", csv(torch.arange(1, 6).cumsum(0)))
print("RESULT argmax_flat", torch.argmax(logits).item())

# einsum, bmm, broadcasting
A = torch.arange(24, dtype=torch.float32).view(2, 3, 4) / 10
B = torch.arange(8, dtype=torch.float32).view(2, 4, 1) - 3
print("RESULT bmm", csv(torch.bmm(A, B)))
print("RESULT einsum", csv(torch.einsum('bij,bjk->bik', A, B)))
print("RESULT einsum_trace", torch.einsum('ii', torch.arange(9.).view(3, 3)).item())
print("RESULT outer_sum", (torch.arange(3.)[:, None] * torch.arange(4.)[None, :]).sum().item())
print("RESULT lerp", csv(torch.lerp(torch.zeros(3), torch.tensor([1.0, 2.0, 4.0]), 0.25)))
print("RESULT clamp_min", csv(logits[1].clamp(min=-0.2)))
print("RESULT norm", torch.norm(logits).item())
print("RESULT chunk_cat", csv(torch.cat(logits.chunk(2, dim=1)[::-1], dim=1)[0]))
