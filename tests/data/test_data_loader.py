"""DataLoader, samplers, collate and the dataset combinators."""
import collections

import numpy as np
import pytest

import neuronet as nt
from neuronet.data import (ArrayDataset, BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler,
                           SequentialSampler, Subset, SubsetRandomSampler, TensorDataset, default_collate,
                           mnist_sample, random_split)
from neuronet.data import transforms as T


def ids(loader):
    return [b[0].numpy().tolist() for b in loader]


def range_ds(n):
    return TensorDataset(np.arange(n), np.arange(n) * 10)


# ------------------------------------------------------------------ batching
def test_batching_len_and_drop_last():
    dl = DataLoader(range_ds(10), batch_size=3)
    batches = list(dl)
    assert len(dl) == 4 and [len(b[0]) for b in batches] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), np.arange(10))
    np.testing.assert_array_equal(batches[1][1].numpy(), [30, 40, 50])
    dl = DataLoader(range_ds(10), batch_size=3, drop_last=True)
    assert len(dl) == 3 and [len(b[0]) for b in dl] == [3, 3, 3]
    assert len(DataLoader(range_ds(9), batch_size=3)) == 3


def test_shuffle_reproducible_and_reshuffles_each_epoch():
    ds = range_ds(50)
    nt.manual_seed(7)
    dl = DataLoader(ds, batch_size=8, shuffle=True)
    e1, e2 = ids(dl), ids(dl)
    assert e1 != e2                                               # new order each epoch
    for e in (e1, e2):
        assert sorted(sum(e, [])) == list(range(50))              # each sample exactly once
    nt.manual_seed(7)
    dl = DataLoader(ds, batch_size=8, shuffle=True)
    assert ids(dl) == e1 and ids(dl) == e2                        # same under the same seed
    # an explicit seed ignores the global state
    a = ids(DataLoader(ds, batch_size=8, shuffle=True, seed=3))
    nt.manual_seed(123)
    b = ids(DataLoader(ds, batch_size=8, shuffle=True, seed=3))
    assert a == b and a != e1
    g = np.random.default_rng(3)
    assert ids(DataLoader(ds, batch_size=8, shuffle=True, generator=g)) == a


def test_dict_tuple_and_scalar_collate():
    class DictDS(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"image": np.full((2, 3), i, dtype=np.float32), "label": i, "weight": 0.5 * i,
                    "name": f"s{i}", "pair": (np.array([i, -i]), True)}
    batch = next(iter(DataLoader(DictDS(), batch_size=4)))
    assert set(batch) == {"image", "label", "weight", "name", "pair"}
    assert batch["image"].shape == (4, 2, 3) and batch["image"].dtype == np.float32
    assert batch["label"].dtype == np.int64 and batch["label"].tolist() == [0, 1, 2, 3]
    assert batch["weight"].dtype == np.float64
    assert batch["name"] == ["s0", "s1", "s2", "s3"]
    pair = batch["pair"]
    assert isinstance(pair, list) and pair[0].shape == (4, 2) and pair[1].dtype == np.bool_
    Point = collections.namedtuple("Point", "x y")
    out = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point) and out.x.tolist() == [1, 3]
    t = default_collate([(nt.ones(2), 1), (nt.zeros(2), 0)])
    assert isinstance(t, list) and t[0].shape == (2, 2)
    with pytest.raises(RuntimeError, match="equal shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="cannot batch"):
        default_collate([object(), object()])


def test_prefetch_gives_the_same_batches():
    ds = Subset(mnist_sample(train=False, transform=T.Compose([
        T.RandomAffine(15, translate=(0.1, 0.1), interpolation="bilinear"), T.ToTensor()])), range(300))
    runs = []
    for prefetch in (0, 2, 5):
        nt.manual_seed(11)
        dl = DataLoader(ds, batch_size=32, shuffle=True, prefetch=prefetch)
        epoch = []
        for _ in range(2):
            for x, y in dl:
                nt.rand(3)            # the model's own draws (dropout) must not disturb the data
                epoch.append((x.numpy().copy(), y.numpy().copy()))
        runs.append(epoch)
    for other in runs[1:]:
        assert len(other) == len(runs[0])
        for (x0, y0), (x1, y1) in zip(runs[0], other):
            np.testing.assert_array_equal(x0, x1)
            np.testing.assert_array_equal(y0, y1)


def test_prefetch_propagates_errors_and_stops_early():
    class Boom(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 6:
                raise ValueError("bad sample 6")
            return np.float32(i)
    it = iter(DataLoader(Boom(), batch_size=2, prefetch=2))
    assert next(it).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="bad sample 6"):
        for _ in it:
            pass
    # breaking out early is fine, and the next epoch starts afresh
    dl = DataLoader(range_ds(100), batch_size=4, prefetch=3)
    for x, _ in dl:
        break
    assert sum(len(b[0]) for b in dl) == 100


def test_uint8_fast_path_equals_item_by_item():
    tf = T.Compose([T.Pad(2), T.CenterCrop(28), T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = mnist_sample(train=False, transform=tf)
    assert callable(getattr(ds, "get_batch", None))
    fast = DataLoader(ds, batch_size=100, shuffle=True, seed=0, prefetch=0)
    slow = DataLoader(ds, batch_size=100, shuffle=True, seed=0, prefetch=0, collate_fn=default_collate)
    assert fast._fast and not slow._fast
    n = 0
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert xf.shape == (len(yf), 1, 28, 28) and xf.dtype == np.float32 and yf.dtype == np.int64
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        n += 1
    assert n == 20
    # no transform: raw uint8 batches; and a Subset keeps the fast path
    raw = mnist_sample(train=False)
    sub = Subset(raw, np.arange(0, 2000, 7))
    xf, yf = next(iter(DataLoader(sub, batch_size=50)))
    xs, ys = next(iter(DataLoader(sub, batch_size=50, collate_fn=default_collate)))
    assert xf.dtype == np.uint8 and xf.shape == (50, 28, 28)
    np.testing.assert_array_equal(xf.numpy(), xs.numpy())
    np.testing.assert_array_equal(yf.numpy(), ys.numpy())
    np.testing.assert_array_equal(xf.numpy(), raw.data[np.arange(0, 350, 7)])


def test_fast_path_falls_back_for_plain_callables():
    ds = ArrayDataset(np.arange(12, dtype=np.uint8).reshape(3, 2, 2), [0, 1, 2],
                      transform=lambda a: a.astype(np.float32) * 2, target_transform=lambda t: t + 1)
    x, y = next(iter(DataLoader(ds, batch_size=3)))
    np.testing.assert_array_equal(x.numpy(), np.arange(12).reshape(3, 2, 2) * 2)
    assert y.tolist() == [1, 2, 3]


# ------------------------------------------------------------------ samplers
def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    s = RandomSampler(range(20), generator=5)
    a, b = list(s), list(s)
    assert sorted(a) == list(range(20)) and a != b
    assert list(RandomSampler(range(20), generator=5)) == a
    r = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=0))
    assert len(r) == 50 and set(r) <= {0, 1, 2}
    sub = SubsetRandomSampler([3, 5, 7, 9], generator=1)
    assert sorted(sub) == [3, 5, 7, 9] and len(sub) == 4
    bs = BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2
    dl = DataLoader(range_ds(10), batch_sampler=[[1, 2], [9]])
    assert ids(dl) == [[1, 2], [9]]
    dl = DataLoader(range_ds(10), sampler=SubsetRandomSampler([0, 2, 4]), batch_size=2)
    assert sorted(sum(ids(dl), [])) == [0, 2, 4]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(range_ds(3), sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(range_ds(3), batch_size=0)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(range_ds(3), num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(range_ds(3), prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(range_ds(3), persistent_workers=True)
    with pytest.raises(ValueError, match="timeout"):
        DataLoader(range_ds(3), timeout=-1)


# ------------------------------------------------------------------ combinators
def test_subset_concat_random_split():
    ds = range_ds(10)
    sub = Subset(ds, [7, 2])
    assert len(sub) == 2 and sub[0][0].item() == 7 and sub[-1][1].item() == 20
    cat = ConcatDataset([ds, Subset(ds, [0, 1])])
    assert len(cat) == 12 and cat[10][0].item() == 0 and cat[9][0].item() == 9
    assert len(ds + ds) == 20
    with pytest.raises(IndexError, match="out of range"):
        ds[10]
    a, b, c = random_split(ds, [0.5, 0.3, 0.2], generator=0)
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    seen = sorted(x[0].item() for part in (a, b, c) for x in (part[i] for i in range(len(part))))
    assert seen == list(range(10))
    a2, _, _ = random_split(ds, [5, 3, 2], generator=np.random.default_rng(0))
    assert a.indices == a2.indices
    assert [len(p) for p in random_split(range_ds(11), [0.5, 0.5], generator=1)] == [6, 5]
    with pytest.raises(ValueError, match="sum"):
        random_split(ds, [3, 3])
    nt.manual_seed(4)
    p1 = random_split(ds, [5, 5])[0].indices
    nt.manual_seed(4)
    assert random_split(ds, [5, 5])[0].indices == p1


def test_data_layer_imports_no_nn_and_no_pickle():
    """neuronet.data sits below neuronet.nn, and no file format here can run code."""
    import ast
    import pathlib
    import neuronet.data
    root = pathlib.Path(neuronet.data.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) >= 10
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                mods = [("." * node.level) + (node.module or "")]
                mods += [m + "." + a.name for m in mods for a in node.names]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            else:
                continue
            for m in mods:
                assert not m.startswith(("neuronet.nn", "..nn", "...nn")), f"{f} imports {m}"
                # worker processes exchange batches over multiprocessing's pipe (its
                # ForkingPickler, between our own processes); no file is ever unpickled
                ipc = f.name == "dataloader.py" and m == "multiprocessing.reduction.ForkingPickler"
                assert ("pickle" not in m.lower() or ipc) and "torch" not in m, f"{f} imports {m}"


def test_custom_random_transform_follows_the_loader_generator():
    from neuronet.data import random_generator

    def jitter(img):
        return img.astype(np.float32) + random_generator().standard_normal(img.shape).astype(np.float32)
    ds = ArrayDataset(np.zeros((40, 3, 3), dtype=np.uint8), np.arange(40), transform=jitter)
    out = []
    for prefetch in (0, 3):
        nt.manual_seed(2)
        out.append([x.numpy() for x, _ in DataLoader(ds, batch_size=8, shuffle=True, prefetch=prefetch)])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(out[0][0], out[0][1])
