"""Motor tasks of Pyle & Rosenbaum (2019): butterfly target, planar arms, error and metrics.

Everything here is pure and backend-agnostic where it runs inside the simulation loop
(``xp`` is ``numpy`` or ``torch``); the metric helpers work on numpy arrays.

Task names (motor.md, 'Per-task hyperparameters' to 'Tasks and protocol'): ``task1`` drawing (identity plant, d=2),
``task2`` 2-joint arm (d=2), ``task2_3seg`` the 3-segment variant 2' (Task-2 constants, Task-3 arm, no cost), ``task3``
3-joint arm with joint-specific movement cost (d=3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The scripts' normaliser of the butterfly radius, labelled "max r" (authors' scripts).
NORMALISER = 14.4734
#: Success criterion on the test deviation (replication; threshold set by eye).
SUCCESS_THRESHOLD = 0.5
#: Display-filter rate at S = 50 000 (authors' scripts); rescaled with S (reconstruction).
BETA_PAPER = 0.0002
S_PAPER = 50_000
#: Shoulder position; angles measured from +y (authors' scripts).
SHOULDER = (0.0, -2.0)
#: Joint costs for Task 3 (authors' scripts: default and "beta" files; "none" = c = 0 control).
ARM_COSTS = {"default": (0.1, 0.05, 0.0), "beta": (0.1, 0.01, 0.0), "none": (0.0, 0.0, 0.0)}


def butterfly_radius(phi):
    """rho(phi) of the "butterfly" polar curve (authors' scripts; not Fay's butterfly)."""
    s, c = np.sin, np.cos
    return 9 - s(phi) + 2 * s(3 * phi) + 2 * s(5 * phi) - s(7 * phi) + 3 * c(2 * phi) - 2 * c(4 * phi)


def butterfly(S: int, normaliser: float = NORMALISER) -> np.ndarray:
    """Target f over one period, shape (S, 2); phi = linspace(0, 2pi, S), both endpoints kept."""
    phi = np.linspace(0.0, 2.0 * np.pi, S)
    rho = butterfly_radius(phi)
    return np.stack([rho * np.cos(phi) / normaliser, rho * np.sin(phi) / normaliser], axis=1)


def true_max_radius(n: int = 2_000_001) -> float:
    """Numerical max of rho (about 14.517; the scripts' 14.4734 is kept for parity)."""
    return float(butterfly_radius(np.linspace(0.0, 2.0 * np.pi, n)).max())


@dataclass(frozen=True)
class Task:
    """Plant h, output dimension d and movement cost of one task."""

    name: str
    family: int  # 1, 2 or 3: selects the rule constants (2' uses family 2)
    d: int
    lengths: tuple | None = None  # arm segment lengths; None = identity plant (Task 1)
    cost: tuple | None = None  # joint cost c_k (Task 3 only)

    @property
    def n_segs(self) -> int:
        return len(self.lengths) if self.lengths else 0

    def hand(self, z, xp=np):
        """Hand (pen) position of output z (..., d) as a pair (hx, hy).

        Arms: cumulative angles theta_k = pi * sum_{j<=k} z_j (relative joint angles in units of
        pi), hand = (sum L_k sin theta_k, -2 + sum L_k cos theta_k).
        """
        if self.lengths is None:
            return z[..., 0], z[..., 1]
        s = z[..., 0]
        th = math.pi * s
        hx = self.lengths[0] * xp.sin(th)
        hy = SHOULDER[1] + self.lengths[0] * xp.cos(th)
        for k in range(1, self.d):
            s = s + z[..., k]
            th = math.pi * s
            hx = hx + self.lengths[k] * xp.sin(th)
            hy = hy + self.lengths[k] * xp.cos(th)
        return hx, hy

    def error(self, z, fx, fy, ref=None, xp=np):
        """e = ||h(z) - f||^2 (+ sum_k c_k |z_k - ref_k| in Task 3, ref = the cost's low-pass)."""
        hx, hy = self.hand(z, xp)
        e = (hx - fx) ** 2 + (hy - fy) ** 2
        if self.cost is not None and ref is not None:
            for k, ck in enumerate(self.cost):
                if ck != 0.0:
                    e = e + ck * xp.abs(z[..., k] - ref[..., k])
        return e


def make_task(name: str, arm_cost="default") -> Task:
    """Task by name; ``arm_cost`` ('default' | 'beta' | 'none' | 3-tuple) applies to task3 only."""
    if name == "task1":
        return Task(name, 1, 2)
    if name == "task2":
        return Task(name, 2, 2, (1.8, 1.8))
    if name == "task2_3seg":
        return Task(name, 2, 3, (1.8, 1.2, 0.6))
    if name == "task3":
        cost = ARM_COSTS[arm_cost] if isinstance(arm_cost, str) else tuple(float(c) for c in arm_cost)
        return Task(name, 3, 3, (1.8, 1.2, 0.6), cost)
    raise ValueError(f"unknown task {name!r}")


TASKS = ("task1", "task2", "task2_3seg", "task3")


# ----------------------------------------------------------------------------------- metrics
def display_beta(S: int) -> float:
    """beta of the display filter: 0.0002 at S = 50 000, 0.0002*50 000/S otherwise
    (the rescaling keeps the time constant at S/10; reconstruction)."""
    return BETA_PAPER * S_PAPER / S


def distance_trace(e: np.ndarray, beta: float) -> np.ndarray:
    """D_t = sqrt(ebar_disp_t), ebar_disp_1 = e_1, ebar_disp_t = (1-beta) ebar_disp_{t-1} + beta e_t.

    Offline reference of what the simulator computes online (same arithmetic order).
    """
    e = np.asarray(e, dtype=np.float64)
    out = np.empty_like(e)
    acc = e[0]
    out[0] = acc
    keep = 1.0 - beta
    for t in range(1, e.shape[0]):
        acc = keep * acc + beta * e[t]
        out[t] = acc
    return np.sqrt(out)


def deviation(D_test: np.ndarray) -> float:
    """Deviation (replication): mean of D_t over the test phase."""
    return float(np.mean(D_test))


def summarize(deviations, completed=None) -> dict:
    """Mean, sd, median over completed runs; success fraction over all runs (blow-ups fail)."""
    dev = np.asarray(deviations, dtype=np.float64)
    ok = np.isfinite(dev) if completed is None else np.asarray(completed, bool) & np.isfinite(dev)
    d = dev[ok]
    return {
        "n": int(dev.size),
        "n_completed": int(ok.sum()),
        "mean": float(d.mean()) if d.size else math.nan,
        "sd": float(d.std(ddof=1)) if d.size > 1 else math.nan,
        "median": float(np.median(d)) if d.size else math.nan,
        "success_fraction": float((d < SUCCESS_THRESHOLD).sum() / dev.size) if dev.size else math.nan,
    }


def rest_posture_deviation(
    task: Task, S: int, n_train: int = 10, n_test: int = 5, normaliser: float = NORMALISER
) -> float:
    """Deviation of a run whose output is z = 0 throughout (the DA(0) regression value; motor.md, 'Parkinson's disease
    and automaticity protocol').

    The hand sits at h(0) (arms: (0, 1.6)); training is also taken as z = 0, so the only
    tolerance needed against a real DA(0) run is the filter's memory of small exploration.
    """
    f = butterfly(S, normaliser)
    hx, hy = task.hand(np.zeros((1, task.d)))
    e_period = (hx[0] - f[:, 0]) ** 2 + (hy[0] - f[:, 1]) ** 2
    e = np.tile(e_period, n_train + n_test)
    D = distance_trace(e, display_beta(S))
    return deviation(D[n_train * S :])


def sqrt_gram_norm(G: np.ndarray) -> np.ndarray:
    """Parity weight norm (authors' scripts): spectral norm of the entrywise *complex* square root
    of the Gram matrix W W^T, for a stack G (B, d, d); NaN where G is not finite."""
    out = np.full(G.shape[0], np.nan)
    ok = np.isfinite(G).all(axis=(1, 2))
    if ok.any():
        out[ok] = np.linalg.norm(np.sqrt(G[ok].astype(np.complex128)), ord=2, axis=(1, 2))
    return out


def joint_usage(z_test: np.ndarray, S_rec: int) -> np.ndarray:
    """Angular path sum_t |dz_k| per test period and joint (reconstruction), shape (periods, d).

    ``z_test``: (steps, d) test outputs sampled every step, or every k-th step with S_rec = S/k
    samples per period (subsampling under-counts fast jitter; compare like with like).
    """
    n = z_test.shape[0] // S_rec
    z = z_test[: n * S_rec].reshape(n, S_rec, -1)
    return np.abs(np.diff(z, axis=1)).sum(axis=1)
