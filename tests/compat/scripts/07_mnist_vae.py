# A variational autoencoder on MNIST digits, as in the well-known example:
# an encoder to (mu, logvar), the reparameterisation trick with randn_like,
# a sigmoid decoder, and the loss BCE(reconstruction) + KL divergence summed
# over the batch, trained with Adam. Initialisation and sampling are random,
# so the check is qualitative: the per-image loss falls well below its start,
# and both terms are sensible.
# compat: expect loss_fell == True
# compat: expect final_train_loss < 225
# compat: expect test_loss < 225
# compat: expect kld_positive == True
# compat: expect sample_shape == 16,1,28,28
# compat: expect sample_in_unit == True
# compat: timeout 180
import os

import neuronet as torch
import neuronet.utils.data
from neuronet import nn, optim
from neuronet.nn import functional as F
from neuronet.vision import datasets, transforms


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc21 = nn.Linear(256, 16)
        self.fc22 = nn.Linear(256, 16)
        self.fc3 = nn.Linear(16, 256)
        self.fc4 = nn.Linear(256, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    """Reconstruction + KL divergence, summed over all elements and the batch."""
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
    # KL(N(mu, sigma) || N(0, 1)) = -0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD, KLD


def main():
    torch.manual_seed(0)
    device = torch.device("cpu")
    root = os.environ.get("DATA_ROOT", "data")
    train_set = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    test_set = datasets.MNIST(root, train=False, transform=transforms.ToTensor())
    train_set = torch.utils.data.Subset(train_set, list(range(3000)))
    test_set = torch.utils.data.Subset(test_set, list(range(500)))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=100, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=100, shuffle=False)

    model = VAE().to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    epoch_losses = []
    kld_total = 0.0
    for epoch in range(1, 4):
        model.train()
        train_loss = 0
        for batch_idx, (data, _) in enumerate(train_loader):
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss, kld = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            kld_total += kld.item()
            optimizer.step()
            if batch_idx == 0:
                print('Train Epoch: {} [{}/{}]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset), loss.item() / len(data)))
        epoch_losses.append(train_loss / len(train_loader.dataset))
        print('====> Epoch: {} Average loss: {:.4f}'.format(epoch, epoch_losses[-1]))

    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i, (data, _) in enumerate(test_loader):
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar)[0].item()
            if i == 0:
                n = min(data.size(0), 8)
                comparison = torch.cat([data[:n], recon_batch.view(100, 1, 28, 28)[:n]])
    test_loss /= len(test_loader.dataset)
    print('====> Test set loss: {:.4f}'.format(test_loss))

    with torch.no_grad():
        sample = torch.randn(16, 16).to(device)
        sample = model.decode(sample).cpu()
        sample = sample.view(16, 1, 28, 28)

    print("RESULT epoch_losses", ",".join(f"{v:.2f}" for v in epoch_losses))
    print("RESULT final_train_loss", epoch_losses[-1])
    print("RESULT loss_fell", epoch_losses[-1] < 0.7 * epoch_losses[0])
    print("RESULT test_loss", test_loss)
    print("RESULT kld_positive", kld_total > 0)
    print("RESULT comparison_shape", ",".join(map(str, comparison.shape)))
    print("RESULT sample_shape", ",".join(map(str, sample.shape)))
    print("RESULT sample_in_unit", bool((sample >= 0).all() and (sample <= 1).all()))

    from neuronet.vision.utils import save_image
    save_image(sample, "sample.png", nrow=4)
    print("RESULT saved_image", os.path.getsize("sample.png") > 0)


if __name__ == "__main__":
    main()
