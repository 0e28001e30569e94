"""A short training run with ReportCallback writes every figure and a
self-contained report.html; ``neuronet show`` redraws it from the run
directory or a checkpoint."""
import json
import os
import re

import numpy as np
import pytest

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")

import neuronet as nt  # noqa: E402
from neuronet import optim  # noqa: E402
from neuronet.data import DataLoader, TensorDataset, mnist_sample  # noqa: E402
from neuronet.models import lenet5  # noqa: E402
from neuronet.report import FIGURES, ReportCallback, show_main  # noqa: E402
from neuronet.train import Trainer  # noqa: E402

CLASSIFICATION_FIGURES = ["learning_curves.png", "filters.png", "feature_maps.png", "confusion.png",
                          "misclassified.png", "layer_stats.png"]


def check_png(path, min_side=150, max_side=2500, min_var=20.0):
    with PIL.open(path) as im:
        assert im.format == "PNG"
        img = np.asarray(im.convert("RGB"), dtype=np.float64)
    h, w = img.shape[:2]
    assert min_side <= h <= max_side and min_side <= w <= max_side, f"{path}: size {w}x{h}"
    assert img.var() > min_var, f"{path}: looks blank (pixel variance {img.var():.1f})"


def _mnist(train, n):
    ds = mnist_sample(train=train)
    x = ((ds.data[:n].astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]
    return x, np.asarray(ds.targets[:n], dtype=np.int64)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    nt.manual_seed(0)
    out = str(tmp_path_factory.mktemp("run"))
    xtr, ytr = _mnist(True, 128)
    xva, yva = _mnist(False, 64)
    xte, yte = _mnist(False, 300)
    xte, yte = xte[100:], yte[100:]                       # a test set apart from the validation samples
    model = lenet5()
    report = ReportCallback(out, sample_inputs=(xva, yva), class_names=mnist_sample(False).classes,
                            stats_every=1, every=2)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, epochs=2, steps_per_epoch=4)
    trainer = Trainer(model, opt, scheduler=sched, scheduler_step="batch", num_classes=10,
                      out_dir=out, callbacks=[report], verbose=False, config={"note": "test run"})
    trainer.fit(DataLoader(TensorDataset(xtr, ytr), batch_size=32, shuffle=True, seed=0),
                DataLoader(TensorDataset(xva, yva), batch_size=64), epochs=2)
    res = trainer.evaluate(DataLoader(TensorDataset(xte, yte), batch_size=100))
    report.final_evaluation(trainer, TensorDataset(xte, yte), res, checkpoint="last.npz", epoch=2)
    return out


def test_every_figure_is_written_and_not_blank(run_dir):
    for name in CLASSIFICATION_FIGURES:
        check_png(os.path.join(run_dir, name))
    assert os.path.isfile(os.path.join(run_dir, "metrics.csv"))
    assert os.path.isfile(os.path.join(run_dir, "last.npz"))


def test_report_html_is_self_contained_and_references_every_figure(run_dir):
    page = open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    for name in CLASSIFICATION_FIGURES:
        assert f'href="{name}"' in page, name
    assert page.count('src="data:image/png;base64,') == len(CLASSIFICATION_FIGURES)
    # nothing fetched from the network: no external src/href, no scripts
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', page, re.I)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    # configuration, environment, duration and final metrics are there
    for needle in ("numpy", "python", "LeNet5", "SGD", "training time", "val_accuracy", "test run", "Last epoch",
                   "Test set (evaluated once, at the end)", "OneCycleLR", "max_lr"):
        assert needle in page, needle
    # one duration, and the figures say which split they show
    assert page.count("training time") == 1 and "sum of epochs" not in page
    assert "Confusion matrix of the test set (200 samples, last.npz from epoch 2)" in page


def test_report_state(run_dir):
    state = json.load(open(os.path.join(run_dir, "report.json")))
    assert state["finished"] and state["duration_s"] > 0
    stats = state["layer_stats"]
    assert stats["layers"] == ["features.0", "features.3", "classifier.0", "classifier.2", "classifier.4"]
    assert len(stats["steps"]) == 8                       # 8 steps, each recorded
    g = np.array(stats["grad_norm"], dtype=float)
    assert np.isfinite(g).all() and (g > 0).all()
    a = np.array(stats["act_std"], dtype=float)
    assert np.isfinite(a).all() and (a > 0).all()        # activations measured on the armed steps
    cm = np.array(state["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 200       # the whole test set, drawn last
    assert state["final_evaluation"]["split"] == "test" and state["final_evaluation"]["n"] == 200
    assert abs(state["final_evaluation"]["accuracy"] - np.trace(cm) / 200) < 1e-12
    # the optimizer as configured, not where the one-cycle schedule left lr and momentum
    opt = state["config"]["optimizer"]
    assert opt["class"] == "SGD" and opt["lr"] == 0.05 and opt["momentum"] == 0.9
    sched = state["config"]["scheduler"]
    assert sched["class"] == "OneCycleLR" and sched["max_lr"] == 0.05 and sched["total_steps"] == 8
    # the Trainer's clock is the report's one duration
    assert state["duration_s"] > 0 and state["cpu_time_s"] > 0


def test_misclassified_are_the_test_sets_most_confident_mistakes(run_dir, monkeypatch):
    """The final grid is drawn from every test sample, wrong ones in order of confidence."""
    from neuronet.report import callback, figures
    seen = {}

    def spy(images, true, pred, confidence, path, **kw):
        seen.update(n=len(images), conf=np.asarray(confidence), total=kw.get("total"), split=kw.get("split"))
    monkeypatch.setattr(figures, "misclassified_grid", spy)
    from neuronet.train import load_checkpoint
    model = load_checkpoint(os.path.join(run_dir, "last.npz")).build_model()
    xte, yte = _mnist(False, 300)
    callback.draw_model_figures(model, run_dir, xte[100:], yte[100:], split="test")
    pred = callback.predict(model, xte[100:]).argmax(axis=1)
    assert seen["total"] == 200 and seen["split"] == "test"
    assert seen["n"] == int((pred != yte[100:]).sum())
    assert np.all(np.diff(seen["conf"]) <= 0)             # most confident first


def test_show_rewrites_report_from_run_dir_and_checkpoint(run_dir, capsys):
    os.remove(os.path.join(run_dir, "filters.png"))
    os.remove(os.path.join(run_dir, "report.html"))
    assert show_main([run_dir]) == 0
    assert capsys.readouterr().out.strip() == os.path.join(run_dir, "report.html")
    check_png(os.path.join(run_dir, "filters.png"))
    assert show_main([os.path.join(run_dir, "best.npz")]) == 0
    page = open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    assert "best.npz" in page
    for name in CLASSIFICATION_FIGURES:
        assert f'href="{name}"' in page


def test_show_errors(tmp_path, capsys):
    assert show_main([str(tmp_path / "missing")]) == 1
    assert "no such run directory" in capsys.readouterr().err
    assert show_main([str(tmp_path)]) == 1
    assert "not a run directory" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    assert show_main([str(bad)]) == 1
    assert "error" in capsys.readouterr().err


def test_figure_list_covers_the_callback():
    names = [f for f, _ in FIGURES]
    assert set(CLASSIFICATION_FIGURES) <= set(names) and "segmentation.png" in names


def test_callback_without_samples_draws_feature_maps(tmp_path):
    """No samples: the first training input is captured for the feature maps."""
    x, y = _mnist(True, 64)
    model = lenet5()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.01), out_dir=str(tmp_path),
                      callbacks=[ReportCallback(str(tmp_path))], verbose=False)
    trainer.fit(DataLoader(TensorDataset(x, y), batch_size=32), epochs=1)
    for name in ("learning_curves.png", "filters.png", "feature_maps.png", "layer_stats.png"):
        check_png(str(tmp_path / name))
    assert not os.path.exists(tmp_path / "misclassified.png")


def test_callback_validates_arguments(tmp_path):
    with pytest.raises(ValueError, match="every"):
        ReportCallback(str(tmp_path), every=0)
