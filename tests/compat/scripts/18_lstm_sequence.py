# Recurrent networks as in the sequence-prediction tutorials: an nn.LSTM
# (batch_first, two layers) predicting the next value of sine waves, hidden
# state (h0, c0) passed explicitly, the last time step read with
# output[:, -1, :]; an nn.GRU classifier over padded sequences packed with
# pack_padded_sequence; and clip_grad_norm_ between backward and step.
# Weights and data come from formulas (dropout 0), so every loss is
# compared with PyTorch's.
# compat: exact-all 2e-4 1e-6
# compat: expect lstm_loss_fell == True
# compat: expect gru_loss_fell == True
# compat: expect packed_matches_manual == True
import math

import neuronet as torch
import neuronet.nn as nn
from neuronet.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def formula_init_(module, scale=0.3):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            k = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.sin(k * 0.77 + 0.3 * i) * scale).view_as(p))


class SineLSTM(nn.Module):
    def __init__(self, hidden_size=16, num_layers=2):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        out, (hn, cn) = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :]), hn


# windows of 20 steps of sine waves with different phases, target = next value
t = torch.arange(0, 21, dtype=torch.float32) * 0.3
phases = torch.linspace(0, 2 * math.pi, 24).unsqueeze(1)
waves = torch.sin(t.unsqueeze(0) + phases)                       # (24, 21)
x, y = waves[:, :20].unsqueeze(-1), waves[:, 20:]                  # (24, 20, 1), (24, 1)

model = SineLSTM()
formula_init_(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.MSELoss()
losses = []
for epoch in range(40):
    optimizer.zero_grad()
    pred, hn = model(x)
    loss = criterion(pred, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    losses.append(loss.item())
print("LSTM loss", losses[0], "->", losses[-1])
print("RESULT lstm_hn_shape", ",".join(map(str, hn.shape)))
print("RESULT lstm_first_loss", losses[0])
print("RESULT lstm_loss_20", losses[20])
print("RESULT lstm_final_loss", losses[-1])
print("RESULT lstm_loss_fell", losses[-1] < 0.2 * losses[0])

# GRU over variable-length sequences: pack, run, read the last valid state
lengths = torch.tensor([6, 4, 3, 2])
seqs = torch.zeros(4, 6, 3)
for i, n in enumerate(lengths.tolist()):
    k = torch.arange(n * 3, dtype=torch.float32).view(n, 3)
    seqs[i, :n] = torch.cos(k * (0.5 + 0.2 * i))
labels = torch.tensor([0, 1, 0, 1])

gru = nn.GRU(3, 8, batch_first=True)
head = nn.Linear(8, 2)
formula_init_(gru)
formula_init_(head)
opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=0.05)
gru_losses = []
for step in range(30):
    packed = pack_padded_sequence(seqs, lengths, batch_first=True, enforce_sorted=True)
    packed_out, h_n = gru(packed)
    logits = head(h_n[-1])
    loss = nn.functional.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    gru_losses.append(loss.item())
print("RESULT gru_first_loss", gru_losses[0])
print("RESULT gru_final_loss", gru_losses[-1])
print("RESULT gru_loss_fell", gru_losses[-1] < 0.5 * gru_losses[0])

out, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
print("RESULT unpacked_shape", ",".join(map(str, out.shape)))
print("RESULT unpacked_lengths", ",".join(map(str, out_lengths.tolist())))
with torch.no_grad():
    _, h_n = gru(pack_padded_sequence(seqs, lengths, batch_first=True))
    manual = torch.stack([gru(seqs[i:i + 1, :n])[1][-1, 0] for i, n in enumerate(lengths.tolist())])
    print("RESULT packed_matches_manual", bool(torch.allclose(manual, h_n[-1], atol=1e-5)))
    print("RESULT padded_tail_zero", bool((out[3, 2:] == 0).all()))

# a single LSTMCell unrolled by hand equals nn.LSTM's first layer
cell = nn.LSTMCell(1, 4)
formula_init_(cell, scale=0.5)
hx, cx = torch.zeros(2, 4), torch.zeros(2, 4)
for step in range(5):
    hx, cx = cell(x[:2, step], (hx, cx))
print("RESULT cell_h", ",".join(f"{v:.6f}" for v in hx[0].tolist()))
