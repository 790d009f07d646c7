"""Driver of the compiled numpy engine: one period of a :class:`.simulate.MotorSim` through
:mod:`.fused`, in stretches that end at a period or noise-block boundary.

Between stretches it does what needs no speed: regenerating the pre-drawn noise block, the PD
switches at period starts (lesion, dopamine gain), and turning the recorded Gram matrices into
the parity weight norms (vectorised over the stretch's records).
"""

from __future__ import annotations

import numpy as np

from . import fused as F
from .reservoir import NOISE_BLOCK, NoiseSource
from .tasks import sqrt_gram_norm


def _params(sim, p: int) -> tuple[np.ndarray, np.ndarray]:
    cfg, rp, task, o, S = sim.cfg, sim.rp, sim.task, sim.opts, sim.S
    ip = np.zeros(17, np.int64)
    ip[F.I_MODEL], ip[F.I_PHI_ODD] = F.MODEL_IDS[rp.model], rp.phi_mode == "odd"
    ip[F.I_TARGET_ZBAR], ip[F.I_SPARSE_LOG] = rp.rls_target == "zbar", rp.force_log_sparse
    ip[F.I_KEEP_TOT], ip[F.I_COST_TOTAL], ip[F.I_RECORD] = sim.keep_tot, sim.cost_total, cfg.record_every
    ip[F.I_BUF_FROM] = (cfg.n_train - cfg.tf_offset) * S if sim.teacher_buf else -1
    ip[F.I_OFF_S], ip[F.I_S], ip[F.I_HAS_COST] = cfg.tf_offset * S, S, task.cost is not None
    ip[F.I_TRACK] = sim.track_test
    ip[F.I_CLOSED], ip[F.I_TEST_START] = o.test_feedback == "closed_loop", cfg.n_train * S + 1
    ip[F.I_PERIOD], ip[F.I_FAMILY] = p - cfg.n_train, task.family
    fp = np.array(
        [sim.res.a, rp.a_z, sim.beta, rp.eta * rp.c_w2, rp.psi_scale, rp.psi_exp, rp.theta, rp.kappa, cfg.blowup_norm],
        dtype=np.float64,
    )
    return ip, fp


def run_period(sim, p: int) -> None:
    """Advance ``sim`` (numpy backend) through period p, training or test."""
    cfg, rp, s, S, B, d = sim.cfg, sim.rp, sim.s, sim.S, sim.B, sim.d
    training = p < cfg.n_train
    ip, fp = _params(sim, p)
    W = s["W"]
    pd_state = sim.begin_period(p)
    if training:
        bg, gain, ip[F.I_MODULATE] = pd_state
        noise = NoiseSource(sim.res, sim.ops)
    P = s["P"] if rp.uses_w1 else np.zeros((B, 1, 1))
    buf = s["buf"] if sim.teacher_buf else np.zeros((B, 1, d))
    J, tr, re = sim.J_csr, sim.traces, cfg.record_every
    uses = np.array([rp.uses_w1, rp.uses_w2])
    live = ~sim.blown
    t = p * S + 1
    while t <= (p + 1) * S and live.any():
        t1 = min((p + 1) * S, ((t - 1) // NOISE_BLOCK + 1) * NOISE_BLOCK)
        first, last = -(-t // re) - 1, t1 // re - 1  # record indices of this stretch
        grams = np.zeros((B, max(last - first + 1, 0), 2, d, d))
        was_live = live.copy()
        if training:
            eps, xi, _ = noise.get(t)
            F.train_block(
                t,
                t1,
                ip,
                fp,
                *J,
                sim.Q,
                s["x"],
                s["r"],
                s["u"],
                s["zbar"],
                s["zbar_tot"],
                s["ebar"],
                s["edisp"],
                s["psi"],
                W,
                P,
                buf,
                eps,
                xi,
                sim.fx_np,
                sim.fy_np,
                sim.lengths,
                sim.cost,
                gain,
                bg,
                live,
                sim.gate_open_step,
                sim.rls_updates,
                sim.blowup_step,
                tr["z"],
                tr["e"],
                tr["D"],
                tr["ebar"],
                grams,
                first,
                uses,
            )
        else:
            F.test_block(
                t,
                t1,
                ip,
                fp,
                *J,
                sim.Q,
                s["x"],
                s["r"],
                s["u"],
                s["zbar"],
                s["zbar_tot"],
                s["edisp"],
                s["dev_sum"],
                s["joint_path"],
                W,
                buf,
                sim.f_np,
                sim.lengths,
                sim.cost,
                live,
                sim.blowup_step,
                tr["z"],
                tr["e"],
                tr["D"],
            )
        if last >= first:
            _norms(sim, grams, first, last, training, was_live)
        for b in np.nonzero(was_live & ~live)[0]:  # blew up in this stretch
            for v in tr.values():
                v[b, sim.blowup_step[b] // re - 1 :] = np.nan
        t = t1 + 1
    sim.blown = ~live
    sim.t = t - 1
    if sim.t == cfg.n_train * S:
        sim.D_end_train = np.where(sim.blown, np.nan, np.sqrt(s["edisp"]))


def _norms(sim, grams, first, last, training, was_live):
    """Hand positions and weight norms of records first..last (norms flat at test, as the scripts)."""
    tr, sl, n, d = sim.traces, slice(first, last + 1), last - first + 1, sim.d
    tr["hand"][:, sl, 0], tr["hand"][:, sl, 1] = sim.task.hand(tr["z"][:, sl])
    if training:
        for j, used in enumerate((sim.rp.uses_w1, sim.rp.uses_w2)):
            if used:
                G = grams[:, :n, j]
                tr[("w1_norm", "w2_norm")[j]][:, sl] = sqrt_gram_norm(G.reshape(-1, d, d)).reshape(-1, n)
                tr[("w1_fro", "w2_fro")[j]][:, sl] = np.sqrt(np.trace(G, axis1=2, axis2=3))
            else:
                tr[("w1_norm", "w2_norm")[j]][:, sl] = tr[("w1_fro", "w2_fro")[j]][:, sl] = 0.0
        for j, k in enumerate(("w1_norm", "w2_norm", "w1_fro", "w2_fro")):
            sim.w_last[was_live, j] = tr[k][was_live, last]
    else:
        for j, k in enumerate(("w1_norm", "w2_norm", "w1_fro", "w2_fro")):
            tr[k][:, sl] = sim.w_last[:, j : j + 1]
    for v in tr.values():
        v[~was_live, sl] = np.nan
