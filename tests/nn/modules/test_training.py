"""End to end: networks built only from neuronet parts learn a small synthetic
problem with a plain SGD loop (written here, independent of neuronet.optim)."""
from collections import OrderedDict

import numpy as np

import neuronet as nt
import neuronet.nn as nn


def sgd_step(model, lr, momentum_buffers, momentum=0.9):
    with nt.no_grad():
        for p in model.parameters():
            v = momentum_buffers.setdefault(id(p), np.zeros_like(p.array))
            v *= momentum
            v += p.grad.array
            p.array -= lr * v


def fit(model, x, y, loss_fn, steps, lr):
    buffers = {}
    losses = []
    for _ in range(steps):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        sgd_step(model, lr, buffers)
        losses.append(loss.item())
    return losses


def test_mlp_fits_a_nonlinear_regression():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (64, 2)).astype(np.float32)
    y = (np.sin(x[:, :1]) * x[:, 1:] ** 2 / 2).astype(np.float32)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    losses = fit(model, nt.tensor(x), nt.tensor(y), nn.MSELoss(), steps=300, lr=0.02)
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])


def test_lenet_style_cnn_fits_synthetic_images():
    """Three classes of 12x12 images: a bright horizontal bar, a vertical bar,
    or a diagonal, each at a random place with noise."""
    rng = np.random.default_rng(1)
    n = 48
    x = rng.normal(0, 0.3, (n, 1, 12, 12)).astype(np.float32)
    y = np.arange(n) % 3
    for i in range(n):
        r, c = rng.integers(2, 10, 2)
        if y[i] == 0:
            x[i, 0, r, 1:11] += 2
        elif y[i] == 1:
            x[i, 0, 1:11, c] += 2
        else:
            x[i, 0, np.arange(1, 11), np.arange(1, 11)] += 2
    model = nn.Sequential(OrderedDict([
        ("features", nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3), nn.ReLU(), nn.AvgPool2d(2))),
        ("flatten", nn.Flatten()),
        ("classifier", nn.Sequential(nn.Linear(8 * 2 * 2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))),
    ]))
    losses = fit(model, nt.tensor(x), nt.tensor(y), nn.CrossEntropyLoss(), steps=80, lr=0.05)
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])
    model.eval()
    with nt.no_grad():
        pred = model(nt.tensor(x)).argmax(dim=1).numpy()
    assert (pred == y).mean() > 0.95


def test_gradients_through_a_small_network_pass_gradcheck():
    """Finite differences (float64, random upstream gradient) through a conv,
    batch norm in training mode, pooling and a linear head, for the input and
    every parameter: the layers wire F's backward correctly."""
    from neuronet.autograd import gradcheck
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.BatchNorm2d(3), nn.ELU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 2 * 2, 2)).double()
    x = nt.tensor(np.random.default_rng(0).standard_normal((3, 2, 4, 4)), requires_grad=True)
    params = list(net.parameters())
    assert gradcheck(lambda inp, *ps: net(inp), [x, *params])


def test_transformer_encoder_classifier_learns_which_token_occurs_most():
    nt.manual_seed(0)
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 3, (64, 6))
    labels = np.array([np.bincount(row, minlength=3).argmax() for row in tokens])

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(3, 16)
            layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 1)
            self.head = nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.encoder(self.embed(x)).mean(1))
    losses = fit(Classifier(), nt.tensor(tokens), nt.tensor(labels), nn.CrossEntropyLoss(), steps=60, lr=0.05)
    assert losses[-1] < losses[0] / 3, (losses[0], losses[-1])


def test_lstm_learns_to_sum_a_sequence():
    nt.manual_seed(0)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (32, 5, 1)).astype(np.float32)
    y = x.sum(1)

    class Summer(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 16, batch_first=True)
            self.out = nn.Linear(16, 1)

        def forward(self, seq):
            output, (h, c) = self.lstm(seq)
            return self.out(output[:, -1])
    losses = fit(Summer(), nt.tensor(x), nt.tensor(y), nn.MSELoss(), steps=80, lr=0.05)
    assert losses[-1] < losses[0] / 5, (losses[0], losses[-1])
