"""The Python step loop of :class:`.simulate.MotorSim` (torch backend, CPU or GPU; motor.md, 'Per-step ordering', 'Tasks
and protocol').

The numpy backend runs the same equations compiled (:mod:`.engine`, :mod:`.fused`); the two agree
to rounding on every branch (tests/motor/test_simulate.py). Here each line of the spec's per-step
pseudocode is one array operation over the batch, so the loop reads as the spec.
"""

from __future__ import annotations

import numpy as np

from . import rules
from .reservoir import NoiseSource, advance_
from .rules import gate, phi
from .tasks import sqrt_gram_norm


def run_period(sim, p: int) -> None:
    """Advance ``sim`` through period p, training or test."""
    (_train_period if p < sim.cfg.n_train else _test_period)(sim, p)


def _weights(sim):
    W, d = sim.s["W"], sim.d
    W1 = W[:, :d] if sim.rp.uses_w1 else None
    W2 = W[:, W.shape[1] - d :] if sim.rp.uses_w2 else None
    return W, W1, W2


def _record(sim, t, z, e, training):
    """Traces every record_every steps; norms (training only; flat at test, as the scripts)
    and the blow-up check (non-finite, or ||W||_F above cfg.blowup_norm)."""
    ops, d, rp, idx = sim.ops, sim.d, sim.rp, t // sim.cfg.record_every - 1
    zh = ops.to_numpy(z)
    hx, hy = sim.task.hand(zh)
    tr = sim.traces
    tr["z"][:, idx], tr["hand"][:, idx, 0], tr["hand"][:, idx, 1] = zh, hx, hy
    tr["e"][:, idx] = ops.to_numpy(e)
    tr["D"][:, idx] = np.sqrt(ops.to_numpy(sim.s["edisp"]))
    bad = ~np.isfinite(tr["D"][:, idx]) | ~np.isfinite(zh).all(axis=1)
    if training:
        tr["ebar"][:, idx] = ops.to_numpy(sim.s["ebar"])
        G = ops.to_numpy(ops.gram(sim.s["W"]))
        grams = [(0, G[:, :d, :d])] if rp.uses_w1 else []
        grams += [(1, G[:, -d:, -d:])] if rp.uses_w2 else []
        spec = sqrt_gram_norm(np.concatenate([g for _, g in grams]))
        for n, (j, g) in enumerate(grams):
            sim.w_last[:, j] = spec[n * sim.B : (n + 1) * sim.B]
            sim.w_last[:, j + 2] = np.sqrt(np.trace(g, axis1=1, axis2=2))
        bad |= ~np.isfinite(sim.w_last).all(axis=1) | (sim.w_last[:, 2:] > sim.cfg.blowup_norm).any(axis=1)
    for k, j in (("w1_norm", 0), ("w2_norm", 1), ("w1_fro", 2), ("w2_fro", 3)):
        tr[k][:, idx] = sim.w_last[:, j]
    new = bad & ~sim.blown
    sim.blown |= bad
    sim.blowup_step[new] = t
    if sim.blown.any():
        for v in tr.values():
            v[sim.blown, idx] = np.nan


def _train_period(sim, p: int):
    ops, xp, rp, task, s = sim.ops, sim.ops.xp, sim.rp, sim.task, sim.s
    S, d, a, beta, cfg = sim.S, sim.d, sim.res.a, sim.beta, sim.cfg
    fx, fy, f_b, J, Q, noise = sim.fx, sim.fy, sim.f_b, sim.J, sim.Q, NoiseSource(sim.res, ops)
    x, r, W, P = s["x"], s["r"], s["W"], s.get("P")
    _, W1, W2 = _weights(sim)
    st, force = rp.model == "supertrex", rp.model == "force"
    # PD: dopamine gain and BG lesion for this period (identity multiplications when healthy)
    bg, gain, modulate = sim.begin_period(p)
    gain_b, bg_b = ops.asarray(gain), ops.asarray(bg)
    cost_total, keep_tot = sim.cost_total, sim.keep_tot
    a_z, keep_z, keep_e, keep_d = rp.a_z, 1.0 - rp.a_z, rules.EBAR_KEEP, 1.0 - beta
    step_e, lr = 1.0 - rules.EBAR_KEEP, rp.eta * rp.c_w2
    buf_from = (cfg.n_train - cfg.tf_offset) * S if sim.teacher_buf else None
    off_S, re, sparse_log = cfg.tf_offset * S, cfg.record_every, force and rp.force_log_sparse
    for t in range(p * S + 1, (p + 1) * S + 1):
        i = (t - 1) % S
        eps, xi, j = noise.get(t)
        advance_(x, r, s["u"], J, Q, a, ops)  # line 1 (u = z(t-1))
        r = xp.tanh(x)  # line 2
        r += eps[j]
        zz = ops.readout(W, r)  # line 3
        if force:
            z = zz
        else:
            psi_eff = s["psi"] * bg_b if modulate else s["psi"]
            z2 = zz[:, zz.shape[1] - d :] + psi_eff[:, None] * xi[j]  # CURRENT psi
            z = zz[:, :d] + z2 if st else z2
        rls_step = t % rules.RLS_EVERY == 0
        if t == 1:  # initialisation step
            s["zbar"], s["zbar_tot"] = ops.copy(z), ops.copy(z)
            e = task.error(z, fx[i], fy[i], z, xp)  # cost reference = z(1): 0
            s["ebar"] = ops.copy(e)
            e_log = e * 0.0 if sparse_log else e
        elif force:
            e = task.error(z, fx[i], fy[i], None, xp) if (rls_step or not sparse_log) else None
            if rls_step:
                for b in np.nonzero(~sim.blown)[0]:
                    rules.force_update_(P[b], W1[b], r[b], z[b] - f_b[i], ops)
                    sim.rls_updates[b] += 1
            e_log = e if e is not None else s["edisp"] * 0.0
        else:
            zbar = s["zbar"]
            zbar *= keep_z  # line 4 (update first)
            zbar += a_z * z2
            ref = zbar
            if keep_tot:
                zt = s["zbar_tot"]
                zt *= keep_z
                zt += a_z * z
                ref = zt if cost_total else zbar
            e = task.error(z, fx[i], fy[i], ref, xp)  # line 5
            ebar = s["ebar"]
            ebar *= keep_e  # line 6 (update first)
            ebar += step_e * e
            s["psi"] = rp.psi_scale * (10.0 * ebar) ** rp.psi_exp  # line 7 (next step)
            coef = lr * phi(e - ebar, rp.phi_mode, xp)  # line 8
            if modulate:
                coef = coef * gain_b
            rules.w2_update_(W2, coef, z2, zbar, r)
            if st and rls_step:  # line 9: gated RLS
                eb = ops.to_numpy(ebar)
                G = gate(eb, rp.theta, np)
                opened = (eb < rp.theta) & (sim.gate_open_step < 0) & ~sim.blown
                sim.gate_open_step[opened] = t
                target = z2 if rp.rls_target == "z2" else zbar
                for b in np.nonzero((G >= rules.GATE_SKIP) & ~sim.blown)[0]:
                    rules.supertrex_update_(P[b], W1[b], r[b], target[b], float(G[b]), rp.kappa, ops)
                    sim.rls_updates[b] += 1
            e_log = e
        if t == 1:
            s["edisp"] = ops.copy(e_log)  # ebar_disp_1 = e_1
        else:
            ed = s["edisp"]
            ed *= keep_d
            ed += beta * e_log
        if buf_from is not None and t > buf_from:
            s["buf"][:, (t - 1) % off_S] = z
        s["u"] = z
        if t % re == 0:
            _record(sim, t, z, e_log, True)
            if sim.blown.all():
                break
    s["r"] = r
    sim.t = t
    if t == cfg.n_train * S:
        sim.D_end_train = np.where(sim.blown, np.nan, np.sqrt(ops.to_numpy(s["edisp"])))


def _test_period(sim, p: int):
    ops, xp, rp, task, s, cfg = sim.ops, sim.ops.xp, sim.rp, sim.task, sim.s, sim.cfg
    S, d, a, beta = sim.S, sim.d, sim.res.a, sim.beta
    fx, fy, f_b, J, Q = sim.fx, sim.fy, sim.f_b, sim.J, sim.Q
    x, r, W = s["x"], s["r"], s["W"]
    sim.begin_period(p)  # test = post-training BG lesion
    task3 = task.cost is not None
    track = sim.track_test
    a_z, keep_z, keep_d, re = rp.a_z, 1.0 - rp.a_z, 1.0 - beta, cfg.record_every
    closed = sim.opts.test_feedback == "closed_loop"
    off_S, test_start = cfg.tf_offset * S, cfg.n_train * S + 1
    for t in range(p * S + 1, (p + 1) * S + 1):
        i = (t - 1) % S
        if closed:
            u = s["u"]
        elif task.family == 1:
            u = f_b[i][None, :]  # teacher forcing: f_t
        else:
            u = s["buf"][:, (t - 1) % off_S]  # z(t - 5S)
        advance_(x, r, u, J, Q, a, ops)
        r = xp.tanh(x)  # no noise, no xi
        zz = ops.readout(W, r)
        z2 = zz[:, zz.shape[1] - d :]
        z = zz[:, :d] + z2 if rp.model == "supertrex" else zz
        ref = None
        if track:
            ref = s["zbar_tot"]
            ref *= keep_z
            ref += a_z * z
        elif task3:
            ref = s["zbar"]
            if rp.model == "supertrex":  # keeps filtering z2 (= 0)
                ref *= keep_z
                ref += a_z * z2
        e = task.error(z, fx[i], fy[i], ref, xp)
        ed = s["edisp"]
        ed *= keep_d
        ed += beta * e
        s["dev_sum"] += xp.sqrt(ed)
        if t > test_start:  # not the lesion's jump into the test
            jp = s["joint_path"][:, p - cfg.n_train]
            jp += xp.abs(z - s["u"])  # s["u"] = previous z here
        s["u"] = z
        if t % re == 0:
            _record(sim, t, z, e, False)
            if sim.blown.all():
                break
    s["r"] = r
    sim.t = t
