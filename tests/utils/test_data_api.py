"""neuronet.utils.data: PyTorch's names and semantics, in this process
(datasets, samplers, random_split, collation, batch_size=None, iterable
datasets). Worker processes are tested in test_data_workers.py."""
import collections
import warnings

import numpy as np
import pytest

import neuronet as nt
from neuronet.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                                 RandomSampler, Sampler, SequentialSampler, StackDataset, Subset,
                                 SubsetRandomSampler, TensorDataset, WeightedRandomSampler, default_collate,
                                 default_convert, get_worker_info, random_split)
from helpers import requires_torch, torch


def test_torch_module_paths_resolve_to_the_same_objects():
    import neuronet.data as nd
    from neuronet.utils.data.dataloader import DataLoader as DL2, default_collate as dc2
    from neuronet.utils.data.dataset import Dataset as D2
    from neuronet.utils.data.sampler import Sampler as S2
    assert DL2 is DataLoader is nd.DataLoader and dc2 is default_collate
    assert D2 is Dataset is nd.Dataset and S2 is Sampler is nd.Sampler
    assert issubclass(IterableDataset, Dataset)
    # generic like PyTorch's, for annotated user code
    assert Dataset[int] is not None and Sampler[int] is not None and DataLoader[tuple] is not None

    class Annotated(Dataset[tuple]):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i
    assert list(DataLoader(Annotated(), batch_size=2))[0].tolist() == [0, 1]


def test_tensor_dataset_int_slice_and_index_array():
    x = nt.arange(20).reshape(10, 2)
    y = nt.arange(10) * 10
    ds = TensorDataset(x, y)
    a, b = ds[3]
    assert a.tolist() == [6, 7] and b.item() == 30
    assert ds[-1][1].item() == 90
    a, b = ds[2:5]
    assert a.shape == (3, 2) and b.tolist() == [20, 30, 40]
    a, b = ds[[4, 0, 4]]
    assert b.tolist() == [40, 0, 40] and a.shape == (3, 2)
    a, b = ds[np.array([9, 1])]
    assert b.tolist() == [90, 10]
    a, b = ds[nt.tensor([1, 2])]
    assert b.tolist() == [10, 20]
    a, b = ds[nt.tensor(5)]
    assert b.item() == 50
    mask = np.zeros(10, dtype=bool)
    mask[[1, 8]] = True
    assert ds[mask][1].tolist() == [10, 80]
    with pytest.raises(IndexError, match="out of range"):
        ds[10]
    with pytest.raises(IndexError, match="out of range"):
        ds[[0, 11]]
    with pytest.raises(IndexError, match="boolean"):
        ds[np.ones(3, dtype=bool)]
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(nt.zeros(3), nt.zeros(4))


@requires_torch
@pytest.mark.parametrize("n, fractions", [(10, [0.5, 0.3, 0.2]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]),
                                          (100, [0.33, 0.33, 0.34]), (5, [0.9, 0.1]), (3, [1 / 3] * 3),
                                          (13, [0.25, 0.25, 0.25, 0.25]), (1, [0.5, 0.5])])
def test_random_split_fractions_follow_torch(n, fractions):
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = random_split(range(n), fractions, generator=0)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = torch.utils.data.random_split(range(n), fractions, generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    assert len(ours_warned) == len(theirs_warned)          # an empty split is warned about, as torch does
    assert sorted(i for p in ours for i in p.indices) == list(range(n))


def test_random_split_lengths_and_errors():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(1))
    assert len(a) == 7 and len(b) == 3 and not set(a.indices) & set(b.indices)
    with pytest.raises(ValueError, match="sum of input lengths"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        random_split(ds, [1.5, -0.5])


def test_weighted_random_sampler():
    w = [0.0, 1.0, 3.0, 0.0]
    s = WeightedRandomSampler(w, 4000, generator=0)
    draws = np.array(list(s))
    assert len(s) == 4000 and len(draws) == 4000
    assert set(draws.tolist()) == {1, 2}                          # zero weight: never drawn
    assert abs((draws == 2).mean() - 0.75) < 0.03                 # proportional to the weights
    assert list(WeightedRandomSampler(w, 4000, generator=0)) == draws.tolist()   # seeded
    no_rep = list(WeightedRandomSampler(nt.tensor([1.0, 1.0, 5.0, 1.0]), 4, replacement=False, generator=3))
    assert sorted(no_rep) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler(w, 3, replacement=False)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler(w, 0)
    with pytest.raises(ValueError, match="1d"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(RuntimeError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)
    # in a loader, class balancing
    ds = TensorDataset(np.arange(4))
    got = [b[0].tolist() for b in DataLoader(ds, batch_size=5, sampler=WeightedRandomSampler(w, 10, generator=1))]
    assert len(got) == 2 and set(sum(got, [])) <= {1, 2}


def test_random_sampler_num_samples_without_replacement_and_errors():
    s = list(RandomSampler(range(4), num_samples=10, generator=0))
    assert len(s) == 10 and sorted(s[:4]) == [0, 1, 2, 3] and sorted(s[4:8]) == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(SequentialSampler(range(3)), 2, drop_last=None)
    assert len(SubsetRandomSampler([5, 6])) == 2


def test_stack_chain_concat():
    a = TensorDataset(np.arange(4))
    b = TensorDataset(np.arange(4) * 2)
    st = StackDataset(a, b)
    assert len(st) == 4 and st[1][1][0].item() == 2
    sd = StackDataset(x=a, y=b)
    assert sd[3]["y"][0].item() == 6
    x = next(iter(DataLoader(sd, batch_size=4)))
    assert x["y"][0].tolist() == [0, 2, 4, 6]
    with pytest.raises(ValueError, match="same length"):
        StackDataset(a, TensorDataset(np.arange(3)))

    class Count(IterableDataset):
        def __init__(self, lo, hi):
            self.lo, self.hi = lo, hi

        def __iter__(self):
            return iter(range(self.lo, self.hi))

        def __len__(self):
            return self.hi - self.lo
    ch = Count(0, 3) + Count(10, 12)
    assert isinstance(ch, ChainDataset) and list(ch) == [0, 1, 2, 10, 11] and len(ch) == 5
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([a, Count(0, 2)])
    assert len(a + b) == 8


def test_iterable_dataset_in_process_batching():
    class Stream(IterableDataset):
        def __iter__(self):
            assert get_worker_info() is None          # main process
            return iter(range(7))

        def __len__(self):
            return 7
    dl = DataLoader(Stream(), batch_size=3)
    assert [b.tolist() for b in dl] == [[0, 1, 2], [3, 4, 5], [6]] and len(dl) == 3
    dl = DataLoader(Stream(), batch_size=3, drop_last=True)
    assert [b.tolist() for b in dl] == [[0, 1, 2], [3, 4, 5]] and len(dl) == 2
    assert [int(b) for b in DataLoader(Stream(), batch_size=None)] == list(range(7))
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="sampler"):
        DataLoader(Stream(), sampler=[0, 1])


def test_batch_size_none_and_default_convert():
    class Pairs(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full(2, i, dtype=np.float32), i
    out = list(DataLoader(Pairs(), batch_size=None))
    assert len(out) == 3 and out[2][0].tolist() == [2.0, 2.0] and out[2][1] == 2
    assert isinstance(out[0][0], nt.Tensor) and isinstance(out[0], list)
    Point = collections.namedtuple("Point", "x y")
    p = default_convert(Point(np.array([1, 2]), 3))
    assert isinstance(p, Point) and isinstance(p.x, nt.Tensor) and p.y == 3
    d = default_convert({"a": np.float64(2.5), "s": "text", "l": [np.zeros(2)]})
    assert d["a"].item() == 2.5 and d["s"] == "text" and isinstance(d["l"][0], nt.Tensor)
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(Pairs(), batch_size=None, drop_last=True)


def test_getitems_is_used_for_a_batch():
    calls = []

    class Batched(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            raise AssertionError("__getitems__ should have been used")

        def __getitems__(self, indices):
            calls.append(list(indices))
            return [np.int64(i * 3) for i in indices]
    assert [b.tolist() for b in DataLoader(Batched(), batch_size=4, prefetch=0)] == [[0, 3, 6, 9], [12, 15]]
    assert calls == [[0, 1, 2, 3], [4, 5]]
    sub = Subset(Batched(), [5, 0])
    assert [b.tolist() for b in DataLoader(sub, batch_size=2)] == [[15, 0]]


def test_loader_argument_errors():
    ds = TensorDataset(np.arange(4))
    with pytest.raises(ValueError, match="multiprocessing_context"):
        DataLoader(ds, multiprocessing_context="spawn")
    with pytest.raises(ValueError, match="multiprocessing_context"):
        DataLoader(ds, num_workers=1, multiprocessing_context="no-such-method")
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(ds, num_workers=1, prefetch_factor=0)
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(ds, num_workers=1, prefetch=2)
    dl = DataLoader(ds, num_workers=2, pin_memory=True, pin_memory_device="cuda")
    assert dl.prefetch_factor == 2 and dl.pin_memory and not dl.persistent_workers


@requires_torch
@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 4, False),
                                                    (11, 4, True)])
def test_distributed_sampler_shares_follow_torch(n, replicas, drop_last):
    from neuronet.utils.data.distributed import DistributedSampler
    from torch.utils.data.distributed import DistributedSampler as TorchDS
    ours = [list(DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last))
            for r in range(replicas)]
    theirs = [list(TorchDS(range(n), replicas, r, shuffle=False, drop_last=drop_last)) for r in range(replicas)]
    assert ours == theirs
    shuffled = [DistributedSampler(range(n), replicas, r, seed=3, drop_last=drop_last) for r in range(replicas)]
    e0 = [list(s) for s in shuffled]
    assert [len(x) for x in e0] == [len(x) for x in theirs]
    if not drop_last:
        assert set(sum(e0, [])) == set(range(n))                  # every sample on some replica
    for s in shuffled:
        s.set_epoch(1)
    assert [list(s) for s in shuffled] != e0 or n <= 2
    assert list(DistributedSampler(range(5), shuffle=False)) == [0, 1, 2, 3, 4]   # no process group: 1 replica
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(5), num_replicas=2, rank=2)


def test_map_dataset_raising_stop_iteration_is_an_error():
    class Buggy(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i == 2:
                raise StopIteration
            return i
    for prefetch in (0, 2):
        with pytest.raises(RuntimeError, match="StopIteration"):
            list(DataLoader(Buggy(), prefetch=prefetch))
