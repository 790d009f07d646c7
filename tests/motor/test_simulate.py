"""Protocol, batching, resume and PD switches of the simulator (motor.md, 'Per-step ordering', 'Tasks and protocol',
'Parkinson's disease and automaticity protocol', 'Cost, speed and configurations')."""

from dataclasses import replace

import numpy as np
import pytest

from learndyn.motor.reference import run_reference
from learndyn.motor.reservoir import TorchOps
from learndyn.motor.rules import Options
from learndyn.motor.simulate import MotorConfig, MotorSim, run
from learndyn.motor.tasks import make_task, rest_posture_deviation

BACKENDS = ["numpy", "torch"]


def small(**kw):
    return MotorConfig(**{"N": 60, "T": 20.0, **kw})  # S = 100, 1500 steps


def sim_for(cfgs, theta=None, **kw):
    """Simulator, optionally with the gate threshold raised so the gated RLS runs at tiny scale."""
    sim = MotorSim(cfgs, **kw)
    if theta is not None:
        sim.rp = replace(sim.rp, theta=theta)
    return sim


def same(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


def assert_identical(res_a, res_b):
    for k in ("deviation", "completed", "blowup_step", "gate_open_step", "D_end_train"):
        assert same(res_a[k], res_b[k]), k
    for k in res_a["traces"]:
        assert same(res_a["traces"][k], res_b["traces"][k]), k


CASES = [
    ("task1", "force"),
    ("task1", "rmhl"),
    ("task1", "supertrex"),
    ("task2", "rmhl"),
    ("task2", "supertrex"),
    ("task2_3seg", "supertrex"),
    ("task3", "rmhl"),
    ("task3", "supertrex"),
]


@pytest.mark.parametrize(
    "task,model,theta", [c + (None,) for c in CASES] + [c + (10.0,) for c in CASES if c[1] == "supertrex"]
)
def test_engine_matches_plain_reference(task, model, theta):
    """Same seeds and noise as the plain dense implementation: equal to rounding (theta = 10
    opens the gate from the start so the gated RLS runs at this tiny scale)."""
    cfg = small(task=task, model=model, seed=3, record_every=1)
    sim = sim_for(cfg, theta).run_periods()
    res = sim.results()[0]
    ref = run_reference(cfg, rp=sim.rp)
    tr = res["traces"]
    np.testing.assert_allclose(tr["D"], ref["D"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tr["e"], ref["e"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tr["z"], ref["z"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tr["w2_norm"], ref["norms"][:, 1], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(tr["w1_norm"], ref["norms"][:, 0], rtol=1e-9, atol=1e-14)
    assert res["deviation"] == pytest.approx(ref["deviation"], rel=1e-10)
    W = sim.s["W"][0]
    if sim.rp.uses_w1:
        np.testing.assert_allclose(W[: sim.d], ref["W1"], rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(sim.state_dict()["P"][0], ref["P"], rtol=1e-9, atol=1e-13)
    if theta is not None:
        assert res["gate_open_step"] == 10 and np.abs(W[: sim.d]).max() > 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("task", ["task1", "task2"])
def test_batched_identical_per_seed(backend, task):
    """Each member of a shared-J batch equals its own single run with that J, bit for bit."""
    cfgs = [
        small(task=task, seed=11),
        small(task=task, seed=12, lesion_after=3),
        small(task=task, seed=13, da_gain=0.5, bg_on_test=True),
    ]
    theta = {"task1": 0.5, "task2": 10.0}[task]
    batch = sim_for(cfgs, theta, j_seed=5, backend=backend).run_periods()
    assert batch.gate_open_step.max() > 0  # the gated RLS ran
    for b, c in enumerate(cfgs):
        single = sim_for(c, theta, j_seed=5, backend=backend).run_periods()
        assert_identical(batch.results()[b], single.results()[0])
        for k, v in batch.state_dict().items():
            if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == 3 and k != "seeds":
                assert same(v[b], single.state_dict()[k][0]), k


def test_compiled_engine_batch_of_five_identical_per_seed():
    """Five members: the compiled J r runs four of them side by side in one pass over J and the
    fifth alone; every member still equals its own single run, bit for bit."""
    cfgs = [small(task="task1", seed=s) for s in range(40, 45)]
    batch = sim_for(cfgs, 0.5, j_seed=6).run_periods()
    assert batch.gate_open_step.min() > 0  # the gated RLS ran for all
    for b, c in enumerate(cfgs):
        assert_identical(batch.results()[b], sim_for(c, 0.5, j_seed=6).run_periods().results()[0])


def test_numpy_and_torch_agree_to_rounding():
    cfg = small(task="task2", seed=4)
    a = sim_for(cfg, 0.5).run_periods().results()[0]
    b = sim_for(cfg, 0.5, backend="torch").run_periods().results()[0]
    np.testing.assert_allclose(a["traces"]["D"], b["traces"]["D"], rtol=1e-7)
    assert a["deviation"] == pytest.approx(b["deviation"], rel=1e-7)


@pytest.mark.parametrize(
    "cfg",
    [
        small(task="task3", seed=4, options=Options(variant="modified")),  # cost on total z, tracked at test
        small(task="task3", model="rmhl", seed=4),  # RMHL's frozen cost reference
        small(task="task1", model="force", seed=4, options=Options(test_feedback="closed_loop")),
        small(task="task2", seed=4, lesion_after=3),
        small(task="task2", seed=4, da_gain=(0.5,) * 4 + (1.0,) * 6, bg_on_test=True),
    ],
    ids=["task3-modified", "task3-rmhl", "task1-force-closed-loop", "lesion", "ldopa-bgon"],
)
def test_compiled_engine_agrees_with_torch_loop_on_every_branch(cfg):
    """The compiled engine re-implements the step loop; the torch loop is its independent check on
    the branches the plain reference does not cover (costs, test references, PD switches)."""
    a = sim_for(cfg, 10.0).run_periods().results()[0]
    b = sim_for(cfg, 10.0, backend="torch").run_periods().results()[0]
    for k in ("D", "e", "z", "w1_norm", "w2_norm"):
        np.testing.assert_allclose(a["traces"][k], b["traces"][k], rtol=1e-7, atol=1e-12, err_msg=k)
    assert a["deviation"] == pytest.approx(b["deviation"], rel=1e-7)
    np.testing.assert_allclose(a["joint_path"], b["joint_path"], rtol=1e-7, atol=1e-12)
    assert (a["gate_open_step"], a["rls_updates"]) == (b["gate_open_step"], b["rls_updates"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_resume_from_saved_state_is_bit_identical(backend, tmp_path):
    cfgs = [small(task="task2", seed=21), small(task="task2", seed=22)]
    full = sim_for(cfgs, 0.5, j_seed=2, backend=backend).run_periods()
    sim = sim_for(cfgs, 0.5, j_seed=2, backend=backend)
    for stop in (3, 11):  # once in training, once in test
        sim.run_periods(stop - sim.periods_done)
        sd = sim.state_dict()
        assert all(isinstance(v, (int, np.ndarray)) for v in sd.values())
        np.savez(tmp_path / "s.npz", **sd)
        with np.load(tmp_path / "s.npz", allow_pickle=False) as f:
            loaded = {k: (int(f[k]) if f[k].ndim == 0 and f[k].dtype.kind == "i" else f[k]) for k in f.files}
        sim = sim_for(cfgs, 0.5, j_seed=2, backend=backend)
        sim.load_state_dict(loaded)
    sim.run_periods()
    for a, b in zip(full.results(), sim.results()):
        assert_identical(a, b)
    for k, v in full.state_dict().items():
        assert same(v, sim.state_dict()[k]), k
    with pytest.raises(ValueError):
        MotorSim(small(task="task2", seed=99)).load_state_dict(loaded)


class CountingOps(TorchOps):
    calls = 0

    def rank1_(self, P, k, alpha):
        CountingOps.calls += 1
        super().rank1_(P, k, alpha)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("theta,expected", [(None, 0), (10.0, 100)])
def test_no_rls_work_while_gate_shut(theta, expected, backend):
    sim = sim_for(small(task="task1", seed=3), theta, backend=backend)
    CountingOps.calls = 0
    if backend == "torch":
        sim.ops = CountingOps()
    sim.run_periods()
    assert sim.rls_updates[0] == expected  # 10 periods x 100 steps / 10
    if backend == "torch":
        assert CountingOps.calls == expected
    P = sim.state_dict()["P"][0]
    assert np.array_equal(P, np.eye(P.shape[0]) * 0.1) == (expected == 0)


def test_teacher_forcing_buffer_holds_last_five_training_periods():
    cfg = small(task="task2", seed=5, record_every=1)
    sim = MotorSim(cfg).run_periods(10)
    S = cfg.S
    np.testing.assert_array_equal(sim.s["buf"][0], sim.traces["z"][0, 5 * S : 10 * S])
    # test input at t is z(t - 5S): covered end to end by test_engine_matches_plain_reference


def test_blowup_ends_run_and_batch_matches_single():
    cfgs = [small(task="task2", seed=31, blowup_norm=1e-6), small(task="task2", seed=32, blowup_norm=1e-6, da_gain=0.0)]
    batch = MotorSim(cfgs, j_seed=1).run_periods()
    r0, r1 = batch.results()
    assert not r0["completed"] and np.isnan(r0["deviation"]) and r0["blowup_step"] > 0
    assert r1["completed"] and np.isfinite(r1["deviation"])  # DA(0): W stays 0, never blows up
    single = MotorSim(cfgs[0], j_seed=1).run_periods()
    assert single.t < cfgs[0].n_steps  # ended early
    assert_identical(r0, single.results()[0])
    assert_identical(r1, MotorSim(cfgs[1], j_seed=1).run_periods().results()[0])


def test_da0_gives_rest_posture_deviation():
    cfg = MotorConfig(task="task2", seed=6, N=60, T=100.0, da_gain=0.0)
    sim = MotorSim(cfg).run_periods()
    res = sim.results()[0]
    assert not np.any(sim.s["W"]) and res["gate_open_step"] == -1
    expect = rest_posture_deviation(make_task("task2"), cfg.S)
    assert expect > 0.5
    assert res["deviation"] == pytest.approx(expect, rel=0.01)


def test_lesion_during_training_and_bg_on_test():
    cfg = small(task="task2", seed=7, lesion_after=2)
    sim = sim_for(cfg, 0.5).run_periods(2)
    assert np.any(sim.s["W"][0, 2:])
    sim.run_periods(1)
    assert not np.any(sim.s["W"][0, 2:])  # W2 := 0 and stays 0
    sim.run_periods()
    bgon = sim_for(small(task="task2", seed=7, bg_on_test=True), 0.5).run_periods()
    assert np.any(bgon.s["W"][0, 2:])  # W2 kept at test
    std = sim_for(small(task="task2", seed=7), 0.5).run_periods()
    assert not np.any(std.s["W"][0, 2:])  # standard test lesions W2
    assert bgon.results()[0]["deviation"] != std.results()[0]["deviation"]


@pytest.mark.parametrize(
    "opts", [Options(variant="modified"), Options(test_feedback="closed_loop"), Options(arm_cost="beta")]
)
def test_options_run(opts):
    for task in ("task1", "task3"):
        res = run(small(task=task, seed=8, options=opts))
        assert res["completed"] and np.isfinite(res["deviation"])


def test_config_validation():
    with pytest.raises(ValueError):
        MotorSim([small(seed=1), small(seed=2, N=50)], j_seed=1)
    with pytest.raises(ValueError):
        MotorSim([small(seed=1), small(seed=2)])  # shared J needs j_seed
    with pytest.raises(ValueError):
        MotorSim(small(task="task2", n_train=4))  # teacher-forcing offset 5S
    MotorSim(small(task="task1", n_train=2, n_test=1)).run_periods()  # T1 forces f_t: no offset


def test_task3_cost_highpass_variants():
    mod = Options(variant="modified")
    rm = MotorSim(small(task="task3", model="rmhl", seed=9, options=mod)).run_periods(10)
    np.testing.assert_array_equal(rm.s["zbar_tot"], rm.s["zbar"])  # RMHL: z = z2
    st = sim_for(small(task="task3", seed=9, options=mod), 10.0).run_periods(10)  # W1 != 0
    assert not np.array_equal(st.s["zbar_tot"], st.s["zbar"])  # ST: total z vs z2 only
    zb = st.s["zbar_tot"].copy()
    st.run_periods(1)
    assert not np.array_equal(st.s["zbar_tot"], zb)  # 'track': follows the test output
    sc = MotorSim(small(task="task3", seed=9)).run_periods(11)
    assert np.abs(sc.s["zbar"]).max() < 1e-6  # scripts: filters z2 = 0 at test
