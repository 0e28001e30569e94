"""The command line: train a few iterations on the bundled sample, then eval
--json, predict on a PNG, info; every user error exits non-zero with one line."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NEURONET_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "neuronet", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    r = run("train", "lenet5", "--data", "mnist-sample", "--subset", "1024", "--epochs", "3", "--scheduler", "none", "--optimizer", "adam", "--lr", "0.003", "--no-augment",
            "--batch-size", "64", "--out", str(out), "--no-report", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout
    return out


def test_train_writes_run_directory(trained):
    for name in ("last.npz", "best.npz", "metrics.csv", "history.json", "summary.json"):
        assert (trained / name).exists(), name
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["n_test"] == 2000 and 0.0 <= summary["test_accuracy"] <= 1.0


def test_train_validates_on_a_split_of_the_training_data(trained):
    """Default protocol: 10 % of the training digits held out (stratified, seeded),
    best.npz picked on them, the test set evaluated once for that checkpoint;
    the summary says which split produced each number."""
    summary = json.loads((trained / "summary.json").read_text())
    val, test = summary["validation"], summary["test"]
    assert val["n"] == 103 and "held out of the training set" in val["split"] and "seed 0" in val["split"]
    assert test["n"] == 2000 and test["split"].startswith("test") and "evaluated once" in test["split"]
    assert summary["checkpoint"].endswith("best.npz") and "validation" in summary["selected_by"]
    history = json.loads((trained / "history.json").read_text())
    # the latest epoch within one standard error (sqrt(p(1-p)/n)) of the best accuracy seen so far
    running, chosen = 0.0, None
    for h in history:
        running = max(running, h["val_accuracy"])
        if h["val_accuracy"] >= running - (running * (1 - running) / val["n"]) ** 0.5:
            chosen = h
    assert summary["selected_epoch"] == chosen["epoch"] and "standard error" in summary["selected_by"]
    assert abs(val["accuracy"] - chosen["val_accuracy"]) < 1e-12 and abs(val["loss"] - chosen["val_loss"]) < 1e-12
    from neuronet.train import load_checkpoint
    ck = load_checkpoint(trained / "last.npz")
    assert ck.data["train_size"] == 921 and ck.data["val_size"] == 103 and ck.data["test_size"] == 2000
    assert ck.config["val_split"] == 0.1


def test_train_without_validation_keeps_the_last_epoch(tmp_path):
    r = run("train", "--subset", "64", "--epochs", "1", "--val-split", "0", "--out", str(tmp_path),
            "--no-report", "--quiet")
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["validation"] is None and summary["checkpoint"].endswith("last.npz")
    assert "no validation" in summary["selected_by"]


def test_eval_json(trained):
    r = run("eval", str(trained / "last.npz"), "--data", "mnist-sample", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] == 2000 and {"accuracy", "loss", "n"} <= set(out)
    assert len(out["confusion_matrix"]) == 10
    assert out["accuracy"] > 0.5          # 1024 digits, 3 epochs: far above chance (10%)
    summary = json.loads((trained / "summary.json").read_text())
    r = run("eval", summary["checkpoint"], "--json")             # the checkpoint the summary names
    assert abs(json.loads(r.stdout)["accuracy"] - summary["test_accuracy"]) < 1e-9
    r = run("eval", str(trained / "last.npz"), "--split", "train", "--json")   # data from the checkpoint
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["split"] == "train" and out["n"] == 6000 and out["data"] == "mnist-sample"


def test_predict_png(trained, tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    from neuronet.data import mnist_sample
    ds = mnist_sample(train=False)
    img = np.asarray(ds.data[0])
    path = tmp_path / "digit.png"
    PIL.fromarray(img).save(path)
    big = tmp_path / "big.png"
    PIL.fromarray(255 - np.kron(img, np.ones((3, 3), np.uint8))).convert("RGB").save(big)  # dark on light, 84x84
    r = run("predict", str(trained / "last.npz"), str(path), str(big), "--json", "--topk", "3")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert len(res) == 2 and len(res[0]["top"]) == 3
    probs = [t["probability"] for t in res[0]["top"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    r = run("predict", str(trained / "last.npz"), str(path))
    assert r.returncode == 0 and "digit.png:" in r.stdout


def test_info(trained):
    r = run("info", str(trained / "last.npz"), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["model"] == "lenet5" and info["parameters"] == 61706
    assert info["data"]["name"] == "mnist-sample"
    r = run("info", str(trained / "last.npz"))
    assert "61,706" in r.stdout


def _one_line_error(r, pattern):
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.strip().splitlines() if ln]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert pattern in lines[0], lines[0]


def test_user_errors_end_with_one_line(trained, tmp_path):
    _one_line_error(run("train", "nosuchnet", "--epochs", "1"), "unknown model 'nosuchnet'")
    _one_line_error(run("train", "--data", "imagenet"), "unknown dataset 'imagenet'")
    r = run("train", "--data", "mnist", "--root", str(tmp_path / "empty"))
    _one_line_error(r, "MNIST")
    assert "--download" in r.stderr and "download=True" not in r.stderr        # the flag, not the argument
    assert "--data mnist-sample" in r.stderr
    _one_line_error(run("eval", str(tmp_path / "missing.npz"), "--data", "mnist-sample"), "no such file")
    _one_line_error(run("train", "--data", "folder:" + str(tmp_path / "nowhere")), "no such directory")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    _one_line_error(run("train", "--subset", "64", "--epochs", "1", "--out", str(blocker / "run")),
                    "not writable")
    # a checkpoint for a 1-channel model evaluated on 3-channel data
    _one_line_error(run("eval", str(trained / "last.npz"), "--data", "shapes"), "channel")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04garbage")
    _one_line_error(run("info", str(bad)), "corrupted")
    try:
        import PIL.Image  # noqa: F401
        needs = "no such file"
    except ImportError:          # without Pillow, predict says so (one line) before looking at files
        needs = "PIL"
    _one_line_error(run("predict", str(trained / "last.npz"), str(tmp_path / "nope.png")), needs)
    _one_line_error(run("train", "--epochs", "0"), "--epochs must be an integer >= 1, received 0")
    _one_line_error(run("train", "--val-split", "1"), "--val-split must be a number in [0, 1), received 1")


def test_train_on_an_image_folder_and_shapes(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    r = np.random.default_rng(0)
    for split in ("train", "test"):
        for k, cls in enumerate(("dark", "light")):
            d = tmp_path / "imgs" / split / cls
            d.mkdir(parents=True)
            for i in range(6):
                px = r.integers(0, 100, (20, 20, 3)) + 150 * k
                PIL.fromarray(px.astype(np.uint8)).save(d / f"{i}.png")
    out = tmp_path / "run"
    res = run("train", "lenet5", "--data", f"folder:{tmp_path / 'imgs'}", "--image-size", "28", "--epochs", "1",
              "--batch-size", "4", "--out", str(out), "--no-report", "--quiet")
    assert res.returncode == 0, res.stderr
    info = json.loads(run("info", str(out / "last.npz"), "--json").stdout)
    assert info["preprocessing"]["in_channels"] == 3 and info["preprocessing"]["classes"] == ["dark", "light"]

    out2 = tmp_path / "seg"
    res = run("train", "unet", "--data", "shapes", "--image-size", "16", "--subset", "16", "--epochs", "1",
              "--batch-size", "8", "--model-arg", "base_channels=4", "--model-arg", "depth=2",
              "--out", str(out2), "--no-report", "--quiet", "--optimizer", "adam", "--lr", "0.01")
    assert res.returncode == 0, res.stderr
    summary = json.loads((out2 / "summary.json").read_text())
    assert 0.0 <= summary["test_mean_iou"] <= 1.0 and 0.0 <= summary["test_pixel_accuracy"] <= 1.0
    _one_line_error(run("train", "--model-arg", "oops"), "KEY=VALUE")


# ------------------------------------------------------------------ predict with pretrained ImageNet weights

def _imagenet_cache(tmp_path, monkeypatch):
    """NEURONET_HOME with a torchvision-layout ResNet-18 file (random weights)
    under the published name, as if downloaded; returns the weights entry."""
    from neuronet import models
    from neuronet.models.weights import ResNet18_Weights
    home = tmp_path / "home"
    monkeypatch.setenv("NEURONET_HOME", str(home))
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")    # any download fails at once: offline
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    entry = ResNet18_Weights.IMAGENET1K_V1
    import neuronet
    neuronet.manual_seed(0)
    state = models.resnet18().state_dict()          # torchvision's keys and shapes
    os.makedirs(os.path.dirname(entry.path))
    neuronet.save(state, entry.path)
    return entry


def test_predict_with_a_pretrained_imagenet_model(tmp_path, monkeypatch):
    PIL = pytest.importorskip("PIL.Image")
    import neuronet
    from neuronet import models
    entry = _imagenet_cache(tmp_path, monkeypatch)
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.jpg"
    PIL.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(photo)
    grey = tmp_path / "grey.png"
    PIL.fromarray(rng.integers(0, 256, (100, 90), dtype=np.uint8)).save(grey)   # converted to RGB

    r = run("predict", "resnet18", str(photo), str(grey), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert [x["image"] for x in res] == [str(photo), str(grey)]
    top = res[0]["top"]
    assert len(top) == 5                                         # top-5 by default
    names = entry.meta["categories"]
    assert all(t["class"] == names[t["index"]] for t in top)
    probs = [t["probability"] for t in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6

    # the same numbers in-process: weights entry, its transforms, softmax
    model = models.resnet18(weights="DEFAULT").eval()
    x = entry.transforms()(PIL.open(photo).convert("RGB")).unsqueeze(0)
    with neuronet.no_grad():
        p = neuronet.softmax(model(x), dim=1).numpy()[0]
    assert [t["index"] for t in top] == list(np.argsort(-p)[:5])
    assert np.allclose(probs, np.sort(p)[::-1][:5], rtol=1e-4)

    r = run("predict", "resnet18", str(photo), "--weights", "IMAGENET1K_V1", "--topk", "2")
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert line.startswith(f"{photo}: {top[0]['class']} ") and line.count("%") == 2

    r = run("predict", "resnet18", str(photo), "--weights", entry.path, "--topk", "1", "--json")   # a local file
    assert r.returncode == 0 and json.loads(r.stdout)[0]["top"][0]["index"] == top[0]["index"]


def test_predict_pretrained_user_errors(tmp_path, monkeypatch):
    PIL = pytest.importorskip("PIL.Image")
    entry = _imagenet_cache(tmp_path, monkeypatch)
    photo = tmp_path / "photo.png"
    PIL.new("RGB", (64, 64), (120, 30, 200)).save(photo)
    # offline, nothing cached for ResNet-50: which URL, and where to put the file
    r = run("predict", "resnet50", str(photo))
    _one_line_error(r, "https://download.pytorch.org/models/resnet50-11ad3fa6.pth")
    assert os.path.join(os.path.dirname(entry.path), "resnet50-11ad3fa6.pth") in r.stderr
    _one_line_error(run("predict", "resnet18", str(photo), "--weights", "IMAGENET1K_V7"),
                    "resnet18: unknown weights 'IMAGENET1K_V7'")
    _one_line_error(run("predict", "lenet5", str(photo)), "not a model with pretrained ImageNet weights")
    _one_line_error(run("predict", "resnet18", str(tmp_path / "none.jpg")), "no such file")


# ------------------------------------------------------------------ help, models, bench, lab (issue 15)
def _option_help(parser):
    """``{option: rendered help line(s)}`` of every optional argument."""
    import re
    text = parser.format_help()
    out, key = {}, None
    for line in text.splitlines():
        m = re.match(r"^  (-[-\w]+|-\w, --[-\w]+)", line)
        if m:
            key = m.group(1).split(", ")[-1]
            out[key] = line
        elif key and line.startswith("   "):
            out[key] += " " + line.strip()
        else:
            key = None
    return out


@pytest.mark.parametrize("command", ["train", "eval", "info", "predict", "export"])
def test_every_option_shows_its_default(command):
    from neuronet.cli import _parser
    sub = _parser()._subparsers._group_actions[0].choices[command]
    helps = _option_help(sub)
    options = [s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    assert options and set(options) <= set(helps)
    for opt in options:
        assert "default" in helps[opt], f"{command} {opt}: {helps[opt]}"


def test_numeric_train_options_state_their_range():
    from neuronet.cli import _parser
    sub = _parser()._subparsers._group_actions[0].choices["train"]
    helps = _option_help(sub)
    for a in sub._actions:
        if a.type in (int, float):
            h = helps[a.option_strings[-1]]
            assert any(w in h for w in (">=", "> 0", "in [0, 1)", "integer")), h
    assert "(default: 0.1)" in helps["--val-split"] and "(default: 15)" not in helps["--lr"]


def test_models_prints_a_table():
    from neuronet import models
    r = run("models")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["model", "parameters", "input", "paper"]
    rows = {ln.split()[0]: ln for ln in lines[1:] if ln.strip() and not ln.startswith("parameters")}
    assert set(rows) == set(models.list_models())
    assert "61,706" in rows["lenet5"] and "1x28x28" in rows["lenet5"] and "LeCun et al. 1998" in rows["lenet5"]
    from neuronet.cli import MODEL_CATALOG
    for name in ("lenet5", "mlp", "resnet20", "resnet56"):        # the counts are the models' own
        n = sum(p.numel() for p in models.get_model(name).parameters())
        assert MODEL_CATALOG[name][1] == n, name


def test_bench_takes_the_benchs_options():
    r = run("bench", "--help")
    assert r.returncode == 0 and "--quick" in r.stdout and "--workloads" in r.stdout
    r = run("bench", "--quick", "--workloads", "nosuch", "--no-torch")
    assert r.returncode == 2 and "unrecognized arguments" not in r.stderr and "nosuch" in r.stderr


def test_lab_writes_under_runs(tmp_path):
    from neuronet import lab
    import inspect
    assert inspect.signature(lab.run).parameters["out_dir"].default == os.path.join("runs", "lab")
    r = run("lab", "--help")
    assert r.returncode == 0 and "runs/lab" in r.stdout
    ignored = subprocess.run(["git", "check-ignore", "-q", "runs/lab/gradients.png"], cwd=ROOT)
    assert ignored.returncode in (0, 128)                         # 128: not a git checkout


def test_local_mnist_files_are_checked_by_format_not_by_checksum(trained, tmp_path):
    """A re-compressed subset of MNIST in the standard format loads; a broken one is refused by format."""
    import gzip
    from neuronet.data import mnist_sample
    ds = mnist_sample(train=False)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)

    def idx(arr, code):
        head = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
        return head + arr.astype(np.uint8).tobytes()
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(idx(ds.data[:100], 8))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx(ds.targets[:100], 8))     # uncompressed
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (raw / name).write_bytes((raw / name.replace("train", "t10k")).read_bytes() if "labels" in name
                                 else gzip.decompress((raw / "t10k-images-idx3-ubyte.gz").read_bytes()))
    r = run("eval", str(trained / "last.npz"), "--data", "mnist", "--root", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 100
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx(ds.targets[:99], 8))
    _one_line_error(run("eval", str(trained / "last.npz"), "--data", "mnist", "--root", str(tmp_path)),
                    "count mismatch")
