"""Compiled step loop of the numpy engine (spec §10.8): the per-step Python overhead removed.

One call of :func:`train_block` / :func:`test_block` runs a stretch of steps (inside one
period and one pre-drawn noise block) for the B members of a batch, with the same per-step
ordering as the spec (§2) and :mod:`.simulate`'s torch loop:

* J r for every member in one pass over a row-padded CSR J (:func:`pack_J`), each row summed in
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

P is kept in its upper triangle only (row-major); :func:`symmetrize` restores the full matrix
when the state is exported. The weight norms are computed from the recorded Gram matrices
afterwards (:mod:`.simulate`), vectorised over a block of records.
"""
from __future__ import annotations

import ctypes
import math

import llvmlite.binding as llvm
import numba as nb
import numpy as np
from numba import types
from scipy.linalg import cython_blas

from .rules import EBAR_KEEP, GATE_SKIP, GATE_SLOPE, PHI_EXP, PHI_GAIN, RLS_EVERY

FORCE, RMHL, SUPERTREX = 0, 1, 2
MODEL_IDS = {"force": FORCE, "rmhl": RMHL, "supertrex": SUPERTREX}
# Slots of the integer / float parameter vectors (one vector each keeps the call signature fixed).
I_MODEL, I_PHI_ODD, I_TARGET_ZBAR, I_SPARSE_LOG, I_KEEP_TOT, I_COST_TOTAL, I_MODULATE, I_RECORD, \
    I_BUF_FROM, I_OFF_S, I_S, I_HAS_COST, I_TRACK, I_CLOSED, I_TEST_START, I_PERIOD, I_FAMILY = range(17)
F_A, F_AZ, F_BETA, F_LR, F_PSI_SCALE, F_PSI_EXP, F_THETA, F_KAPPA, F_BLOWUP = range(9)


def _blas(name: str, n_args: int):
    """A Fortran BLAS routine of scipy's own library, callable from compiled code by symbol name
    (registered with LLVM at import, so the compiled kernels can be cached on disk)."""
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype, api.PyCapsule_GetName.argtypes = ctypes.c_char_p, [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    cap = cython_blas.__pyx_capi__[name]
    symbol = f"learndyn_scipy_blas_{name}"
    llvm.add_symbol(symbol, api.PyCapsule_GetPointer(cap, api.PyCapsule_GetName(cap)))
    return types.ExternalFunction(symbol, types.void(*([types.voidptr] * n_args)))


_dsymv = _blas("dsymv", 10)
_dsyr = _blas("dsyr", 7)
_dsyrk = _blas("dsyrk", 10)
# BLAS is column-major: its lower triangle ("L") of a C-ordered P is our upper triangle.
UPLO_L = 76


@nb.njit(cache=True)
def symmetrize(P):
    """Copy the live upper triangle of each (N, N) matrix onto its lower one, in place."""
    for b in range(P.shape[0]):
        for i in range(P.shape[1]):
            for j in range(i):
                P[b, i, j] = P[b, j, i]


RLS_DEFER = 16   # rank-1 downdates of P held back and folded in together (BLAS-3 dsyrk)


@nb.njit(cache=True)
def _rls_gain(P, V, nv, r, k, ints, dbls, uplo):
    """k = P r for P = P0 - sum_i<nv V_i V_i^T: P0's upper triangle by BLAS dsymv, then the
    pending downdates (Woodbury: the same k, without touching P's 8 MB each time);
    returns c = 1 / (1 + r.k)."""
    dbls[0], dbls[1] = 1.0, 0.0
    _dsymv(uplo.ctypes.data, ints.ctypes.data, dbls.ctypes.data, P.ctypes.data, ints.ctypes.data,
           r.ctypes.data, ints[1:].ctypes.data, dbls[1:].ctypes.data, k.ctypes.data, ints[1:].ctypes.data)
    N = r.shape[0]
    for i in range(nv):
        w = 0.0
        for n in range(N):
            w += V[i, n] * r[n]
        for n in range(N):
            k[n] -= w * V[i, n]
    rk = 0.0
    for n in range(N):
        rk += r[n] * k[n]
    return 1.0 / (1.0 + rk)


@nb.njit(cache=True)
def _fold(P, V, nv, ints, uplo):
    """P0 <- P0 - V[:nv]^T V[:nv] on the upper triangle (BLAS dsyrk, one pass over P); returns 0."""
    if nv > 0:
        trans, kn, ab = np.array([78], dtype=np.uint8), np.array([nv], dtype=np.int32), np.array([-1.0, 1.0])
        _dsyrk(uplo.ctypes.data, trans.ctypes.data, ints.ctypes.data, kn.ctypes.data, ab.ctypes.data,
               V.ctypes.data, ints.ctypes.data, ab[1:].ctypes.data, P.ctypes.data, ints.ctypes.data)
    return 0


@nb.njit(cache=True)
def _downdate(P, V, nv, k, alpha, ints, dbls, uplo):
    """P <- P - alpha k k^T, deferred: sqrt(alpha) k joins the pending rows V, folded into P when
    RLS_DEFER of them are held (alpha < 0 cannot be a V V^T term: applied at once, BLAS dsyr).
    Returns the new number of pending rows."""
    if alpha < 0.0:
        nv = _fold(P, V, nv, ints, uplo)
        dbls[0] = -alpha
        _dsyr(uplo.ctypes.data, ints.ctypes.data, dbls.ctypes.data, k.ctypes.data, ints[1:].ctypes.data,
              P.ctypes.data, ints.ctypes.data)
        return nv
    s = math.sqrt(alpha)
    for n in range(k.shape[0]):
        V[nv, n] = s * k[n]
    nv += 1
    return _fold(P, V, nv, ints, uplo) if nv == V.shape[0] else nv


LANES = 4   # J r's partial sums per row; every row of the packed J is padded to a multiple of it


def pack_J(J) -> tuple:
    """J (scipy CSR, sorted indices) in the compiled J r's layout: each row zero-padded to a
    multiple of LANES entries, unsigned row pointers and column indices (16-bit where N allows:
    J streams from cache every step). A padding entry is 0 * r_0, which adds an exact zero."""
    counts = np.diff(J.indptr)
    padded = -(-counts // LANES) * LANES
    indptr = np.zeros(J.shape[0] + 1, dtype=np.uint64)
    np.cumsum(padded, out=indptr[1:])
    slot = np.repeat(indptr[:-1].astype(np.int64) - J.indptr[:-1], counts) + np.arange(J.nnz)
    indices = np.zeros(int(indptr[-1]), dtype=np.uint16 if J.shape[1] <= 1 << 16 else np.uint32)
    data = np.zeros(int(indptr[-1]))
    indices[slot], data[slot] = J.indices, J.data
    return indptr, indices, data


@nb.njit(cache=True)
def _spmm(indptr, indices, data, r, rT, out, live):
    """out[b] = J r_b for the live members, on :func:`pack_J`'s layout.

    Each row sum runs in LANES = 4 interleaved partial sums, added as (s0 + s1) + (s2 + s3): four
    independent add chains instead of one (2x faster than a single running sum), in a fixed order,
    so a member's value does not depend on B or its place in the batch (batched == single, bit for
    bit). Four members share each pass over J (rT is (N, B): their rates side by side). Unsigned
    loop indices spare numba's negative-index wraparound on every load."""
    B, one, two, three, four = r.shape[0], np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    b = 0
    while b + 4 <= B:
        if live[b] or live[b + 1] or live[b + 2] or live[b + 3]:
            for i in range(indptr.shape[0] - 1):
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0      # s<lane><member>
                s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
                k, end = indptr[i], indptr[i + 1]
                while k < end:
                    v, j = data[k], np.uint64(indices[k])
                    s00 += v * rT[j, b]
                    s01 += v * rT[j, b + 1]
                    s02 += v * rT[j, b + 2]
                    s03 += v * rT[j, b + 3]
                    v, j = data[k + one], np.uint64(indices[k + one])
                    s10 += v * rT[j, b]
                    s11 += v * rT[j, b + 1]
                    s12 += v * rT[j, b + 2]
                    s13 += v * rT[j, b + 3]
                    v, j = data[k + two], np.uint64(indices[k + two])
                    s20 += v * rT[j, b]
                    s21 += v * rT[j, b + 1]
                    s22 += v * rT[j, b + 2]
                    s23 += v * rT[j, b + 3]
                    v, j = data[k + three], np.uint64(indices[k + three])
                    s30 += v * rT[j, b]
                    s31 += v * rT[j, b + 1]
                    s32 += v * rT[j, b + 2]
                    s33 += v * rT[j, b + 3]
                    k += four
                out[b, i] = (s00 + s10) + (s20 + s30)
                out[b + 1, i] = (s01 + s11) + (s21 + s31)
                out[b + 2, i] = (s02 + s12) + (s22 + s32)
                out[b + 3, i] = (s03 + s13) + (s23 + s33)
        b += 4
    while b < B:
        if live[b]:
            rb = r[b]
            for i in range(indptr.shape[0] - 1):
                s0 = s1 = s2 = s3 = 0.0
                k, end = indptr[i], indptr[i + 1]
                while k < end:
                    s0 += data[k] * rb[indices[k]]
                    s1 += data[k + one] * rb[indices[k + one]]
                    s2 += data[k + two] * rb[indices[k + two]]
                    s3 += data[k + three] * rb[indices[k + three]]
                    k += four
                out[b, i] = (s0 + s1) + (s2 + s3)
        b += 1


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
def _tanh(x):
    """tanh(x) as 1 - 2 / (e^(2x) + 1): within 5e-16 of libm's tanh (absolute; the rates are O(1)
    and carry noise of 2.5e-2) at half its cost, and exact at the limits (+-1, NaN stays NaN)."""
    return 1.0 - 2.0 / (math.exp(2.0 * x) + 1.0)


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
        rn = _tanh(xn)
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
            for l in range(d):
                acc = 0.0
                for n in range(W.shape[2]):
                    acc += W[b, off + k, n] * W[b, off + l, n]
                G[p, k, l] = acc
            fro += G[p, k, k]
        if not (math.isfinite(fro) and math.sqrt(fro) <= blowup):
            ok = False
        for k in range(d):
            for l in range(d):
                if not math.isfinite(G[p, k, l]):
                    ok = False
    return ok


@nb.njit(cache=True)
def train_block(t0, t1, ip, fp, J_indptr, J_indices, J_data, Q, x, r, u, zbar, zbar_tot, ebar,
                edisp, psi, W, P, buf, eps, xi, fx, fy, lengths, cost, gain, bgm, live,
                gate_open, rls_n, blow_step, tr_z, tr_e, tr_D, tr_ebar, grams, rec0, uses):
    """Training steps t0..t1 (1-based, inclusive) of the live members; spec §2 lines 1-9."""
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
    uplo = np.array([UPLO_L], dtype=np.uint8)
    V, nv = np.zeros((B, RLS_DEFER, N)), np.zeros(B, dtype=np.int64)   # deferred P downdates
    for t in range(t0, t1 + 1):
        i, j = (t - 1) % S, (t - 1) % eps.shape[0]
        _spmm(J_indptr, J_indices, J_data, r, rT, h, live)
        rls_step = t % RLS_EVERY == 0
        for b in range(B):
            if not live[b]:
                continue
            _advance(b, x, r, rT, h, Q, u[b], a, eps[j, b], True)          # lines 1-2
            _readout(W, b, r, zz)                                          # line 3
            if force:
                for q in range(d):
                    z[q] = zz[q]
            else:
                pe = psi[b] * bgm[b] if modulate else psi[b]               # CURRENT psi
                for q in range(d):
                    z2[q] = zz[nW - d + q] + pe * xi[j, b, q]
                    z[q] = zz[q] + z2[q] if st else z2[q]
            if t == 1:                                                     # initialisation step
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
                if rls_step:                                               # FORCE, no forgetting
                    c = _rls_gain(P[b], V[b], nv[b], r[b], k, ints, dbls, uplo)
                    nv[b] = _downdate(P[b], V[b], nv[b], k, c, ints, dbls, uplo)
                    for q in range(d):
                        g = c * (z[q] - (fx[i] if q == 0 else fy[i]))
                        for n in range(N):
                            W[b, q, n] -= g * k[n]
                    rls_n[b] += 1
            else:
                for q in range(d):                                         # line 4 (update first)
                    zbar[b, q] = zbar[b, q] * keep_z + a_z * z2[q]
                    if keep_tot:
                        zbar_tot[b, q] = zbar_tot[b, q] * keep_z + a_z * z[q]
                ref = zbar_tot[b] if cost_total else zbar[b]
                e = _error(z, fx[i], fy[i], lengths, cost, ref, has_cost)  # line 5
                ebar[b] = ebar[b] * keep_e + step_e * e                    # line 6 (update first)
                psi[b] = fp[F_PSI_SCALE] * (10.0 * ebar[b]) ** fp[F_PSI_EXP]  # line 7 (next step)
                ehat = e - ebar[b]                                         # line 8
                mag = PHI_GAIN * abs(ehat) ** PHI_EXP
                ph = (-mag if ip[I_PHI_ODD] != 0 else 0.0) if ehat > 0 else mag
                coef = lr * ph
                if modulate:
                    coef = coef * gain[b]
                for q in range(d):
                    g = coef * (z2[q] - zbar[b, q])
                    for n in range(N):
                        W[b, nW - d + q, n] += g * r[b, n]
                if st and rls_step:                                        # line 9: gated RLS
                    eb = ebar[b]
                    G = 0.5 * (1.0 - math.tanh(GATE_SLOPE * (abs(eb) - fp[F_THETA])))
                    if eb < fp[F_THETA] and gate_open[b] < 0:
                        gate_open[b] = t
                    if G >= GATE_SKIP:
                        c = _rls_gain(P[b], V[b], nv[b], r[b], k, ints, dbls, uplo)
                        nv[b] = _downdate(P[b], V[b], nv[b], k, c * G, ints, dbls, uplo)
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
    for b in range(B):                      # P complete at every stretch end (state, resume)
        nv[b] = _fold(P[b], V[b], nv[b], ints, uplo)
    return t1


@nb.njit(cache=True)
def test_block(t0, t1, ip, fp, J_indptr, J_indices, J_data, Q, x, r, u, zbar, zbar_tot, edisp,
               dev_sum, joint_path, W, buf, f, lengths, cost, live, blow_step, tr_z, tr_e, tr_D):
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
        _spmm(J_indptr, J_indices, J_data, r, rT, h, live)
        for b in range(B):
            if not live[b]:
                continue
            for q in range(d):
                if closed:
                    uin[q] = u[b, q]
                elif ip[I_FAMILY] == 1:
                    uin[q] = f[i, q]                                       # teacher forcing: f_t
                else:
                    uin[q] = buf[b, (t - 1) % off_S, q]                    # z(t - 5S)
            _advance(b, x, r, rT, h, Q, uin, fp[F_A], none[0], False)
            _readout(W, b, r, zz)
            for q in range(d):
                z[q] = zz[q] + zz[nW - d + q] if st else zz[q]
            ref = zbar[b]
            if track:
                for q in range(d):
                    zbar_tot[b, q] = zbar_tot[b, q] * keep_z + a_z * z[q]
                ref = zbar_tot[b]
            elif has_cost and st:                                          # keeps filtering z2 (= 0)
                for q in range(d):
                    zbar[b, q] = zbar[b, q] * keep_z + a_z * zz[nW - d + q]
            e = _error(z, f[i, 0], f[i, 1], lengths, cost, ref, has_cost)
            edisp[b] = edisp[b] * keep_d + beta * e
            dev_sum[b] += math.sqrt(edisp[b])
            for q in range(d):
                if t > test_start:                                         # not the lesion's jump
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
