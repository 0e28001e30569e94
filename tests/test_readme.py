"""Every code block of README.md runs as written (issue 15).

- ``python`` blocks are executed, each in a fresh namespace, in a temporary
  directory.
- ``sh`` blocks: each ``make TARGET`` must be a target of the Makefile
  (``make -n``); ``make demo`` also runs its command with the shortest
  settings; ``pip install`` lines name extras pyproject.toml defines.
- ``text`` blocks are checked against what they show: the error messages are
  the ones neuronet raises, the CLI synopsis lists every option of every
  command's parser (and nothing else), the layout tree names files that exist.

A block without a language tag fails: the reader cannot tell what it is.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _blocks():
    text = README.read_text()
    out = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.S | re.M):
        heading = re.findall(r"^## (.+)$", text[:m.start()], re.M)
        line = text[:m.start()].count("\n") + 1
        out.append((m.group(1), heading[-1] if heading else "top", line, m.group(2)))
    return out


BLOCKS = _blocks()


def _ids(kind):
    return [f"{h[:24]}@{line}" for k, h, line, _ in BLOCKS if k == kind]


def test_every_block_is_tagged_and_known():
    kinds = {k for k, *_ in BLOCKS}
    assert "" not in kinds, [line for k, _, line, _ in BLOCKS if not k]
    assert kinds <= {"python", "sh", "text"}, kinds
    assert sum(k == "python" for k, *_ in BLOCKS) >= 6


@pytest.mark.parametrize("heading,code", [(h, c) for k, h, _, c in BLOCKS if k == "python"], ids=_ids("python"))
def test_python_block_runs(heading, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = code.replace("/tmp/model.pt", str(tmp_path / "model.pt"))
    exec(compile(code, f"README ({heading})", "exec"), {"__name__": "readme"})


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "neuronet", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def _commands(code):
    for line in code.splitlines():
        line = line.split("#")[0].strip()
        if line:
            yield shlex.split(line)


@pytest.mark.parametrize("code", [c for k, _, _, c in BLOCKS if k == "sh"], ids=_ids("sh"))
def test_shell_block(code, tmp_path):
    import tomllib
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for cmd in _commands(code):
        if cmd[0] == "make":
            dry = subprocess.run(["make", "-n", *cmd[1:]], cwd=ROOT, capture_output=True, text=True)
            assert dry.returncode == 0, f"make {cmd[1:]}: {dry.stderr}"
            if cmd[1:] == ["demo"]:
                recipe = [ln for ln in dry.stdout.splitlines() if "-m neuronet train" in ln]
                assert recipe, dry.stdout
                args = shlex.split(recipe[-1].split("-m neuronet", 1)[1])
                args = [a if a != "runs/demo" else str(tmp_path / "demo") for a in args]
                # the shortest settings: one epoch on 64 digits, no figures
                r = _cli(*args, "--epochs", "1", "--subset", "64", "--no-report", "--quiet")
                assert r.returncode == 0, r.stderr
                assert (tmp_path / "demo" / "summary.json").exists()
        elif cmd[:2] == ["pip", "install"]:
            for target in cmd[2:]:
                if target.startswith("-"):
                    continue
                m = re.fullmatch(r"\.(?:\[([\w,]+)\])?", target)
                assert m, f"pip install {target}: install from the repository ('.')"
                assert set((m.group(1) or "").split(",")) - {""} <= extras, target
        else:
            pytest.fail(f"no rule to check the shell command {cmd}")


def _text_block(start):
    return next(c for k, _, _, c in BLOCKS if k == "text" and c.startswith(start))


def test_error_messages_shown_are_the_ones_raised():
    import neuronet as nt
    from neuronet import nn
    from neuronet.models import lenet5
    shown = _text_block("Conv2d(").strip().splitlines()
    with pytest.raises(Exception) as e1:
        nn.Conv2d(3, 16, 5)(nt.randn(8, 1, 28, 28))
    with pytest.raises(Exception) as e2:
        lenet5().load_state_dict(lenet5(in_channels=3).state_dict())
    assert shown[0] in str(e1.value)
    assert shown[1] in str(e2.value)


def test_cli_synopsis_lists_every_option():
    from neuronet.cli import _parser
    synopsis = _text_block("neuronet train")
    commands = {}
    for line in synopsis.splitlines():
        m = re.match(r"neuronet (\w+)", line)
        if m:
            current = m.group(1)
        commands.setdefault(current, set()).update(re.findall(r"\[(--[\w-]+)", line))
        commands[current].update(re.findall(r"\|(--[\w-]+)", line))
    sub = _parser()._subparsers._group_actions[0].choices
    assert set(sub) - {"datasets", "models"} <= set(commands)
    for name in ("train", "eval", "predict", "export", "info", "show"):
        options = {s for a in sub[name]._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
        assert options == commands[name], (name, options ^ commands[name])
    for name, module in (("lab", "neuronet.lab"), ("bench", "neuronet.bench.__main__")):
        r = _cli(name, "--help")
        assert r.returncode == 0, r.stderr
        for opt in commands[name]:
            assert opt in r.stdout, (name, opt)


def test_layout_tree_names_files_that_exist():
    tree = _text_block("neuronet/")
    checked = 0
    for line in tree.splitlines()[1:]:
        entry = line.strip().split("  ")[0]
        for path in entry.split(","):
            path = path.strip()
            if path:
                assert (ROOT / "neuronet" / path).exists(), path
                checked += 1
    assert checked >= 10
