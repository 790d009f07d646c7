"""Train/test protocol of Pyle & Rosenbaum (2019) for B members sharing J (motor.md, 'Per-step ordering', 'Tasks and
protocol', 'Metrics and figures', 'Parkinson's disease and automaticity protocol').

``run(cfg)`` is one standard run; ``run_batched(cfgs, j_seed)`` runs several seeds at once
sharing one J (reconstruction: the shared-J seed design). Backends: ``numpy`` runs the periods
through the compiled engine (:mod:`.engine`, :mod:`.fused`; one core), ``torch`` through the
Python step loop (:mod:`.loop`, CPU or GPU). Per member, a batch gives exactly what the same backend
gives for that member alone with the same J (bit-identical on CPU with one thread); numpy and
torch agree to rounding only, which the chaotic reservoir amplifies over a run.

Resuming: :meth:`MotorSim.state_dict` at a period boundary is a plain dict of numpy arrays and
ints; :meth:`MotorSim.load_state_dict` on a fresh simulator with the same configs continues
bit-identically (J, Q, x0 and the noise are regenerated from the seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import engine, loop, rules
from .kernels import pack_J, symmetrize
from .reservoir import get_ops, make_reservoir
from .rules import Options, rule_params
from .tasks import butterfly, display_beta, make_task

TRACES = ("z", "hand", "e", "D", "ebar", "w1_norm", "w2_norm", "w1_fro", "w2_fro")


@dataclass(frozen=True)
class MotorConfig:
    """One run. Defaults = paper scale (authors' scripts); ``cpu_config`` gives N=500, T=4000.

    PD manipulations (motor.md, 'Parkinson's disease and automaticity protocol', reconstruction): ``da_gain`` scales Phi
    per training period (a float or one value per period: DA(g), LDOPA(g, k)); ``lesion_after`` = k removes the BG
    pathway (W2 := 0, xi := 0, no W2 learning) from the start of period k+1 (LES(k)); ``bg_on_test``
    keeps W2 r at test (BGON). ``tf_offset`` is the teacher-forcing offset in periods (5).
    ``blowup_norm``: ||W||_F above it (or a non-finite value) ends a run as "did not complete"
    (threshold: reconstruction). ``record_every``: traces kept every 10th step (motor.md, 'Cost, speed and
    configurations', technique 6).
    """

    task: str = "task1"
    model: str = "supertrex"
    seed: int = 5489
    j_seed: int | None = None
    N: int = 1000
    p: float = 0.1
    g: float = 1.5
    tau: float = 10.0
    dt: float = 0.2
    T: float = 1e4
    n_train: int = 10
    n_test: int = 5
    tf_offset: int = 5
    noise: float = 0.025
    blowup_norm: float = 1e3
    record_every: int = 10
    options: Options = field(default_factory=Options)
    da_gain: float | tuple = 1.0
    lesion_after: int | None = None
    bg_on_test: bool = False

    @property
    def S(self) -> int:
        return int(round(self.T / self.dt))

    @property
    def n_steps(self) -> int:
        return (self.n_train + self.n_test) * self.S


def cpu_config(**kw) -> MotorConfig:
    """CPU configuration (reconstruction): N = 500, T = 4000 (S = 20 000)."""
    return MotorConfig(**{"N": 500, "T": 4000.0, **kw})


_PER_MEMBER = ("seed", "j_seed", "da_gain", "lesion_after", "bg_on_test")


class MotorSim:
    """B members (seeds) of one condition sharing J; steps 1..n_train*S train, the rest test."""

    def __init__(self, cfgs, *, j_seed=None, backend="numpy", device="cpu"):
        cfgs = [cfgs] if isinstance(cfgs, MotorConfig) else list(cfgs)
        base = cfgs[0]
        blank = {k: getattr(base, k) for k in _PER_MEMBER}
        if any(replace(c, **blank) != base for c in cfgs[1:]):
            raise ValueError("batched configs may differ only in " + ", ".join(_PER_MEMBER))
        if j_seed is None:
            js = {c.seed if c.j_seed is None else c.j_seed for c in cfgs}
            if len(js) != 1:
                raise ValueError("members of a batch share J: give j_seed")
            j_seed = js.pop()
        self.cfgs, self.cfg, self.B, self.j_seed = cfgs, base, len(cfgs), int(j_seed)
        self.opts = base.options.resolved()
        self.task = make_task(base.task, self.opts.arm_cost)
        self.rp = rule_params(self.task.family, self.task.n_segs, base.model, self.opts)
        self.S, self.d = base.S, self.task.d
        self.ops = ops = get_ops(backend, device)
        self.res = make_reservoir(
            base.N, self.d, [c.seed for c in cfgs], self.j_seed, base.p, base.g, base.tau, base.dt, base.noise
        )
        self.J, self.Q = ops.sparse(self.res.J), ops.asarray(self.res.Q)
        f = butterfly(self.S, self.opts.normaliser)
        self.fx, self.fy, self.f_b = f[:, 0].tolist(), f[:, 1].tolist(), ops.asarray(f)
        # the compiled numpy engine's view of the task (engine.py)
        self.f_np, self.fx_np, self.fy_np = f, f[:, 0].copy(), f[:, 1].copy()
        self.J_csr = pack_J(self.res.J)
        self.lengths = np.array(self.task.lengths or (), dtype=np.float64)
        self.cost = np.array(self.task.cost or (0.0,) * self.d, dtype=np.float64)
        self.beta = display_beta(self.S)
        self.da = np.array([np.broadcast_to(np.asarray(c.da_gain, float), (base.n_train,)) for c in cfgs])
        self.lesion = np.array([base.n_train if c.lesion_after is None else c.lesion_after for c in cfgs])
        self.bg_test = np.array([c.bg_on_test for c in cfgs])
        self.teacher_buf = self.task.family > 1 and self.opts.test_feedback == "teacher"
        # Task-3 cost reference (motor.md, 'Discrepancies and robustness fixes, as config options'): on the total z's
        # low-pass in training, tracked at test; zbar_tot is kept whenever either needs it
        cost = self.task.cost is not None
        self.cost_total = cost and self.opts.cost_highpass == "total"
        self.track_test = cost and self.opts.test_cost_ref == "track"
        self.keep_tot = self.cost_total or self.track_test
        if self.teacher_buf and not base.n_test <= base.tf_offset <= base.n_train:
            raise ValueError("teacher forcing z(t - tf_offset*S) needs n_test <= tf_offset <= n_train")
        self.reset()

    # ------------------------------------------------------------------------- state
    def reset(self):
        ops, B, N, d, rp = self.ops, self.B, self.cfg.N, self.d, self.rp
        s = {"x": ops.asarray(self.res.x0)}
        s["r"] = ops.xp.tanh(s["x"])  # r(0) = tanh x(0), no noise
        for k in ("u", "zbar", "zbar_tot"):
            s[k] = ops.zeros((B, d))
        for k in ("ebar", "edisp", "dev_sum"):
            s[k] = ops.zeros((B,))
        # Task-3 joint usage (reconstruction): sum_t |z_t - z_(t-1)| per test period and joint
        s["joint_path"] = ops.zeros((B, self.cfg.n_test, d))
        s["psi"] = ops.asarray(np.full(B, rules.PSI_INIT))
        s["W"] = ops.zeros((B, d * (rp.uses_w1 + rp.uses_w2), N))
        if rp.uses_w1:
            s["P"] = ops.asarray(np.broadcast_to(np.eye(N) * rules.P0, (B, N, N)))
        if self.teacher_buf:
            s["buf"] = ops.zeros((B, self.cfg.tf_offset * self.S, d))
        self.s = s
        self.t = 0
        self.blown = np.zeros(B, bool)
        self.blowup_step = np.full(B, -1)
        self.gate_open_step = np.full(B, -1)
        self.rls_updates = np.zeros(B, dtype=np.int64)  # RLS blocks actually executed
        self.D_end_train = np.full(B, np.nan)
        self.w_last = np.zeros((B, 4))
        n_rec = self.cfg.n_steps // self.cfg.record_every
        shapes = {"z": (d,), "hand": (2,)}
        self.traces = {k: np.full((B, n_rec) + shapes.get(k, ()), np.nan) for k in TRACES}

    def state_dict(self) -> dict:
        """Plain dict of numpy arrays and ints (no pickled objects), taken at a period boundary."""
        out = {k: self.ops.to_numpy(v) for k, v in self.s.items()}
        if "P" in out and self.ops.name == "numpy":
            symmetrize(out["P"])  # the compiled engine keeps P's upper triangle only
        out.update(
            t=int(self.t),
            j_seed=self.j_seed,
            N=self.cfg.N,
            S=self.S,
            seeds=np.array([c.seed for c in self.cfgs]),
            blown=self.blown.copy(),
            blowup_step=self.blowup_step.copy(),
            gate_open_step=self.gate_open_step.copy(),
            rls_updates=self.rls_updates.copy(),
            D_end_train=self.D_end_train.copy(),
            w_last=self.w_last.copy(),
            j_fingerprint=np.array([self.res.J.data.sum(), self.res.J.nnz]),
        )
        out.update({"trace_" + k: v.copy() for k, v in self.traces.items()})
        return out

    def load_state_dict(self, sd: dict):
        if (
            (int(sd["N"]), int(sd["S"]), int(sd["j_seed"])) != (self.cfg.N, self.S, self.j_seed)
            or list(sd["seeds"]) != [c.seed for c in self.cfgs]
            or not np.array_equal(sd["j_fingerprint"], [self.res.J.data.sum(), self.res.J.nnz])
        ):
            raise ValueError("state does not belong to this configuration")
        self.s = {k: self.ops.asarray(sd[k]) for k in self.s}
        self.t = int(sd["t"])
        for k in ("blown", "blowup_step", "gate_open_step", "rls_updates", "D_end_train", "w_last"):
            setattr(self, k, np.array(sd[k]))
        self.traces = {k: np.array(sd["trace_" + k]) for k in TRACES}

    @property
    def periods_done(self) -> int:
        return self.t // self.S

    @property
    def done(self) -> bool:
        return self.t >= self.cfg.n_steps or bool(self.blown.all())

    # ------------------------------------------------------------------------- driver
    def run_periods(self, n: int | None = None) -> "MotorSim":
        """Advance n whole periods (default: to the end). Stops early once every member blew up."""
        total = self.cfg.n_train + self.cfg.n_test
        end = total if n is None else min(total, self.periods_done + n)
        with np.errstate(all="ignore"):
            while self.periods_done < end and not self.blown.all():
                p = self.periods_done
                (engine if self.ops.name == "numpy" else loop).run_period(self, p)
        return self

    def begin_period(self, p: int):
        """PD switches at the start of period p, for both backends (motor.md, 'Parkinson's disease and automaticity
        protocol'). Training: W2 := 0 for members lesioned after period p; returns (bg, gain, modulate): the BG mask,
        the dopamine gain x BG mask and whether any member is not healthy. Test start (SUPERTREX): the standard
        test's BG lesion, W2 := 0 unless kept (BGON); returns None."""
        W, d = self.s["W"], self.d
        W2 = W[:, W.shape[1] - d :]
        if p < self.cfg.n_train:
            bg = (p < self.lesion).astype(float)
            lesioned = np.nonzero(self.lesion == p)[0] if self.rp.uses_w2 else []
            modulate = bool((self.da[:, p] != 1.0).any() or (bg != 1.0).any())
        else:
            bg, modulate = None, False
            lesioned = np.nonzero(~self.bg_test)[0] if p == self.cfg.n_train and self.rp.model == "supertrex" else []
        for b in lesioned:
            W2[b] = 0.0
        return None if bg is None else (bg, self.da[:, p] * bg, modulate)

    # ------------------------------------------------------------------------- results
    def results(self) -> list[dict]:
        """Per member: deviation (mean test D), completion, PD markers and the traces."""
        n_test_steps = self.cfg.n_test * self.S
        dev = self.ops.to_numpy(self.s["dev_sum"]) / n_test_steps
        jpath = self.ops.to_numpy(self.s["joint_path"])
        finished = self.t >= self.cfg.n_steps
        out = []
        for b, c in enumerate(self.cfgs):
            ok = finished and not self.blown[b]
            out.append(
                {
                    "seed": c.seed,
                    "j_seed": self.j_seed,
                    "completed": bool(ok),
                    "deviation": float(dev[b]) if ok else math.nan,
                    "blowup_step": int(self.blowup_step[b]),
                    "gate_open_step": int(self.gate_open_step[b]),
                    "rls_updates": int(self.rls_updates[b]),
                    "joint_path": jpath[b] if ok else np.full_like(jpath[b], math.nan),
                    "D_end_train": float(self.D_end_train[b]),
                    "record_every": self.cfg.record_every,
                    "steps": np.arange(1, len(self.traces["D"][b]) + 1) * self.cfg.record_every,
                    "traces": {k: v[b] for k, v in self.traces.items()},
                }
            )
        return out


def run(cfg: MotorConfig, *, backend="numpy", device="cpu") -> dict:
    """One standard run (J drawn from cfg.j_seed, or from cfg.seed when None)."""
    return MotorSim(cfg, backend=backend, device=device).run_periods().results()[0]


def run_batched(cfgs, j_seed: int, *, backend="torch", device="cpu") -> list[dict]:
    """Several members sharing one J (reconstruction); each equals ``run`` with that j_seed."""
    return MotorSim(list(cfgs), j_seed=j_seed, backend=backend, device=device).run_periods().results()


def w_crossing_step(res: dict) -> int:
    """First recorded step where ||W1|| exceeds ||W2|| (automaticity marker; -1 if never)."""
    tr = res["traces"]
    hit = np.nonzero(tr["w1_norm"] > tr["w2_norm"])[0]
    return int((hit[0] + 1) * res["record_every"]) if hit.size else -1
