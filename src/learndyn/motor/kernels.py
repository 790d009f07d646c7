"""Compiled building blocks of the motor engine's step loop (:mod:`.fused`): J r on a packed CSR,
the RLS gain and deferred downdates of P through scipy's BLAS, and tanh.

P is kept in its upper triangle only (row-major; BLAS, column-major, sees it as "L");
:func:`symmetrize` restores the full matrix when the state is exported.
"""

from __future__ import annotations

import ctypes
import math

import llvmlite.binding as llvm
import numba as nb
import numpy as np
from numba import types
from scipy.linalg import cython_blas


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


RLS_DEFER = 16  # rank-1 downdates of P held back and folded in together (BLAS-3 dsyrk)


@nb.njit(cache=True)
def rls_gain(P, V, nv, r, k, ints, dbls, uplo):
    """k = P r for P = P0 - sum_i<nv V_i V_i^T: P0's upper triangle by BLAS dsymv, then the
    pending downdates (Woodbury: the same k, without touching P's 8 MB each time);
    returns c = 1 / (1 + r.k)."""
    dbls[0], dbls[1] = 1.0, 0.0
    _dsymv(
        uplo.ctypes.data,
        ints.ctypes.data,
        dbls.ctypes.data,
        P.ctypes.data,
        ints.ctypes.data,
        r.ctypes.data,
        ints[1:].ctypes.data,
        dbls[1:].ctypes.data,
        k.ctypes.data,
        ints[1:].ctypes.data,
    )
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
def rls_fold(P, V, nv, ints, uplo):
    """P0 <- P0 - V[:nv]^T V[:nv] on the upper triangle (BLAS dsyrk, one pass over P); returns 0."""
    if nv > 0:
        trans, kn, ab = np.array([78], dtype=np.uint8), np.array([nv], dtype=np.int32), np.array([-1.0, 1.0])
        _dsyrk(
            uplo.ctypes.data,
            trans.ctypes.data,
            ints.ctypes.data,
            kn.ctypes.data,
            ab.ctypes.data,
            V.ctypes.data,
            ints.ctypes.data,
            ab[1:].ctypes.data,
            P.ctypes.data,
            ints.ctypes.data,
        )
    return 0


@nb.njit(cache=True)
def rls_downdate(P, V, nv, k, alpha, ints, dbls, uplo):
    """P <- P - alpha k k^T, deferred: sqrt(alpha) k joins the pending rows V, folded into P when
    RLS_DEFER of them are held (alpha < 0 cannot be a V V^T term: applied at once, BLAS dsyr).
    Returns the new number of pending rows."""
    if alpha < 0.0:
        nv = rls_fold(P, V, nv, ints, uplo)
        dbls[0] = -alpha
        _dsyr(
            uplo.ctypes.data,
            ints.ctypes.data,
            dbls.ctypes.data,
            k.ctypes.data,
            ints[1:].ctypes.data,
            P.ctypes.data,
            ints.ctypes.data,
        )
        return nv
    s = math.sqrt(alpha)
    for n in range(k.shape[0]):
        V[nv, n] = s * k[n]
    nv += 1
    return rls_fold(P, V, nv, ints, uplo) if nv == V.shape[0] else nv


LANES = 4  # J r's partial sums per row; every row of the packed J is padded to a multiple of it


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
def spmm(indptr, indices, data, r, rT, out, live):
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
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0  # s<lane><member>
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
def tanh(x):
    """tanh(x) as 1 - 2 / (e^(2x) + 1): within 5e-16 of libm's tanh (absolute; the rates are O(1)
    and carry noise of 2.5e-2) at half its cost, and exact at the limits (+-1, NaN stays NaN)."""
    return 1.0 - 2.0 / (math.exp(2.0 * x) + 1.0)
