# Transfer learning in the style of the fine-tuning tutorial: a ResNet-18
# from the vision model zoo (built without downloaded weights; a saved
# state_dict stands in for the pretrained file), frozen with
# requires_grad_(False), its `fc` head replaced, and an optimizer built over
# filter(lambda p: p.requires_grad, ...). Then layer4 is unfrozen and trained
# with its own learning rate in a second parameter group. Init is random, so
# the checks are structural (what changed, what did not) and qualitative.
# compat: expect frozen_unchanged == True
# compat: expect head_changed == True
# compat: expect trainable_params == 1026
# compat: expect loss_fell == True
# compat: expect layer4_changed == True
# compat: expect layer1_unchanged_after_finetune == True
# compat: expect grad_none_for_frozen == True
# compat: timeout 180
import copy
import os
import tempfile

import neuronet as torch
import neuronet.nn as nn
import neuronet.optim as optim
from neuronet.optim import lr_scheduler
from neuronet.vision import models

torch.manual_seed(0)

# "pretrained" weights: a saved state_dict loaded into a fresh model
backbone = models.resnet18(weights=None)
path = os.path.join(tempfile.mkdtemp(), "resnet18_pretrained.pth")
torch.save(backbone.state_dict(), path)

model_conv = models.resnet18()
model_conv.load_state_dict(torch.load(path))
for param in model_conv.parameters():
    param.requires_grad_(False)

num_ftrs = model_conv.fc.in_features
model_conv.fc = nn.Linear(num_ftrs, 2)  # new parameters require grad by default
print("RESULT num_ftrs", num_ftrs)

trainable = [p for p in model_conv.parameters() if p.requires_grad]
print("RESULT trainable_params", sum(p.numel() for p in trainable))
print("RESULT total_params", sum(p.numel() for p in model_conv.parameters()))

# two classes of 32x32 images: bright top half vs bright bottom half, plus noise
n = 32
labels = torch.arange(n) % 2
images = 0.3 * torch.randn(n, 3, 32, 32)
images[labels == 0, :, :16, :] += 1.0
images[labels == 1, :, 16:, :] += 1.0

criterion = nn.CrossEntropyLoss()
optimizer_conv = optim.SGD(filter(lambda p: p.requires_grad, model_conv.parameters()), lr=0.01, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=7, gamma=0.1)

before = copy.deepcopy(model_conv.state_dict())
model_conv.eval()  # a fixed feature extractor: BatchNorm statistics stay as loaded
losses = []
for step in range(15):
    for i in range(0, n, 8):
        inputs, targets = images[i:i + 8], labels[i:i + 8]
        optimizer_conv.zero_grad()
        with torch.set_grad_enabled(True):
            outputs = model_conv(inputs)
            _, preds = torch.max(outputs, 1)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer_conv.step()
        losses.append(loss.item())
    exp_lr_scheduler.step()
after = model_conv.state_dict()
frozen_same = all(torch.equal(before[k], after[k]) for k in before if not k.startswith("fc."))
print("RESULT frozen_unchanged", frozen_same)
print("RESULT head_changed", not torch.equal(before["fc.weight"], after["fc.weight"]))
print("RESULT grad_none_for_frozen", model_conv.conv1.weight.grad is None)
print("RESULT loss_fell", sum(losses[-4:]) / 4 < 0.7 * sum(losses[:4]) / 4)
print("RESULT lr_now", optimizer_conv.param_groups[0]["lr"])

# fine-tune: unfreeze the last stage with a smaller learning rate than the head
for param in model_conv.layer4.parameters():
    param.requires_grad = True
optimizer_ft = optim.SGD([
    {"params": model_conv.layer4.parameters(), "lr": 1e-3},
    {"params": model_conv.fc.parameters()},
], lr=1e-2, momentum=0.9)
snapshot = {k: v.clone() for k, v in model_conv.state_dict().items()}
model_conv.train()
for i in range(0, n, 8):
    optimizer_ft.zero_grad()
    loss = criterion(model_conv(images[i:i + 8]), labels[i:i + 8])
    loss.backward()
    optimizer_ft.step()
now = model_conv.state_dict()
print("RESULT layer4_changed", not torch.equal(snapshot["layer4.1.conv2.weight"], now["layer4.1.conv2.weight"]))
print("RESULT layer1_unchanged_after_finetune",
      torch.equal(snapshot["layer1.0.conv1.weight"], now["layer1.0.conv1.weight"]))
print("RESULT group_lrs", ",".join(str(g["lr"]) for g in optimizer_ft.param_groups))
