# Spatial transformer networks, as in the tutorial of that name: a
# localisation network regressing a 2x3 affine matrix (its last layer started
# at the identity transform), F.affine_grid + F.grid_sample to warp the input,
# then a small classifier, trained on MNIST digits. The warping primitives are
# compared with PyTorch exactly on fixed inputs (identity, rotation, scaling,
# both align_corners settings, bilinear and nearest, zeros and border
# padding) including gradients; the training is random-init, so it is checked
# qualitatively.
# compat: exact identity_max_err 1e-5 1e-6
# compat: exact grid_corner 1e-5 1e-6
# compat: exact rotated 1e-5 1e-6
# compat: exact rotated_ac 1e-5 1e-6
# compat: exact nearest_border 1e-5 1e-6
# compat: exact grad_input_sq 1e-4 1e-6
# compat: exact grad_theta 1e-4 1e-6
# compat: expect identity_is_identity == True
# compat: expect loss_fell == True
# compat: expect test_accuracy >= 0.6
# compat: timeout 180
import math
import os

import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F
import neuronet.optim as optim
from neuronet.utils.data import DataLoader, Subset
from neuronet.vision import datasets, transforms


def csv(t):
    return ",".join(str(v) for v in t.flatten().tolist())


# --- the primitives on fixed inputs
img = torch.sin(torch.arange(2 * 1 * 6 * 5, dtype=torch.float32).view(2, 1, 6, 5) * 0.4)
identity = torch.tensor([[1, 0, 0], [0, 1, 0]], dtype=torch.float32).unsqueeze(0).repeat(2, 1, 1)
grid = F.affine_grid(identity, img.size(), align_corners=False)
same = F.grid_sample(img, grid, align_corners=False)
print("RESULT identity_max_err", (same - img).abs().max().item())
print("RESULT identity_is_identity", bool(torch.allclose(same, img, atol=1e-5)))
print("RESULT grid_corner", csv(grid[0, 0, 0]))

angle = math.pi / 7
rot = torch.tensor([[math.cos(angle), -math.sin(angle), 0.1],
                    [math.sin(angle), math.cos(angle), -0.2]], dtype=torch.float32).unsqueeze(0).repeat(2, 1, 1)
rot[1, :, :2] *= 0.8
warped = F.grid_sample(img, F.affine_grid(rot, img.size(), align_corners=False), align_corners=False)
print("RESULT rotated", csv(warped[:, 0, 2]))
warped_ac = F.grid_sample(img, F.affine_grid(rot, img.size(), align_corners=True), align_corners=True)
print("RESULT rotated_ac", csv(warped_ac[:, 0, 3]))
near = F.grid_sample(img, F.affine_grid(rot * 1.3, img.size(), align_corners=False), mode="nearest",
                     padding_mode="border", align_corners=False)
print("RESULT nearest_border", csv(near[0, 0, 1]))

inp = img.clone().requires_grad_(True)
theta = rot.clone().requires_grad_(True)
out = F.grid_sample(inp, F.affine_grid(theta, inp.size(), align_corners=False), align_corners=False)
(out * torch.cos(torch.arange(out.numel(), dtype=torch.float32)).view_as(out)).sum().backward()
print("RESULT grad_input_sq", (inp.grad ** 2).sum().item())
print("RESULT grad_theta", csv(theta.grad))


# --- the tutorial's network, smaller
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=5)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=5)
        self.fc1 = nn.Linear(256, 32)
        self.fc2 = nn.Linear(32, 10)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 256)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def main():
    torch.manual_seed(0)
    root = os.environ.get("DATA_ROOT", "data")
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_loader = DataLoader(Subset(datasets.MNIST(root, train=True, transform=tf), range(1600)),
                              batch_size=64, shuffle=True, num_workers=0)
    test_loader = DataLoader(Subset(datasets.MNIST(root, train=False, transform=tf), range(500)),
                             batch_size=250)
    model = Net()
    with torch.no_grad():
        x0 = next(iter(test_loader))[0][:4]
        print("RESULT stn_starts_identity", bool(torch.allclose(model.stn(x0), x0, atol=1e-4)))
    optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    losses = []
    for epoch in range(3):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            pred = model(data).max(1, keepdim=True)[1]
            correct += pred.eq(target.view_as(pred)).sum().item()
    acc = correct / len(test_loader.dataset)
    print(f"test accuracy {acc:.3f}, loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print("RESULT loss_fell", sum(losses[-5:]) < 0.6 * sum(losses[:5]))
    print("RESULT test_accuracy", acc)


if __name__ == "__main__":
    main()
