"""``neuronet.onnx.load(f)``: an ONNX file as a trainable ``nn.Module``.

The graph's weights become ``nn.Parameter``s (convolution kernels and
biases, ``Gemm``/``MatMul`` matrices, batch-norm scale and shift) and the
batch-norm running statistics become buffers, all under state_dict keys equal
to the initializer names (``layer1.0.conv1.weight`` nests as submodules, as in
the PyTorch model the file came from; ``onnx::Conv_193`` stays one key). The
forward pass evaluates the nodes in order with neuronet's differentiable ops,
so gradients reach every parameter and the module fine-tunes with
``neuronet.optim`` like any other.

Semantics:

- The module comes back in **eval mode** (outputs equal onnxruntime's).
  ``train()`` turns ``Dropout`` nodes into dropout and makes
  ``BatchNormalization`` use batch statistics and update its running buffers
  (momentum ``1 - onnx_momentum``, PyTorch's convention), as the original
  PyTorch module would.
- Shape arithmetic (``Shape``, ``Gather``, ``Unsqueeze``, ``Concat`` feeding a
  ``Reshape``, as PyTorch's exporter writes for ``x.view(x.size(0), -1)``) runs
  on host NumPy integers at every call, so the batch size stays dynamic.
- Initializers that PyTorch's exporter de-duplicated (equal values, shared
  through an ``Identity``) are split back into separate parameters: two layers
  that happened to start equal must not train as one.
- Operators the importer does not know make :func:`load` fail once, listing
  every one with its count and the file; nothing is executed from the file
  beyond the operators listed in :mod:`neuronet.onnx._ops_import`.

Needs the ``onnx`` package (``pip install neuronet[onnx]``) to parse the file.
"""
import os

import numpy as np

from .. import nn
from ..tensor import Tensor
from . import _ops_import as ops

__all__ = ["load", "OnnxModule", "OnnxImportError"]


class OnnxImportError(ValueError):
    """An ONNX file that cannot be read: corrupt, truncated, or inconsistent."""


# which inputs of which operators are weights (trained) and which are running
# statistics (buffers); everything else from an initializer is a constant
_PARAM_SLOTS = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (0, 1),
    "BatchNormalization": (1, 2), "InstanceNormalization": (1, 2), "LayerNormalization": (1, 2),
    "PRelu": (1,),
}
_BUFFER_SLOTS = {"BatchNormalization": (3, 4)}
_FLOAT_KINDS = "f"


def _onnx():
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("neuronet.onnx.load needs the 'onnx' package: pip install 'neuronet[onnx]' "
                          "(or pip install onnx)") from e
    return onnx


# ---------------------------------------------------------------------------
# reading the file
# ---------------------------------------------------------------------------

def _read_model(f):
    """Parse ``f`` (path or binary file object) into a ModelProto, with
    external data resolved next to a path; one clear error for bad bytes."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError
    if isinstance(f, (str, os.PathLike)):
        where = os.fspath(f)
        with open(where, "rb") as fh:
            data = fh.read()
        base = os.path.dirname(os.path.abspath(where))
    else:
        where = getattr(f, "name", None) or repr(f)
        data = f.read()
        base = None
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"neuronet.onnx.load: {where} must be opened in binary mode, received {type(data).__name__}")
    if not data:
        raise OnnxImportError(f"{where}: empty file, not an ONNX model")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(bytes(data))
    except (DecodeError, RuntimeError, ValueError) as e:
        raise OnnxImportError(f"{where}: not a valid ONNX file ({len(data)} bytes; protobuf parse failed: {e}); "
                              "the file is truncated, corrupt, or not ONNX") from None
    if not model.HasField("graph") or (not model.graph.node and not model.graph.output):
        raise OnnxImportError(f"{where}: no graph in this file ({len(data)} bytes); "
                              "the file is truncated, corrupt, or not an ONNX model")
    external = [t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        if base is None:
            raise OnnxImportError(f"{where}: initializers {external[:3]} live in external data files; "
                                  "pass the model's path (not a file object) so they can be found")
        try:
            onnx.external_data_helper.load_external_data_for_model(model, base)
        except OSError as e:
            raise OnnxImportError(f"{where}: external data of {external[:3]} not readable: {e}") from None
    return model, where


def _opset(model):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 1


# ---------------------------------------------------------------------------
# the graph as plain Python: nodes with decoded attributes
# ---------------------------------------------------------------------------

class _Node:
    __slots__ = ("op", "name", "inputs", "outputs", "attrs")

    def __init__(self, op, name, inputs, outputs, attrs):
        self.op, self.name, self.inputs, self.outputs, self.attrs = op, name, inputs, outputs, attrs

    def __repr__(self):
        return f"{self.op} node {self.name!r}" if self.name else f"{self.op} node -> {self.outputs[:1]}"


class _Graph:
    """Nodes in topological order, output names, and the subgraph's own
    constant initializers (host arrays)."""
    __slots__ = ("nodes", "outputs", "constants")

    def __init__(self, nodes, outputs, constants):
        self.nodes, self.outputs, self.constants = nodes, outputs, constants


def _to_array(t, where):
    from onnx import numpy_helper
    try:
        a = numpy_helper.to_array(t)
    except Exception as e:
        raise OnnxImportError(f"{where}: tensor {t.name!r} cannot be decoded ({e}); "
                              "the file is truncated or corrupt") from None
    if a.dtype.kind == "V" or str(a.dtype) == "bfloat16":   # ml_dtypes bfloat16 -> float32
        a = a.astype(np.float32)
    return np.array(a)   # own, writable memory


def _attr_value(a, where):
    onnx = _onnx()
    A = onnx.AttributeProto
    if a.type == A.FLOAT:
        return float(a.f)
    if a.type == A.INT:
        return int(a.i)
    if a.type == A.STRING:
        return a.s.decode("utf-8", "replace")
    if a.type == A.TENSOR:
        return _to_array(a.t, where)
    if a.type == A.GRAPH:
        return _convert_graph(a.g, where)
    if a.type == A.FLOATS:
        return [float(v) for v in a.floats]
    if a.type == A.INTS:
        return [int(v) for v in a.ints]
    if a.type == A.STRINGS:
        return [s.decode("utf-8", "replace") for s in a.strings]
    if a.type == A.GRAPHS:
        return [_convert_graph(g, where) for g in a.graphs]
    if a.type == A.TENSORS:
        return [_to_array(t, where) for t in a.tensors]
    raise OnnxImportError(f"{where}: attribute {a.name!r} has a type ({a.type}) neuronet does not read")


def _convert_nodes(g, where):
    nodes = []
    for n in g.node:
        op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
        attrs = {a.name: _attr_value(a, where) for a in n.attribute}
        nodes.append(_Node(op, n.name, list(n.input), list(n.output), attrs))
    return nodes


def _convert_graph(g, where):
    consts = {t.name: _to_array(t, where) for t in g.initializer}
    return _Graph(_convert_nodes(g, where), [o.name for o in g.output], consts)


def _op_counts(nodes, counts):
    for n in nodes:
        counts[n.op] = counts.get(n.op, 0) + 1
        for v in n.attrs.values():
            for sub in (v if isinstance(v, list) else [v]):
                if isinstance(sub, _Graph):
                    _op_counts(sub.nodes, counts)
    return counts


def _check_supported(nodes, where):
    counts = _op_counts(nodes, {})
    missing = {op: c for op, c in counts.items() if op not in ops.OPS}
    if missing:
        listing = ", ".join(f"{op} (x{c})" for op, c in sorted(missing.items()))
        raise NotImplementedError(
            f"{where}: {len(missing)} ONNX operator type(s) neuronet cannot import: {listing}. "
            f"Supported: {', '.join(sorted(ops.OPS))}")


def _check_wiring(nodes, defined, outputs, where, outer=frozenset()):
    """Every input must be defined before it is read; a truncated file that
    still parses usually fails here."""
    known = set(defined) | set(outer)
    for n in nodes:
        for name in n.inputs:
            if name and name not in known:
                raise OnnxImportError(f"{where}: {n!r} reads {name!r}, which no graph input, initializer or "
                                      "earlier node defines; the file is truncated, corrupt, "
                                      "or its nodes are not in topological order")
        for v in n.attrs.values():
            for sub in (v if isinstance(v, list) else [v]):
                if isinstance(sub, _Graph):
                    _check_wiring(sub.nodes, sub.constants, sub.outputs, where, known)
        known.update(o for o in n.outputs if o)
    for o in outputs:
        if o not in known:
            raise OnnxImportError(f"{where}: graph output {o!r} is computed by no node; "
                                  "the file is truncated or corrupt")


def _split_shared_identities(nodes, inits):
    """``Identity(initializer)`` nodes become initializers of their own (copies):
    PyTorch's exporter folds equal parameters into one and re-exposes it
    through Identity, but a trainable module must keep them separate."""
    kept = []
    for n in nodes:
        if n.op == "Identity" and n.inputs and n.inputs[0] in inits and n.outputs[0] not in inits:
            inits[n.outputs[0]] = inits[n.inputs[0]].copy()
        else:
            kept.append(n)
    return kept


# ---------------------------------------------------------------------------
# the module
# ---------------------------------------------------------------------------

class _Scope(nn.Module):
    """A namespace in the parameter tree (``layer1`` in ``layer1.0.conv1.weight``)."""

    def forward(self, *args):
        raise RuntimeError("a parameter scope of an imported ONNX graph is not callable; call the OnnxModule")


def _roles(nodes, inits):
    """initializer name -> 'param' (trained), 'stat' (running statistics: a
    state_dict buffer), 'buffer' (another float constant: moves with ``.to``,
    stays out of the state_dict) or 'const' (integer data: host array)."""
    roles = {}
    producers = {o: n.op for n in nodes for o in n.outputs}
    for n in nodes:
        for i in _PARAM_SLOTS.get(n.op, ()):
            if i < len(n.inputs) and n.inputs[i] in inits:
                roles[n.inputs[i]] = "param"
        for i in _BUFFER_SLOTS.get(n.op, ()):
            if i < len(n.inputs) and n.inputs[i] in inits:
                roles.setdefault(n.inputs[i], "stat")
        # a Linear layer on >2-D input is exported as MatMul + Add(bias)
        if n.op == "Add" and len(n.inputs) == 2:
            for a, b in (n.inputs, n.inputs[::-1]):
                if a in inits and producers.get(b) in ("MatMul", "Conv"):
                    roles[a] = "param"
    for name, arr in inits.items():
        kind = roles.get(name)
        if arr.dtype.kind not in _FLOAT_KINDS:
            roles[name] = "const"
        elif kind is None:
            roles[name] = "buffer"
    return roles


class OnnxModule(nn.Module):
    """An ONNX graph as a neuronet module (build it with :func:`load`).

    ``forward(*inputs)`` takes the graph's inputs in order (tensors or
    arrays; dynamic dimensions, such as the batch, may take any size) and
    returns its output, or a tuple when the graph has several.

    Attributes: ``input_names``, ``output_names``, ``opset_version``,
    ``source`` (the file it came from).
    """

    def __init__(self, nodes, inits, inputs, outputs, opset, source):
        super().__init__()
        self.opset_version = opset
        self.source = source
        self.input_names = [name for name, _, _ in inputs]
        self._input_shapes = {name: shape for name, shape, _ in inputs}
        self._input_dtypes = {name: dtype for name, _, dtype in inputs}
        self.output_names = list(outputs)
        self._nodes = nodes
        self._constants = {}       # integer / shape data: host arrays
        self._slots = {}           # initializer name -> dotted path of its parameter or buffer
        roles = _roles(nodes, inits)
        for name, arr in inits.items():
            role = roles[name]
            if role == "const":
                self._constants[name] = arr
            else:
                self._slots[name] = self._attach(name, arr, role)
        self.eval()

    def _attach(self, name, arr, role):
        """Register ``arr`` under ``name``, nesting dotted names as submodules;
        a name that cannot nest (empty part, clash) is flattened with '_'."""
        parts = name.split(".")
        owner = self
        ok = all(parts)
        if ok:
            for p in parts[:-1]:
                child = owner._modules.get(p)
                if child is None:
                    if p in owner._parameters or p in owner._buffers or hasattr(type(owner), p) \
                            or p in owner.__dict__:
                        ok = False
                        break
                    child = _Scope()
                    owner.add_module(p, child)
                owner = child
        leaf = parts[-1]
        if not ok or leaf in owner._modules or leaf in owner._parameters or leaf in owner._buffers \
                or hasattr(type(owner), leaf) or leaf in owner.__dict__:
            owner, leaf, base = self, name.replace(".", "_") or "_", name.replace(".", "_") or "_"
            k = 1
            while leaf in self._modules or leaf in self._parameters or leaf in self._buffers \
                    or hasattr(type(self), leaf) or leaf in self.__dict__:
                leaf = f"{base}_{k}"
                k += 1
        t = Tensor._wrap(arr)
        if role == "param":
            owner.register_parameter(leaf, nn.Parameter(t))
        else:
            owner.register_buffer(leaf, t, persistent=role == "stat")
        return leaf if owner is self else name

    def _initial_env(self):
        env = dict(self._constants)
        for name, path in self._slots.items():
            obj = self
            for p in path.split(".")[:-1]:
                obj = getattr(obj, p)
            env[name] = getattr(obj, path.split(".")[-1])
        return env

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"{self._label()}: expected {len(self.input_names)} input(s) "
                            f"({', '.join(self.input_names)}), received {len(inputs)}")
        env = self._initial_env()
        for name, x in zip(self.input_names, inputs):
            env[name] = self._check_input(name, x)
        ops.run_graph(self, self._nodes, env)
        outs = []
        for name in self.output_names:
            v = env[name]
            outs.append(ops.as_tensor(v, None) if not isinstance(v, Tensor) else v)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _check_input(self, name, x):
        if not isinstance(x, Tensor):
            if isinstance(x, (np.ndarray, np.generic, list, tuple, float, int)):
                x = np.asarray(x)
                want = self._input_dtypes.get(name)
                if want is not None and x.dtype.kind in "fiub" and x.dtype != want:
                    x = x.astype(want)      # arrays take the graph's declared element type
                x = ops.as_tensor(x, None)
            else:
                raise TypeError(f"{self._label()}: input {name!r} must be a Tensor or array, "
                                f"received {type(x).__name__}")
        shape = self._input_shapes.get(name)
        if shape is not None:
            bad = len(shape) != x.ndim or any(d is not None and d != s for d, s in zip(shape, x.shape))
            if bad:
                want = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
                raise ValueError(f"{self._label()}: input {name!r} expects shape {want} "
                                 f"('?' = any size), received {tuple(x.shape)}")
        return x

    def _label(self):
        return f"OnnxModule({os.path.basename(str(self.source))})"

    def extra_repr(self):
        return (f"source={self.source!r}, opset={self.opset_version}, inputs={self.input_names}, "
                f"outputs={self.output_names}, nodes={len(self._nodes)}")


def _value_dtype(vi):
    t = vi.type
    if not t.HasField("tensor_type"):
        return None
    code = t.tensor_type.elem_type
    return np.dtype(ops._DTYPES[code][0]) if code in ops._DTYPES else None


def _value_shape(vi):
    t = vi.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
            for d in t.tensor_type.shape.dim]


def load(f):
    """Load an ONNX model file as a trainable :class:`OnnxModule`.

    Args:
        f: a path or a binary file object holding an ONNX ``ModelProto``
            (external data files are found next to a path).

    Returns:
        an ``nn.Module`` in eval mode whose parameters are the graph's weights
        (state_dict keys = initializer names) and whose forward evaluates the
        graph with neuronet's differentiable ops.

    Raises:
        OnnxImportError (a ValueError): the file is empty, truncated, corrupt
            or inconsistent (names the file and what is wrong).
        NotImplementedError: the graph uses operators neuronet does not
            import; one error lists all of them with their counts.

    Example::

        model = neuronet.onnx.load("resnet18.onnx")
        logits = model(neuronet.randn(2, 3, 224, 224))
        model.train()  # fine-tune: dropout on, batch statistics
        opt = neuronet.optim.SGD(model.parameters(), lr=1e-3)
    """
    model, where = _read_model(f)
    opset = _opset(model)
    g = model.graph
    inits = {t.name: _to_array(t, where) for t in g.initializer}
    nodes = _convert_nodes(g, where)
    _check_supported(nodes, where)
    inputs = [(vi.name, _value_shape(vi), _value_dtype(vi)) for vi in g.input if vi.name not in inits]
    outputs = [o.name for o in g.output]
    _check_wiring(nodes, list(inits) + [i[0] for i in inputs], outputs, where)
    nodes = _split_shared_identities(nodes, inits)
    return OnnxModule(nodes, inits, inputs, outputs, opset, where)

