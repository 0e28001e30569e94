"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with
deep convolutional neural networks", NeurIPS), in torchvision's single-tower
form and in the paper's two-GPU form."""
from .. import nn
from ..nn import init
from ._registry import check_choice, check_input, check_positive_int, check_probability, register_model
from .weights import AlexNet_Weights, WeightsError, load_pretrained, resolve

__all__ = ["alexnet", "AlexNet", "AlexNetOriginal"]


class AlexNet(nn.Module):
    """torchvision's AlexNet (the "one weird trick" single-tower variant,
    Krizhevsky 2014): 64-192-384-256-256 filters, no normalization layers::

        features:   conv 11x11/4 pad 2 (64) ReLU maxpool 3/2
                    conv 5x5 pad 2 (192)   ReLU maxpool 3/2
                    conv 3x3 pad 1 (384)   ReLU
                    conv 3x3 pad 1 (256)   ReLU
                    conv 3x3 pad 1 (256)   ReLU maxpool 3/2
        avgpool:    adaptive average pool to 6x6
        classifier: Dropout fc 9216->4096 ReLU Dropout fc 4096->4096 ReLU fc 4096->num_classes

    61,100,840 parameters for 1000 classes; keys and shapes equal
    torchvision's (``features.{0,3,6,8,10}``, ``classifier.{1,4,6}``), so its
    weights load as they are. Initialization: PyTorch's layer defaults (as
    torchvision). The adaptive pool lets inputs from 63x63 up run.

    Shape: ``(N, 3, H, W) -> (N, num_classes)``; 224x224 in the paper's setting.
    """

    def __init__(self, num_classes=1000, dropout=0.5, in_channels=3):
        super().__init__()
        self.in_channels = in_channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        check_input("alexnet", x, channels=self.in_channels, min_size=63)
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(x.flatten(1))


class AlexNetOriginal(nn.Module):
    """AlexNet as in the 2012 paper (Section 3, Fig. 2), with the two GPUs'
    halves as grouped convolutions::

        input 3x227x227
        conv1 11x11/4 (96)                    ReLU LRN maxpool 3/2  -> 96x27x27
        conv2 5x5 pad 2 (256), groups=2       ReLU LRN maxpool 3/2  -> 256x13x13
        conv3 3x3 pad 1 (384)   (crosses the GPUs)   ReLU
        conv4 3x3 pad 1 (384), groups=2       ReLU
        conv5 3x3 pad 1 (256), groups=2       ReLU maxpool 3/2      -> 256x6x6
        fc6 9216->4096 ReLU Dropout(0.5)  fc7 4096->4096 ReLU Dropout(0.5)  fc8 4096->num_classes

    60,965,224 parameters for 1000 classes. (The paper says 224x224; the
    arithmetic of an 11x11 stride-4 convolution to 55x55 needs 227x227.)

    Local response normalization (Section 3.3), n = 5, k = 2, alpha = 1e-4,
    beta = 0.75, over channels::

        b[c] = a[c] / (k + alpha * sum_{c' = c - n/2}^{c + n/2} a[c']^2) ** beta

    PyTorch's ``LocalResponseNorm`` divides alpha by the window size n, so the
    paper's equation is ``LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2)``.

    Overlapping pooling (Section 3.4): 3x3 windows with stride 2. Dropout after
    fc6 and fc7 (Section 4.2). Initialization (Section 5): weights N(0, 0.01);
    biases 1 in conv2, conv4, conv5 and the hidden fully connected layers,
    0 elsewhere.

    An ``AdaptiveAvgPool2d((6, 6))`` before the classifier (identity at 227x227)
    lets smaller test inputs run; it is not in the paper.

    Keys: ``features.{0,4,8,10,12}`` (conv1..conv5), ``classifier.{0,3,6}`` (fc6..fc8).

    Shape: ``(N, 3, 227, 227) -> (N, num_classes)``.
    """

    def __init__(self, num_classes=1000, dropout=0.5, in_channels=3):
        super().__init__()
        self.in_channels = in_channels

        def lrn():
            return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),          # 0  conv1
            nn.ReLU(),
            lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),         # 4  conv2
            nn.ReLU(),
            lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),                  # 8  conv3
            nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),        # 10 conv4
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),        # 12 conv5
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096),                                   # 0 fc6
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),                                          # 3 fc7
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),                                   # 6 fc8
        )
        self.reset_parameters()

    def reset_parameters(self):
        ones = {id(self.features[i]) for i in (4, 10, 12)} | {id(self.classifier[i]) for i in (0, 3)}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                init.normal_(m.weight, 0.0, 0.01)
                init.constant_(m.bias, 1.0 if id(m) in ones else 0.0)

    def forward(self, x):
        check_input("alexnet(variant='original')", x, channels=self.in_channels, min_size=67)
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(x.flatten(1))


@register_model
def alexnet(num_classes=1000, variant="torchvision", dropout=0.5, in_channels=3, weights=None, progress=None):
    """AlexNet (Krizhevsky et al. 2012).

    Args:
        num_classes: output units.
        variant: ``"torchvision"`` (:class:`AlexNet`, 61,100,840 parameters,
            torchvision's keys) or ``"original"`` (:class:`AlexNetOriginal`,
            the paper's grouped two-GPU network with LRN, 60,965,224 parameters).
        dropout: dropout probability in the classifier.
        in_channels: input channels.
        weights: None, an :class:`AlexNet_Weights` entry or its name
            (``"IMAGENET1K_V1"``, ``"DEFAULT"``: ImageNet top-1 56.5%), or a
            path to a state_dict file (see :mod:`neuronet.models.weights`).
        progress: show a download progress bar (None: when stderr is a terminal).
    """
    weights = resolve(weights, AlexNet_Weights, "alexnet", num_classes)
    num_classes = check_positive_int("alexnet", "num_classes", num_classes)
    in_channels = check_positive_int("alexnet", "in_channels", in_channels)
    dropout = check_probability("alexnet", "dropout", dropout)
    check_choice("alexnet", "variant", variant, ("torchvision", "original"))
    if variant == "original" and isinstance(weights, AlexNet_Weights):
        raise WeightsError("alexnet: torchvision's pretrained weights are for variant='torchvision', "
                           "received variant='original'")
    cls = AlexNet if variant == "torchvision" else AlexNetOriginal
    return load_pretrained(cls(num_classes, dropout, in_channels), weights, "alexnet", progress)
