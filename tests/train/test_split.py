"""The validation split `neuronet train` holds out of the training data:
seeded, stratified, disjoint, read without augmentation."""
import numpy as np
import pytest

from neuronet.train.recipes import build_data, class_labels, stratified_split


def test_stratified_split_keeps_each_class_fraction_and_is_seeded():
    labels = np.repeat(np.arange(10), [615, 684, 596, 628, 580, 511, 600, 641, 551, 594])
    tr, va = stratified_split(labels, 0.1, seed=0)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(labels)
    counts = np.bincount(labels[va], minlength=10)
    expected = np.round(np.bincount(labels) * 0.1)
    assert np.array_equal(counts, expected)                      # every digit, in proportion
    tr2, va2 = stratified_split(labels, 0.1, seed=0)
    assert np.array_equal(va, va2)                               # same seed, same split
    _, va3 = stratified_split(labels, 0.1, seed=1)
    assert not np.array_equal(va, va3)                           # another seed, another split


def test_stratified_split_small_and_unlabelled():
    tr, va = stratified_split(np.array([0, 0, 1]), 0.1, seed=0)
    assert len(va) == 1 and len(tr) == 2                         # at least one held out
    tr, va = stratified_split(10, 0.3, seed=0)                   # no classes: a random split
    assert len(va) == 3 and len(tr) == 7
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(np.arange(5), 1.0)


def test_build_data_holds_out_validation_without_augmentation():
    data = build_data("mnist-sample", augment=True, seed=0, val_split=0.1)
    assert len(data.train) + len(data.val) == 6000 and len(data.val) == 600
    val_idx = np.asarray(data.val.indices)
    assert len(np.intersect1d(np.asarray(data.train.indices), val_idx)) == 0
    labels = class_labels(data.val)
    assert np.array_equal(labels, data.val.dataset.targets[val_idx])
    x1 = np.stack([np.asarray(data.val[i][0]) for i in range(4)])
    x2 = np.stack([np.asarray(data.val[i][0]) for i in range(4)])
    assert np.array_equal(x1, x2)                                # no random augmentation on validation
    assert len(data.test) == 2000                                # the test set is untouched
    sub = build_data("mnist-sample", augment=False, seed=0, val_split=0.1, subset=500)
    assert len(sub.train) + len(sub.val) == 500 and max(sub.val.indices) < 500


def test_best_checkpoint_is_the_latest_within_the_tolerance(tmp_path):
    """selection_tolerance: best.npz holds the latest epoch within the tolerance of
    the best value so far (the CLI passes one standard error of the accuracy)."""
    import neuronet as nt
    from neuronet import optim
    from neuronet.models import get_model
    from neuronet.train import Trainer, load_checkpoint
    for tol, expected in ((None, 2), (0.01, 6)):
        nt.manual_seed(0)
        model = get_model("lenet5", num_classes=2)
        tr = Trainer(model, optim.SGD(model.parameters(), lr=0.0), out_dir=str(tmp_path / str(tol)),
                     verbose=False, selection_tolerance=tol)
        values = iter([0.90, 0.97, 0.95, 0.965, 0.93, 0.962])
        tr.train_epoch = lambda loader: {"train_loss": 1.0}
        tr.evaluate = lambda loader: {"accuracy": next(values), "loss": 1.0, "n": 10}
        tr.fit([None], [None], epochs=6)
        assert tr.selected_epoch == expected and tr.best == 0.97
        assert load_checkpoint(tmp_path / str(tol) / "best.npz").epoch == expected
