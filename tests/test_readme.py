"""The README's code blocks run as written (those that need no training run
or network: the PyTorch drop-in example, tensors, layers, data)."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks():
    text = README.read_text()
    out = []
    for m in re.finditer(r"```python\n(.*?)```", text, re.S):
        heading = re.findall(r"^## (.+)$", text[:m.start()], re.M)[-1]
        out.append((heading, m.group(1)))
    return out


RUNNABLE = {"Coming from PyTorch", "Tensors and autograd", "Layers: `nn.functional` and `nn`", "Data",
            "Model files"}


@pytest.mark.parametrize("heading,code", [b for b in _blocks() if b[0] in RUNNABLE],
                         ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_readme_block_runs(heading, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = code.replace("/tmp/model.pt", str(tmp_path / "model.pt"))
    exec(compile(code, f"README ({heading})", "exec"), {"__name__": "readme"})
