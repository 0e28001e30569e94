# Working with nn.Module the way tutorials and feature-extraction code do:
# print(model) (compared line by line with PyTorch), named_modules /
# named_children / named_parameters, ModuleList and ModuleDict, a forward hook
# collecting activations and a full backward hook, state_dict keys and
# load_state_dict(strict=False) reporting missing/unexpected keys, train/eval
# switching Dropout and BatchNorm, .double() and dtype of parameters,
# register_buffer (persistent or not), and parameter counting. Weights come
# from a formula, so the numbers are compared with PyTorch's.
# compat: exact-all 1e-5 1e-6
# compat: repr
import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F


def show(name, obj):
    print(f"BEGIN_REPR {name}")
    print(obj)
    print("END_REPR")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2, 2)
        self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(2)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(16, 3), "reg": nn.Linear(16, 1)})
        self.drop = nn.Dropout(p=0.5)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("scratch", torch.ones(2), persistent=False)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv1(x))))     # (N, 4, 2, 2)
        x = torch.flatten(x, 1)                           # (N, 16)
        for block in self.blocks:
            x = F.relu(block(x)) + x
        x = self.drop(x)
        self.steps += 1
        return self.heads["cls"](x), self.heads["reg"](x)


def formula_init_(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            k = torch.arange(p.numel(), dtype=p.dtype)
            p.copy_((torch.cos(k * 0.7 + i) * 0.4).view_as(p))


model = Net()
formula_init_(model)
show("model", model)
show("sequential", nn.Sequential(nn.Conv2d(3, 8, kernel_size=(3, 5), stride=2, bias=False),
                                 nn.BatchNorm2d(8, momentum=0.01), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 2)))
show("embedding", nn.Embedding(10, 3, padding_idx=0))
show("lstm", nn.LSTM(4, 8, num_layers=2, batch_first=True))
show("transposed", nn.ConvTranspose2d(4, 2, 2, stride=2))
print("RESULT module_names", ",".join(n for n, _ in model.named_modules() if n))
print("RESULT child_names", ",".join(n for n, _ in model.named_children()))
print("RESULT param_names", ",".join(n for n, _ in model.named_parameters()))
print("RESULT state_keys", ",".join(model.state_dict().keys()))
print("RESULT buffer_names", ",".join(n for n, _ in model.named_buffers()))
print("RESULT num_params", sum(p.numel() for p in model.parameters()))
print("RESULT num_trainable", sum(p.numel() for p in model.parameters() if p.requires_grad))

activations = {}


def get_activation(name):
    def hook(module, inputs, output):
        activations[name] = output.detach()
    return hook


handle = model.blocks[0].register_forward_hook(get_activation("block0"))
grads = {}


def save_grad(module, grad_input, grad_output):
    grads["conv1_out"] = grad_output[0].detach()


model.conv1.register_full_backward_hook(save_grad)

x = torch.sin(torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4))
model.eval()
cls_eval, reg_eval = model(x)
print("RESULT eval_cls", ",".join(str(v) for v in cls_eval.flatten().tolist()))
print("RESULT block0_activation", ",".join(str(v) for v in activations["block0"][0, :6].tolist()))
handle.remove()
activations.clear()
model(x)
print("RESULT hook_removed", "block0" not in activations)
model.train()
cls_train, reg_train = model(x)
(cls_train.sum() + reg_train.sum()).backward()
print("RESULT conv1_out_grad_shape", ",".join(map(str, grads["conv1_out"].shape)))
print("RESULT dropout_active_in_train", not torch.equal(cls_train, cls_eval))
print("RESULT training_flags", model.training, model.drop.training)
print("RESULT running_mean", ",".join(str(v) for v in model.bn.running_mean.tolist()))
print("RESULT num_batches_tracked", model.bn.num_batches_tracked.item())
print("RESULT steps_buffer", model.steps.item())

# strict=False loading into a model with a different head
sd = model.state_dict()
del sd["heads.reg.weight"]
sd["extra.weight"] = torch.zeros(1)
result = Net().load_state_dict(sd, strict=False)
print("RESULT missing_keys", ",".join(result.missing_keys))
print("RESULT unexpected_keys", ",".join(result.unexpected_keys))
try:
    Net().load_state_dict(sd)
    strict_raised = False
except RuntimeError as e:
    strict_raised = True
    print("strict load:", str(e).splitlines()[0])
print("RESULT strict_raised", strict_raised)

model = model.double()
print("RESULT double_dtype", next(model.parameters()).dtype == torch.float64)
print("RESULT buffer_long_kept", model.steps.dtype == torch.int64)
model.zero_grad()
print("RESULT grads_none_after_module_zero_grad", all(p.grad is None for p in model.parameters()))
model.requires_grad_(False)
print("RESULT frozen_count", sum(p.requires_grad for p in model.parameters()))
