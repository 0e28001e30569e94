# The data toolbox: a map-style Dataset subclass, the default collation of
# tuples, dicts, numbers and NumPy arrays, a custom collate_fn that pads
# variable-length sequences, random_split / Subset / ConcatDataset, the
# samplers, DataLoader with drop_last and with worker processes, and an
# IterableDataset. Results that do not depend on a random generator are
# compared with PyTorch exactly; random splits and shuffles are checked for
# being permutations/partitions.
# compat: exact batch_sampler
# compat: exact batch_sampler_drop_last
# compat: exact sequential
# compat: exact loader_len
# compat: exact loader_len_drop_last
# compat: exact first_batch_x
# compat: exact first_batch_y
# compat: exact dict_batch_keys
# compat: exact dict_batch_id
# compat: exact numpy_batch_dtype
# compat: exact padded
# compat: exact lengths
# compat: exact concat_len
# compat: exact concat_item
# compat: exact subset_items
# compat: exact worker_sum
# compat: exact iterable_items
# compat: exact split_lengths
# compat: expect split_partition == True
# compat: expect random_sampler_perm == True
# compat: expect subset_random_ok == True
# compat: expect weighted_only_positive == True
# compat: expect shuffle_is_permutation == True
# compat: expect workers_match_serial == True
# compat: timeout 120
import numpy as np

import neuronet as torch
from neuronet.nn.utils.rnn import pad_sequence
from neuronet.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
                                 SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                                 WeightedRandomSampler, random_split)


def csv(values):
    return ",".join(str(v) for v in values)


class SquaresDataset(Dataset):
    """Item i is (x = [i, i^2] as float32, y = i % 3)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        x = torch.tensor([idx, idx ** 2], dtype=torch.float32)
        return x, idx % 3


class RecordDataset(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"id": i, "feat": np.full(3, i, dtype=np.float32), "name": f"r{i}"}


class VarLenDataset(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.arange(1, i + 2), i + 1


class CountStream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


def pad_collate(batch):
    seqs, lengths = zip(*batch)
    return pad_sequence(seqs, batch_first=True, padding_value=0), torch.tensor(lengths)


def main():
    ds = SquaresDataset(10)
    print("RESULT sequential", csv(list(SequentialSampler(ds))))
    print("RESULT batch_sampler", csv(len(b) for b in BatchSampler(SequentialSampler(ds), batch_size=3,
                                                                      drop_last=False)))
    print("RESULT batch_sampler_drop_last",
          csv(sum(b) for b in BatchSampler(range(10), batch_size=3, drop_last=True)))

    loader = DataLoader(ds, batch_size=4)
    x, y = next(iter(loader))
    print("RESULT loader_len", len(loader))
    print("RESULT loader_len_drop_last", len(DataLoader(ds, batch_size=4, drop_last=True)))
    print("RESULT first_batch_x", csv(x.flatten().tolist()))
    print("RESULT first_batch_y", csv(y.tolist()))
    print("y dtype", y.dtype)

    batch = next(iter(DataLoader(RecordDataset(), batch_size=3)))
    print("RESULT dict_batch_keys", csv(sorted(batch.keys())))
    print("RESULT dict_batch_id", csv(batch["id"].tolist()))
    print("RESULT numpy_batch_dtype", str(batch["feat"].dtype).split(".")[-1], batch["name"][1])

    padded, lengths = next(iter(DataLoader(VarLenDataset(), batch_size=4, collate_fn=pad_collate)))
    print(padded)
    print("RESULT padded", csv(padded.flatten().tolist()))
    print("RESULT lengths", csv(lengths.tolist()))

    generator = torch.Generator().manual_seed(42)
    train_set, val_set = random_split(ds, [7, 3], generator=generator)
    idx = sorted(list(train_set.indices) + list(val_set.indices))
    print("RESULT split_lengths", len(train_set), len(val_set))
    print("RESULT split_partition", idx == list(range(10)))
    a, b, c = random_split(range(20), [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(0))
    print("fractional split sizes:", len(a), len(b), len(c))

    sub = Subset(ds, [9, 0, 4])
    print("RESULT subset_items", csv(int(sub[i][0][0].item()) for i in range(len(sub))))
    both = ConcatDataset([ds, SquaresDataset(5)])
    print("RESULT concat_len", len(both))
    print("RESULT concat_item", csv(both[12][0].tolist()))

    perm = list(RandomSampler(ds, generator=torch.Generator().manual_seed(3)))
    print("RESULT random_sampler_perm", sorted(perm) == list(range(10)))
    picked = list(SubsetRandomSampler([1, 3, 5, 7]))
    print("RESULT subset_random_ok", sorted(picked) == [1, 3, 5, 7])
    weights = [0.0, 1.0, 0.0, 2.0, 0.0]
    drawn = list(WeightedRandomSampler(weights, num_samples=20, replacement=True))
    print("RESULT weighted_only_positive", set(drawn) <= {1, 3} and len(drawn) == 20)

    torch.manual_seed(0)
    seen = []
    for xb, yb in DataLoader(ds, batch_size=3, shuffle=True):
        seen += [int(v) for v in xb[:, 0].tolist()]
    print("RESULT shuffle_is_permutation", sorted(seen) == list(range(10)))

    tds = TensorDataset(torch.arange(40, dtype=torch.float32).view(20, 2), torch.arange(20))
    serial = [(xb.clone(), yb.clone()) for xb, yb in DataLoader(tds, batch_size=6)]
    parallel = list(DataLoader(tds, batch_size=6, num_workers=2))
    same = len(serial) == len(parallel) and all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
                                                for a, b in zip(serial, parallel))
    print("RESULT workers_match_serial", same)
    print("RESULT worker_sum", sum(yb.sum().item() for _, yb in parallel))

    print("RESULT iterable_items", csv(b.tolist()[0] for b in DataLoader(CountStream(7), batch_size=3)))


if __name__ == "__main__":
    main()
