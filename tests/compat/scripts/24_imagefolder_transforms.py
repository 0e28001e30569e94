# The image pipeline of the transfer-learning and classifier tutorials: an
# ImageFolder tree on disk (written here with Pillow: train/ and val/ with one
# folder per class), a dict of train/val transform pipelines (RandomResizedCrop,
# RandomHorizontalFlip, ColorJitter; Resize + CenterCrop; ToTensor; Normalize),
# dicts of datasets and loaders, class_names, the functional API (TF.hflip,
# TF.to_tensor, TF.normalize, TF.resize), and ToPILImage round trips. The
# images are drawn from formulas, so the deterministic (val) tensors are
# compared with torchvision's exactly; the random train augmentations are
# checked for shapes and ranges, and a small CNN trains a few steps.
# compat: exact classes
# compat: exact class_to_idx
# compat: exact dataset_sizes
# compat: exact val_shape
# compat: exact val_sum 1e-5 1e-4
# compat: exact val_channel_means 1e-5 1e-5
# compat: exact val_pixels 1e-5 1e-5
# compat: exact hflip_equal
# compat: exact fn_resize_sum 1e-5 1e-3
# compat: exact roundtrip_exact
# compat: exact grayscale_sum 1e-5 1e-3
# compat: expect train_shape == 4,3,24,24
# compat: expect loss_fell == True
# compat: timeout 120
import os
import tempfile

import numpy as np
from PIL import Image

import neuronet as torch
import neuronet.nn as nn
import neuronet.optim as optim
import neuronet.utils.data
from neuronet.vision import datasets, transforms
import neuronet.vision.transforms.functional as TF


def write_tree(root):
    """train/ and val/ folders of 32x32 RGB PNGs: 'stripes' and 'rings' classes."""
    yy, xx = np.mgrid[0:32, 0:32]
    for split, count in (("train", 12), ("val", 4)):
        for cls in ("rings", "stripes"):
            os.makedirs(os.path.join(root, split, cls), exist_ok=True)
            for i in range(count):
                phase = i * 0.7 + (0 if split == "train" else 0.35)
                if cls == "stripes":
                    base = 127 + 120 * np.sin(xx * 0.8 + phase)
                else:
                    base = 127 + 120 * np.sin(np.sqrt((yy - 16) ** 2 + (xx - 16) ** 2) * 0.9 + phase)
                rgb = np.stack([base, 255 - base, (base + 64 * i) % 256], axis=-1).astype(np.uint8)
                Image.fromarray(rgb).save(os.path.join(root, split, cls, f"{i:03d}.png"))


def main():
    torch.manual_seed(0)
    data_dir = tempfile.mkdtemp()
    write_tree(data_dir)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    data_transforms = {
        'train': transforms.Compose([
            transforms.RandomResizedCrop(24),
            transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(brightness=0.2, contrast=0.2),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]),
        'val': transforms.Compose([
            transforms.Resize(28),
            transforms.CenterCrop(24),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]),
    }
    image_datasets = {x: datasets.ImageFolder(os.path.join(data_dir, x), data_transforms[x])
                      for x in ['train', 'val']}
    dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=4, shuffle=(x == 'train'),
                                                  num_workers=0)
                   for x in ['train', 'val']}
    dataset_sizes = {x: len(image_datasets[x]) for x in ['train', 'val']}
    class_names = image_datasets['train'].classes
    print("RESULT classes", ",".join(class_names))
    print("RESULT class_to_idx", ",".join(f"{k}:{v}" for k, v in image_datasets['train'].class_to_idx.items()))
    print("RESULT dataset_sizes", dataset_sizes['train'], dataset_sizes['val'])

    inputs, labels = next(iter(dataloaders['train']))
    print("RESULT train_shape", ",".join(map(str, inputs.shape)))
    print("RESULT train_finite", bool(torch.isfinite(inputs).all()))

    val_inputs, val_labels = next(iter(dataloaders['val']))
    print("RESULT val_shape", ",".join(map(str, val_inputs.shape)))
    print("RESULT val_labels", ",".join(map(str, val_labels.tolist())))
    print("RESULT val_sum", val_inputs.sum().item())
    print("RESULT val_channel_means", ",".join(str(v) for v in val_inputs.mean(dim=(0, 2, 3)).tolist()))
    print("RESULT val_pixels", ",".join(str(v) for v in val_inputs[1, :, 5, 3:7].flatten().tolist()))

    img, _ = datasets.ImageFolder(os.path.join(data_dir, 'val'))[0]   # a PIL image
    t = TF.to_tensor(img)
    print("RESULT hflip_equal", bool(torch.equal(TF.to_tensor(TF.hflip(img)), t.flip(-1))))
    print("RESULT fn_resize_sum", TF.to_tensor(TF.resize(img, [20, 20])).sum().item())
    normalized = TF.normalize(t, mean, std)
    print("RESULT fn_normalize_first", normalized[0, 0, 0].item())
    back = transforms.ToPILImage()(t)
    print("RESULT roundtrip_exact", bool(np.array_equal(np.asarray(back), np.asarray(img))))
    gray = transforms.Grayscale()(img)
    print("RESULT grayscale_sum", TF.to_tensor(gray).sum().item())

    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                          nn.Linear(128, len(class_names)))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for epoch in range(8):
        model.train()
        running_loss = 0.0
        for inputs, labels in dataloaders['train']:
            optimizer.zero_grad()
            outputs = model(inputs)
            _, preds = torch.max(outputs, 1)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
        losses.append(running_loss / dataset_sizes['train'])
        print(f"epoch {epoch} loss {losses[-1]:.4f}")
    print("RESULT loss_fell", (losses[-1] + losses[-2]) / 2 < 0.7 * losses[0])


if __name__ == "__main__":
    main()
