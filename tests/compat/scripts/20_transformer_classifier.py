# A Transformer encoder for sequence classification in the style of the
# nn.Transformer tutorials: token embedding scaled by sqrt(d_model), a
# sinusoidal PositionalEncoding kept with register_buffer, nn.TransformerEncoder
# of nn.TransformerEncoderLayer (batch_first, GELU, norm_first), a
# src_key_padding_mask for padded positions, masked mean pooling, and a
# standalone nn.MultiheadAttention with a causal mask. Dropout is 0 and the
# weights come from a formula, so outputs and losses are compared with
# PyTorch's.
# compat: exact-all 5e-4 1e-5
# compat: expect loss_fell == True
# compat: expect buffer_in_state_dict == True
# compat: expect buffer_not_parameter == True
# compat: expect padding_invariant == True
import math

import neuronet as torch
from neuronet import nn, Tensor


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.0, max_len: int = 64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer('pe', pe)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.pe[:, :x.size(1)]
        return self.dropout(x)


class TransformerClassifier(nn.Module):
    def __init__(self, ntoken, d_model=16, nhead=2, d_hid=32, nlayers=2, nclass=2):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(ntoken, d_model)
        self.pos_encoder = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.classifier = nn.Linear(d_model, nclass)

    def forward(self, src, padding_mask):
        x = self.embedding(src) * math.sqrt(self.d_model)
        x = self.pos_encoder(x)
        x = self.transformer_encoder(x, src_key_padding_mask=padding_mask)
        keep = (~padding_mask).unsqueeze(-1).float()
        pooled = (x * keep).sum(1) / keep.sum(1)
        return self.classifier(pooled)


def formula_init_(model):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            k = torch.arange(p.numel(), dtype=torch.float32)
            scale = 1.0 if "norm" in name and name.endswith("weight") else 0.2
            base = 1.0 if scale == 1.0 else 0.0
            p.copy_((base + torch.sin(k * 0.53 + i) * 0.2).view_as(p))


# task: does the sequence contain more tokens from the upper half of the vocabulary?
ntoken, L, N = 20, 8, 32
k = torch.arange(N * L).view(N, L)
src = (k * 7 + (k // L) * 3) % (ntoken - 1) + 1
lengths = 4 + (torch.arange(N) % 5)
padding_mask = torch.arange(L).unsqueeze(0) >= lengths.unsqueeze(1)   # True = padded
src = src.masked_fill(padding_mask, 0)
upper = ((src >= ntoken // 2) & ~padding_mask).sum(1)
labels = (upper * 2 > lengths).long()
print("RESULT label_balance", labels.sum().item())

model = TransformerClassifier(ntoken)
formula_init_(model)
print("RESULT buffer_in_state_dict", "pos_encoder.pe" in model.state_dict())
print("RESULT buffer_not_parameter", all("pe" != n.split(".")[-1] for n, _ in model.named_parameters()))
print("RESULT num_params", sum(p.numel() for p in model.parameters()))

optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
criterion = nn.CrossEntropyLoss()
losses = []
model.train()
for step in range(40):
    optimizer.zero_grad()
    loss = criterion(model(src, padding_mask), labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    optimizer.step()
    losses.append(loss.item())
print("loss", losses[0], "->", losses[-1])
print("RESULT first_loss", losses[0])
print("RESULT loss_10", losses[10])
print("RESULT final_loss", losses[-1])
print("RESULT loss_fell", losses[-1] < 0.7 * losses[0])

model.eval()
with torch.no_grad():
    logits = model(src[:4], padding_mask[:4])
    print("RESULT eval_logits", ",".join(f"{v:.6f}" for v in logits.flatten().tolist()))
    # changing the tokens at padded positions must not change the output
    src2 = src[:4].masked_fill(padding_mask[:4], 5)
    print("RESULT padding_invariant", bool(torch.allclose(model(src2, padding_mask[:4]), logits, atol=1e-5)))

# multi-head attention with a causal mask
mha = nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
formula_init_(mha)
q = torch.cos(torch.arange(2 * 5 * 8, dtype=torch.float32).view(2, 5, 8) * 0.37)
causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
attn_out, attn_weights = mha(q, q, q, attn_mask=causal)
print("RESULT mha_out_shape", ",".join(map(str, attn_out.shape)))
print("RESULT mha_weights_shape", ",".join(map(str, attn_weights.shape)))
print("RESULT mha_weights_row2", ",".join(f"{v:.6f}" for v in attn_weights[0, 2].tolist()))
print("RESULT mha_out_sum", attn_out.sum().item())
