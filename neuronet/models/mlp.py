"""The multilayer perceptron: fully connected layers with a nonlinearity
between them, trained by back-propagation (Rumelhart, Hinton & Williams 1986,
"Learning representations by back-propagating errors", Nature 323)."""
from .. import nn
from ._registry import check_choice, check_positive_int, check_probability, register_model

__all__ = ["mlp", "MLP"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MLP(nn.Module):
    """``flatten -> [Linear -> activation (-> Dropout)] x len(hidden) -> Linear``.

    Any input ``(N, *)`` is flattened to ``(N, in_features)`` first, so MNIST
    batches ``(N, 1, 28, 28)`` go in as they come. Layer ``i`` of ``hidden``
    sits at ``layers.{k*i}`` where ``k`` is 2 (Linear, activation) or 3 with
    dropout; the output layer is last. PyTorch's Linear initialization.

    Shape: input ``(N, *)`` with ``in_features`` elements per sample,
    output ``(N, num_classes)``.
    """

    def __init__(self, in_features=784, hidden=(256, 128), num_classes=10, activation="relu", dropout=0.0):
        super().__init__()
        self.in_features = in_features
        layers = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        if x.ndim < 2:
            raise ValueError(f"mlp: expected a batch (N, *), received shape {tuple(x.shape)}")
        x = x.flatten(1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"mlp: expected {self.in_features} features per sample after flattening, "
                             f"received {x.shape[1]}")
        return self.layers(x)


@register_model
def mlp(in_features=784, hidden=(256, 128), num_classes=10, activation="relu", dropout=0.0):
    """A multilayer perceptron (see :class:`MLP`).

    Args:
        in_features: inputs per sample after flattening (784 = 28 x 28 MNIST).
        hidden: widths of the hidden layers, e.g. ``(256, 128)``; ``()`` gives
            multinomial logistic regression.
        num_classes: output units.
        activation: ``"relu"``, ``"tanh"`` or ``"sigmoid"``.
        dropout: dropout probability after each hidden activation (0: none).

    With the defaults: 784-256-128-10, 235,146 parameters.
    """
    in_features = check_positive_int("mlp", "in_features", in_features)
    num_classes = check_positive_int("mlp", "num_classes", num_classes)
    if isinstance(hidden, int) or not hasattr(hidden, "__iter__"):
        raise ValueError(f"mlp: hidden must be a sequence of layer widths, received hidden={hidden!r}")
    hidden = [check_positive_int("mlp", "hidden", h) for h in hidden]
    check_choice("mlp", "activation", activation, tuple(_ACTIVATIONS))
    dropout = check_probability("mlp", "dropout", dropout)
    return MLP(in_features, hidden, num_classes, activation, dropout)
