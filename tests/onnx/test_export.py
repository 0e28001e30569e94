"""neuronet.onnx.export: every zoo model, written as ONNX and run by onnxruntime
(the oracle), gives neuronet's eval-mode outputs to 1e-4 relative, at the
traced batch size and at another one through the dynamic batch axis. Plus the
functional ops one by one, naming, modes, errors, and ``neuronet export``."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import neuronet as nt
from neuronet import models, nn
from neuronet.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from neuronet.onnx import ExportError, export  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DYNAMIC = {"input": {0: "batch"}, "output": {0: "batch"}}

# model name -> (builder kwargs, input shape without the batch); small inputs
# where the model allows (adaptive pooling), narrow U-Net / SegNet.
ZOO = {
    "mlp": ({}, (1, 28, 28)),
    "lenet5": ({}, (1, 28, 28)),
    "alexnet": ({"num_classes": 10}, (3, 63, 63)),
    "googlenet": ({"num_classes": 10}, (3, 32, 32)),
    "unet": ({"base_channels": 4}, (1, 32, 32)),
    "segnet": ({"base_channels": 4}, (3, 32, 32)),
}
VARIANTS = {
    "lenet5-classic": ("lenet5", {"variant": "classic"}, (1, 32, 32)),
    "alexnet-original": ("alexnet", {"num_classes": 10, "variant": "original"}, (3, 67, 67)),
    "googlenet-transform-aux": ("googlenet", {"num_classes": 10, "transform_input": True, "aux_logits": True},
                                (3, 32, 32)),
    "resnet20-B": ("resnet20", {"shortcut": "B"}, (3, 32, 32)),
    "unet-bilinear-bn": ("unet", {"base_channels": 4, "bilinear": True, "batch_norm": True}, (1, 32, 32)),
    "mlp-tanh-dropout": ("mlp", {"activation": "tanh", "dropout": 0.5}, (784,)),
}


def _spec(name):
    return ZOO.get(name, ({"num_classes": 10}, (3, 32, 32)))      # resnet*, vgg*


def _random_stats(model):
    """Batch norm running statistics away from (0, 1), so using them (and in the
    right order) is visible in the outputs."""
    rng = np.random.default_rng(1)
    for key, b in model.named_buffers():
        if key.endswith("running_mean"):
            b.array[...] = rng.normal(0, 0.2, b.shape)
        elif key.endswith("running_var"):
            b.array[...] = rng.uniform(0.5, 1.5, b.shape)


def _session(data):
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _rel(got, want):
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


def _export_bytes(model, x, **kw):
    buf = io.BytesIO()
    export(model, x, buf, **kw)
    return buf.getvalue()


def check_against_onnxruntime(model, shape, batches=(2, 1), tol=1e-4):
    """Export at batch ``batches[0]`` with a dynamic batch, run every batch size
    in onnxruntime and in neuronet (eval mode), return the worst relative error."""
    x = nt.randn(batches[0], *shape)
    data = _export_bytes(model, x, dynamic_axes=DYNAMIC)
    if len(data) < 64 << 20:                 # the checker re-serializes: skip it for VGG's 500 MB
        onnx.checker.check_model(onnx.load_from_string(data))
    sess = _session(data)
    model.eval()
    worst = 0.0
    for n in batches:
        xn = x if n == batches[0] else nt.randn(n, *shape)
        with nt.no_grad():
            want = model(xn).numpy()
        (got,) = sess.run(None, {"input": xn.numpy()})
        assert got.shape == want.shape
        worst = max(worst, _rel(got, want))
    assert worst < tol, worst
    return worst


# Deeper copies of an architecture the default run already covers (same ops,
# more layers; VGG's 500 MB of weights cost seconds each): with NEURONET_SLOW_TESTS=1.
DEEPER = {"vgg13", "vgg16", "vgg19", "vgg13_bn", "vgg16_bn", "vgg19_bn", "resnet101", "resnet110", "resnet152"}
slow = pytest.mark.skipif(not os.environ.get("NEURONET_SLOW_TESTS"),
                          reason="a deeper variant of a tested architecture; set NEURONET_SLOW_TESTS=1")


@pytest.mark.parametrize("name", [pytest.param(n, marks=slow) if n in DEEPER else n
                                  for n in models.list_models()])
def test_every_zoo_model_matches_onnxruntime(name, cheap_draws):
    kw, shape = _spec(name)
    model = models.get_model(name, **kw)
    _random_stats(model)
    check_against_onnxruntime(model, shape)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_zoo_variants_match_onnxruntime(variant, cheap_draws):
    name, kw, shape = VARIANTS[variant]
    model = models.get_model(name, **kw)
    _random_stats(model)
    check_against_onnxruntime(model, shape)


def test_initializers_are_named_by_state_dict_keys_and_eval_semantics():
    model = models.get_model("resnet20", shortcut="B")
    model.train()
    data = _export_bytes(model, nt.randn(2, 3, 32, 32))
    assert model.training and all(m.training for m in model.modules())     # mode restored
    proto = onnx.load_from_string(data)
    names = {i.name for i in proto.graph.initializer}
    state = set(model.state_dict())
    used = {k for k in state if not k.endswith("num_batches_tracked")}
    assert used <= names
    ops = {n.op_type for n in proto.graph.node}
    assert "BatchNormalization" in ops and "Conv" in ops and "Gemm" in ops
    assert not any(n.op_type == "Dropout" for n in proto.graph.node)


def test_dropout_disappears_and_batch_norm_uses_running_stats():
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    _random_stats(model)
    model.train()
    x = nt.randn(4, 6)
    (got,) = _session(_export_bytes(model, x)).run(None, {"input": x.numpy()})
    model.eval()
    with nt.no_grad():
        want = model(x).numpy()
    assert _rel(got, want) < 1e-5


class _Everything(nn.Module):
    """One module calling many functional ops, for one export."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2), dilation=1, bias=True)
        self.dconv = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)
        self.up = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
        self.ln = nn.LayerNorm([3, 8])
        self.gn = nn.GroupNorm(3, 3)
        self.prelu = nn.PReLU(3)
        self.lrn = nn.LocalResponseNorm(4)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = self.conv(x)                                            # (N, 4, 8, 8)
        y = F.leaky_relu(self.dconv(y), 0.1) + F.gelu(y) - F.silu(y) * F.elu(y)
        y = self.lrn(y)
        y = F.max_pool2d(y, 3, stride=2, padding=1, ceil_mode=True)
        y = F.avg_pool2d(y, 2, stride=2, ceil_mode=True, count_include_pad=False)
        y = F.interpolate(y, size=(4, 4), mode="bilinear", align_corners=False)
        y = self.up(y)                                              # (N, 3, 8, 8)
        y = self.gn(self.prelu(y))
        y = self.ln(y.mean(dim=2) + y[:, :, 1, :]
                    + y.permute(0, 1, 3, 2)[:, :, ::2, 0:1].expand(-1, 3, 4, 2).reshape(-1, 3, 8))   # (N, 3, 8)
        z = F.pad(y, (1, 1), mode="reflect")[:, :, 1:9]           # (N, 3, 8)
        z = F.softmax(z, dim=-1) + F.log_softmax(z, dim=1).exp() + F.hardtanh(z, -0.5, 0.5)
        z = z.clamp(min=-1.0) + nt.tanh(z) * nt.sigmoid(z) + z.abs().sqrt() - (z * z).pow(2.0)
        z = F.adaptive_avg_pool2d(z.unsqueeze(1), (2, 3))            # (N, 1, 2, 3), uneven bins
        out = self.fc(nt.cat([z.flatten(1), z.flatten(1)[:, ::3]], 1)[:, None][:, 0, :8])
        return out, F.interpolate(x, scale_factor=2, mode="nearest")


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_functional_ops_match_onnxruntime(opset):
    model = _Everything()
    x = nt.randn(2, 3, 16, 16)
    data = _export_bytes(model, x, input_names=["input"], output_names=["output", "image"], opset_version=opset,
                         dynamic_axes={"input": {0: "batch"}, "output": [0], "image": {0: "batch"}})
    onnx.checker.check_model(onnx.load_from_string(data))
    sess = _session(data)
    for n in (2, 5):
        xn = x if n == 2 else nt.randn(n, 3, 16, 16)
        with nt.no_grad():
            want = [t.numpy() for t in model(xn)]
        got = sess.run(None, {"input": xn.numpy()})
        for a, b in zip(got, want):
            assert a.shape == b.shape and _rel(a, b) < 1e-4


def test_in_place_ops_are_followed():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            y = self.act(self.a(x))
            y += x
            y.mul_(2.0)
            return y

    model = M()
    x = nt.randn(3, 4)
    (got,) = _session(_export_bytes(model, x)).run(None, {"input": x.numpy()})
    with nt.no_grad():
        want = model(x).numpy()
    assert _rel(got, want) < 1e-6


class _Rolls(nn.Module):
    def forward(self, x):
        return nt.roll(x, 1, dims=1)


def test_an_op_without_mapping_is_one_error_naming_it_and_the_module():
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), _Rolls()))
    with pytest.raises(ExportError, match=r"Roll \(neuronet\.ops\.arrange\.Roll\) in module '1\.1' \(_Rolls\)"):
        _export_bytes(model, nt.randn(2, 4))


def test_an_unused_op_without_mapping_does_not_matter():
    class M(nn.Module):
        def forward(self, x):
            nt.roll(x, 1, dims=1)            # computed, never used
            return x * 2.0

    x = nt.randn(2, 4)
    (got,) = _session(_export_bytes(M(), x)).run(None, {"input": x.numpy()})
    assert np.allclose(got, x.numpy() * 2)


def test_path_file_object_params_as_inputs_and_argument_errors(tmp_path):
    model = models.get_model("lenet5")
    x = nt.randn(1, 1, 28, 28)
    path = tmp_path / "lenet.onnx"
    export(model, x, str(path))
    buf = io.BytesIO()
    export(model, x, buf)
    assert path.read_bytes() == buf.getvalue()
    proto = onnx.load_from_string(_export_bytes(model, x, export_params=False))
    assert not proto.graph.initializer or all(i.name not in model.state_dict() for i in proto.graph.initializer)
    assert {"input", "features.0.weight"} <= {i.name for i in proto.graph.input}
    with pytest.raises(ValueError, match="dynamic_axes names 'images'"):
        export(model, x, io.BytesIO(), dynamic_axes={"images": {0: "batch"}})
    with pytest.raises(ValueError, match="opset_version must be between 17 and 21, received 9"):
        export(model, x, io.BytesIO(), opset_version=9)
    with pytest.raises(ValueError, match="only eval-mode export"):
        export(model, x, io.BytesIO(), training="TRAINING")


def _run(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NEURONET_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "neuronet", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_cli_export_of_a_trained_checkpoint(tmp_path):
    r = _run("train", "lenet5", "--data", "mnist-sample", "--subset", "128", "--epochs", "1",
             "--scheduler", "none", "--batch-size", "64", "--out", str(tmp_path), "--no-report", "--quiet")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "lenet.onnx"
    r = _run("export", str(tmp_path / "last.npz"), str(out))
    assert r.returncode == 0, r.stderr
    assert "lenet5" in r.stdout and out.exists()
    from neuronet.train import load_checkpoint
    model = load_checkpoint(str(tmp_path / "last.npz")).build_model()
    x = nt.randn(5, 1, 28, 28)
    (got,) = _session(out.read_bytes()).run(None, {"input": x.numpy()})
    with nt.no_grad():
        assert _rel(got, model(x).numpy()) < 1e-5
    r = _run("export", str(tmp_path / "missing.npz"), str(tmp_path / "x.onnx"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "missing.npz" in r.stderr


@pytest.mark.parametrize("name,kw,shape,ops", [
    ("googlenet", {"num_classes": 10}, (3, 32, 32), {"Concat", "MaxPool", "BatchNormalization"}),
    ("unet", {"base_channels": 4}, (1, 32, 32), {"ConvTranspose", "Concat"}),
    ("segnet", {"base_channels": 4}, (3, 32, 32), {"MaxUnpool", "MaxPool"}),
    ("resnet20", {}, (3, 32, 32), {"ConstantOfShape", "Concat", "Slice"}),   # option-A zero channels
])
def test_graphs_use_the_onnx_operators_and_load_back_into_neuronet(name, kw, shape, ops):
    """The structure the issue names (GoogLeNet's concatenations, U-Net's
    transposed convolutions and skips, SegNet's unpooling), and the file read
    back by neuronet.onnx.load gives the same outputs."""
    model = models.get_model(name, **kw).eval()
    _random_stats(model)
    x = nt.randn(2, *shape)
    data = _export_bytes(model, x, dynamic_axes=DYNAMIC)
    assert ops <= {n.op_type for n in onnx.load_from_string(data).graph.node}
    again = nt.onnx.load(io.BytesIO(data)).eval()
    with nt.no_grad():
        assert _rel(again(x).numpy(), model(x).numpy()) < 1e-5


def test_channel_major_activations_export_like_any_other():
    """A convolution hands its output on as a channel-major view (a single-channel input
    takes that kernel): layout is the kernels' business, the exported graph is plain."""
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(3, 4, 3), nn.Flatten())
    x = nt.randn(2, 1, 8, 8)
    sess = _session(_export_bytes(model, x, dynamic_axes=DYNAMIC))
    for n in (2, 3):
        xn = nt.randn(n, 1, 8, 8)
        with nt.no_grad():
            assert _rel(sess.run(None, {"input": xn.numpy()})[0], model(xn).numpy()) < 1e-5


class _Fn(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn = fn
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        return self.fn(x, *self.layers)


# one line per op or argument pattern: (label, function of (x, *layers), layers, input shape)
OPS = [
    ("avg_pool_pad_ceil", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), (), (2, 3, 9, 9)),
    ("avg_pool_no_pad_count", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     (), (2, 3, 8, 8)),
    ("avg_pool_divisor", lambda x: F.avg_pool2d(x, 2, divisor_override=3), (), (2, 3, 8, 8)),
    ("max_pool_dilation", lambda x: F.max_pool2d(x, 2, 1, 1, dilation=2), (), (2, 3, 9, 9)),
    ("max_pool_indices", lambda x: F.max_pool2d(x, 2, return_indices=True)[1].float(), (), (2, 3, 8, 8)),
    ("adaptive_avg_5_to_3", lambda x: F.adaptive_avg_pool2d(x, 3), (), (2, 3, 5, 7)),
    ("adaptive_max", lambda x: F.adaptive_max_pool2d(x, (2, 1)), (), (2, 3, 4, 6)),
    ("bicubic_align", lambda x: F.interpolate(x, size=(7, 5), mode="bicubic", align_corners=True), (),
     (2, 3, 4, 4)),
    ("pad_replicate_value", lambda x: F.pad(x, (1, 2, 0, 1), mode="replicate") + F.pad(x, (1, 2, 0, 1), value=0.5),
     (), (2, 3, 4, 4)),
    ("batch_norm_batch_stats", lambda x, bn: bn(x), (nn.BatchNorm2d(3, track_running_stats=False),), (4, 3, 4, 4)),
    ("batch_norm_1d", lambda x, bn: bn(x), (nn.BatchNorm1d(3),), (4, 3, 5)),
    ("lrn_odd", lambda x: F.local_response_norm(x, 3, alpha=0.1, beta=0.6, k=1.5), (), (2, 6, 4, 4)),
    ("activations", lambda x: F.softplus(x, beta=2.0) + F.hardsigmoid(x) + F.hardswish(x) + F.mish(x)
     + F.elu(x, 0.7) + F.selu(x) + F.celu(x, 1.3) + F.threshold(x, 0.1, -2.0) + F.rrelu(x)
     + F.logsigmoid(x) + F.softsign(x) + F.tanhshrink(x) + F.softshrink(x, 0.3) + F.hardshrink(x, 0.3)
     + F.relu6(x) + F.gelu(x, approximate="tanh"), (), (2, 3, 4)),
    ("glu_prelu", lambda x, p: F.glu(p(x), dim=1), (nn.PReLU(),), (2, 4, 3)),
    ("indexing", lambda x: x[1:, None, ..., 2] * 2 + x[:, :, [2, 0, 1]][..., 1, None].sum(), (), (3, 4, 5)),
    ("negative_int_index", lambda x: x[:, -1] - x[..., 0, :], (), (2, 4, 4)),
    ("stack_expand", lambda x: nt.stack([x, x * 2], dim=1).expand(-1, 2, 3, 4) + x.unsqueeze(1), (), (2, 3, 4)),
    ("reductions", lambda x: x.max(dim=1)[0] + x.max(dim=1)[1].float() + x.amin(dim=(1, 2), keepdim=True)[:, 0]
     + x.logsumexp(dim=1) + x.mean() + x.sum(dim=1), (), (2, 3, 4)),
    ("clamp", lambda x: x.clamp(max=x.mean(dim=0)) + x.clamp(-0.5, 0.5) + x.clamp(min=0.1), (), (2, 3)),
    ("math", lambda x: nt.sin(x) + nt.cos(x) + nt.erf(x) + nt.floor(x) + nt.rsqrt(x.abs() + 1) + nt.log1p(x.abs())
     + nt.expm1(x) + nt.log2(x.abs() + 1) + x.sign() + x.square() + nt.atan(x), (), (2, 3)),
    ("embedding", lambda x, e: e((x.abs() * 3).long().clamp(max=9)), (nn.Embedding(10, 4),), (2, 3)),
    ("matmul_linear_3d", lambda x, lin: lin(x) @ x.transpose(1, 2), (nn.Linear(4, 4),), (2, 3, 4)),
    ("group_norm_conv1d", lambda x, c, gn: gn(c(x)), (nn.Conv1d(4, 6, 3, padding=1), nn.GroupNorm(2, 6)), (2, 4, 7)),
]


@pytest.mark.parametrize("label,fn,layers,shape", OPS, ids=[o[0] for o in OPS])
def test_op_matches_onnxruntime(label, fn, layers, shape):
    model = _Fn(fn, *layers)
    _random_stats(model)
    x = nt.randn(*shape)
    data = _export_bytes(model, x, dynamic_axes=DYNAMIC)
    onnx.checker.check_model(onnx.load_from_string(data))
    sess = _session(data)
    model.eval()
    for n in (shape[0], shape[0] + 1):
        xn = x if n == shape[0] else nt.randn(n, *shape[1:])
        with nt.no_grad():
            want = model(xn).numpy()
        (got,) = sess.run(None, {"input": xn.numpy()})
        assert got.shape == want.shape
        assert np.allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(want).max())), label


@pytest.mark.parametrize("fn", [lambda x: nt.where(x > 0, x, x * 0.1),       # comparison: not traced
                                lambda x: x * float(x.mean()),               # a Python number from the input
                                lambda x: x[:, np.argsort(x.numpy()[0])]],   # NumPy on the values
                         ids=["comparison", "item", "numpy"])
def test_values_computed_outside_the_trace_are_refused_not_frozen(fn):
    with pytest.raises(ExportError, match=r"depends on the input but was computed outside the traced ops"):
        _export_bytes(_Fn(fn), nt.randn(2, 5))
