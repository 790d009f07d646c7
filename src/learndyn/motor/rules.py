"""Learning rules of Pyle & Rosenbaum (2019): FORCE, RMHL and SUPERTREX (motor.md, 'Per-step ordering' to 'Per-task
hyperparameters', 'Discrepancies and robustness fixes, as config options').

Constants are the authors' scripts' (the parity default). Where the paper or the replication
(Sankar et al. 2021, ReScience C 7(1) #11) differs, the other value is an :class:`Options` field.

Functions take arrays with a leading batch axis (B seeds) and work for numpy or torch (``xp``);
the RLS updates act on one seed's (N, N) float64 P in place (``ops`` from :mod:`.reservoir`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

MODELS = ("force", "rmhl", "supertrex")
VARIANTS = ("scripts", "modified")

# Shared constants (authors' scripts).
ETA = 5e-4  # W2 learning rate (absent from the paper: replication)
PHI_GAIN = 5.0  # Phi(e) = -5 sign(e) |e|^(1/4)
PHI_EXP = 0.25
EBAR_KEEP = 0.8  # ebar <- 0.8 ebar + 0.2 e
PSI_INIT = 0.01  # exploration amplitude at steps 1-2
GATE_SLOPE = 5e5  # G = 1/2 [1 - tanh(5e5 (|ebar| - theta))]
GATE_SKIP = (
    1e-12  # below this G, the gated RLS does no work at all (motor.md, 'Cost, speed and configurations', technique 4)
)
P0 = 0.1  # P(0) = I/10 (FORCE regulariser 10)
RLS_EVERY = 10  # RLS at 1-based steps t with t mod 10 == 0


@dataclass(frozen=True)
class Options:
    """Paper/script discrepancies and the replication's fixes (motor.md, 'Discrepancies and robustness fixes, as config
    options').

    ``None`` fields resolve from ``variant``: ``'scripts'`` (default, the authors' MATLAB
    scripts) or ``'modified'`` (the replication's "modified" Python column).

    * ``eta``: W2 learning rate; 5e-4 in both (the paper does not state it).
    * ``psi_scale_task3``: Task-3 exploration scale; scripts 0.005, paper prints 0.025.
    * ``w2_comp``: W2 step factor c_task. ``'scripts'``: T1/T2 1, T3 0.5. ``'modified'``: with
      more than 2 segments T2(') 0.1/n_segs and T3 0.5/n_segs, else as scripts. A float overrides.
    * ``theta_task2``: gate threshold of Tasks 2 and 2'; scripts 1.5e-3, modified 1.5e-2.
    * ``cost_highpass`` (T3): ``'scripts'`` = cost on z - zbar with zbar the a_z low-pass of z2
      (ST; of z for RMHL); ``'total'`` = z - zbar_tot, the a_z low-pass of the total z
      (replication code only, not its article text).
    * ``test_cost_ref`` (T3): ``'scripts'`` = at test ST's zbar keeps filtering z2 = 0 (cost
      becomes sum c_k|z_k|), RMHL's zbar is frozen; ``'track'`` = zbar_tot tracks the test output.
    * ``phi_task1``: ``'reward_half'`` (scripts: Phi = 0 when the error rises) or ``'odd'``.
    * ``rls_target_task1``: SUPERTREX Task-1 RLS target s; ``'z2'`` (scripts) or ``'zbar'``
      (both Python ports).
    * ``force_log_sparse``: scripts log FORCE's training error only at RLS steps (zeros
      elsewhere; biases the training D low); ``False`` logs every step.
    * ``normaliser``: butterfly normaliser, 14.4734 in all sources (true max 14.517: flag only).
    * ``test_feedback``: ``'teacher'`` (T1: u = f_t, T2/3: u = z(t - 5S)) or ``'closed_loop'``
      (u = own previous z; reconstruction: document as such).
    * ``arm_cost``: Task-3 joint costs, ``'default'`` (0.1, 0.05, 0), ``'beta'`` (0.1, 0.01, 0),
      ``'none'`` or a 3-tuple.
    """

    variant: str = "scripts"
    eta: float | None = None
    psi_scale_task3: float | None = None
    w2_comp: str | float | None = None
    theta_task2: float | None = None
    cost_highpass: str | None = None
    test_cost_ref: str | None = None
    phi_task1: str | None = None
    rls_target_task1: str | None = None
    force_log_sparse: bool | None = None
    normaliser: float = 14.4734
    test_feedback: str = "teacher"
    arm_cost: str | tuple = "default"

    def resolved(self) -> "Options":
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}")
        mod = self.variant == "modified"
        defaults = dict(
            eta=ETA,
            psi_scale_task3=0.005,
            w2_comp="modified" if mod else "scripts",
            theta_task2=1.5e-2 if mod else 1.5e-3,
            cost_highpass="total" if mod else "scripts",
            test_cost_ref="track" if mod else "scripts",
            phi_task1="odd" if mod else "reward_half",
            rls_target_task1="zbar" if mod else "z2",
            force_log_sparse=not mod,
        )
        kw = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        out = replace(self, **kw)
        for name, allowed in (
            ("cost_highpass", ("scripts", "total")),
            ("test_cost_ref", ("scripts", "track")),
            ("phi_task1", ("reward_half", "odd")),
            ("rls_target_task1", ("z2", "zbar")),
            ("test_feedback", ("teacher", "closed_loop")),
        ):
            if getattr(out, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}")
        return out


@dataclass(frozen=True)
class RuleParams:
    """Per-task, per-model constants (motor.md, 'Per-task hyperparameters'), resolved from :class:`Options`."""

    model: str
    eta: float
    c_w2: float  # c_task, W2 step factor
    a_z: float  # zbar <- (1 - a_z) zbar + a_z z2
    theta: float  # gate threshold on ebar
    kappa: float  # W1 transfer gain
    psi_scale: float  # psi(ebar) = psi_scale (10 ebar)^psi_exp
    psi_exp: float
    phi_mode: str  # 'reward_half' | 'odd'
    rls_target: str  # SUPERTREX RLS target s: 'z2' | 'zbar'
    force_log_sparse: bool

    @property
    def uses_w1(self) -> bool:
        return self.model != "rmhl"

    @property
    def uses_w2(self) -> bool:
        return self.model != "force"


def rule_params(family: int, n_segs: int, model: str, options: Options) -> RuleParams:
    """Constants for task family 1/2/3 (2' = family 2 with 3 segments) and a model."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    if model == "force" and family != 1:
        raise ValueError("FORCE needs the target in output space: Task 1 only")
    o = options.resolved()
    if family == 1:
        psi = (0.025, 0.25)
        theta, kappa, phi = 1.5e-3, 0.5, o.phi_task1
        a_z, target, c_w2 = 0.2, o.rls_target_task1, 1.0
    elif family == 2:
        psi = (0.01, 0.2)
        theta, kappa, phi = o.theta_task2, 0.5, "odd"
        a_z, target, c_w2 = (0.1 if model == "supertrex" else 0.2), "zbar", 1.0
    elif family == 3:
        psi = (o.psi_scale_task3, 0.25)
        theta, kappa, phi = 1.5e-2, 0.9, "odd"
        a_z, target, c_w2 = 0.2, "zbar", 0.5
    else:
        raise ValueError("family must be 1, 2 or 3")
    if isinstance(o.w2_comp, (int, float)):
        c_w2 = float(o.w2_comp)
    elif o.w2_comp == "modified" and n_segs > 2:
        c_w2 = {1: c_w2, 2: 0.1, 3: 0.5}[family] / n_segs
    elif o.w2_comp not in ("scripts", "modified"):
        raise ValueError("w2_comp must be 'scripts', 'modified' or a number")
    return RuleParams(model, o.eta, c_w2, a_z, theta, kappa, psi[0], psi[1], phi, target, o.force_log_sparse)


# --------------------------------------------------------------------------- scalar laws
def phi(ehat, mode: str, xp):
    """Modulator Phi(ehat) = -5 sign(ehat) |ehat|^(1/4), ehat = e - ebar (ebar already updated).

    Positive (reward) when the error is below its running mean. ``'reward_half'`` (Task 1,
    scripts) zeroes the punishment half (ehat > 0).
    """
    mag = PHI_GAIN * xp.abs(ehat) ** PHI_EXP
    if mode == "reward_half":
        return xp.where(ehat > 0, 0.0, mag)
    return xp.where(ehat > 0, -mag, mag)


def psi(ebar, rp: RuleParams):
    """Exploration amplitude psi_task(ebar); takes effect at the next step."""
    return rp.psi_scale * (10.0 * ebar) ** rp.psi_exp


def gate(ebar, theta: float, xp):
    """Consolidation gate G = 1/2 [1 - tanh(5e5 (|ebar| - theta))]: ~1 below theta, ~0 above."""
    return 0.5 * (1.0 - xp.tanh(GATE_SLOPE * (xp.abs(ebar) - theta)))


def gate_scalar(ebar: float, theta: float) -> float:
    return 0.5 * (1.0 - math.tanh(GATE_SLOPE * (abs(ebar) - theta)))


# ------------------------------------------------------------------------- weight updates
def w2_update_(W2, coef, z2, zbar, r):
    """RMHL step W2 <- W2 + (eta c_task Phi) (z2 - zbar) r^T, in place; ``coef`` (B,) = eta c Phi."""
    W2 += (coef[:, None] * (z2 - zbar))[:, :, None] * r[:, None, :]


def rls_gain(P, r, ops):
    """k = P r, c = 1/(1 + r^T k) for one seed (P symmetric (N, N), float64)."""
    k = ops.mv(P, r)
    c = 1.0 / (1.0 + ops.dot(r, k))
    return k, c


def force_update_(P, W1, r, err, ops):
    """FORCE (Sussillo & Abbott 2009), no forgetting: P <- P - c k k^T, W1 <- W1 - c err k^T.

    ``err`` = z - f_t with z the a-priori output (computed with W1 before this update).
    """
    k, c = rls_gain(P, r, ops)
    ops.rank1_(P, k, -c)
    W1 -= (c * err)[:, None] * k[None, :]


def supertrex_update_(P, W1, r, s, G: float, kappa: float, ops):
    """Gated RLS of SUPERTREX: P <- P - G c k k^T, W1 <- W1 + kappa G c s k^T (in place).

    Error of the mastery readout is z1 - z = -z2, so its target is s = z2 (Task 1, scripts) or
    the low-pass zbar (Tasks 2, 3). The caller skips this entirely while G < GATE_SKIP.
    """
    k, c = rls_gain(P, r, ops)
    ops.rank1_(P, k, -(c * G))
    W1 += ((kappa * G * c) * s)[:, None] * k[None, :]
