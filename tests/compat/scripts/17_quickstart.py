# The "quickstart" shape of a first PyTorch program: torchvision-style MNIST
# with ToTensor, DataLoaders, the accelerator/device idiom, an nn.Module with
# nn.Flatten and nn.Sequential, train()/test() functions that report
# progress, saving and reloading the state_dict with weights_only=True, and
# a prediction with a class list. Random init and shuffling differ from
# PyTorch, so the checks are qualitative.
# compat: expect test_accuracy >= 0.75
# compat: expect loss_fell == True
# compat: expect reloaded_same == True
# compat: expect x_shape == 64,1,28,28
# compat: expect logits_shape == 1,10
# compat: timeout 180
import os

import neuronet as torch
from neuronet import nn
from neuronet.utils.data import DataLoader, Subset
from neuronet.vision import datasets
from neuronet.vision.transforms import ToTensor

root = os.environ.get("DATA_ROOT", "data")
training_data = datasets.MNIST(root=root, train=True, download=False, transform=ToTensor())
test_data = datasets.MNIST(root=root, train=False, download=False, transform=ToTensor())
training_data = Subset(training_data, range(4000))
test_data = Subset(test_data, range(1000))

batch_size = 64
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    print("RESULT x_shape", ",".join(map(str, X.shape)))
    break

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


torch.manual_seed(0)
model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
history = []


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        pred = model(X)
        loss = loss_fn(pred, y)

        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        history.append(loss.item())

        if batch % 20 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct


epochs = 2
for t in range(epochs):
    print(f"Epoch {t + 1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    accuracy = test(test_dataloader, model, loss_fn)
print("Done!")
print("RESULT test_accuracy", accuracy)
print("RESULT loss_fell", sum(history[-10:]) < 0.4 * sum(history[:10]))

torch.save(model.state_dict(), "model.pth")
print("Saved PyTorch Model State to model.pth")
model2 = NeuralNetwork().to(device)
model2.load_state_dict(torch.load("model.pth", weights_only=True))

classes = [str(d) for d in range(10)]
model2.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model2(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
    print("RESULT logits_shape", ",".join(map(str, pred.shape)))
    print("RESULT reloaded_same", bool(torch.equal(model(x), pred)))
