"""Trainer: metrics, checkpoints (bit-exact round trip, exact resume, wrong
architecture), NaN guard, early stopping, logs."""
import json
import os

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn as nn
from neuronet import optim
from neuronet.data import DataLoader, TensorDataset
from neuronet.models import get_model
from neuronet.optim import lr_scheduler
from neuronet.train import (CheckpointError, Trainer, TrainingDiverged, load_checkpoint, load_model,
                            save_checkpoint)


def _data(n=96, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = (x[:, 0, :14].mean(axis=(1, 2)) > 0).astype(np.int64) + 2 * (x[:, 0, :, :14].mean(axis=(1, 2)) > 0)
    return TensorDataset(nt.tensor(x), nt.tensor(y))


def _setup(out_dir, seed=0, epochs=4):
    nt.manual_seed(seed)
    model = get_model("lenet5", num_classes=4)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    train = DataLoader(_data(), batch_size=16, shuffle=True, seed=seed)
    val = DataLoader(_data(48, seed=1), batch_size=48)
    tr = Trainer(model, opt, scheduler=sched, num_classes=4, out_dir=out_dir, verbose=False)
    return tr, train, val


def test_fit_logs_metrics_and_writes_checkpoints(tmp_path):
    tr, train, val = _setup(str(tmp_path))
    hist = tr.fit(train, val, epochs=3)
    assert len(hist) == 3
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "images_per_s"} <= set(hist[0])
    assert hist[0]["val_confusion_matrix"].sum() == 48
    for name in ("last.npz", "best.npz", "metrics.csv", "history.json"):
        assert (tmp_path / name).exists(), name
    rows = (tmp_path / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 4 and rows[0].startswith("epoch,lr")
    assert len(json.loads((tmp_path / "history.json").read_text())) == 3
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_checkpoint_round_trip_is_bit_exact(tmp_path):
    tr, train, val = _setup(None)
    tr.fit(train, val, epochs=1)
    path = tmp_path / "ck.npz"
    save_checkpoint(path, tr.model, tr.optimizer, tr.scheduler, epoch=1,
                    preprocessing={"mean": [0.1], "std": [0.3]})
    ck = load_checkpoint(path)
    for k, v in tr.model.state_dict().items():
        np.testing.assert_array_equal(ck.model_state[k].numpy(), v.numpy(), err_msg=k)
        assert ck.model_state[k].dtype == v.dtype
    model = load_model(path)
    assert not model.training and model.config == tr.model.config
    x = nt.randn(2, 1, 28, 28)
    tr.model.eval()
    np.testing.assert_array_equal(model(x).numpy(), tr.model(x).numpy())
    assert isinstance(nt.load(path), nn.Module)
    assert ck.preprocessing["std"] == [0.3]


def test_resume_equals_uninterrupted_run(tmp_path):
    full, train, val = _setup(str(tmp_path / "full"))
    full.fit(train, val, epochs=4)

    part, train2, val2 = _setup(str(tmp_path / "part"))
    part.fit(train2, val2, epochs=2)
    # a fresh process would rebuild everything from scratch: simulate it
    nt.manual_seed(123)
    again, train3, val3 = _setup(str(tmp_path / "part"), seed=0)
    nt.manual_seed(999)          # the checkpoint must restore the random state itself
    again.fit(train3, val3, epochs=4, resume=str(tmp_path / "part" / "last.npz"))

    for (k, a), (_, b) in zip(full.model.state_dict().items(), again.model.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert [h["train_loss"] for h in full.history] == [h["train_loss"] for h in again.history]


def test_checkpoint_for_another_architecture_is_refused(tmp_path):
    tr, train, val = _setup(None)
    path = tmp_path / "lenet.npz"
    save_checkpoint(path, tr.model, tr.optimizer)
    other = get_model("resnet20", num_classes=4)
    with pytest.raises(CheckpointError, match="lenet5.*does not fit model 'resnet20'"):
        load_checkpoint(path).load_into(other)


def test_nan_guard_names_step_and_loss():
    nt.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 4))
    opt = optim.SGD(model.parameters(), lr=0.1)
    tr = Trainer(model, opt, verbose=False)
    data = _data()
    data.tensors[0].array[40, 0, 3, 3] = np.nan          # a corrupt sample in batch 3
    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 1, step 3 "):
        tr.fit(DataLoader(data, batch_size=16), epochs=1)


def test_early_stopping_stops():
    nt.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 4))
    opt = optim.SGD(model.parameters(), lr=0.0)       # nothing improves
    tr = Trainer(model, opt, early_stopping=2, monitor="val_loss", verbose=False)
    data = DataLoader(_data(), batch_size=32)
    hist = tr.fit(data, data, epochs=10)
    assert len(hist) == 3


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    model = nn.Linear(2, 2)
    with pytest.raises(OSError, match="not writable"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1), out_dir=str(blocker / "run"), verbose=False)
