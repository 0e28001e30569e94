"""neuronet.onnx.load: ONNX files (from PyTorch's exporter, from neuronet's,
and written by hand) run and train in neuronet.

Oracles: PyTorch itself (outputs and gradients of the model the file came
from) and onnxruntime (operator semantics, for graphs built with
onnx.helper). Everything runs offline on small inputs."""
import io
import os
import warnings

import numpy as np
import pytest

import neuronet as nt
from neuronet import optim
from neuronet.nn import functional as F

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from neuronet.onnx.importer import OnnxImportError, OnnxModule, load  # noqa: E402
from tests.helpers import import_torchvision

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import onnxruntime as ort
except ImportError:  # pragma: no cover
    ort = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")
requires_ort = pytest.mark.skipif(ort is None, reason="onnxruntime not installed")

RTOL = 1e-4
MEASURED = {}     # model -> max relative error (printed at the end with -s)


tv = import_torchvision()
requires_tv = pytest.mark.skipif(tv is None, reason="torchvision cannot be imported")
slow = pytest.mark.skipif(not os.environ.get("NEURONET_SLOW_TESTS"),
                          reason="set NEURONET_SLOW_TESTS=1 for VGG-11 at 224x224 (about 10 s)")


def _rel(got, want):
    got = got.detach().numpy() if hasattr(got, "detach") else np.asarray(got)
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


def _torch_export(model, x, path, opset=17, **kw):
    """PyTorch's TorchScript-based exporter (dynamo=False: the dynamo one needs
    onnxscript), opset 17 unless told, dynamic batch."""
    outputs = kw.pop("output_names", ["output"])
    axes = {"input": {0: "batch"}}
    axes.update({o: {0: "batch"} for o in outputs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=opset, input_names=["input"],
                          output_names=outputs, dynamic_axes=axes, **kw)
    return str(path)


def _randomize_bn(model, seed=0):
    """Trained-looking batch-norm statistics (a fresh model has mean 0, var 1,
    weight 1, bias 0, which hides mistakes and makes the exporter merge them)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(c, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return model


def _compare_batches(name, torch_model, module, shape, sizes=(1, 3), seed=0):
    rng = np.random.default_rng(seed)
    worst = 0.0
    for n in sizes:
        x = rng.standard_normal((n,) + tuple(shape)).astype(np.float32)
        with torch.no_grad():
            want = torch_model(torch.from_numpy(x))
        with nt.no_grad():
            got = module(nt.tensor(x))
        worst = max(worst, _rel(got, want))
    MEASURED[name] = max(worst, MEASURED.get(name, 0.0))
    assert worst < RTOL, f"{name}: max relative error {worst:.2e}"
    return worst


# ---------------------------------------------------------------------------
# models exported by PyTorch
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def resnet18_files(tmp_path_factory):
    if tv is None:
        pytest.skip("torchvision cannot be imported")
    torch.manual_seed(0)
    model = _randomize_bn(tv.models.resnet18(weights=None)).eval()
    d = tmp_path_factory.mktemp("resnet18")
    x = torch.randn(1, 3, 64, 64)
    fused = _torch_export(model, x, d / "fused.onnx")                   # BN folded into Conv
    kept = _torch_export(model, x, d / "bn.onnx", do_constant_folding=False)   # BN kept, torch's names
    return model, fused, kept


@requires_tv
def test_resnet18_from_pytorch_matches_torch(resnet18_files):
    model, fused, kept = resnet18_files
    for tag, path in (("fused", fused), ("bn", kept)):
        m = load(path)
        assert isinstance(m, OnnxModule) and not m.training
        _compare_batches(f"resnet18 ({tag}, torch export)", model, m, (3, 64, 64), sizes=(1, 2))


@requires_tv
def test_resnet18_parameters_are_torchs_and_gradients_match(resnet18_files):
    model, _, kept = resnet18_files
    m = load(kept)
    ours = dict(m.named_parameters())
    theirs = dict(model.named_parameters())
    assert set(ours) == set(theirs)          # same keys: conv1.weight, layer1.0.bn1.bias, ..., fc.weight
    assert {k for k, _ in m.named_buffers()} == \
        {k for k, _ in model.named_buffers() if not k.endswith("num_batches_tracked")}
    for k, p in ours.items():
        assert p.requires_grad and tuple(p.shape) == tuple(theirs[k].shape)
        np.testing.assert_array_equal(p.detach().numpy(), theirs[k].detach().numpy())
    # the same loss, eval-mode semantics on both sides: every gradient agrees
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    target = np.array([3, 7])
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(target)).backward()
    F.cross_entropy(m(nt.tensor(x)), nt.tensor(target)).backward()
    worst = max(_rel(ours[k].grad, theirs[k].grad) for k in ours)
    MEASURED["resnet18 gradients"] = worst
    assert worst < 1e-3, worst


@requires_tv
def test_resnet18_fine_tunes_with_neuronet_optim(resnet18_files):
    _, fused, _ = resnet18_files
    m = load(fused)
    m.train()
    nt.manual_seed(0)
    x = nt.randn(4, 3, 64, 64)
    y = nt.tensor([0, 1, 2, 3])
    opt = optim.SGD(m.parameters(), lr=0.01)
    before = [p.detach().numpy().copy() for p in m.parameters()]
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        assert all(p.grad is not None for p in m.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, m.parameters()))


class _SmallCNN(torch.nn.Module if torch is not None else object):
    """view(x.size(0), -1) (Shape/Gather/Unsqueeze/Concat/Reshape), BN, dropout, Gemm."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2)
        self.bn2 = torch.nn.BatchNorm2d(16)
        self.drop = torch.nn.Dropout(0.3)
        self.fc = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.nn.functional.avg_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(self.drop(x.view(x.size(0), -1)))


@requires_torch
def test_small_cnn_eval_and_train_mode_match_torch(tmp_path):
    torch.manual_seed(0)
    model = _SmallCNN().eval()
    _randomize_bn(model)
    path = _torch_export(model, torch.randn(1, 3, 24, 24), tmp_path / "cnn.onnx",
                         training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    ops_ = {n.op_type for n in onnx.load(path).graph.node}
    assert {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "BatchNormalization"} <= ops_
    m = load(path)
    _compare_batches("small CNN (torch export)", model, m, (3, 24, 24), sizes=(2, 5))
    # train mode: batch statistics and running-average updates as PyTorch (dropout off to compare)
    model.drop.p = 0.0
    model.train()
    m.train()
    assert "Dropout" not in ops_         # an eval-mode export drops it
    x = np.random.default_rng(2).standard_normal((6, 3, 24, 24)).astype(np.float32)
    want = model(torch.from_numpy(x))
    got = m(nt.tensor(x))
    assert _rel(got, want) < RTOL
    bufs = dict(m.named_buffers())
    for k, v in model.named_buffers():
        if not k.endswith("num_batches_tracked"):
            assert _rel(bufs[k], v) < 1e-5, k


@requires_torch
def test_shared_initializers_become_separate_parameters(tmp_path):
    """PyTorch's exporter merges equal tensors (fresh batch norms are all ones
    and zeros) behind Identity nodes; training must keep them apart."""
    torch.manual_seed(0)
    model = _SmallCNN().eval()
    path = _torch_export(model, torch.randn(1, 3, 24, 24), tmp_path / "fresh.onnx", do_constant_folding=False)
    assert any(n.op_type == "Identity" for n in onnx.load(path).graph.node)
    m = load(path)
    params = dict(m.named_parameters())
    assert {"bn1.weight", "bn2.weight", "bn1.bias", "bn2.bias"} <= set(params)
    assert params["bn1.weight"] is not params["bn2.weight"]
    m.train()
    x = nt.randn(4, 3, 24, 24)
    F.cross_entropy(m(x), nt.tensor([1, 2, 3, 4])).backward()
    optim.SGD(m.parameters(), lr=0.5).step()
    assert not np.allclose(params["bn1.weight"].detach().numpy()[:1], params["bn2.weight"].detach().numpy()[:1])


class _OpsNet(torch.nn.Module if torch is not None else object):
    """Many operators in one graph: LRN (exported as Pad/AveragePool on 5-D),
    Resize, ConvTranspose, Slice, If (dynamic squeeze), ReduceMean/Sum, Clip..."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.lrn = torch.nn.LocalResponseNorm(3)
        self.ct = torch.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.fc = torch.nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        f = torch.nn.functional
        y = self.lrn(torch.relu(self.c1(x)))
        y = f.interpolate(f.max_pool2d(y, 2), scale_factor=2.0)
        y = f.pad(y, (1, 1, 1, 1))[:, :, 1:-1, 1:-1]
        y = self.ct(f.avg_pool2d(y, 2))
        y = f.interpolate(f.interpolate(y, scale_factor=2, mode="nearest"), size=(8, 8), mode="bilinear",
                          align_corners=False)
        y = torch.sigmoid(y) * torch.tanh(y) + f.hardtanh(y) - y / 2
        z = y.mean((2, 3), keepdim=True).squeeze(3)
        y = torch.cat([y, y.permute(0, 1, 3, 2)], 1)[:, :4]
        y = y.reshape(y.size(0), -1)
        return f.log_softmax(self.fc(y), 1), f.softmax(z.sum(2), 1)


@requires_torch
@pytest.mark.parametrize("opset", [11, 17, 18])
def test_operator_mix_from_pytorch_outputs_and_input_gradient(tmp_path, opset):
    """Opsets 11 (axes as attributes), 17 and 18 (Reduce* axes as inputs)."""
    torch.manual_seed(0)
    model = _OpsNet().eval()
    path = _torch_export(model, torch.randn(2, 3, 16, 16), tmp_path / "ops.onnx", opset, output_names=["a", "b"])
    ops_ = {n.op_type for n in onnx.load(path).graph.node}
    assert {"If", "Resize", "ConvTranspose", "Slice", "Pad", "AveragePool", "ReduceMean", "Clip"} <= ops_
    m = load(path)
    rng = np.random.default_rng(0)
    worst = 0.0
    for n in (2, 3):
        x = rng.standard_normal((n, 3, 16, 16)).astype(np.float32)
        tx = torch.from_numpy(x).requires_grad_()
        ta, tb = model(tx)
        xx = nt.tensor(x, requires_grad=True)
        a, b = m(xx)
        worst = max(worst, _rel(a, ta), _rel(b, tb))
        w = rng.standard_normal(tuple(ta.shape)).astype(np.float32)
        (ta * torch.from_numpy(w)).sum().backward()
        (a * nt.tensor(w)).sum().backward()
        worst = max(worst, _rel(xx.grad, tx.grad))
    MEASURED[f"operator mix (torch export, opset {opset})"] = worst
    assert worst < RTOL, worst


@requires_tv
@pytest.mark.parametrize("arch", ["googlenet", "alexnet", pytest.param("vgg11", marks=slow)])
def test_torchvision_classics_from_pytorch(arch, tmp_path):
    torch.manual_seed(0)
    if arch == "googlenet":
        model, size = tv.models.googlenet(weights=None, aux_logits=False, init_weights=False), 64
    else:
        # 224 so the adaptive pooling divides evenly (PyTorch's exporter needs it); a small
        # classifier head keeps the file small: the features are torchvision's
        model, size = getattr(tv.models, arch)(weights=None), 224
        first = 256 * 6 * 6 if arch == "alexnet" else 512 * 7 * 7
        model.classifier = torch.nn.Sequential(torch.nn.Dropout(), torch.nn.Linear(first, 32), torch.nn.ReLU(),
                                               torch.nn.Linear(32, 10))
    model.eval()
    path = _torch_export(model, torch.randn(1, 3, size, size), tmp_path / f"{arch}.onnx")
    _compare_batches(f"{arch} (torch export)", model, load(path), (3, size, size), sizes=(1, 2))


# ---------------------------------------------------------------------------
# models exported by neuronet
# ---------------------------------------------------------------------------

def _neuronet_roundtrip(model, x):
    from neuronet.onnx import export
    buf = io.BytesIO()
    export(model, (x,), buf, input_names=["x"], dynamic_axes={"x": {0: "n"}})
    buf.seek(0)
    return load(buf)


@pytest.mark.parametrize("name", ["segnet", "unet"])
def test_neuronet_export_roundtrip(name):
    """SegNet's unpooling (MaxPool indices -> MaxUnpool) and U-Net's skips
    (Concat, ConvTranspose): exported by neuronet, imported back."""
    from neuronet import models
    nt.manual_seed(0)
    model, shape = ((models.segnet(base_channels=16), (3, 32, 32)) if name == "segnet"
                    else (models.unet(base_channels=8, bilinear=True, batch_norm=True), (1, 32, 32)))
    model.eval()
    m = _neuronet_roundtrip(model, nt.randn(1, *shape))
    worst = 0.0
    for n in (1, 2):
        x = nt.randn(n, *shape)
        with nt.no_grad():
            worst = max(worst, _rel(m(x), model(x)))
    MEASURED[f"{name} (neuronet export)"] = worst
    assert worst < RTOL
    # and it trains: the loaded weights get gradients
    m.train()
    out = m(nt.randn(2, *shape))
    out.pow(2).mean().backward()
    assert all(p.grad is not None for p in m.parameters())


# ---------------------------------------------------------------------------
# operator semantics against onnxruntime (graphs written by hand)
# ---------------------------------------------------------------------------

def _model_bytes(nodes, inputs, outputs, inits=None, opset=17):
    """A one-graph model: ``inputs``/``outputs`` map names to shapes."""
    vin = [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in inputs.items()]
    vout = [helper.make_tensor_value_info(k, TensorProto.FLOAT, None) for k in outputs]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    g = helper.make_graph(nodes, "g", vin, vout, initializer=inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def _against_ort(data, feeds):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    m = load(io.BytesIO(data))
    got = m(*[nt.tensor(v) for v in feeds.values()])
    got = got if isinstance(got, tuple) else (got,)
    return max(_rel(g, w) for g, w in zip(got, want))


R = np.random.default_rng(0)
X4 = R.standard_normal((2, 4, 9, 8)).astype(np.float32)
W4 = R.standard_normal((6, 2, 3, 3)).astype(np.float32)
B6 = R.standard_normal(6).astype(np.float32)
N = helper.make_node

CASES = {
    "conv asymmetric pads, stride, groups": (
        [N("Conv", ["x", "w", "b"], ["y"], pads=[0, 1, 2, 0], strides=[2, 1], group=2)], {"w": W4, "b": B6}),
    "conv auto_pad SAME_UPPER": (
        [N("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2], group=2)], {"w": W4}),
    "conv_transpose asymmetric pads": (
        [N("ConvTranspose", ["x", "w", "b"], ["y"], pads=[1, 0, 0, 2], strides=[2, 2], output_padding=[1, 0])],
        {"w": R.standard_normal((4, 3, 3, 3)).astype(np.float32), "b": B6[:3]}),
    "conv_transpose output_shape": (
        [N("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], output_shape=[19, 16])],
        {"w": R.standard_normal((4, 3, 3, 3)).astype(np.float32)}),
    "avg pool ceil, count_include_pad=0": (
        [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)], {}),
    "max pool SAME_UPPER": ([N("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2],
                                auto_pad="SAME_UPPER")], {}),
    "max pool indices -> max unpool": (
        [N("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2]),
         N("Shape", ["x"], ["shape"]),
         N("MaxUnpool", ["p", "i", "shape"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], {}),
    "global pools": ([N("GlobalAveragePool", ["x"], ["a"]), N("GlobalMaxPool", ["x"], ["m"]),
                      N("Sub", ["a", "m"], ["y"])], {}),
    "LRN size 5": ([N("LRN", ["x"], ["y"], size=5, alpha=0.3, beta=0.7, bias=1.5)], {}),
    "pad reflect / edge / negative": (
        [N("Pad", ["x", "p1"], ["a"], mode="reflect"), N("Pad", ["a", "p2"], ["b"], mode="edge"),
         N("Pad", ["b", "p3", "v"], ["y"])],
        {"p1": np.array([0, 0, 1, 2, 0, 0, 2, 1]), "p2": np.array([0, 0, 0, 3, 0, 0, 1, 0]),
         "p3": np.array([0, 1, -1, 0, 0, 0, 2, -2]), "v": np.array(0.5, np.float32)}),
    "resize linear scales": ([N("Resize", ["x", "", "s"], ["y"], mode="linear")],
                             {"s": np.array([1, 1, 2, 1.5], np.float32)}),
    "resize linear align_corners sizes": (
        [N("Resize", ["x", "", "", "sz"], ["y"], mode="linear", coordinate_transformation_mode="align_corners")],
        {"sz": np.array([2, 4, 5, 13])}),
    "resize cubic": ([N("Resize", ["x", "", "s"], ["y"], mode="cubic")], {"s": np.array([1, 1, 2, 2], np.float32)}),
    "resize nearest (asymmetric, floor)": (
        [N("Resize", ["x", "", "s"], ["y"], mode="nearest", coordinate_transformation_mode="asymmetric",
           nearest_mode="floor")], {"s": np.array([1, 1, 2, 3], np.float32)}),
    "resize nearest (half_pixel, round_prefer_ceil)": (
        [N("Resize", ["x", "", "", "sz"], ["y"], mode="nearest", nearest_mode="round_prefer_ceil")],
        {"sz": np.array([2, 4, 14, 5])}),
    "slices, negative steps, split, concat": (
        [N("Slice", ["x", "st", "en", "ax", "sp"], ["a"]),
         N("Split", ["x", "parts"], ["b", "c"], axis=2),
         N("Concat", ["a", "c"], ["y"], axis=3)],
        {"st": np.array([-1, 0]), "en": np.array([-1000, 7]), "ax": np.array([2, 3]), "sp": np.array([-2, 1]),
         "parts": np.array([4, 5])}),
    "reshape/transpose/flatten/expand/tile": (
        [N("Transpose", ["x"], ["a"], perm=[0, 2, 3, 1]), N("Reshape", ["a", "sh"], ["b"]),
         N("Flatten", ["b"], ["c"], axis=2), N("Unsqueeze", ["c", "ax"], ["d"]),
         N("Expand", ["d", "es"], ["e"]), N("Tile", ["e", "rep"], ["y"])],
        {"sh": np.array([0, -1, 4]), "ax": np.array([1]), "es": np.array([3, 1]),
         "rep": np.array([1, 1, 2])}),
    "depth_to_space / space_to_depth": (
        [N("Slice", ["x", "z", "e8", "ax"], ["a"]),
         N("DepthToSpace", ["a"], ["b"], blocksize=2, mode="DCR"),
         N("DepthToSpace", ["a"], ["c"], blocksize=2, mode="CRD"),
         N("SpaceToDepth", ["b"], ["d"], blocksize=2),
         N("Add", ["b", "c"], ["y"]), N("Identity", ["d"], ["y2"])],
        {"z": np.array([0, 0]), "e8": np.array([8, 8]), "ax": np.array([2, 3])}),
    "gemm transA, alpha, beta": (
        [N("Flatten", ["x"], ["f"], axis=3), N("Gemm", ["f", "w", "c"], ["y"], transA=1, alpha=0.5, beta=2.0)],
        {"w": R.standard_normal((72, 5)).astype(np.float32),
         "c": R.standard_normal((8, 5)).astype(np.float32)}),
    "activations": (
        [N("LeakyRelu", ["x"], ["a"], alpha=0.2), N("Selu", ["a"], ["b"]), N("HardSigmoid", ["b"], ["c"]),
         N("Celu", ["x"], ["d"]), N("Softsign", ["d"], ["e"]), N("PRelu", ["x", "slope"], ["f"]),
         N("Erf", ["f"], ["g"]), N("HardSwish", ["g"], ["h"]), N("Softplus", ["h"], ["i"]),
         N("Sum", ["c", "e", "i"], ["y"])],
        {"slope": R.standard_normal((4, 1, 1)).astype(np.float32)}),
    "reductions (axes as input), argmax": (
        [N("ReduceMean", ["x", "ax"], ["a"], keepdims=0), N("ReduceMax", ["x", "ax"], ["b"], keepdims=0),
         N("ReduceL2", ["x", "ax"], ["c"], keepdims=0), N("Add", ["a", "b"], ["d"]), N("Add", ["d", "c"], ["y"]),
         N("ArgMax", ["x"], ["am"], axis=1, keepdims=0), N("Cast", ["am"], ["y2"], to=TensorProto.FLOAT)],
        {"ax": np.array([1, 3])}, 18),
    "shape arithmetic, where, constant_of_shape": (
        [N("Shape", ["x"], ["s"]), N("Gather", ["s", "i0"], ["n"]), N("ConstantOfShape", ["s"], ["zeros"],
                                                                          value=helper.make_tensor("v", 1, [1], [0.25])),
         N("Greater", ["x", "zeros"], ["gt"]), N("Where", ["gt", "x", "zeros"], ["y"]),
         N("Cast", ["n"], ["y2"], to=TensorProto.FLOAT)],
        {"i0": np.array(0)}),
}


@requires_ort
@pytest.mark.parametrize("case", list(CASES))
def test_operator_semantics_match_onnxruntime(case):
    nodes, inits, *opset = CASES[case]
    outs = [o for nd in nodes for o in nd.output if o in ("y", "y2")]
    data = _model_bytes(nodes, {"x": [None, 4, 9, 8]}, outs, inits, *opset)
    err = _against_ort(data, {"x": X4})
    assert err < RTOL, f"{case}: {err:.2e}"


@requires_ort
def test_softmax_before_opset_13_coerces_to_2d():
    data = _model_bytes([N("Softmax", ["x"], ["y"], axis=1)], {"x": [2, 4, 9, 8]}, ["y"], opset=11)
    assert _against_ort(data, {"x": X4}) < RTOL


def _lrn_reference(x, size, alpha, beta, bias):
    """ONNX's LRN, a loop over channels: the window is floor((size-1)/2)
    channels before c and ceil((size-1)/2) after (onnxruntime takes odd sizes only)."""
    C = x.shape[1]
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    y = np.empty_like(x)
    for c in range(C):
        lo, hi = max(0, c - before), min(C - 1, c + after)
        sq = (x[:, lo:hi + 1] ** 2).sum(axis=1)
        y[:, c] = x[:, c] / (bias + alpha / size * sq) ** beta
    return y


@pytest.mark.parametrize("size", [2, 4, 5])
def test_lrn_window_against_loop_reference(size):
    data = _model_bytes([N("LRN", ["x"], ["y"], size=size, alpha=0.3, beta=0.7, bias=1.5)], {"x": [None, 4, 9, 8]},
                        ["y"])
    got = load(io.BytesIO(data))(nt.tensor(X4))
    assert _rel(got, _lrn_reference(X4.astype(np.float64), size, 0.3, 0.7, 1.5)) < RTOL


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

def test_unsupported_operators_listed_once_with_counts(tmp_path):
    nodes = [N("Relu", ["x"], ["a"]), N("Foo", ["a"], ["b"]), N("Foo", ["b"], ["c"]),
             N("Bar", ["c"], ["d"]), N("Baz", ["d"], ["y"], domain="com.example")]
    path = tmp_path / "exotic.onnx"
    path.write_bytes(_model_bytes(nodes, {"x": [1, 4]}, ["y"]))
    with pytest.raises(NotImplementedError) as e:
        load(path)
    msg = str(e.value)
    assert "exotic.onnx" in msg and "3 ONNX operator type(s)" in msg
    assert "Foo (x2)" in msg and "Bar (x1)" in msg and "com.example::Baz (x1)" in msg
    assert "Relu (" not in msg


@requires_tv
def test_truncated_and_corrupt_files_named_in_one_error(resnet18_files, tmp_path):
    _, fused, _ = resnet18_files
    data = open(fused, "rb").read()
    for tag, blob in (("half", data[: len(data) // 2]), ("tail", data[:-7]),
                      ("noise", os.urandom(2000)), ("text", b"this is not onnx at all\n" * 10)):
        p = tmp_path / f"{tag}.onnx"
        p.write_bytes(blob)
        with pytest.raises(OnnxImportError) as e:
            load(p)
        assert f"{tag}.onnx" in str(e.value), str(e.value)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(OnnxImportError, match="empty.onnx: empty file"):
        load(empty)


def test_graph_that_parses_but_misses_a_value(tmp_path):
    """A file cut at a field boundary still parses; the dangling read is named."""
    data = _model_bytes([N("Relu", ["x"], ["a"]), N("Add", ["a", "w"], ["y"])], {"x": [1, 3]}, ["y"])
    p = tmp_path / "cut.onnx"
    p.write_bytes(data)
    with pytest.raises(OnnxImportError, match=r"cut.onnx: .*reads 'w'"):
        load(p)


def test_wrong_input_shape_and_count():
    data = _model_bytes([N("Relu", ["x"], ["y"])], {"x": [None, 3, 4]}, ["y"])
    m = load(io.BytesIO(data))
    assert m(nt.randn(5, 3, 4)).shape == (5, 3, 4)
    with pytest.raises(ValueError, match=r"input 'x' expects shape \(\?, 3, 4\).*\(5, 4, 4\)"):
        m(nt.randn(5, 4, 4))
    with pytest.raises(TypeError, match="expected 1 input"):
        m(nt.randn(5, 3, 4), nt.randn(1))


def test_state_dict_round_trip_and_dropout_in_train_mode():
    w = R.standard_normal((5, 4)).astype(np.float32)
    data = _model_bytes([N("Gemm", ["x", "fc.weight", "fc.bias"], ["h"], transB=1),
                         N("Dropout", ["h", "ratio"], ["y"])], {"x": [None, 4]}, ["y"],
                        {"fc.weight": w, "fc.bias": np.zeros(5, np.float32), "ratio": np.array(0.5, np.float32)})
    m = load(io.BytesIO(data))
    assert set(m.state_dict()) == {"fc.weight", "fc.bias"}     # the ratio is a constant, not state
    assert [k for k, _ in m.named_buffers()] == ["ratio"]
    x = nt.ones(64, 4)
    np.testing.assert_allclose(m(x).numpy(), np.ones((64, 4)) @ w.T, rtol=1e-6)   # eval: no dropout
    np.testing.assert_allclose(m(np.ones((64, 4))).numpy(), m(x).numpy())        # float64 array -> float32
    m.train()
    y = m(x).numpy()
    assert 0.2 < (y == 0).mean() < 0.8          # train: dropout with the file's ratio
    m.load_state_dict({"fc.weight": np.zeros((5, 4), np.float32), "fc.bias": np.ones(5, np.float32)})
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), np.ones((64, 5)))


def test_report_measured_errors():
    """Printed with ``pytest -s``: max relative error per model."""
    for k, v in sorted(MEASURED.items()):
        print(f"{k}: {v:.2e}")
