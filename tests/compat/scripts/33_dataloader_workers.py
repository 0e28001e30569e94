# DataLoader worker processes as the data-loading docs and training repos use
# them: an IterableDataset that shards its stream with get_worker_info (and
# the order in which batches from two workers arrive), worker_init_fn seeding
# NumPy from torch.initial_seed(), persistent_workers across epochs,
# prefetch_factor, pin_memory, a seeded torch.Generator giving the same
# shuffle twice, batch_size=None, collate_fn=lambda b: b, and
# DistributedSampler with set_epoch. Orders that do not depend on a random
# generator are compared with PyTorch exactly.
# compat: exact iterable_two_workers
# compat: exact iterable_one_worker
# compat: exact no_autobatch
# compat: exact identity_collate
# compat: exact distributed_rank0
# compat: exact distributed_rank1
# compat: exact distributed_len
# compat: exact persistent_epochs
# compat: exact map_two_workers_order
# compat: expect worker_ids_seen == 0,1
# compat: expect worker_numpy_seeds_differ == True
# compat: expect seeded_generator_repeats == True
# compat: expect distributed_epochs_differ == True
# compat: expect distributed_partition == True
# compat: timeout 120
import math

import numpy as np

import neuronet as torch
from neuronet.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info
from neuronet.utils.data.distributed import DistributedSampler


class RangeStream(IterableDataset):
    def __init__(self, start, end):
        super().__init__()
        self.start, self.end = start, end

    def __iter__(self):
        worker_info = get_worker_info()
        if worker_info is None:  # single-process loading
            iter_start, iter_end = self.start, self.end
        else:  # split the range between workers
            per_worker = int(math.ceil((self.end - self.start) / float(worker_info.num_workers)))
            worker_id = worker_info.id
            iter_start = self.start + worker_id * per_worker
            iter_end = min(iter_start + per_worker, self.end)
        return iter(range(iter_start, iter_end))


class WhoLoadsMe(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return torch.tensor([i, -1 if info is None else info.id, int(np.random.randint(0, 10 ** 6))])


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2 ** 32
    np.random.seed(worker_seed)


def flat(batches):
    return ",".join(str(v) for b in batches for v in b.tolist())


def main():
    ds = RangeStream(3, 17)
    print("RESULT iterable_one_worker", flat(DataLoader(ds, batch_size=3, num_workers=0)))
    print("RESULT iterable_two_workers", flat(DataLoader(ds, batch_size=3, num_workers=2)))

    rows = list(DataLoader(WhoLoadsMe(), batch_size=2, num_workers=2, worker_init_fn=seed_worker,
                           prefetch_factor=2, pin_memory=False))
    table = torch.cat(rows)
    print("RESULT map_two_workers_order", ",".join(str(v) for v in table[:, 0].tolist()))
    print("RESULT worker_ids_seen", ",".join(str(v) for v in sorted(set(table[:, 1].tolist()))))
    w0 = table[table[:, 1] == 0][:, 2].tolist()
    w1 = table[table[:, 1] == 1][:, 2].tolist()
    print("RESULT worker_numpy_seeds_differ", w0 != w1)

    loader = DataLoader(list(range(10)), batch_size=4, num_workers=2, persistent_workers=True)
    epochs = [flat(loader) for _ in range(2)]
    print("RESULT persistent_epochs", epochs[0] == epochs[1], epochs[0])

    g = torch.Generator()
    g.manual_seed(0)
    first = flat(DataLoader(list(range(12)), batch_size=4, shuffle=True, generator=g))
    g.manual_seed(0)
    second = flat(DataLoader(list(range(12)), batch_size=4, shuffle=True, generator=g))
    print("RESULT seeded_generator_repeats", first == second)

    print("RESULT no_autobatch", ",".join(str(x) for x in DataLoader([10, 11, 12], batch_size=None)))
    print("RESULT identity_collate", str(next(iter(DataLoader([(1, 'a'), (2, 'b')], batch_size=2,
                                                               collate_fn=lambda b: b)))).replace(" ", ""))

    data = list(range(10))
    s0 = DistributedSampler(data, num_replicas=2, rank=0, shuffle=False)
    s1 = DistributedSampler(data, num_replicas=2, rank=1, shuffle=False)
    print("RESULT distributed_rank0", ",".join(map(str, s0)))
    print("RESULT distributed_rank1", ",".join(map(str, s1)))
    print("RESULT distributed_len", len(s0))
    r0 = DistributedSampler(data, num_replicas=2, rank=0, shuffle=True, seed=1)
    r1 = DistributedSampler(data, num_replicas=2, rank=1, shuffle=True, seed=1)
    r0.set_epoch(0)
    r1.set_epoch(0)
    e0 = list(r0)
    print("RESULT distributed_partition", sorted(e0 + list(r1)) == data)
    r0.set_epoch(1)
    print("RESULT distributed_epochs_differ", list(r0) != e0)


if __name__ == "__main__":
    main()
