"""ONNX export by tracing one forward pass of the model: every op is recorded.

``neuronet.autograd.function.tracer`` is called after every op with the op's
Function class, its arguments (Tensors and constants), its output and its
auxiliary outputs. The exporter maps each Function (with its constant
arguments) to ONNX nodes (:mod:`neuronet.onnx._ops_export` holds the table),
names values as they are produced, and turns what it meets first as a module
parameter or buffer into an initializer named by its ``state_dict`` key;
anything else that is not produced by a traced op (``neuronet.zeros(...)``, a
NumPy index) becomes a constant. Ops that depend only on constants are folded
(``do_constant_folding``). Nodes that do not lead to an output are dropped, so
an op with no ONNX mapping fails the export only if its result is used: one
error names every such op and the module that called it.

Eval-mode semantics: the model is switched to ``eval()`` while it is traced
(dropout disappears, batch norm uses its running statistics) and its modes are
restored afterwards. A dynamic batch (``dynamic_axes={"input": {0: "batch"}}``)
makes the reshapes batch-agnostic (``0`` / ``-1`` in their shape) and builds
batch-sized constants (zero channels appended by a ResNet option-A shortcut)
from the shape of their neighbour at run time.

What a tracer cannot see it refuses rather than freezes: the forward is run a
second time on another input of the same shape, and an op whose constant
arguments change (a mask from ``x > 0``, a factor from ``.item()``, an index
from NumPy) or a forward that takes another path raises :class:`ExportError`
naming the op and module.

Limits: only the batch axis may be dynamic (spatial sizes are baked into
pooling and resampling constants), and it must be axis 0 wherever a reshape
or a batch-sized constant meets it; Python control flow is frozen to the
branch the example input took, as with any tracing exporter.
"""
from __future__ import annotations

import os

import numpy as np

from .. import backend
from ..autograd import function as _function
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

__all__ = ["export", "ExportError", "TrainingMode"]

MIN_OPSET, MAX_OPSET = 17, 21


class ExportError(RuntimeError):
    """The model cannot be written as ONNX (the message says which op, where, why)."""


class TrainingMode:
    """``torch.onnx.TrainingMode``'s names; only EVAL (and PRESERVE of an eval
    model) is supported."""
    EVAL = "EVAL"
    PRESERVE = "PRESERVE"
    TRAINING = "TRAINING"


class Unsupported(Exception):
    """Raised by an op's mapping: this call has no ONNX form (the reason)."""


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("neuronet.onnx.export needs the 'onnx' package: pip install onnx "
                          "(or pip install 'neuronet[onnx]')") from None
    return onnx


def _to_numpy(a):
    return np.asarray(backend.to_numpy(a), order="C")       # keeps 0-d arrays 0-d


class _Unsupported:
    """A placeholder node: an op with no mapping, reported if its value is used."""

    def __init__(self, what, where, reason, outputs):
        self.what, self.where, self.reason, self.output = what, where, reason, list(outputs)
        self.input = []


class GraphBuilder:
    """What an op mapping talks to: names of values, constants, new nodes."""

    def __init__(self, onnx, opset, dynamic):
        self.onnx = onnx
        self.opset = opset
        self.dynamic = dynamic          # some input axis is dynamic
        self.nodes = []
        self.initializers = {}          # name -> ndarray
        self.param_names = set()        # initializers that are module parameters/buffers
        self._values = {}               # id(Tensor) -> (name, version)
        self._arrays = {}               # id(ndarray) -> (name, version counter, version) of produced tensors
        self._keep = []                 # keeps traced tensors alive so ids stay unique
        self._produced = []             # (name, tensor) in order, for in-place lookups
        self._param_tensors = {}        # id(Tensor) -> key
        self._param_arrays = {}         # id(ndarray) -> (key, array)
        self.dyn = set()                # names that depend on a graph input
        self.const_values = {}          # name -> ndarray for constants (not parameters)
        self._counter = 0
        self.scope = ""                 # module path of the op being mapped
        self.global_indices = {}        # per-plane indices name -> ONNX-convention indices name

    # ---------------------------------------------------------------- names
    def fresh(self, hint):
        self._counter += 1
        return f"{self.scope}/{hint}_{self._counter}" if self.scope else f"/{hint}_{self._counter}"

    def register(self, tensor, name):
        self._values[id(tensor)] = (name, tensor._vc[0])
        self._arrays[id(tensor.array)] = (name, tensor._vc, tensor._vc[0])
        self._keep.append(tensor)
        self._produced.append((name, tensor))

    def add_params(self, model):
        for key, p in model.named_parameters():
            self._param_tensors[id(p)] = key
            self._param_arrays[id(p.array)] = (key, p.array)
        for key, b in model.named_buffers():
            if b is not None:
                self._param_tensors[id(b)] = key
                self._param_arrays[id(b.array)] = (key, b.array)

    def _initializer(self, key, array):
        if key not in self.initializers:
            self.initializers[key] = _to_numpy(array)
            self.param_names.add(key)
        return key

    def name(self, x):
        """The ONNX name of a Tensor or array argument (an initializer or a
        constant the first time a parameter or constant is met)."""
        if isinstance(x, Tensor):
            hit = self._values.get(id(x))
            if hit is not None:
                name, version = hit
                if version == x._vc[0]:
                    return name
                return self._after_inplace(x, name)
            key = self._param_tensors.get(id(x))
            if key is not None:
                return self._initializer(key, x.array)
            arr = x.array
        else:
            arr = x
        hit = self._param_arrays.get(id(arr))
        if hit is not None:
            return self._initializer(*hit)
        hit = self._arrays.get(id(arr))
        if hit is not None:
            name, counter, version = hit
            if counter[0] == version:
                return name
            return self._after_inplace(x if isinstance(x, Tensor) else Tensor._wrap(arr), name)
        return self.const(_to_numpy(arr), "Constant")

    def _after_inplace(self, x, old):
        """``x`` was changed in place after it was recorded: its value is the
        newest traced output holding the same values (the in-place machinery
        computes the new value with ordinary ops, then copies it in)."""
        value = _to_numpy(x.array)
        for name, t in reversed(self._produced):
            if name == old:
                break
            if t.shape == x.shape and t.dtype == x.dtype and np.array_equal(_to_numpy(t.array), value):
                self._values[id(x)] = (name, x._vc[0])
                self._arrays[id(x.array)] = (name, x._vc, x._vc[0])
                return name
        raise Unsupported(f"a tensor changed in place ({old}) whose new value the exporter cannot "
                          "follow; use the out-of-place op")

    def is_dynamic(self, x):
        return isinstance(x, Tensor) and self.name(x) in self.dyn

    def is_param(self, x):
        return isinstance(x, Tensor) and self.name(x) in self.param_names

    def const_value(self, x):
        """The value of ``x`` if it is a constant (not a parameter, not computed from an input)."""
        if not isinstance(x, Tensor):
            return None
        return self.const_values.get(self.name(x))

    def const(self, value, hint="Constant", dtype=None):
        value = np.array(value, dtype=dtype, order="C")     # a copy: later in-place changes do not reach it
        self._counter += 1
        name = f"{hint}_{self._counter}"
        self.initializers[name] = value
        self.const_values[name] = self.initializers[name]
        return name

    def ints(self, values):
        return self.const(np.asarray(list(values), dtype=np.int64), "ints")

    def scalar(self, value, dtype):
        return self.const(np.asarray(value, dtype=dtype), "scalar")

    # ---------------------------------------------------------------- nodes
    def op(self, op_type, inputs, outputs=1, **attrs):
        """Append a node; returns its output name (or the list of them)."""
        node_name = self.fresh(op_type)
        outs = [f"{node_name}_output_{i}" for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs, name=node_name, **attrs))
        if any(i in self.dyn for i in inputs):
            self.dyn.update(outs)
        return outs[0] if outputs == 1 else outs

    def cast(self, name, dtype):
        return self.op("Cast", [name], to=self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def operand(self, a, dtype):
        """An elementwise operand as a name of dtype ``dtype`` (scalars become constants)."""
        if isinstance(a, Tensor):
            name = self.name(a)
            return name if a.array.dtype == dtype else self.cast(name, dtype)
        if hasattr(a, "dtype") and hasattr(a, "shape"):
            return self.const(_to_numpy(a).astype(dtype))
        return self.scalar(a, dtype)

    def shape_of(self, name, start=None, end=None):
        kw = {}
        if start is not None:
            kw["start"] = start
        if end is not None:
            kw["end"] = end
        return self.op("Shape", [name], **kw)


def _flatten_outputs(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flatten_outputs(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flatten_outputs(o, out)
    elif obj is not None:
        raise ExportError(f"neuronet.onnx.export: the model returned a {type(obj).__name__}; "
                          "only Tensors (or tuples, lists, dicts of them) can be graph outputs")
    return out


def _split_args(args):
    if isinstance(args, Tensor):
        return (args,), {}
    if isinstance(args, list):
        args = tuple(args)
    if not isinstance(args, tuple):
        raise TypeError(f"neuronet.onnx.export: args must be a Tensor or a tuple of arguments, "
                        f"received {type(args).__name__}")
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _dynamic_axes(dynamic_axes, names):
    """{name: {axis: dim_name}}, validated."""
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"neuronet.onnx.export: dynamic_axes names {name!r}, which is neither an input "
                             f"nor an output name (inputs and outputs: {', '.join(names)})")
        if isinstance(axes, dict):
            out[name] = {int(k): str(v) for k, v in axes.items()}
        elif isinstance(axes, (list, tuple)):
            out[name] = {int(k): f"{name}_dynamic_axes_{i + 1}" for i, k in enumerate(axes)}
        else:
            raise TypeError(f"neuronet.onnx.export: dynamic_axes[{name!r}] must be a dict {{axis: name}} or a "
                            f"list of axes, received {type(axes).__name__}")
    return out


def _check_training(training, model):
    if training is None or training is False:
        return
    name = getattr(training, "name", training)
    if name in ("EVAL", "eval"):
        return
    if name in ("PRESERVE", "preserve") and not model.training:
        return
    raise ValueError(f"neuronet.onnx.export: only eval-mode export is supported (dropout removed, batch norm "
                     f"with running statistics); received training={training!r}")


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None,
           output_names=None, dynamic_axes=None, opset_version=17, do_constant_folding=True):
    """Write ``model`` as an ONNX file, traced from one forward pass on ``args``.

    Args (as ``torch.onnx.export``):
        model: an ``nn.Module`` built from neuronet's layers and functional ops.
        args: the example input: a Tensor, or a tuple of positional arguments
            (a trailing dict holds keyword arguments).
        f: a path or a binary file object.
        export_params: store the weights in the file (False: they become graph inputs).
        verbose: print the graph.
        training: None / ``TrainingMode.EVAL`` (export always traces in eval mode).
        input_names, output_names: graph value names (default ``input`` /
            ``input_<i>`` and ``output`` / ``output_<i>``).
        dynamic_axes: ``{"input": {0: "batch"}, "output": {0: "batch"}}`` (or
            lists of axes) for a dynamic batch.
        opset_version: 17 (default) to 21.
        do_constant_folding: fold ops whose inputs are all constants.

    Raises :class:`ExportError` naming every op that has no ONNX mapping and
    the module path that called it.
    """
    onnx = _onnx()
    from ._ops_export import handler_for
    from ..nn import Module
    if not isinstance(model, Module):
        raise TypeError(f"neuronet.onnx.export: model must be an nn.Module, received {type(model).__name__}")
    if not isinstance(opset_version, int) or not MIN_OPSET <= opset_version <= MAX_OPSET:
        raise ValueError(f"neuronet.onnx.export: opset_version must be between {MIN_OPSET} and {MAX_OPSET}, "
                         f"received {opset_version!r}")
    _check_training(training, model)
    pos, kw = _split_args(args)
    tensor_args = [a for a in pos if isinstance(a, Tensor)] + [v for v in kw.values() if isinstance(v, Tensor)]
    if not tensor_args:
        raise ValueError("neuronet.onnx.export: args holds no Tensor; pass an example input")
    if input_names is None:
        input_names = ["input"] if len(tensor_args) == 1 else [f"input_{i}" for i in range(len(tensor_args))]
    input_names = list(input_names)
    if len(input_names) != len(tensor_args):
        raise ValueError(f"neuronet.onnx.export: {len(input_names)} input_names for {len(tensor_args)} "
                         f"input tensors")
    if _function.tracer is not None:
        raise RuntimeError("neuronet.onnx.export: a tracer is already installed (an export in progress?)")

    g = None
    record = []         # per op call: what the trace freezes (constants), checked by a second pass
    modes = [(m, m.training) for m in model.modules()]
    stack = []
    handles = []
    unsupported = []

    def tracer(fn, fargs, fkwargs, out, aux):
        where = stack[-1] if stack else ""
        g.scope = "/" + where.replace(".", "/") if where else ""
        record.append((fn, where, _frozen_args(g, fargs, fkwargs)))
        inputs = [a for a in fargs if isinstance(a, Tensor)]
        outs = [out] + [a for a in aux]
        try:
            names = [g.name(a) for a in inputs]
        except Unsupported as e:
            _mark(fn, where, str(e), outs)
            return
        consts = [n in g.const_values for n in names]
        if do_constant_folding and all(consts):
            for t in outs:
                name = g.const(_to_numpy(t.array), "Folded")
                g.register(t, name)
            return
        handler = handler_for(fn)
        if handler is None:
            _mark(fn, where, "it has no ONNX mapping", outs)
            return
        try:
            result = handler(g, fargs, fkwargs, out, aux)
        except Unsupported as e:
            _mark(fn, where, str(e), outs)
            return
        except Exception as e:      # a bug in a mapping: still one error naming the op and module
            _mark(fn, where, f"the exporter failed on it ({type(e).__name__}: {e})", outs)
            return
        if isinstance(result, str):
            result = [result]
        for t, name in zip(outs, result):
            if name is not None:
                g.register(t, name)

    def _mark(fn, where, reason, outs):
        names = [g.fresh("Unsupported") for _ in outs]
        g.nodes.append(_Unsupported(fn, where, reason, names))
        for t, name in zip(outs, names):
            g.register(t, name)

    def pre_hook(name):
        def hook(module, inputs):
            stack.append(name)
        return hook

    def post_hook(module, inputs, output):
        if stack:
            stack.pop()

    try:
        model.eval()
        g = GraphBuilder(onnx, opset_version, dynamic=bool(dynamic_axes))
        g.add_params(model)
        graph_inputs = []
        for name, t in zip(input_names, tensor_args):
            g.register(t, name)
            g.dyn.add(name)
            graph_inputs.append((name, t))
        for name, m in model.named_modules():
            if name:
                handles.append(m.register_forward_pre_hook(pre_hook(name)))
                handles.append(m.register_forward_hook(post_hook))
        _function.tracer = tracer
        try:
            with no_grad():
                result = model(*pos, **kw)
        finally:
            _function.tracer = None
        _check_second_pass(model, pos, kw, record)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode

    outputs = _flatten_outputs(result, [])
    if not outputs:
        raise ExportError("neuronet.onnx.export: the model returned no Tensor")
    if output_names is None:
        output_names = ["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))]
    output_names = list(output_names)
    if len(output_names) != len(outputs):
        raise ValueError(f"neuronet.onnx.export: {len(output_names)} output_names for {len(outputs)} outputs")
    axes = _dynamic_axes(dynamic_axes, input_names + output_names)

    g.scope = ""
    out_names = []
    for want, t in zip(output_names, outputs):
        try:
            src = g.name(t)
        except Unsupported as e:
            raise ExportError(f"neuronet.onnx.export: output {want!r}: {e}") from None
        g.nodes.append(onnx.helper.make_node("Identity", [src], [want], name=f"/Identity_{want}"))
        out_names.append(want)

    nodes, used = _prune(g.nodes, out_names)
    bad = [n for n in nodes if isinstance(n, _Unsupported)]
    if bad:
        lines = []
        for n in bad:
            fn = n.what
            mod = model.get_submodule(n.where) if n.where else model
            where = (f"module '{n.where}' ({type(mod).__name__})" if n.where
                     else f"the model's own forward ({type(model).__name__})")
            line = f"{fn.__name__} ({fn.__module__}.{fn.__qualname__}) in {where}: {n.reason}"
            if line not in lines:
                lines.append(line)
        raise ExportError("neuronet.onnx.export: cannot export " + type(model).__name__ + ": "
                          + "; ".join(lines))

    helper = onnx.helper
    inputs_vi = []
    for name, t in graph_inputs:
        dims = [axes.get(name, {}).get(i, d) for i, d in enumerate(t.shape)]
        inputs_vi.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t.array.dtype), dims))
    batch_syms = {}
    for name, t in graph_inputs:
        for i, sym in axes.get(name, {}).items():
            batch_syms.setdefault(i, (t.shape[i], sym))
    outputs_vi = []
    for name, t in zip(out_names, outputs):
        given = axes.get(name)
        dims = list(t.shape)
        if given is not None:
            dims = [given.get(i, d) for i, d in enumerate(dims)]
        elif 0 in batch_syms and dims and dims[0] == batch_syms[0][0] and g.name(t) in g.dyn:
            dims[0] = batch_syms[0][1]
        outputs_vi.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t.array.dtype), dims))

    extra_inputs = []
    stored = []
    for name, value in g.initializers.items():
        if name not in used:
            continue
        if not export_params and name in g.param_names:
            extra_inputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(value.dtype), list(value.shape)))
        else:
            stored.append((name, value))
    graph = helper.make_graph(nodes, type(model).__name__, inputs_vi + extra_inputs, outputs_vi)
    for name, value in stored:
        # written straight into the graph: one copy of the weights, not three
        t = graph.initializer.add()
        t.name = name
        t.data_type = helper.np_dtype_to_tensor_dtype(value.dtype)
        t.dims.extend(value.shape)
        t.raw_data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
    opsets = [helper.make_opsetid("", opset_version)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="neuronet",
                              producer_version=_version())
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    if verbose:
        print(helper.printable_graph(proto.graph))
    try:
        data = proto.SerializeToString()
    except ValueError as e:
        raise ExportError(f"neuronet.onnx.export: the model is too large for one ONNX protobuf (2 GiB): {e}") from None
    _write(f, data)


def _frozen_args(g, args, kwargs):
    """What the trace of one op call bakes into the file: the values of its
    constant tensor arguments and of its other arguments (shapes, indices,
    factors), by position. Traced values and parameters are not frozen."""
    frozen = []
    for pos, a in list(enumerate(args)) + [(k, v) for k, v in kwargs.items()]:
        if isinstance(a, Tensor) or (hasattr(a, "shape") and hasattr(a, "dtype") and not np.isscalar(a)):
            try:
                name = g.name(a)
            except Unsupported:
                continue
            if name in g.const_values:
                frozen.append((pos, g.const_values[name]))
        else:
            frozen.append((pos, a))
    return frozen


def _same(a, b):
    if isinstance(a, Tensor):
        a = a.array
    if isinstance(b, Tensor):
        b = b.array
    if hasattr(a, "shape") and hasattr(a, "dtype") and not np.isscalar(a):
        if not (hasattr(b, "shape") and tuple(a.shape) == tuple(b.shape)):
            return False
        a, b = _to_numpy(a), _to_numpy(b)
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _perturbed(t):
    """Another input of the same shape and dtype: floats drawn afresh with the
    example's mean and spread, integers (indices) shuffled."""
    rng = np.random.default_rng(12345)
    a = _to_numpy(t.array)
    if a.dtype.kind in "fc":
        spread = float(a.std()) if a.size > 1 and a.std() > 0 else 1.0
        b = (float(a.mean()) if a.size else 0.0) + spread * rng.standard_normal(a.shape)
    else:
        b = rng.permutation(a.reshape(-1)).reshape(a.shape)
    return Tensor._wrap(backend.to_device(b.astype(a.dtype), backend.device_of(t.array)))


def _check_second_pass(model, pos, kw, record):
    """Run the forward again on another input and compare what the trace froze.

    A value computed from the input by an operation the tracer does not see
    (a comparison ``x > 0``, ``.item()``, ``.tolist()``, NumPy on ``.numpy()``)
    reaches the traced ops as a constant and would be written into the file
    as one: the second pass finds it because it changes with the input."""
    pos2 = tuple(_perturbed(a) if isinstance(a, Tensor) else a for a in pos)
    kw2 = {k: _perturbed(v) if isinstance(v, Tensor) else v for k, v in kw.items()}
    calls = []

    def tracer(fn, fargs, fkwargs, out, aux):
        calls.append((fn, fargs, fkwargs))

    _function.tracer = tracer
    try:
        with no_grad():
            model(*pos2, **kw2)
    except Exception as e:
        raise ExportError(f"neuronet.onnx.export: the model failed on a second example input (the exporter "
                          f"runs it twice to find values the trace would freeze): {e}") from None
    finally:
        _function.tracer = None
    for i, (fn, where, frozen) in enumerate(record):
        place = f"module '{where}'" if where else f"the model's own forward ({type(model).__name__})"
        if i >= len(calls) or calls[i][0] is not fn:
            raise ExportError(
                f"neuronet.onnx.export: the forward pass takes a different path for another input (op {i}: "
                f"{fn.__name__} in {place}); data-dependent control flow cannot be traced")
        fargs, fkwargs = calls[i][1], calls[i][2]
        for p, value in frozen:
            now = fargs[p] if isinstance(p, int) else fkwargs.get(p)
            if not _same(value, now):
                raise ExportError(
                    f"neuronet.onnx.export: {fn.__name__} ({fn.__module__}.{fn.__qualname__}) in {place}: "
                    f"its argument {p} depends on the input but was computed outside the traced ops (a "
                    "comparison such as x > 0, .item(), .tolist() or NumPy on .numpy()), so the file would "
                    "hold the example input's value; compute it with neuronet ops (torch.where, clamp, ...)")
    if len(calls) != len(record):
        raise ExportError("neuronet.onnx.export: the forward pass takes a different path for another input; "
                          "data-dependent control flow cannot be traced")


def _prune(nodes, outputs):
    """Nodes that lead to ``outputs``, in their order, and every name they use."""
    producer = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            producer[o] = i
    keep = set()
    used = set(outputs)
    todo = list(outputs)
    while todo:
        name = todo.pop()
        i = producer.get(name)
        if i is None or i in keep:
            continue
        keep.add(i)
        for inp in nodes[i].input:
            if inp and inp not in used:
                used.add(inp)
                todo.append(inp)
    return [n for i, n in enumerate(nodes) if i in keep], used


def _version():
    try:
        from .. import __version__
        return str(__version__)
    except ImportError:
        return ""


def _write(f, data):
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
    elif hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"neuronet.onnx.export: f must be a path or a binary file object, "
                        f"received {type(f).__name__}")

