"""pytest plugin (``make test`` loads it with ``-p oracle_count``): ends the
run with one line saying how many tests compared neuronet against PyTorch.

A test counts when it passed and, while it ran (setup included), either read
a PyTorch result in this process -- ``Tensor.numpy/item/tolist/__array__``,
``torch.testing.assert_close``, or built torch tensors from data
(``torch.tensor/as_tensor/from_numpy``), or a torch file (``torch.load/save``)
-- or used the PyTorch run of a compatibility script (tests/compat). The
tests that skipped because PyTorch or torchvision is missing are counted too,
so a machine without the oracle says so at the end.
"""
import functools
import sys

_state = {"used": False, "wrapped_torch": False, "wrapped_compat": False,
          "compared": 0, "skipped_for_torch": 0}


def _flagging(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _state["used"] = True
        return fn(*args, **kwargs)
    wrapper.__oracle_count_wrapped__ = True
    return wrapper


def _wrap(owner, name):
    fn = getattr(owner, name, None)
    if fn is not None and not getattr(fn, "__oracle_count_wrapped__", False):
        setattr(owner, name, _flagging(fn))


def _install():
    torch = sys.modules.get("torch")
    if torch is not None and not _state["wrapped_torch"] and hasattr(torch, "Tensor"):
        _state["wrapped_torch"] = True
        for name in ("numpy", "item", "tolist", "__array__"):
            _wrap(torch.Tensor, name)
        for name in ("tensor", "as_tensor", "from_numpy", "load", "save"):
            _wrap(torch, name)
        testing = getattr(torch, "testing", None)
        if testing is not None:
            _wrap(testing, "assert_close")
    runner = sys.modules.get("_runner")               # tests/compat/_runner.py
    if runner is not None and not _state["wrapped_compat"] and hasattr(runner, "run_script"):
        _state["wrapped_compat"] = True
        original = runner.run_script

        @functools.wraps(original)
        def run_script(name, framework):
            if framework == "torch":
                _state["used"] = True
            return original(name, framework)
        runner.run_script = run_script


def pytest_runtest_setup(item):
    _install()
    _state["used"] = False


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed and _state["used"]:
        _state["compared"] += 1
    if report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if "torch" in reason.lower():
            _state["skipped_for_torch"] += 1


def _torch_version():
    torch = sys.modules.get("torch")
    if torch is not None:
        return getattr(torch, "__version__", "?")
    try:                                   # installed, but no selected test imported it
        from importlib.metadata import PackageNotFoundError, version
        return version("torch")
    except (ImportError, PackageNotFoundError):
        return None


def summary_line():
    version = _torch_version()
    line = f"PyTorch comparisons: {_state['compared']} tests ran against PyTorch"
    line += f" {version}" if version else " (not installed: pip install torch==2.13.0)"
    if _state["skipped_for_torch"]:
        line += f"; {_state['skipped_for_torch']} skipped for want of PyTorch/torchvision"
    return line


def pytest_unconfigure(config):
    # after pytest's own "N passed" line: the last line of `make test`
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(summary_line())
