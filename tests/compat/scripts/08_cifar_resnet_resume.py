# A CIFAR-style ResNet-18 training script (narrow, to run in seconds) on a
# small synthetic CIFAR-shaped TensorDataset: BasicBlock with a projection
# shortcut and `out += self.shortcut(x)`, in-place ReLU, SGD with momentum,
# weight decay and Nesterov, CosineAnnealingLR, and checkpoints holding the
# model, optimizer, scheduler, epoch and RNG state. Training two epochs,
# saving, and resuming in a fresh model/optimizer must end exactly where an
# uninterrupted run ends. Random data and init differ from PyTorch, so the
# learning checks are qualitative.
# compat: expect loss_fell == True
# compat: expect test_accuracy >= 0.4
# compat: expect final_train_accuracy >= 0.9
# compat: expect resume_identical == True
# compat: expect resume_epoch == 2
# compat: expect num_params == 176402
# compat: timeout 240
import os
import tempfile

import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F
import neuronet.optim as optim
from neuronet.utils.data import DataLoader, TensorDataset


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(self.expansion * planes)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = F.relu(out, inplace=True)
        return out


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10, width=8):
        super(ResNet, self).__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(block, width, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 2 * width, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * width, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * width, num_blocks[3], stride=2)
        self.linear = nn.Linear(8 * width * block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        strides = [stride] + [1] * (num_blocks - 1)
        layers = []
        for stride in strides:
            layers.append(block(self.in_planes, planes, stride))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        out = out.view(out.size(0), -1)
        out = self.linear(out)
        return out


def ResNet18(width=8):
    return ResNet(BasicBlock, [2, 2, 2, 2], width=width)


def synthetic_cifar(n, templates, noise=0.6):
    """CIFAR-shaped images: a class template plus Gaussian noise."""
    labels = torch.arange(n) % 10
    images = templates[labels] + noise * torch.randn(n, 3, 32, 32)
    return TensorDataset(images, labels)


def build(total_epochs):
    net = ResNet18()
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_epochs)
    return net, optimizer, scheduler


def train_one_epoch(net, loader, optimizer, criterion):
    net.train()
    train_loss, correct, total = 0, 0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        train_loss += loss.item() * targets.size(0)
        _, predicted = outputs.max(1)
        total += targets.size(0)
        correct += predicted.eq(targets).sum().item()
    return train_loss / total, correct / total


def evaluate(net, loader):
    net.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            _, predicted = net(inputs).max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
    return correct / total


def main():
    torch.manual_seed(0)
    templates = torch.randn(10, 3, 32, 32)
    trainset = synthetic_cifar(160, templates)
    testset = synthetic_cifar(80, templates)
    trainloader = DataLoader(trainset, batch_size=32, shuffle=True, num_workers=0)
    testloader = DataLoader(testset, batch_size=40, shuffle=False)
    criterion = nn.CrossEntropyLoss()
    total_epochs = 4
    ckpt_dir = tempfile.mkdtemp()
    path = os.path.join(ckpt_dir, 'ckpt.pth')

    # uninterrupted run, checkpointing after epoch 2 (epochs 0 and 1)
    torch.manual_seed(1)
    net, optimizer, scheduler = build(total_epochs)
    print("RESULT num_params", sum(p.numel() for p in net.parameters() if p.requires_grad))
    history = []
    for epoch in range(total_epochs):
        loss, acc = train_one_epoch(net, trainloader, optimizer, criterion)
        scheduler.step()
        history.append(loss)
        train_acc = acc
        print(f"epoch {epoch}: loss {loss:.4f} train acc {acc:.3f} lr {scheduler.get_last_lr()[0]:.5f}")
        if epoch == 1:
            state = {
                'model': net.state_dict(),
                'optimizer': optimizer.state_dict(),
                'scheduler': scheduler.state_dict(),
                'epoch': epoch,
                'rng_state': torch.get_rng_state(),
            }
            torch.save(state, path)
    test_acc = evaluate(net, testloader)
    print(f"test accuracy {test_acc:.3f}")

    # resume from the checkpoint in fresh objects
    net2, optimizer2, scheduler2 = build(total_epochs)
    checkpoint = torch.load(path, map_location='cpu')
    net2.load_state_dict(checkpoint['model'])
    optimizer2.load_state_dict(checkpoint['optimizer'])
    scheduler2.load_state_dict(checkpoint['scheduler'])
    torch.set_rng_state(checkpoint['rng_state'])
    start_epoch = checkpoint['epoch'] + 1
    resumed = []
    for epoch in range(start_epoch, total_epochs):
        loss, _ = train_one_epoch(net2, trainloader, optimizer2, criterion)
        scheduler2.step()
        resumed.append(loss)

    same_params = all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), net2.state_dict().values()))
    print("RESULT epoch_losses", ",".join(f"{v:.4f}" for v in history))
    print("RESULT loss_fell", history[-1] < 0.5 * history[0])
    print("RESULT test_accuracy", test_acc)
    print("RESULT final_train_accuracy", train_acc)
    print("RESULT resume_epoch", start_epoch)
    print("RESULT resumed_losses", ",".join(f"{v:.6f}" for v in resumed))
    print("RESULT resume_identical", same_params and resumed == history[start_epoch:])
    print("RESULT evaluate_after_resume", evaluate(net2, testloader) == test_acc)


if __name__ == '__main__':
    main()
