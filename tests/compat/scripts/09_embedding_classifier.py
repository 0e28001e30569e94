# Sequence classification without text: token ids -> nn.Embedding with a
# padding index -> masked mean pooling -> MLP, trained with Adam on padded
# batches from a TensorDataset (no shuffling). Sequences come from Python's
# own seeded `random` and the weights from a formula (copied in under
# no_grad), so the whole run is compared number for number with PyTorch.
# compat: exact-all 1e-3 1e-5
# compat: expect loss_fell == True
# compat: expect accuracy >= 0.9
# compat: expect padding_row_zero == True
# compat: expect padding_grad_zero == True
import random

import neuronet as torch
from neuronet import nn
import neuronet.nn.functional as F
from neuronet.utils.data import DataLoader, TensorDataset

VOCAB, PAD, MAXLEN, CLASSES = 48, 0, 10, 3


def make_sequences(n, seed):
    rnd = random.Random(seed)
    seqs, labels = [], []
    band = (VOCAB - 1) // CLASSES
    for i in range(n):
        label = i % CLASSES
        length = rnd.randint(4, MAXLEN)
        toks = []
        for _ in range(length):
            if rnd.random() < 0.7:  # mostly tokens of the class's band
                toks.append(1 + label * band + rnd.randrange(band))
            else:
                toks.append(rnd.randrange(1, VOCAB))
        seqs.append(toks + [PAD] * (MAXLEN - length))
        labels.append(label)
    return torch.tensor(seqs, dtype=torch.long), torch.tensor(labels)


class MeanPoolClassifier(nn.Module):
    def __init__(self, vocab, dim, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=PAD)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, tokens):
        emb = self.embedding(tokens)                      # (B, L, D)
        mask = (tokens != PAD).unsqueeze(-1).float()      # (B, L, 1)
        pooled = (emb * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.fc2(F.relu(self.fc1(pooled)))


def formula_init_(model):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            k = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(k * 1.37 + i) * 0.3).view_as(p))
        model.embedding.weight[PAD].fill_(0)


x_train, y_train = make_sequences(120, seed=0)
x_test, y_test = make_sequences(60, seed=1)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=40, shuffle=False)

model = MeanPoolClassifier(VOCAB, 12, 24, CLASSES)
formula_init_(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
loss_fn = nn.CrossEntropyLoss()

epoch_losses = []
for epoch in range(15):
    total = 0.0
    for tokens, labels in loader:
        logits = model(tokens)
        loss = loss_fn(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    epoch_losses.append(total / len(loader.dataset))
    if epoch % 5 == 0:
        print(f"epoch {epoch} loss {epoch_losses[-1]:.4f}")

model.eval()
with torch.no_grad():
    logits = model(x_test)
    accuracy = (logits.argmax(dim=1) == y_test).float().mean().item()
    probs = F.softmax(logits[:2], dim=-1)

print("RESULT x_shape", ",".join(map(str, x_train.shape)))
print("RESULT first_loss", epoch_losses[0])
print("RESULT final_loss", epoch_losses[-1])
print("RESULT loss_fell", epoch_losses[-1] < 0.3 * epoch_losses[0])
print("RESULT accuracy", accuracy)
print("RESULT probs", ",".join(str(v) for v in probs.flatten().tolist()))
print("RESULT padding_row_zero", bool((model.embedding.weight[PAD] == 0).all()))
model.zero_grad()
loss_fn(model(x_train[:8]), y_train[:8]).backward()
print("RESULT padding_grad_zero", bool((model.embedding.weight.grad[PAD] == 0).all()))
