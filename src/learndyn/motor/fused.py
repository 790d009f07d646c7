"""Compiled step loop of the numpy engine (motor.md, 'Cost, speed and configurations', technique 8): the per-step Python
overhead removed.

One call of :func:`train_block` / :func:`test_block` runs a stretch of steps (inside one
period and one pre-drawn noise block) for the B members of a batch, with the same per-step
ordering as the spec (motor.md, 'Per-step ordering') and :mod:`.simulate`'s torch loop:

* J r for every member in one pass over a row-padded CSR J (:func:`.kernels.pack_J`), each row summed in
  four interleaved partial sums in a fixed order, so a member's value does not depend on B:
  batched == single, bit for bit;
* everything else per member: Euler step, rate noise, readouts, RMHL, and every 10th step the
  RLS block: k = P r by BLAS ``dsymv`` on one triangle of P (half the memory traffic of
  ``dgemv``) and the rank-1 downdate of P deferred (Woodbury): up to RLS_DEFER of them are
  carried as rows of V (P = P0 - V^T V, so k = P0 r - V^T (V r)) and folded into P together by
  one ``dsyrk`` pass, and always at the end of a stretch; no RLS work at all while the gate is
  shut (G < 1e-12);
* records (z, e, D, ebar and the Gram matrices of W1 and W2) every ``record_every`` steps, and
  the blow-up check (non-finite, or ||W||_F above the threshold): a blown member stops.

P is kept in its upper triangle only (row-major); :func:`.kernels.symmetrize` restores the full matrix
when the state is exported. The weight norms are computed from the recorded Gram matrices
afterwards (:mod:`.simulate`), vectorised over a block of records.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from . import kernels as K
from .rules import EBAR_KEEP, GATE_SKIP, GATE_SLOPE, PHI_EXP, PHI_GAIN, RLS_EVERY

FORCE, RMHL, SUPERTREX = 0, 1, 2
MODEL_IDS = {"force": FORCE, "rmhl": RMHL, "supertrex": SUPERTREX}
# Slots of the integer / float parameter vectors (one vector each keeps the call signature fixed).
(
    I_MODEL,
    I_PHI_ODD,
    I_TARGET_ZBAR,
    I_SPARSE_LOG,
    I_KEEP_TOT,
    I_COST_TOTAL,
    I_MODULATE,
    I_RECORD,
    I_BUF_FROM,
    I_OFF_S,
    I_S,
    I_HAS_COST,
    I_TRACK,
    I_CLOSED,
    I_TEST_START,
    I_PERIOD,
    I_FAMILY,
) = range(17)
F_A, F_AZ, F_BETA, F_LR, F_PSI_SCALE, F_PSI_EXP, F_THETA, F_KAPPA, F_BLOWUP = range(9)


@nb.njit(cache=True)
def _error(z, fx, fy, lengths, cost, ref, use_cost):
    """e = ||h(z) - f||^2 (+ sum_k c_k |z_k - ref_k|); arms as :meth:`.tasks.Task.hand`."""
    if lengths.shape[0] == 0:
        hx, hy = z[0], z[1]
    else:
        s = z[0]
        th = math.pi * s
        hx = lengths[0] * math.sin(th)
        hy = -2.0 + lengths[0] * math.cos(th)
        for k in range(1, z.shape[0]):
            s = s + z[k]
            th = math.pi * s
            hx = hx + lengths[k] * math.sin(th)
            hy = hy + lengths[k] * math.cos(th)
    e = (hx - fx) ** 2 + (hy - fy) ** 2
    if use_cost:
        for k in range(z.shape[0]):
            if cost[k] != 0.0:
                e = e + cost[k] * abs(z[k] - ref[k])
    return e


@nb.njit(cache=True)
def _advance(b, x, r, rT, h, Q, u, a, eps_row, noisy):
    """x <- x + a(-x + J r + Q u); r <- tanh(x) (+ eps): member b, h = (J r_prev)[b]."""
    N, d = x.shape[1], Q.shape[1]
    for n in range(N):
        qu = Q[b, 0, n] * u[0]
        for k in range(1, d):
            qu += Q[b, k, n] * u[k]
        xn = x[b, n] + ((h[b, n] - x[b, n]) + qu) * a
        x[b, n] = xn
        rn = K.tanh(xn)
        if noisy:
            rn += eps_row[n]
        r[b, n] = rn
        rT[n, b] = rn


@nb.njit(cache=True)
def _readout(W, b, r, zz):
    """zz = W[b] r_b. Rows go four (then one) to a pass over r: independent add chains, each row
    still summed in index order."""
    nW, N = W.shape[1], r.shape[1]
    m = 0
    while m + 4 <= nW:
        a0 = a1 = a2 = a3 = 0.0
        for n in range(N):
            rn = r[b, n]
            a0 += W[b, m, n] * rn
            a1 += W[b, m + 1, n] * rn
            a2 += W[b, m + 2, n] * rn
            a3 += W[b, m + 3, n] * rn
        zz[m], zz[m + 1], zz[m + 2], zz[m + 3] = a0, a1, a2, a3
        m += 4
    while m < nW:
        acc = 0.0
        for n in range(N):
            acc += W[b, m, n] * r[b, n]
        zz[m] = acc
        m += 1


@nb.njit(cache=True)
def _gram_check(b, W, d, uses, G, blowup):
    """Gram matrices W1 W1^T, W2 W2^T of member b into G (2, d, d); True if finite and
    ||W||_F <= blowup for both."""
    nW = W.shape[1]
    ok = True
    for p in range(2):
        if not uses[p]:
            continue
        off = 0 if p == 0 else nW - d
        fro = 0.0
        for k in range(d):
            for j in range(d):
                acc = 0.0
                for n in range(W.shape[2]):
                    acc += W[b, off + k, n] * W[b, off + j, n]
                G[p, k, j] = acc
            fro += G[p, k, k]
        if not (math.isfinite(fro) and math.sqrt(fro) <= blowup):
            ok = False
        for k in range(d):
            for j in range(d):
                if not math.isfinite(G[p, k, j]):
                    ok = False
    return ok


@nb.njit(cache=True)
def train_block(
    t0,
    t1,
    ip,
    fp,
    J_indptr,
    J_indices,
    J_data,
    Q,
    x,
    r,
    u,
    zbar,
    zbar_tot,
    ebar,
    edisp,
    psi,
    W,
    P,
    buf,
    eps,
    xi,
    fx,
    fy,
    lengths,
    cost,
    gain,
    bgm,
    live,
    gate_open,
    rls_n,
    blow_step,
    tr_z,
    tr_e,
    tr_D,
    tr_ebar,
    grams,
    rec0,
    uses,
):
    """Training steps t0..t1 (1-based, inclusive) of the live members; motor.md, 'Per-step ordering' lines 1-9."""
    B, N, d = x.shape[0], x.shape[1], Q.shape[1]
    nW = W.shape[1]
    model, re, S = ip[I_MODEL], ip[I_RECORD], ip[I_S]
    st, force = model == SUPERTREX, model == FORCE
    sparse_log, modulate = ip[I_SPARSE_LOG] != 0, ip[I_MODULATE] != 0
    keep_tot, cost_total, has_cost = ip[I_KEEP_TOT] != 0, ip[I_COST_TOTAL] != 0, ip[I_HAS_COST] != 0
    buf_from, off_S = ip[I_BUF_FROM], ip[I_OFF_S]
    a, a_z, beta, lr = fp[F_A], fp[F_AZ], fp[F_BETA], fp[F_LR]
    keep_z, keep_e, step_e, keep_d = 1.0 - a_z, EBAR_KEEP, 1.0 - EBAR_KEEP, 1.0 - beta
    h, rT = np.zeros((B, N)), np.empty((N, B))
    for b in range(B):
        for n in range(N):
            rT[n, b] = r[b, n]
    zz, z, z2, k = np.zeros(nW), np.zeros(d), np.zeros(d), np.zeros(N)
    ints, dbls = np.array([N, 1], dtype=np.int32), np.zeros(2)
    uplo = np.array([K.UPLO_L], dtype=np.uint8)
    V, nv = np.zeros((B, K.RLS_DEFER, N)), np.zeros(B, dtype=np.int64)  # deferred P downdates
    for t in range(t0, t1 + 1):
        i, j = (t - 1) % S, (t - 1) % eps.shape[0]
        K.spmm(J_indptr, J_indices, J_data, r, rT, h, live)
        rls_step = t % RLS_EVERY == 0
        for b in range(B):
            if not live[b]:
                continue
            _advance(b, x, r, rT, h, Q, u[b], a, eps[j, b], True)  # lines 1-2
            _readout(W, b, r, zz)  # line 3
            if force:
                for q in range(d):
                    z[q] = zz[q]
            else:
                pe = psi[b] * bgm[b] if modulate else psi[b]  # CURRENT psi
                for q in range(d):
                    z2[q] = zz[nW - d + q] + pe * xi[j, b, q]
                    z[q] = zz[q] + z2[q] if st else z2[q]
            if t == 1:  # initialisation step
                for q in range(d):
                    zbar[b, q] = z[q]
                    zbar_tot[b, q] = z[q]
                e = _error(z, fx[i], fy[i], lengths, cost, z, has_cost)
                ebar[b] = e
                e_log = 0.0 if (force and sparse_log) else e
            elif force:
                e_log = 0.0
                if rls_step or not sparse_log:
                    e_log = _error(z, fx[i], fy[i], lengths, cost, z, False)
                if rls_step:  # FORCE, no forgetting
                    c = K.rls_gain(P[b], V[b], nv[b], r[b], k, ints, dbls, uplo)
                    nv[b] = K.rls_downdate(P[b], V[b], nv[b], k, c, ints, dbls, uplo)
                    for q in range(d):
                        g = c * (z[q] - (fx[i] if q == 0 else fy[i]))
                        for n in range(N):
                            W[b, q, n] -= g * k[n]
                    rls_n[b] += 1
            else:
                for q in range(d):  # line 4 (update first)
                    zbar[b, q] = zbar[b, q] * keep_z + a_z * z2[q]
                    if keep_tot:
                        zbar_tot[b, q] = zbar_tot[b, q] * keep_z + a_z * z[q]
                ref = zbar_tot[b] if cost_total else zbar[b]
                e = _error(z, fx[i], fy[i], lengths, cost, ref, has_cost)  # line 5
                ebar[b] = ebar[b] * keep_e + step_e * e  # line 6 (update first)
                psi[b] = fp[F_PSI_SCALE] * (10.0 * ebar[b]) ** fp[F_PSI_EXP]  # line 7 (next step)
                ehat = e - ebar[b]  # line 8
                mag = PHI_GAIN * abs(ehat) ** PHI_EXP
                ph = (-mag if ip[I_PHI_ODD] != 0 else 0.0) if ehat > 0 else mag
                coef = lr * ph
                if modulate:
                    coef = coef * gain[b]
                for q in range(d):
                    g = coef * (z2[q] - zbar[b, q])
                    for n in range(N):
                        W[b, nW - d + q, n] += g * r[b, n]
                if st and rls_step:  # line 9: gated RLS
                    eb = ebar[b]
                    G = 0.5 * (1.0 - math.tanh(GATE_SLOPE * (abs(eb) - fp[F_THETA])))
                    if eb < fp[F_THETA] and gate_open[b] < 0:
                        gate_open[b] = t
                    if G >= GATE_SKIP:
                        c = K.rls_gain(P[b], V[b], nv[b], r[b], k, ints, dbls, uplo)
                        nv[b] = K.rls_downdate(P[b], V[b], nv[b], k, c * G, ints, dbls, uplo)
                        gk = fp[F_KAPPA] * G * c
                        for q in range(d):
                            sq = gk * (zbar[b, q] if ip[I_TARGET_ZBAR] != 0 else z2[q])
                            for n in range(N):
                                W[b, q, n] += sq * k[n]
                        rls_n[b] += 1
                e_log = e
            edisp[b] = e_log if t == 1 else edisp[b] * keep_d + beta * e_log
            if buf_from >= 0 and t > buf_from:
                for q in range(d):
                    buf[b, (t - 1) % off_S, q] = z[q]
            for q in range(d):
                u[b, q] = z[q]
            if t % re == 0:
                idx = t // re - 1
                for q in range(d):
                    tr_z[b, idx, q] = z[q]
                tr_e[b, idx], tr_D[b, idx], tr_ebar[b, idx] = e_log, math.sqrt(edisp[b]), ebar[b]
                ok = _gram_check(b, W, d, uses, grams[b, idx - rec0], fp[F_BLOWUP])
                for q in range(d):
                    ok = ok and math.isfinite(z[q])
                if not (ok and math.isfinite(tr_D[b, idx])):
                    live[b] = False
                    blow_step[b] = t
    for b in range(B):  # P complete at every stretch end (state, resume)
        nv[b] = K.rls_fold(P[b], V[b], nv[b], ints, uplo)
    return t1


@nb.njit(cache=True)
def test_block(
    t0,
    t1,
    ip,
    fp,
    J_indptr,
    J_indices,
    J_data,
    Q,
    x,
    r,
    u,
    zbar,
    zbar_tot,
    edisp,
    dev_sum,
    joint_path,
    W,
    buf,
    f,
    lengths,
    cost,
    live,
    blow_step,
    tr_z,
    tr_e,
    tr_D,
):
    """Test steps t0..t1: frozen weights, no noise, teacher-forced (or closed-loop) input."""
    B, N, d = x.shape[0], x.shape[1], Q.shape[1]
    nW = W.shape[1]
    st, re, S = ip[I_MODEL] == SUPERTREX, ip[I_RECORD], ip[I_S]
    has_cost, track, closed = ip[I_HAS_COST] != 0, ip[I_TRACK] != 0, ip[I_CLOSED] != 0
    off_S, test_start, period = ip[I_OFF_S], ip[I_TEST_START], ip[I_PERIOD]
    a_z, beta = fp[F_AZ], fp[F_BETA]
    keep_z, keep_d = 1.0 - a_z, 1.0 - beta
    h, rT = np.zeros((B, N)), np.empty((N, B))
    for b in range(B):
        for n in range(N):
            rT[n, b] = r[b, n]
    zz, z, uin, none = np.zeros(nW), np.zeros(d), np.zeros(d), np.zeros((1, N))
    for t in range(t0, t1 + 1):
        i = (t - 1) % S
        K.spmm(J_indptr, J_indices, J_data, r, rT, h, live)
        for b in range(B):
            if not live[b]:
                continue
            for q in range(d):
                if closed:
                    uin[q] = u[b, q]
                elif ip[I_FAMILY] == 1:
                    uin[q] = f[i, q]  # teacher forcing: f_t
                else:
                    uin[q] = buf[b, (t - 1) % off_S, q]  # z(t - 5S)
            _advance(b, x, r, rT, h, Q, uin, fp[F_A], none[0], False)
            _readout(W, b, r, zz)
            for q in range(d):
                z[q] = zz[q] + zz[nW - d + q] if st else zz[q]
            ref = zbar[b]
            if track:
                for q in range(d):
                    zbar_tot[b, q] = zbar_tot[b, q] * keep_z + a_z * z[q]
                ref = zbar_tot[b]
            elif has_cost and st:  # keeps filtering z2 (= 0)
                for q in range(d):
                    zbar[b, q] = zbar[b, q] * keep_z + a_z * zz[nW - d + q]
            e = _error(z, f[i, 0], f[i, 1], lengths, cost, ref, has_cost)
            edisp[b] = edisp[b] * keep_d + beta * e
            dev_sum[b] += math.sqrt(edisp[b])
            for q in range(d):
                if t > test_start:  # not the lesion's jump
                    joint_path[b, period, q] += abs(z[q] - u[b, q])
                u[b, q] = z[q]
            if t % re == 0:
                idx = t // re - 1
                ok = math.isfinite(edisp[b])
                for q in range(d):
                    tr_z[b, idx, q] = z[q]
                    ok = ok and math.isfinite(z[q])
                tr_e[b, idx], tr_D[b, idx] = e, math.sqrt(edisp[b])
                if not ok:
                    live[b] = False
                    blow_step[b] = t
    return t1
