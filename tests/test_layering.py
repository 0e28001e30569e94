"""Lower layers never import higher ones: tensor/autograd/ops <- nn.functional
<- nn <- models <- train/report/lab/cli. Checked on the source, so a stray
import fails here rather than as a circular-import bug later."""
import ast
import os

import pytest

PKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "neuronet")

# level of each part of the package; a module may import only levels <= its own
LEVELS = {
    "backend": 0, "tensor": 0, "autograd": 0, "ops": 0, "serialization": 0, "_kernels": 0,
    "_dtype": 0, "_printing": 0, "cuda": 0, "backends": 0, "accelerator": 0, "linalg": 0, "formats": 0, "amp": 0, "_memory_format": 0,
    "nn.functional": 1, "nn": 2, "optim": 2, "data": 2, "utils": 2, "distributions": 2, "distributed": 2,
    "models": 3, "vision": 3, "onnx": 3,
    "train": 4, "report": 5, "lab": 6, "bench": 6, "cli": 7, "__main__": 7, "__init__": 8,
}


def _part(modname):
    parts = modname.split(".")
    if parts[0] == "neuronet":
        parts = parts[1:]
    if not parts:
        return "__init__"
    if parts[0] == "nn" and len(parts) > 1 and parts[1] == "functional":
        return "nn.functional"
    return parts[0]


def _modules():
    for root, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                rel = os.path.relpath(path, os.path.dirname(PKG))[:-3].replace(os.sep, ".")
                yield path, rel


def _imports(path, modname):
    tree = ast.parse(open(path).read())
    pkg = modname.split(".")
    if not path.endswith("__init__.py"):
        pkg = pkg[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("neuronet"):
                    yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                for a in node.names:
                    yield name + "." + a.name
            elif node.module and node.module.startswith("neuronet"):
                for a in node.names:     # `from neuronet import nn` imports neuronet.nn
                    yield node.module + "." + a.name


@pytest.mark.parametrize("path,modname", list(_modules()), ids=lambda v: v if "." in str(v) else None)
def test_no_upward_imports(path, modname):
    mine = _part(modname)
    if mine not in LEVELS:
        pytest.fail(f"{modname}: part {mine!r} has no layer; add it to LEVELS")
    for imported in _imports(path, modname):
        other = _part(imported)
        if other == "__init__":
            continue      # the package root re-exports only tensor-level names; subpackages load lazily
        if other == mine or other not in LEVELS:
            continue
        assert LEVELS[other] <= LEVELS[mine], \
            f"{modname} (layer {mine}) imports {imported} (layer {other}), a higher layer"
