# Idioms of recent PyTorch code: torch.set_default_dtype / get_default_dtype,
# activation checkpointing with torch.utils.checkpoint.checkpoint
# (use_reentrant=False) giving the same gradients, the channels_last memory
# format, accelerator / backend probes (cuda, mps), torch.inference_mode as a
# decorator, and nn.Module.to(dtype). Weights come from formulas, so outputs and
# gradients are compared with PyTorch's. (torch.compile is left out: on the
# PyTorch side even its eager backend costs seconds of tracing.)
# compat: exact-all 1e-5 1e-6
# compat: expect checkpoint_same_grads == True
# compat: expect channels_last_same == True
import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F
from neuronet.utils.checkpoint import checkpoint

print("RESULT default_dtype", str(torch.get_default_dtype()).split(".")[-1])
torch.set_default_dtype(torch.float64)
print("RESULT default_dtype_after", str(torch.tensor([1.0]).dtype).split(".")[-1],
      str(torch.zeros(2).dtype).split(".")[-1], str(nn.Linear(2, 2).weight.dtype).split(".")[-1])
torch.set_default_dtype(torch.float32)
print("RESULT cuda", torch.cuda.is_available(), "mps", torch.backends.mps.is_available())


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class Net(nn.Module):
    def __init__(self, dim=8, depth=3, use_checkpoint=False):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])
        self.head = nn.Linear(dim, 2)
        self.use_checkpoint = use_checkpoint

    def forward(self, x):
        for blk in self.blocks:
            x = checkpoint(blk, x, use_reentrant=False) if self.use_checkpoint else blk(x)
        return self.head(x.mean(dim=1))


def formula_init_(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            k = torch.arange(p.numel(), dtype=p.dtype)
            p.copy_((torch.sin(k * 0.43 + i) * 0.3).view_as(p))


x = torch.cos(torch.arange(2 * 5 * 8, dtype=torch.float32).view(2, 5, 8) * 0.2)
y = torch.tensor([0, 1])

plain = Net()
formula_init_(plain)
out = plain(x)
F.cross_entropy(out, y).backward()
print("RESULT out", ",".join(str(v) for v in out.flatten().tolist()))

ckpt = Net(use_checkpoint=True)
ckpt.load_state_dict(plain.state_dict())
F.cross_entropy(ckpt(x), y).backward()
same = all(torch.allclose(a.grad, b.grad, atol=1e-6) for a, b in zip(plain.parameters(), ckpt.parameters()))
print("RESULT checkpoint_same_grads", same)



@torch.inference_mode()
def predict(model, inputs):
    return model(inputs).argmax(dim=1)


print("RESULT predicted", ",".join(map(str, predict(plain, x).tolist())))

conv = nn.Conv2d(3, 4, 3, padding=1)
formula_init_(conv)
img = torch.sin(torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6))
ref = conv(img)
conv_cl = conv.to(memory_format=torch.channels_last)
img_cl = img.to(memory_format=torch.channels_last)
print("RESULT channels_last_contiguous", img_cl.is_contiguous(memory_format=torch.channels_last))
print("RESULT channels_last_same", bool(torch.allclose(conv_cl(img_cl), ref, atol=1e-6)))

double = Net().to(torch.float64)
print("RESULT module_to_dtype", str(next(double.parameters()).dtype).split(".")[-1])
