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


# ------------------------------------------------------------------ what the figures say (issue 15)
@pytest.fixture
def captured(monkeypatch):
    """The matplotlib figure each function draws, kept open for inspection."""
    figs = []

    def keep(fig, path, dpi=90):
        fig.canvas.draw()
        figs.append(fig)
        return path

    monkeypatch.setattr(figures, "save", keep)
    yield figs
    from neuronet.report._mpl import pyplot
    for f in figs:
        pyplot().close(f)


def test_learning_curves_tick_whole_epochs(tmp_path, captured):
    hist = [{"epoch": e, "lr": 0.1 / e, "train_loss": 2 / e, "val_loss": 2.2 / e,
             "train_accuracy": 1 - 0.5 / e, "val_accuracy": 1 - 0.6 / e} for e in range(1, 11)]
    figures.learning_curves(hist, str(tmp_path / "lc.png"))
    for ax in captured[0].axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks), ticks


def test_layer_statistics_names_the_layers(tmp_path, captured):
    layers = ["features.0", "features.3", "classifier.0", "classifier.2", "classifier.4"]
    r = np.random.default_rng(0)
    stats = {"steps": np.arange(6), "layers": layers, "grad_norm": r.uniform(0.1, 1, (6, 5)),
             "weight_std": r.uniform(0.1, 1, (6, 5)), "act_std": r.uniform(0.1, 1, (6, 5))}
    figures.layer_statistics(stats, str(tmp_path / "ls.png"))
    fig = captured[0]
    legend_names = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert set(layers) <= set(legend_names)
    assert [t.get_text() for t in fig.axes[3].get_xticklabels()] == layers   # depth axis named
    assert not any("0.5" in t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if ax.get_label()
                   == "<colorbar>")                                            # no continuous colour bar


def test_layer_statistics_many_layers_use_a_named_colour_bar(tmp_path, captured):
    layers = [f"layer{i}" for i in range(20)]
    stats = {"steps": np.arange(3), "layers": layers, "grad_norm": np.ones((3, 20))}
    figures.layer_statistics(stats, str(tmp_path / "ls.png"))
    labels = {t.get_text() for ax in captured[0].axes for t in ax.get_yticklabels()}
    assert "layer0" in labels and "layer19" in labels


def test_per_class_axis_shows_the_differences(tmp_path, captured):
    cm = np.diag([178, 213, 199, 206, 196, 182, 216, 222, 189, 199])
    cm[3, 5] = cm[8, 3] = 4                                   # two classes a little worse
    figures.confusion(cm, str(tmp_path / "c.png"), split="test")
    bars = captured[0].axes[1]
    lo, hi = bars.get_xlim()
    assert hi == 100 and 80 <= lo < 98                       # not 0-100: 97 % and 100 % differ visibly
    assert "test set" in captured[0].axes[0].get_title()
    assert figures.per_class_axis_start([99.5, 97.1, 100]) < 97.1
    assert figures.per_class_axis_start([30, 90]) == 0


def test_misclassified_title_counts_the_whole_set(tmp_path, captured):
    imgs = np.random.default_rng(0).random((30, 1, 28, 28))
    figures.misclassified_grid(imgs, np.zeros(30, int), np.ones(30, int), np.linspace(1, 0.5, 30),
                               str(tmp_path / "m.png"), total=2000, split="test")
    title = captured[0]._suptitle.get_text()
    assert "30 wrong of 2,000 test samples" in title and "24 most confident" in title
