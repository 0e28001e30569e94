# A DCGAN-shaped adversarial training loop on 16x16 crops of MNIST digits:
# generator of ConvTranspose2d + BatchNorm + ReLU ending in Tanh,
# discriminator of strided Conv2d + LeakyReLU(0.2, inplace=True) ending in
# Sigmoid, the weights_init function applied with model.apply (normal_ with
# std 0.02), BCELoss with torch.full label tensors, fake.detach() for the
# discriminator step, two Adam optimizers with betas=(0.5, 0.999), and the
# D(x) / D(G(z)) statistics. Adversarial training is noisy and init is random,
# so the checks are qualitative: shapes, finite losses, and the discriminator
# telling real from fake at some point.
# compat: expect fake_shape == 8,1,16,16
# compat: expect fake_in_range == True
# compat: expect losses_finite == True
# compat: expect d_separates == True
# compat: expect weights_init_std_ok == True
# compat: timeout 180
import os

import neuronet as torch
import neuronet.nn as nn
import neuronet.optim as optim
import neuronet.utils.data
from neuronet.vision import datasets, transforms

nz, ngf, ndf, nc = 16, 16, 16, 1


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),      # 4x4
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),     # 8x8
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),          # 16x16
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),                   # 8x8
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),              # 4x4
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),                # 1x1
            nn.Sigmoid()
        )

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


def main():
    torch.manual_seed(999)
    root = os.environ.get("DATA_ROOT", "data")
    dataset = datasets.MNIST(root=root, train=True, download=False,
                             transform=transforms.Compose([
                                 transforms.Resize(16),
                                 transforms.ToTensor(),
                                 transforms.Normalize((0.5,), (0.5,)),
                             ]))
    dataset = torch.utils.data.Subset(dataset, range(640))
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True, num_workers=0)

    netG = Generator()
    netG.apply(weights_init)
    netD = Discriminator()
    netD.apply(weights_init)
    w = netD.main[0].weight
    print("RESULT weights_init_std_ok", abs(w.std().item() - 0.02) < 0.004)

    criterion = nn.BCELoss()
    fixed_noise = torch.randn(8, nz, 1, 1)
    real_label, fake_label = 1., 0.
    optimizerD = optim.Adam(netD.parameters(), lr=0.0005, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0005, betas=(0.5, 0.999))

    G_losses, D_losses, gaps = [], [], []
    for epoch in range(2):
        for i, data in enumerate(dataloader, 0):
            # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            real_cpu = data[0]
            b_size = real_cpu.size(0)
            label = torch.full((b_size,), real_label, dtype=torch.float)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            noise = torch.randn(b_size, nz, 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()

            # (2) update G: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()

            if i % 10 == 0:
                print('[%d/%d][%d/%d]\tLoss_D: %.4f\tLoss_G: %.4f\tD(x): %.4f\tD(G(z)): %.4f / %.4f'
                      % (epoch, 2, i, len(dataloader), errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
            G_losses.append(errG.item())
            D_losses.append(errD.item())
            gaps.append(D_x - D_G_z1)

    with torch.no_grad():
        fake = netG(fixed_noise).detach().cpu()
    finite = all(v == v and abs(v) < 1e6 for v in G_losses + D_losses)
    print("RESULT fake_shape", ",".join(map(str, fake.shape)))
    print("RESULT fake_in_range", bool((fake >= -1).all() and (fake <= 1).all()))
    print("RESULT losses_finite", finite)
    print("RESULT d_separates", max(gaps) > 0.3)
    print("RESULT last_d_loss", D_losses[-1])
    print("RESULT last_g_loss", G_losses[-1])


if __name__ == '__main__':
    main()
