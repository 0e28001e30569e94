# MNIST logistic regression built up step by step, in the manner of the
# "what is torch.nn really?" walkthrough: raw tensors made with
# map(torch.tensor, numpy arrays), a hand-written log_softmax and negative
# log-likelihood using input[range(n), target], a manual update loop, then the
# same model refactored with nn.Parameter, nn.Linear, optim, TensorDataset,
# DataLoader, a fit() with a validation pass built from loss_batch and
# zip(*...), and a Lambda-layer CNN with a wrapped generator loader. The data
# is the first 1000 bundled MNIST images read with gzip/NumPy, the weights come
# from formulas and nothing is shuffled, so the numbers are compared with
# PyTorch's.
# compat: exact-all 2e-4 1e-6
# compat: expect manual_loss_fell == True
# compat: expect manual_equals_functional == True
# compat: expect fit_loss_fell == True
# compat: expect cnn_loss_fell == True
import gzip
import math
import os

import numpy as np

import neuronet as torch
import neuronet.nn.functional as F
from neuronet import nn, optim
from neuronet.utils.data import DataLoader, TensorDataset

root = os.environ.get("DATA_ROOT", "data")


def read_idx(name, offset):
    with open(os.path.join(root, "MNIST", "raw", name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


images = read_idx("train-images-idx3-ubyte", 16).reshape(-1, 784)[:1200].astype(np.float32) / 255
labels = read_idx("train-labels-idx1-ubyte", 8)[:1200].astype(np.int64)
x_train, y_train, x_valid, y_valid = images[:1000], labels[:1000], images[1000:], labels[1000:]
x_train, y_train, x_valid, y_valid = map(torch.tensor, (x_train, y_train, x_valid, y_valid))
n, c = x_train.shape
print("RESULT shapes", n, c, y_train.min().item(), y_train.max().item())


def formula(shape, phase):
    k = torch.arange(math.prod(shape), dtype=torch.float32)
    return (torch.sin(k * 0.37 + phase)).view(*shape)


weights = formula((784, 10), 0.0) / math.sqrt(784)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


loss_func = nll


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


bs, lr, epochs = 64, 0.5, 2
xb, yb = x_train[0:bs], y_train[0:bs]
start_loss = loss_func(model(xb), yb).item()
print("RESULT start_loss", start_loss)
print("RESULT start_accuracy", accuracy(model(xb), yb).item())

for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)

        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
manual_loss = loss_func(model(x_valid), y_valid).item()
print("RESULT manual_valid_loss", manual_loss)
print("RESULT manual_valid_accuracy", accuracy(model(x_valid), y_valid).item())
print("RESULT manual_loss_fell", manual_loss < 0.5 * start_loss)
print("RESULT manual_equals_functional",
      abs(F.cross_entropy(x_valid @ weights + bias, y_valid).item() - manual_loss) < 1e-5)


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(formula((784, 10), 0.0) / math.sqrt(784))
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, xb):
        return xb @ self.weights + self.bias


class Mnist_Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)
        with torch.no_grad():
            self.lin.weight.copy_(formula((784, 10), 0.0).t() / math.sqrt(784))
            self.lin.bias.zero_()

    def forward(self, xb):
        return self.lin(xb)


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    history = []
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        history.append(float(val_loss))
        print(epoch, val_loss)
    return history


def get_data(train_ds, valid_ds, bs):
    return (DataLoader(train_ds, batch_size=bs, shuffle=False),
            DataLoader(valid_ds, batch_size=bs * 2))


loss_func = F.cross_entropy
train_ds, valid_ds = TensorDataset(x_train, y_train), TensorDataset(x_valid, y_valid)
train_dl, valid_dl = get_data(train_ds, valid_ds, bs)

logistic = Mnist_Logistic()
hist_logistic = fit(epochs, logistic, loss_func, optim.SGD(logistic.parameters(), lr=lr), train_dl, valid_dl)
linear = Mnist_Linear()
hist_linear = fit(epochs, linear, loss_func, optim.SGD(linear.parameters(), lr=lr), train_dl, valid_dl)
print("RESULT logistic_history", ",".join(str(v) for v in hist_logistic))
print("RESULT linear_history", ",".join(str(v) for v in hist_linear))
print("RESULT module_equals_manual", abs(hist_logistic[-1] - manual_loss) < 1e-4)
print("RESULT fit_loss_fell", hist_linear[-1] < 0.5 * start_loss)


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x, y):
    return x.view(-1, 1, 28, 28), y


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield (self.func(*b))


cnn = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
with torch.no_grad():
    for i, p in enumerate(cnn.parameters()):
        p.copy_(formula(tuple(p.shape), i) * (0.3 if p.dim() > 1 else 0.05))
train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
train_dl = WrappedDataLoader(train_dl, preprocess)
valid_dl = WrappedDataLoader(valid_dl, preprocess)
opt = optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
hist_cnn = fit(3, cnn, loss_func, opt, train_dl, valid_dl)
print("RESULT cnn_history", ",".join(str(v) for v in hist_cnn))
first = loss_batch(cnn, loss_func, *preprocess(x_valid, y_valid))[0]
print("RESULT cnn_loss_fell", hist_cnn[-1] < 0.8 * math.log(10) and first == first)
