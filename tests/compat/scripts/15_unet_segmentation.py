# A small U-Net for binary segmentation: DoubleConv blocks, max-pool down,
# bilinear F.interpolate (align_corners=True) or ConvTranspose2d up, skip
# connections joined with torch.cat, BCEWithLogitsLoss + soft Dice, Adam, and
# IoU from thresholded sigmoid outputs. Images are synthetic (bright discs on
# noise, masks known); init is random, so the checks are qualitative.
# A deterministic part compares F.interpolate and ConvTranspose2d shapes and
# values with PyTorch exactly.
# compat: exact interp_bilinear
# compat: exact interp_nearest
# compat: exact interp_shape
# compat: exact up_shape
# compat: exact pad_shape
# compat: exact out_shape
# compat: expect loss_fell == True
# compat: expect iou >= 0.6
# compat: timeout 180
import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F


class DoubleConv(nn.Module):
    """(conv => BN => ReLU) * 2"""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()
        self.bilinear = bilinear
        if not bilinear:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        up_channels = in_channels if bilinear else in_channels // 2
        self.conv = DoubleConv(up_channels + out_channels, out_channels)

    def forward(self, x1, x2):
        if self.bilinear:
            x1 = F.interpolate(x1, scale_factor=2, mode='bilinear', align_corners=True)
        else:
            x1 = self.up(x1)
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels=1, n_classes=1, base=8, bilinear=True):
        super().__init__()
        self.inc = DoubleConv(n_channels, base)
        self.down1 = Down(base, base * 2)
        self.down2 = Down(base * 2, base * 4)
        self.up1 = Up(base * 4, base * 2, bilinear)
        self.up2 = Up(base * 2, base, bilinear)
        self.outc = nn.Conv2d(base, n_classes, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def dice_loss(logits, target, eps=1.0):
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    union = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    return 1 - ((2 * inter + eps) / (union + eps)).mean()


def make_discs(n, size=32):
    ys = torch.arange(size, dtype=torch.float32).view(1, size, 1)
    xs = torch.arange(size, dtype=torch.float32).view(1, 1, size)
    cy = torch.randint(8, size - 8, (n, 1, 1)).float()
    cx = torch.randint(8, size - 8, (n, 1, 1)).float()
    r = torch.randint(4, 8, (n, 1, 1)).float()
    masks = (((ys - cy) ** 2 + (xs - cx) ** 2) <= r ** 2).float().unsqueeze(1)
    images = masks * 0.8 + 0.25 * torch.randn(n, 1, size, size)
    return images, masks


# deterministic pieces compared with PyTorch
grid = torch.arange(12, dtype=torch.float32).view(1, 1, 3, 4)
bil = F.interpolate(grid, size=(5, 7), mode='bilinear', align_corners=True)
near = F.interpolate(grid, scale_factor=2, mode='nearest')
print("RESULT interp_shape", ",".join(map(str, bil.shape)))
print("RESULT interp_bilinear", ",".join(f"{v:.6f}" for v in bil[0, 0, 1].tolist()))
print("RESULT interp_nearest", ",".join(f"{v:g}" for v in near[0, 0, 1].tolist()))
up = nn.ConvTranspose2d(4, 2, kernel_size=2, stride=2)
print("RESULT up_shape", ",".join(map(str, up(torch.zeros(1, 4, 5, 5)).shape)))
print("RESULT pad_shape", ",".join(map(str, F.pad(torch.zeros(1, 1, 5, 5), [0, 1, 1, 2]).shape)))

torch.manual_seed(0)
images, masks = make_discs(48)
model = UNet(base=8, bilinear=True)
with torch.no_grad():
    print("RESULT out_shape", ",".join(map(str, model(images[:2]).shape)))
alt = UNet(base=4, bilinear=False)
print("RESULT transposed_variant_shape", ",".join(map(str, alt(images[:2]).shape)))

optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.BCEWithLogitsLoss()
losses = []
model.train()
for epoch in range(6):
    for i in range(0, 48, 12):
        x, y = images[i:i + 12], masks[i:i + 12]
        logits = model(x)
        loss = criterion(logits, y) + dice_loss(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"epoch {epoch}: loss {losses[-1]:.4f}")

model.eval()
test_images, test_masks = make_discs(16)
with torch.no_grad():
    pred = (torch.sigmoid(model(test_images)) > 0.5).float()
inter = (pred * test_masks).sum().item()
union = ((pred + test_masks) > 0).float().sum().item()
print("RESULT loss_fell", sum(losses[-4:]) < 0.75 * sum(losses[:4]))
print("RESULT iou", inter / union)
