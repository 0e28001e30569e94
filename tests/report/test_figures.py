"""Each figure function, from plain arrays: the PNG decodes, has a sensible
size and is not blank; bad input gets a clear error."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")

from neuronet.report import figures  # noqa: E402


def check_png(path, min_side=150, max_side=2500, min_var=20.0):
    with PIL.open(path) as im:
        assert im.format == "PNG"
        img = np.asarray(im.convert("RGB"), dtype=np.float64)
    h, w = img.shape[:2]
    assert min_side <= h <= max_side and min_side <= w <= max_side, f"{path}: size {w}x{h}"
    assert img.var() > min_var, f"{path}: looks blank (pixel variance {img.var():.1f})"
    return img


def test_blank_png_is_rejected_by_the_check(tmp_path):
    """The non-blank check can fail: a white figure does not pass it."""
    from neuronet.report._mpl import pyplot, save
    plt = pyplot()
    fig = plt.figure(figsize=(3, 3))
    save(fig, str(tmp_path / "blank.png"))
    with pytest.raises(AssertionError, match="blank"):
        check_png(tmp_path / "blank.png")


def test_learning_curves(tmp_path):
    hist = [{"epoch": e, "lr": 0.1 * 0.5 ** e, "train_loss": 2 / e, "val_loss": 2.2 / e,
             "train_accuracy": 1 - 0.5 / e, "val_accuracy": 1 - 0.6 / e} for e in range(1, 6)]
    check_png(figures.learning_curves(hist, str(tmp_path / "lc.png")))
    with pytest.raises(ValueError, match="empty"):
        figures.learning_curves([], str(tmp_path / "x.png"))


@pytest.mark.parametrize("shape", [(16, 3, 5, 5), (6, 1, 5, 5), (8, 4, 3, 3), (20, 784)])
def test_filter_grid(tmp_path, shape):
    w = np.random.default_rng(0).normal(size=shape)
    img = check_png(figures.filter_grid(w, str(tmp_path / "f.png")))
    if shape[1] == 3:     # RGB filters are drawn in colour
        assert np.abs(img[..., 0] - img[..., 1]).max() > 10


def test_filter_grid_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="image_shape"):
        figures.filter_grid(np.zeros((4, 10)), str(tmp_path / "f.png"))
    with pytest.raises(ValueError, match="expected a weight"):
        figures.filter_grid(np.zeros((4, 3, 3)), str(tmp_path / "f.png"))


def test_feature_maps(tmp_path):
    rng = np.random.default_rng(0)
    maps = [("conv1", rng.normal(size=(6, 28, 28))), ("conv2", rng.normal(size=(16, 10, 10)))]
    check_png(figures.feature_maps(rng.normal(size=(1, 28, 28)), maps, str(tmp_path / "fm.png")))
    with pytest.raises(ValueError, match="Conv2d"):
        figures.feature_maps(rng.normal(size=(1, 8, 8)), [], str(tmp_path / "fm.png"))


def test_confusion(tmp_path):
    cm = np.diag([50, 40, 30]) + 2
    check_png(figures.confusion(cm, str(tmp_path / "c.png"), class_names=["a", "b", "c"]))
    check_png(figures.confusion(cm, str(tmp_path / "c2.png"), iou=[0.9, 0.8, np.nan]))
    with pytest.raises(ValueError, match="square"):
        figures.confusion(np.zeros((2, 3)), str(tmp_path / "c.png"))
    with pytest.raises(ValueError, match="class names"):
        figures.confusion(cm, str(tmp_path / "c.png"), class_names=["a"])


def test_misclassified_and_segmentation(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 1, 28, 28))
    check_png(figures.misclassified_grid(x, np.arange(10), (np.arange(10) + 1) % 10, rng.uniform(size=10),
                                         str(tmp_path / "m.png"), total=100))
    truth = rng.integers(0, 4, size=(3, 16, 16))
    check_png(figures.segmentation_examples(rng.uniform(size=(3, 3, 16, 16)), truth, truth[::-1],
                                            str(tmp_path / "s.png"), class_names=["bg", "a", "b", "c"]))


def test_layer_statistics(tmp_path):
    steps = np.arange(1, 11)
    g = np.outer(np.ones(10), 10.0 ** -np.arange(5))
    stats = {"steps": steps, "layers": [f"l{i}" for i in range(5)], "grad_norm": g, "weight_std": g + 1,
             "act_std": np.full((10, 5), np.nan)}
    check_png(figures.layer_statistics(stats, str(tmp_path / "ls.png")))
    with pytest.raises(ValueError, match="no statistics"):
        figures.layer_statistics({"steps": [], "layers": []}, str(tmp_path / "ls.png"))


def test_to_display_and_tile():
    d = figures.to_display(np.array([[[1.0, 3.0]]]))
    assert d.tolist() == [[0.0, 1.0]]
    assert figures.to_display(np.ones((3, 2, 2))).shape == (2, 2, 3)
    t = figures.tile(np.zeros((3, 2, 2)), ncols=2, pad=1)
    assert t.shape == (2 * 3 + 1, 2 * 3 + 1)
    assert t[1:3, 1:3].max() == 0 and t[0].min() == 1
