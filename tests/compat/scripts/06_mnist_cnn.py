# A small convolutional network on MNIST in the shape of the classic example
# training script: torchvision-style dataset and transforms, DataLoader with
# worker processes, SGD with momentum, StepLR, a train loop with log lines and
# a test loop summing the loss and counting correct argmax predictions.
# Random initialisation and shuffling differ between frameworks, so results
# are compared qualitatively: the loss falls and test accuracy clears a floor.
# compat: expect loss_fell == True
# compat: expect test_accuracy >= 0.8
# compat: expect batch_dtypes == float32 int64
# compat: expect saved_keys == conv1.weight,conv1.bias,conv2.weight,conv2.bias,fc1.weight,fc1.bias,fc2.weight,fc2.bias
# compat: expect lr_after_steps == 0.0025
# compat: expect batch_shape == 64,1,28,28
# compat: timeout 180
import os

import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F
import neuronet.optim as optim
from neuronet.optim.lr_scheduler import StepLR
from neuronet.utils.data import DataLoader, Subset
from neuronet.vision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(4608, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch, losses):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % 10 == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return test_loss, correct / len(test_loader.dataset)


def main():
    torch.manual_seed(1)
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    root = os.environ.get("DATA_ROOT", "data")

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,))
    ])
    dataset1 = datasets.MNIST(root, train=True, download=False, transform=transform)
    dataset2 = datasets.MNIST(root, train=False, transform=transform)
    print("train images:", len(dataset1), "test images:", len(dataset2))
    dataset1 = Subset(dataset1, range(3200))
    dataset2 = Subset(dataset2, range(1000))

    train_kwargs = {'batch_size': 64, 'shuffle': True}
    test_kwargs = {'batch_size': 500}
    cuda_kwargs = {'num_workers': 2, 'pin_memory': use_cuda}
    train_kwargs.update(cuda_kwargs)
    test_kwargs.update(cuda_kwargs)
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    data, target = next(iter(train_loader))
    print("RESULT batch_shape", ",".join(str(s) for s in data.shape))
    print("RESULT batch_dtypes", str(data.dtype).split(".")[-1], str(target.dtype).split(".")[-1])

    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    losses = []
    accuracy = 0.0
    for epoch in range(1, 3):
        train(model, device, train_loader, optimizer, epoch, losses)
        _, accuracy = test(model, device, test_loader)
        scheduler.step()

    first = sum(losses[:5]) / 5
    last = sum(losses[-5:]) / 5
    print("RESULT first_losses", first)
    print("RESULT last_losses", last)
    print("RESULT loss_fell", last < 0.5 * first)
    print("RESULT test_accuracy", accuracy)
    print("RESULT lr_after_steps", scheduler.get_last_lr()[0])
    torch.save(model.state_dict(), "mnist_cnn.pt")
    print("RESULT saved_keys", ",".join(torch.load("mnist_cnn.pt").keys()))


if __name__ == '__main__':
    main()
