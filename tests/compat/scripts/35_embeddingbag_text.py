# Text classification in the style of the EmbeddingBag tutorial, without
# torchtext: a whitespace tokenizer and a vocabulary built with Counter, a
# collate_batch that concatenates token ids and builds offsets with cumsum,
# nn.EmbeddingBag(mode='mean') + Linear with init_weights using uniform_ /
# zero_ (then a formula, for comparability), SGD with a large learning rate,
# StepLR, clip_grad_norm_, and evaluation with argmax(1). A small synthetic
# corpus of sentences from three topics; no shuffling, so the numbers are
# compared with PyTorch's.
# compat: exact-all 1e-4 1e-6
# compat: expect loss_fell == True
# compat: expect accuracy >= 0.9
import random
from collections import Counter

import neuronet as torch
from neuronet import nn
from neuronet.utils.data import DataLoader

topics = {
    0: "goal match team score league player coach stadium win season",
    1: "market stock price bank trade profit share investor economy rate",
    2: "planet star orbit telescope galaxy rocket moon space launch comet",
}
filler = "the a of in on and with for to at this that".split()
rnd = random.Random(0)


def make_sentence(label):
    words = topics[label].split()
    n = rnd.randint(5, 12)
    return " ".join(rnd.choice(words) if rnd.random() < 0.6 else rnd.choice(filler) for _ in range(n))


train_iter = [(i % 3, make_sentence(i % 3)) for i in range(96)]
test_iter = [(i % 3, make_sentence(i % 3)) for i in range(30)]


def tokenizer(text):
    return text.lower().split()


counter = Counter()
for _, text in train_iter:
    counter.update(tokenizer(text))
itos = ["<unk>"] + sorted(counter, key=lambda w: (-counter[w], w))
stoi = {w: i for i, w in enumerate(itos)}


def text_pipeline(x):
    return [stoi.get(token, 0) for token in tokenizer(x)]


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(_label)
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list, text_list, offsets


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean")
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


model = TextClassificationModel(len(itos), 16, 3)
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        k = torch.arange(p.numel(), dtype=torch.float32)
        p.copy_((torch.sin(k * 0.47 + i) * 0.5).view_as(p))
print("RESULT vocab_size", len(itos))

criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.9)
train_dataloader = DataLoader(train_iter, batch_size=16, shuffle=False, collate_fn=collate_batch)
test_dataloader = DataLoader(test_iter, batch_size=16, shuffle=False, collate_fn=collate_batch)

label, text, offsets = next(iter(train_dataloader))
print("RESULT first_offsets", ",".join(map(str, offsets.tolist())))


def train(dataloader):
    model.train()
    total_loss, total_count = 0.0, 0
    for idx, (label, text, offsets) in enumerate(dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        total_loss += loss.item() * label.size(0)
        total_count += label.size(0)
    return total_loss / total_count


def evaluate(dataloader):
    model.eval()
    total_acc, total_count = 0, 0
    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count


losses = []
for epoch in range(1, 11):
    losses.append(train(train_dataloader))
    accu_val = evaluate(test_dataloader)
    scheduler.step()
    print(f"| end of epoch {epoch:3d} | loss {losses[-1]:8.4f} | valid accuracy {accu_val:8.3f} "
          f"| lr {scheduler.get_last_lr()[0]:.4f}")

print("RESULT epoch_losses", ",".join(str(v) for v in losses))
print("RESULT loss_fell", losses[-1] < 0.5 * losses[0])
print("RESULT accuracy", accu_val)
text = "the rocket reached orbit around the moon"
with torch.no_grad():
    ids = torch.tensor(text_pipeline(text))
    print("RESULT predicted_topic", model(ids, torch.tensor([0])).argmax(1).item())
