"""Learning-rate schedulers: sequences against PyTorch, closed forms, momentum
cycling, ReduceLROnPlateau on scripted metrics, state_dict round trips."""
import json
import math
import warnings

import numpy as np
import pytest
from helpers import requires_torch, torch

import neuronet as nt
from neuronet import optim
from neuronet.optim import lr_scheduler as S

N_STEPS = 30


def _nt_opt(kind="SGD", groups=2, **kw):
    params = [nt.zeros(2, requires_grad=True) for _ in range(groups)]
    lrs = [0.1, 0.03, 0.5][:groups]
    return getattr(optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], **kw)


def _th_opt(kind="SGD", groups=2, **kw):
    params = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    lrs = [0.1, 0.03, 0.5][:groups]
    return getattr(torch.optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], **kw)


def _run(opt, make, steps=N_STEPS, metrics=None):
    """lrs (and momenta) after construction and after each step."""
    sched = make(opt)
    lrs = [list(sched.get_last_lr())]
    moms = [_momenta(opt)]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        lrs.append(list(sched.get_last_lr()))
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
        moms.append(_momenta(opt))
    return np.array(lrs), np.array(moms)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def _sequential(mod):
    return lambda o: mod.SequentialLR(o, [mod.LinearLR(o, start_factor=0.1, total_iters=5),
                                          mod.CosineAnnealingLR(o, T_max=12, eta_min=1e-3),
                                          mod.StepLR(o, step_size=4, gamma=0.5)],
                                      milestones=[5, 17])


SCHEDULERS = {
    "StepLR": lambda m: lambda o: m.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m: lambda o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "ExponentialLR": lambda m: lambda o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m: lambda o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-period": lambda m: lambda o: m.CosineAnnealingLR(o, T_max=7),
    "CosineAnnealingWarmRestarts": lambda m: lambda o: m.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda m: lambda o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01),
    "LinearLR": lambda m: lambda o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8),
    "ConstantLR": lambda m: lambda o: m.ConstantLR(o, factor=0.5, total_iters=6),
    "PolynomialLR": lambda m: lambda o: m.PolynomialLR(o, total_iters=15, power=2.0),
    "LambdaLR": lambda m: lambda o: m.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda m: lambda o: m.MultiplicativeLR(o, lambda e: 0.97),
    "SequentialLR": _sequential,
    "ChainedScheduler": lambda m: lambda o: m.ChainedScheduler(
        [m.ExponentialLR(o, gamma=0.95), m.StepLR(o, step_size=5, gamma=0.5)]),
    "StepLR-float": lambda m: lambda o: m.StepLR(o, 1.0, gamma=0.9),   # as the text tutorial
    "StepLR-fractional": lambda m: lambda o: m.StepLR(o, step_size=2.5, gamma=0.5),
    "MultiStepLR-unsorted": lambda m: lambda o: m.MultiStepLR(o, milestones=(12, 4, 25), gamma=0.5),
    "CyclicLR-triangular": lambda m: lambda o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                          step_size_up=4),
    "CyclicLR-triangular2": lambda m: lambda o: m.CyclicLR(
        o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=3, step_size_down=5,
        mode="triangular2", base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-exp_range": lambda m: lambda o: m.CyclicLR(o, base_lr=0.001, max_lr=0.1,
                                                         step_size_up=5, mode="exp_range",
                                                         gamma=0.95, cycle_momentum=False),
    "CyclicLR-scale_fn": lambda m: lambda o: m.CyclicLR(
        o, base_lr=0.001, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 1 / (1 + 0.1 * x),
        scale_mode="iterations"),
    "ChainedScheduler-optimizer": lambda m: lambda o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9)],
        optimizer=o),
    "OneCycleLR-SGD": lambda m: lambda o: m.OneCycleLR(o, max_lr=[1.0, 0.3], total_steps=N_STEPS),
    "OneCycleLR-linear-3phase": lambda m: lambda o: m.OneCycleLR(
        o, max_lr=0.5, epochs=3, steps_per_epoch=10, anneal_strategy="linear", three_phase=True,
        pct_start=0.25, base_momentum=0.8, max_momentum=0.9, div_factor=10.0,
        final_div_factor=100.0),
}


@requires_torch
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    kind = "SGD"
    kw = dict(momentum=0.9) if name.startswith(("OneCycle", "CyclicLR")) else {}
    ours, our_m = _run(_nt_opt(kind, **kw), SCHEDULERS[name](S))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, their_m = _run(_th_opt(kind, **kw), SCHEDULERS[name](torch.optim.lr_scheduler))
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(our_m, their_m, rtol=1e-13, atol=1e-16)
    assert len(set(ours[:, 0])) > 1   # the schedule actually moves


@requires_torch
@pytest.mark.parametrize("kind", ["Adam", "NAdam"])
def test_onecycle_cycles_adam_beta1_like_torch(kind):
    ours, our_m = _run(_nt_opt(kind, groups=1), lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=N_STEPS))
    theirs, their_m = _run(_th_opt(kind, groups=1),
                           lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1,
                                                                         total_steps=N_STEPS))
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    np.testing.assert_allclose(our_m, their_m, rtol=1e-13)
    assert our_m.min() == pytest.approx(0.85) and our_m.max() == pytest.approx(0.95)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.1, threshold_mode="abs"),
    dict(factor=0.5, patience=1, cooldown=2, min_lr=[0.02, 0.001]),
    dict(mode="max", patience=0, threshold=0.05, eps=0.02, min_lr=0.005),
]


@pytest.mark.parametrize("kw", PLATEAU)
@requires_torch
def test_reduce_on_plateau_matches_torch(kw):
    r = np.random.default_rng(3)
    metrics = list(np.concatenate([np.linspace(1.0, 0.5, 6), 0.5 + 0.01 * r.standard_normal(10),
                                   np.linspace(0.5, 0.45, 6), np.full(10, 0.45)]))
    metrics = [float(m) for m in metrics]
    ours, _ = _run(_nt_opt(), lambda o: S.ReduceLROnPlateau(o, **kw), len(metrics), metrics)
    theirs, _ = _run(_th_opt(), lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kw),
                     len(metrics), metrics)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)


def test_reduce_on_plateau_by_hand():
    opt = _nt_opt(groups=1)
    sched = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    lrs = []
    for m in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    # best 0.9 at step 2; bad steps 3, 4, 5 -> reduce at 5; cooldown step 6; bad 7, 8, 9 -> reduce
    # at 9 to 0.025; bad 11, 12, 13 would reduce to 0.0125 but min_lr = 0.02 clamps
    assert lrs == [0.1] * 4 + [0.05] * 4 + [0.025] * 4
    assert sched.best == 0.9


def test_closed_forms_without_torch():
    """The recursive (chainable) forms agree with the textbook closed forms."""
    checks = {
        "StepLR": (lambda o: S.StepLR(o, 4, 0.5), lambda b, t: b * 0.5 ** (t // 4)),
        "ExponentialLR": (lambda o: S.ExponentialLR(o, 0.9), lambda b, t: b * 0.9 ** t),
        "CosineAnnealingLR": (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
                              lambda b, t: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2),
        "LinearLR": (lambda o: S.LinearLR(o, 0.25, 0.9, 8),
                     lambda b, t: b * (0.25 + 0.65 * min(t, 8) / 8)),
        "PolynomialLR": (lambda o: S.PolynomialLR(o, 15, 2.0),
                         lambda b, t: b * (1 - min(t, 15) / 15) ** 2),
        "WarmRestarts": (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
                         lambda b, t: b * (1 + math.cos(math.pi * _sgdr_cur(t, 3, 2))) / 2),
    }
    for name, (make, formula) in checks.items():
        lrs, _ = _run(_nt_opt(groups=1), make)
        expected = [formula(0.1, t) for t in range(N_STEPS + 1)]
        np.testing.assert_allclose(lrs[:, 0], expected, rtol=1e-10, atol=1e-15, err_msg=name)


def _sgdr_cur(t, T0, mult):
    """T_cur / T_i of SGDR at step t."""
    Ti = T0
    while t >= Ti:
        t -= Ti
        Ti *= mult
    return t / Ti


def test_onecycle_by_hand():
    opt = _nt_opt(groups=1, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=11, pct_start=0.5, div_factor=10.0,
                         final_div_factor=10.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)         # max_lr / div_factor
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)  # max_momentum
    for _ in range(4):
        opt.step()
        sched.step()
    # peak at step pct_start * total - 1 = 4.5: phase 1 spans [0, 4.5]
    assert opt.param_groups[0]["lr"] == pytest.approx(1.0 + (0.1 - 1.0) / 2 * (1 + math.cos(math.pi * 4 / 4.5)))
    for _ in range(6):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)        # initial_lr / final_div_factor
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    opt.step()
    sched.step()                     # step 11 == total_steps is still allowed (as PyTorch)
    with pytest.raises(ValueError, match="Tried to step 12 times"):
        sched.step()


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR",
                                  "CosineAnnealingWarmRestarts-mult", "LinearLR", "SequentialLR",
                                  "ChainedScheduler", "OneCycleLR-SGD", "PolynomialLR",
                                  "ConstantLR", "LambdaLR"])
def test_state_dict_json_round_trip_resumes(name):
    """Save at step 9 through JSON, load into fresh objects, continue: same lrs."""
    make = SCHEDULERS[name](S)
    kw = dict(momentum=0.9) if name.startswith("OneCycle") else {}
    full, full_m = _run(_nt_opt(**kw), make)

    opt = _nt_opt(**kw)
    sched = make(opt)
    for _ in range(9):
        opt.step()
        sched.step()
    osd = json.loads(json.dumps(opt.state_dict()))
    ssd = json.loads(json.dumps(sched.state_dict()))

    opt2 = _nt_opt(**kw)
    sched2 = make(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    lrs = [sched2.get_last_lr()]
    for _ in range(N_STEPS - 9):
        opt2.step()
        sched2.step()
        lrs.append(list(sched2.get_last_lr()))
    np.testing.assert_array_equal(np.array(lrs), full[9:])
    assert _momenta(opt2) == list(full_m[-1])


def test_reduce_on_plateau_state_round_trip():
    opt = _nt_opt()
    sched = S.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for m in [1.0, 0.5, 0.6]:
        sched.step(m)
    sd = json.loads(json.dumps(sched.state_dict()))
    sched2 = S.ReduceLROnPlateau(_nt_opt())
    sched2.load_state_dict(sd)
    assert sched2.best == 0.5 and sched2.num_bad_epochs == 1 and sched2.patience == 1


def test_lambda_lr_does_not_save_functions():
    sched = S.LambdaLR(_nt_opt(), lambda e: 0.5 ** e)
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, None]
    json.dumps(sd)


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _nt_opt()
    sched = S.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_scheduler_validation():
    opt = _nt_opt()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR("sgd", 3)
    with pytest.raises(ValueError, match="pct_start"):
        S.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="total_steps OR"):
        S.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        S.OneCycleLR(opt, max_lr=[0.1, 0.2, 0.3], total_steps=10)
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.OneCycleLR(optim.Adagrad([nt.zeros(1, requires_grad=True)]), max_lr=0.1, total_steps=5)
    with pytest.raises(ValueError, match="mode 'best' is unknown"):
        S.ReduceLROnPlateau(opt, mode="best")
    with pytest.raises(ValueError, match="threshold mode"):
        S.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ValueError, match="T_0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.SequentialLR(opt, [S.ReduceLROnPlateau(opt)], milestones=[])
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(_nt_opt(), 3, last_epoch=4)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        S.LambdaLR(opt, [lambda e: 1.0])


# ---------------------------------------------------------------- what PyTorch accepts
@requires_torch
@pytest.mark.parametrize("name,make", [
    ("StepLR", lambda m, o: m.StepLR(o, 3, gamma=0.5, last_epoch=6)),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, [2, 9, 14], last_epoch=6)),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, 0.9, last_epoch=6)),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=20, last_epoch=6)),
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + e), last_epoch=6)),
])
def test_resume_with_last_epoch_matches_torch(name, make):
    """last_epoch >= 0 (resuming by hand): the optimizer's groups carry initial_lr."""
    def build(mod, opt):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
            g["lr"] = g["lr"] * 0.5      # the lr the run had reached
        return make(mod, opt)
    ours, _ = _run(_nt_opt(), lambda o: build(S, o))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, _ = _run(_th_opt(), lambda o: build(torch.optim.lr_scheduler, o))
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)


@requires_torch
@pytest.mark.parametrize("name,make", [
    ("StepLR", lambda m, o: m.StepLR(o, 3, gamma=0.5)),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, [9, 2, 14], gamma=0.5)),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, 0.9)),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=8, eta_min=0.01)),
    ("LinearLR", lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=6)),
    ("ConstantLR", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4)),
    ("PolynomialLR", lambda m, o: m.PolynomialLR(o, total_iters=10, power=1.5)),
    ("CosineAnnealingWarmRestarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, 4, T_mult=2)),
])
def test_step_with_epoch_matches_torch(name, make):
    """The deprecated step(epoch) jumps (closed forms; fractional epochs for SGDR)."""
    epochs = [1, 2, 5, 3, 11, 12, 7, 20]
    if name == "CosineAnnealingWarmRestarts":
        epochs = [0.5, 1.25, 3.9, 7.0, 12.5, 2.0, 30.0]

    def go(mod, opt):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = make(mod, opt)
            out = []
            for e in epochs:
                opt.step()
                sched.step(e)
                out.append(list(sched.get_last_lr()))
        return np.array(out)
    np.testing.assert_allclose(go(S, _nt_opt()), go(torch.optim.lr_scheduler, _th_opt()),
                               rtol=1e-13)


def test_verbose_is_accepted_with_a_warning():
    """Code written for PyTorch 2.2-2.6 passes verbose=...; accepted and ignored."""
    opt = _nt_opt()
    with pytest.warns(UserWarning, match="verbose parameter is deprecated"):
        S.StepLR(opt, 2, verbose=True)
    with pytest.warns(UserWarning, match="verbose parameter is deprecated"):
        S.ReduceLROnPlateau(opt, "min", 0.1, 10, 1e-4, "rel", 0, 0, 1e-8, False)
    with pytest.warns(UserWarning, match="verbose parameter is deprecated"):
        S.CosineAnnealingLR(opt, T_max=5, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        S.ExponentialLR(_nt_opt(), 0.9)        # not passing it: no warning


class _Warmup:
    """A callable object: its __dict__ is saved by LambdaLR (as PyTorch)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, e):
        return min(1.0, (e + 1) / self.n)


@requires_torch
def test_lambda_state_dict_keys_as_torch():
    for make in (lambda m, o: m.LambdaLR(o, [lambda e: 0.9 ** e, _Warmup(5)]),
                 lambda m, o: m.MultiplicativeLR(o, _Warmup(3))):
        ours = make(S, _nt_opt()).state_dict()
        theirs = make(torch.optim.lr_scheduler, _th_opt()).state_dict()
        assert set(ours) >= set(theirs) - {"_get_lr_called_within_step"}
        assert ours["lr_lambdas"] == theirs["lr_lambdas"]
    sched = S.LambdaLR(_nt_opt(), [lambda e: 0.9 ** e, _Warmup(5)])
    sd = json.loads(json.dumps(sched.state_dict()))
    assert sd["lr_lambdas"] == [None, {"n": 5}]
    sd["lr_lambdas"][1]["n"] = 8
    sched.load_state_dict(sd)
    assert sched.lr_lambdas[1].n == 8


@requires_torch
def test_cyclic_state_dict_round_trip():
    make = SCHEDULERS["CyclicLR-triangular2"](S)
    full, full_m = _run(_nt_opt(momentum=0.9), make)
    opt = _nt_opt(momentum=0.9)
    sched = make(opt)
    for _ in range(7):
        opt.step()
        sched.step()
    osd, ssd = json.loads(json.dumps(opt.state_dict())), json.loads(json.dumps(sched.state_dict()))
    opt2 = _nt_opt(momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    lrs = [sched2.get_last_lr()]
    for _ in range(N_STEPS - 7):
        opt2.step()
        sched2.step()
        lrs.append(list(sched2.get_last_lr()))
    np.testing.assert_array_equal(np.array(lrs), full[7:])
    th = torch.optim.lr_scheduler.CyclicLR(_th_opt(momentum=0.9), 0.01, 0.1,
                                           scale_fn=lambda x: 1.0)
    assert th.state_dict()["_scale_fn_custom"] is None
    assert S.CyclicLR(_nt_opt(momentum=0.9), 0.01, 0.1,
                      scale_fn=lambda x: 1.0).state_dict()["_scale_fn_custom"] is None


@requires_torch
def test_custom_scheduler_subclassing_the_old_base_name():
    """Tutorials subclass _LRScheduler and write get_lr from base_lrs and last_epoch."""
    def make(mod):
        class Warmup(mod._LRScheduler):
            def __init__(self, optimizer, warmup, last_epoch=-1):
                self.warmup = warmup
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                return [b * min(1.0, (self.last_epoch + 1) / self.warmup) for b in self.base_lrs]
        return lambda o: Warmup(o, 6)
    ours, _ = _run(_nt_opt(), make(S))
    theirs, _ = _run(_th_opt(), make(torch.optim.lr_scheduler))
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_accepted_argument_errors():
    opt = _nt_opt()
    for bad in (0, -1, "2", None):
        with pytest.raises(ValueError, match="step_size must be a positive number"):
            S.StepLR(opt, bad)
    with pytest.raises(ValueError, match="mode 'tri' is invalid"):
        S.CyclicLR(_nt_opt(momentum=0.9), 0.01, 0.1, mode="tri")
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.CyclicLR(optim.Adagrad([nt.zeros(1, requires_grad=True)]), 0.01, 0.1)
    with pytest.raises(ValueError, match="base_lr must have the same length"):
        S.CyclicLR(_nt_opt(momentum=0.9), [0.01], 0.1)
