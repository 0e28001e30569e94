"""Each experiment in its reduced mode: it writes its figure and reading, and
its measured effect has the right sign."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")

from neuronet import lab  # noqa: E402


def check_png(path, min_var=20.0):
    with PIL.open(path) as im:
        assert im.format == "PNG"
        img = np.asarray(im.convert("RGB"), dtype=np.float64)
    assert min(img.shape[:2]) >= 150 and max(img.shape[:2]) <= 2500
    assert img.var() > min_var


def _run(name, tmp_path, **kw):
    res = lab.run(name, str(tmp_path), quick=True, **kw)
    check_png(res.figure)
    txt = open(os.path.join(tmp_path, f"{res.name}.txt")).read()
    assert len(txt.split()) > 40                           # a paragraph, not a stub
    saved = json.load(open(os.path.join(tmp_path, f"{res.name}.json")))
    assert saved["metrics"]
    return res


def test_gradients(tmp_path):
    m = _run("gradients", tmp_path).metrics
    ratio = {k: v["ratio_last_to_first"] for k, v in m.items()}
    assert ratio["sigmoid, N(0, 0.01)"] >= 100               # layer 1 at least 100x smaller
    for fixed in ("tanh, Xavier", "ReLU, He", "sigmoid, N(0, 0.01) + BatchNorm"):
        assert 0.1 <= ratio[fixed] <= 10, (fixed, ratio[fixed])
    assert ratio["sigmoid, Xavier"] > 100                    # sigmoid's slope 1/4 still vanishes
    assert len(m["ReLU, He"]["per_layer"]) >= 10


def test_init(tmp_path):
    m = _run("init", tmp_path).metrics
    assert m["tanh, N(0, 0.01)"]["std_last"] < 1e-5                 # collapse
    assert m["tanh, N(0, 1)"]["saturated_last"] > 0.5                # saturation
    assert m["tanh, Xavier"]["std_last"] > 0.1
    he, xav = m["ReLU, He"], m["ReLU, Xavier"]
    assert 0.5 < he["std_last"] / he["std_first"] < 2                # He holds the spread
    assert xav["std_last"] / xav["std_first"] < 0.2                  # Xavier with ReLU decays


def test_optimizers(tmp_path):
    m = _run("optimizers", tmp_path).metrics
    sgd = m["SGD"]["final_train_loss"]
    for name in ("momentum", "Nesterov", "RMSprop", "Adam"):
        assert m[name]["final_train_loss"] < sgd, name
        assert m[name]["test_accuracy"] > m["SGD"]["test_accuracy"], name


def test_overfitting(tmp_path):
    m = _run("overfitting", tmp_path).metrics
    base = m["no regularization"]
    assert base["accuracy_gap"] > 0.05 and base["train_accuracy"] > 0.9
    for name in ("dropout 0.5", "weight decay 1e-2", "augmentation"):
        assert m[name]["loss_gap"] < base["loss_gap"], name


def test_conv_vs_fc(tmp_path):
    m = _run("conv-vs-fc", tmp_path).metrics
    mlp, lenet = m["MLP 784-72-64-10"], m["LeNet-5"]
    assert abs(mlp["parameters"] - lenet["parameters"]) / lenet["parameters"] < 0.05
    assert lenet["shifted_test_accuracy"] > mlp["shifted_test_accuracy"]


def test_segmentation(tmp_path):
    res = _run("segmentation", tmp_path)
    m = res.metrics
    assert 0 <= m["mean_iou"] <= 1 and 0 <= m["pixel_accuracy"] <= 1
    assert m["epochs"] == 3 and m["parameters"] > 0 and not m["stopped_by_time"]
    assert m["cpu_seconds"] > 0 and m["train_seconds"] > 0
    # Above chance: calling every pixel background scores a mean IoU of about
    # 0.22 here (background IoU ~0.89, the shapes 0); three short epochs
    # (about 0.35) must find the shapes, if not yet tell them apart.
    ious = m["iou_per_class"]
    assert set(ious) == {"background", "circle", "square", "triangle"}
    assert m["mean_iou"] > 0.28 and max(ious["circle"], ious["square"], ious["triangle"]) > 0.08
    assert m["mean_iou"] == pytest.approx(np.mean(list(ious.values())))
    assert m["mean_iou_per_epoch"][-1] > m["mean_iou_per_epoch"][0]
    run_dir = tmp_path / "segmentation-unet"
    for name in ("segmentation.png", "confusion.png", "learning_curves.png", "report.html"):
        assert (run_dir / name).is_file(), name


def test_main_list_and_errors(capsys, tmp_path):
    assert lab.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("segmentation", "gradients", "overfitting", "optimizers", "init", "conv-vs-fc"):
        assert name in out
    assert lab.main(["nope"]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert lab.main(["gradients", "--epochs", "3"]) == 2
    with pytest.raises(ValueError, match="unknown experiment"):
        lab.run("nope", str(tmp_path))


def test_main_runs_and_prints_reading(capsys, tmp_path):
    assert lab.main(["init", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "He initialization" in out and "init.png" in out
    assert (tmp_path / "init.txt").is_file()
