# Saving and loading as the tutorial on the subject walks through it: a
# state_dict to a .pt file and back into a fresh model (eval() before
# inference), the optimizer's state_dict, a general checkpoint dict with epoch
# and loss, several models and optimizers in one file, warm-starting a
# different model from part of another with strict=False, map_location,
# weights_only=True, io.BytesIO buffers, plain tensors and containers of
# tensors, and (last) saving and loading the whole model object. Weights are
# formulas, so the reloaded outputs are compared with PyTorch's.
# compat: exact-all 1e-5 1e-6
# compat: expect state_dict_roundtrip == True
# compat: expect optimizer_roundtrip == True
# compat: expect checkpoint_epoch == 5
# compat: expect warmstart_copied == True
import io
import os
import tempfile

import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F
import neuronet.optim as optim


class TheModelClass(nn.Module):
    def __init__(self):
        super(TheModelClass, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def formula_init_(model, phase=0.0):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            k = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(k * 0.29 + i + phase) * 0.1).view_as(p))


tmp = tempfile.mkdtemp()
x = torch.cos(torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).view(2, 3, 32, 32) * 0.01)

model = TheModelClass()
formula_init_(model)
optimizer = optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
for step in range(2):
    optimizer.zero_grad()
    F.cross_entropy(model(x), torch.tensor([1, 7])).backward()
    optimizer.step()

print("Model's state_dict:")
for param_tensor in model.state_dict():
    print(param_tensor, "\t", tuple(model.state_dict()[param_tensor].size()))
print("Optimizer's state_dict keys:", list(optimizer.state_dict().keys()))
print("RESULT param_groups_have_lr_momentum", {"lr", "momentum", "params"} <= set(optimizer.state_dict()["param_groups"][0]))

PATH = os.path.join(tmp, "model_weights.pt")
torch.save(model.state_dict(), PATH)
model2 = TheModelClass()
model2.load_state_dict(torch.load(PATH, weights_only=True))
model2.eval()
model.eval()
with torch.no_grad():
    out = model(x)
    out2 = model2(x)
print("RESULT state_dict_roundtrip", bool(torch.equal(out, out2)))
print("RESULT output", ",".join(str(v) for v in out[0, :4].tolist()))

# a general checkpoint
CKPT = os.path.join(tmp, "checkpoint.tar")
torch.save({
    'epoch': 5,
    'model_state_dict': model.state_dict(),
    'optimizer_state_dict': optimizer.state_dict(),
    'loss': 0.25,
}, CKPT)
model3 = TheModelClass()
optimizer3 = optim.SGD(model3.parameters(), lr=0.5)
checkpoint = torch.load(CKPT, weights_only=True)
model3.load_state_dict(checkpoint['model_state_dict'])
optimizer3.load_state_dict(checkpoint['optimizer_state_dict'])
epoch = checkpoint['epoch']
loss = checkpoint['loss']
print("RESULT checkpoint_epoch", epoch)
print("RESULT checkpoint_loss", loss)
print("RESULT restored_lr", optimizer3.param_groups[0]['lr'])
buf_a = optimizer.state_dict()['state'][0]['momentum_buffer']
buf_b = optimizer3.state_dict()['state'][0]['momentum_buffer']
print("RESULT optimizer_roundtrip", bool(torch.equal(buf_a, buf_b)))

# several models in one file, map_location, BytesIO
modelA, modelB = TheModelClass(), TheModelClass()
formula_init_(modelA, 1.0)
formula_init_(modelB, 2.0)
buffer = io.BytesIO()
torch.save({'modelA_state_dict': modelA.state_dict(), 'modelB_state_dict': modelB.state_dict()}, buffer)
buffer.seek(0)
both = torch.load(buffer, map_location=torch.device('cpu'), weights_only=True)
print("RESULT multi_keys", ",".join(sorted(both.keys())))
print("RESULT multi_b_bias", ",".join(str(v) for v in both['modelB_state_dict']['fc2.bias'][:3].tolist()))


# warm-start a different model from part of another
class Bigger(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.extra = nn.Linear(4, 4)


warm = Bigger()
res = warm.load_state_dict(torch.load(PATH, weights_only=True), strict=False)
print("RESULT warm_missing", ",".join(sorted(res.missing_keys)))
print("RESULT warm_unexpected_count", len(res.unexpected_keys))
print("RESULT warmstart_copied", bool(torch.equal(warm.conv1.weight, model.conv1.weight)))

# tensors and containers of tensors
TPATH = os.path.join(tmp, "tensors.pt")
torch.save({'a': torch.arange(5), 'b': [torch.ones(2, dtype=torch.float64), 3, 'text'], 'c': (1.5, None)}, TPATH)
loaded = torch.load(TPATH, weights_only=True)
print("RESULT tensor_container", loaded['a'].tolist()[-1], str(loaded['b'][0].dtype).split('.')[-1],
      loaded['b'][1], loaded['b'][2], type(loaded['c']).__name__)

# (Saving the whole model object with torch.save(model) pickles its class; neuronet
# never pickles, so this tutorial's recommended state_dict route is the one used.)
