"""Plain dense per-step numpy implementation of the spec's equations (motor.md, 'Reservoir model' to 'Tasks and
protocol'), one seed.

Written straight from the spec's pseudocode, without any of the engine's techniques: dense J,
per-step noise fetch, RLS every 10 steps with an N x N outer product and no gate skipping,
weight norms every step (as the scripts log them). It serves two purposes:

* an independent check of :mod:`.simulate` (same seeds, same noise; agreement to rounding);
* the baseline of ``benchmarks/motor.py``.

Scripts' defaults only (no PD manipulations, teacher-forced test).
"""

from __future__ import annotations

import numpy as np

from .reservoir import NOISE_BLOCK, make_J, make_Q, make_x0, noise_block
from .rules import rule_params
from .tasks import butterfly, display_beta, make_task


def _norm(W):
    G = W @ W.T
    return np.linalg.norm(np.sqrt(G.astype(complex)), 2)


def run_reference(cfg, n_steps: int | None = None, rp=None) -> dict:
    """Run ``cfg`` (a MotorConfig) the plain way; returns e, D per step, deviation, final W1/W2.

    ``rp`` overrides the rule constants (tests use it to open the gate at tiny scale).
    """
    task = make_task(cfg.task, cfg.options.resolved().arm_cost)
    rp = rp or rule_params(task.family, task.n_segs, cfg.model, cfg.options)
    o = cfg.options.resolved()
    S, N, d, seed = cfg.S, cfg.N, task.d, cfg.seed
    j_seed = cfg.seed if cfg.j_seed is None else cfg.j_seed
    J = make_J(N, cfg.p, cfg.g, j_seed).toarray()
    Q = make_Q(N, d, seed).T  # (N, d)
    x = make_x0(N, seed)
    r = np.tanh(x)
    f = butterfly(S, o.normaliser)
    n_train, total = cfg.n_train * S, cfg.n_steps if n_steps is None else n_steps
    W1, W2, P = np.zeros((d, N)), np.zeros((d, N)), np.eye(N) / 10
    z = np.zeros(d)
    zhist = np.zeros((total + 1, d))  # z(t), for teacher forcing
    psi, zbar, ebar = 0.01, np.zeros(d), 0.0
    e_log = np.zeros(total + 1)
    norms = np.zeros((total + 1, 2))
    a = cfg.dt / cfg.tau
    for t in range(1, total + 1):
        fi = f[(t - 1) % S]
        if t <= n_train:
            blk, row = divmod(t - 1, NOISE_BLOCK)
            if row == 0 or t == 1:  # same noise as the engine
                eps_all, xi_all = noise_block(seed, blk, N, d, cfg.noise)
            x = x + a * (-x + J @ r + Q @ z)
            r = np.tanh(x) + eps_all[row]
            z1 = W1 @ r
            z2 = W2 @ r + psi * xi_all[row] if rp.uses_w2 else np.zeros(d)
            z = z1 + z2 if rp.model == "supertrex" else (z1 if rp.model == "force" else z2)
            hx, hy = task.hand(z[None])
            if t == 1:
                zbar = z2.copy() if rp.uses_w2 else z.copy()
                e = (hx[0] - fi[0]) ** 2 + (hy[0] - fi[1]) ** 2
                ebar = e
                e_log[t] = 0.0 if (rp.model == "force" and rp.force_log_sparse) else e
                zhist[t] = z
                continue
            if rp.model == "force":
                e = (hx[0] - fi[0]) ** 2 + (hy[0] - fi[1]) ** 2
                e_log[t] = e if (t % 10 == 0 or not rp.force_log_sparse) else 0.0
                if t % 10 == 0:
                    k = P @ r
                    c = 1.0 / (1.0 + r @ k)
                    P = P - c * np.outer(k, k)
                    W1 = W1 - c * np.outer(z - fi, k)
            else:
                zbar = (1 - rp.a_z) * zbar + rp.a_z * z2
                e = (hx[0] - fi[0]) ** 2 + (hy[0] - fi[1]) ** 2
                if task.cost is not None:
                    e += sum(c * abs(z[k] - zbar[k]) for k, c in enumerate(task.cost))
                ebar = 0.8 * ebar + 0.2 * e
                psi = rp.psi_scale * (10 * ebar) ** rp.psi_exp
                ehat = e - ebar
                ph = -5 * np.sign(ehat) * abs(ehat) ** 0.25
                if rp.phi_mode == "reward_half" and ehat > 0:
                    ph = 0.0
                W2 = W2 + rp.eta * rp.c_w2 * ph * np.outer(z2 - zbar, r)
                if rp.model == "supertrex" and t % 10 == 0:
                    G = 0.5 * (1 - np.tanh(5e5 * (abs(ebar) - rp.theta)))
                    k = P @ r
                    c = 1.0 / (1.0 + r @ k)
                    P = P - G * c * np.outer(k, k)
                    s = z2 if rp.rls_target == "z2" else zbar
                    W1 = W1 + rp.kappa * G * c * np.outer(s, k)
                e_log[t] = e
            norms[t] = _norm(W1), _norm(W2)
        else:
            if t == n_train + 1 and rp.model == "supertrex":
                W2 = np.zeros_like(W2)
            u = fi if task.family == 1 else zhist[t - cfg.tf_offset * S]
            x = x + a * (-x + J @ r + Q @ u)
            r = np.tanh(x)
            z = (W1 @ r if rp.uses_w1 else 0) + (W2 @ r if rp.uses_w2 else 0)
            hx, hy = task.hand(z[None])
            e = (hx[0] - fi[0]) ** 2 + (hy[0] - fi[1]) ** 2
            if task.cost is not None:
                if rp.model == "supertrex":
                    zbar = (1 - rp.a_z) * zbar + rp.a_z * (W2 @ r)
                e += sum(c * abs(z[k] - zbar[k]) for k, c in enumerate(task.cost))
            e_log[t] = e
            norms[t] = norms[t - 1]
        zhist[t] = z
    D = np.sqrt(_filter(e_log[1:], display_beta(S)))
    dev = float(D[n_train:].mean()) if total > n_train else float("nan")
    return {"e": e_log[1:], "D": D, "deviation": dev, "W1": W1, "W2": W2, "P": P, "z": zhist[1:], "norms": norms[1:]}


def _filter(e, beta):
    out = np.empty_like(e)
    acc = e[0]
    out[0] = acc
    for t in range(1, e.size):
        acc = (1 - beta) * acc + beta * e[t]
        out[t] = acc
    return out
