"""SegNet (Badrinarayanan, Kendall & Cipolla 2017, "SegNet: a deep
convolutional encoder-decoder architecture for image segmentation", IEEE
TPAMI 39(12))."""
from .. import nn
from ..nn import functional as F
from ..nn import init
from ._registry import check_input, check_positive_int, register_model

__all__ = ["segnet", "SegNet", "SEGNET_STAGES"]

# (convolutions per stage, width multiple of base_channels): VGG-16's 13
# convolutional layers in five stages (Section 3 of the paper).
SEGNET_STAGES = ((2, 1), (2, 2), (3, 4), (3, 8), (3, 8))


def _conv_bn_relu(in_channels, out_channels):
    return [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(out_channels), nn.ReLU()]


class SegNet(nn.Module):
    """SegNet (Fig. 2 of the paper): the 13 convolutional layers of VGG-16 as
    encoder, a mirror-image decoder, and a pixel-wise classifier::

        encoder.s: [conv 3x3 -> BN -> ReLU] x k_s, then maxpool 2x2/2 that
                   remembers the argmax of every window (its "pooling indices")
        decoder:   per stage, deepest first: max-unpool 2x2 with that encoder
                   stage's indices (each value goes back where its maximum
                   came from, zeros elsewhere), then [conv 3x3 -> BN -> ReLU]
                   x k_s, the last one mapping to the next shallower width
        classifier: 3x3 conv (base -> num_classes) in place of the shallowest
                    decoder's last conv: per-pixel class scores for a
                    softmax / cross-entropy

    Stages (convolutions, widths) for ``base_channels = 64``: (2, 64),
    (2, 128), (3, 256), (3, 512), (3, 512), as the authors' Caffe model
    (conv5_3_D ... conv1_2_D, then conv1_1_D to the classes). ``decoder`` is
    stored in the order it runs (``decoder.0`` is the deepest stage).

    Transferring the pooling indices, not the feature maps, is the paper's
    point: the decoder upsamples without learning to and with little memory.

    Initialization (Section 4.1, He et al. 2015): kaiming_normal_ (fan_in,
    ReLU) for convolutions, zero biases, BatchNorm weight 1 bias 0.

    With the defaults (3 channels, 64 base): 29,443,008 + 9 x 64 x num_classes
    + num_classes parameters. Shape: ``(N, in_channels, H, W) ->
    (N, num_classes, H, W)``, H and W multiples of 32.
    """

    def __init__(self, in_channels=3, num_classes=11, base_channels=64):
        super().__init__()
        self.in_channels = in_channels
        widths = [base_channels * m for _, m in SEGNET_STAGES]
        encoder, c = [], in_channels
        for (convs, _), w in zip(SEGNET_STAGES, widths):
            layers = []
            for _ in range(convs):
                layers += _conv_bn_relu(c, w)
                c = w
            encoder.append(nn.Sequential(*layers))
        self.encoder = nn.ModuleList(encoder)
        decoder = []
        for s in range(len(SEGNET_STAGES) - 1, -1, -1):
            convs, _ = SEGNET_STAGES[s]
            w = widths[s]
            layers = []
            if s > 0:
                for i in range(convs):
                    layers += _conv_bn_relu(w, widths[s - 1] if i == convs - 1 else w)
            else:
                # The shallowest decoder's last convolution is the classifier.
                for i in range(convs - 1):
                    layers += _conv_bn_relu(w, w)
            decoder.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList(decoder)
        self.classifier = nn.Conv2d(widths[0], num_classes, kernel_size=3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)

    def forward(self, x):
        check_input("segnet", x, channels=self.in_channels, multiple_of=2 ** len(SEGNET_STAGES))
        saved = []
        for stage in self.encoder:
            x = stage(x)
            size = tuple(x.shape[2:])
            x, indices = F.max_pool2d(x, kernel_size=2, stride=2, return_indices=True)
            saved.append((indices, size))
        for stage in self.decoder:
            indices, size = saved.pop()
            x = F.max_unpool2d(x, indices, kernel_size=2, stride=2, output_size=size)
            x = stage(x)
        return self.classifier(x)


@register_model
def segnet(in_channels=3, num_classes=11, base_channels=64):
    """SegNet (see :class:`SegNet`). Defaults: RGB input, the 11 CamVid
    classes of the paper's road-scene experiments, VGG-16 widths;
    ``segnet(base_channels=8)`` trains on a CPU."""
    in_channels = check_positive_int("segnet", "in_channels", in_channels)
    num_classes = check_positive_int("segnet", "num_classes", num_classes)
    base_channels = check_positive_int("segnet", "base_channels", base_channels)
    return SegNet(in_channels, num_classes, base_channels)
