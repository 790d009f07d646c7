"""Per-output decomposition of the t = 0 pseudo-kernel and the groupings it predicts (pseudo_kernel.md, 'Analyses').

Under a frozen kernel the residual along eigen-direction i decays like (1 − ηλ_i)^t, so
examples with similar components in the leading eigenvector move together: they are
predicted to share representation. Eigenvector signs are arbitrary; everything that
reads them uses |v| or sign-invariant statistics (Euclidean silhouette).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

MODES = ("sorted", "svd", "authors")

# Predicted groupings (pseudo_kernel.md, 'Predicted groupings').
PREDICTED_INPUT_GROUPS = np.array([0, 1, 2] * 4)  # stimulus unit 3i + f → feature f
PREDICTED_TASK_GROUPS = np.repeat(np.arange(4), 3)  # task 3i + g → input dimension i

__all__ = [
    "MODES",
    "PREDICTED_INPUT_GROUPS",
    "PREDICTED_TASK_GROUPS",
    "Decomposition",
    "decompose",
    "leading_vectors",
    "silhouette_of_leading",
    "group_order",
    "group_means",
    "grouping_table",
    "kmeans_ari",
]


@dataclass
class Decomposition:
    """values (K, n): eigenvalues (complex) or singular values, in the order used;
    vectors (K, n_keep, N_train) real; ill_posed flags the authors' cross-matrix variant."""

    values: np.ndarray
    vectors: np.ndarray
    mode: str
    ill_posed: bool


def decompose(P, mode: str = "sorted", n_keep: int = 10) -> Decomposition:
    """Decompose each output's kernel P[:, :, k] (P of shape (N_probe, N_train, K)).

    sorted (default): eig of P_k (train × train, must be square), sorted by |λ| descending;
        vectors = real part, renormalised to unit norm.
    svd: singular vectors of P_k, train-indexed side (right singular vectors).
    authors: eig of P_kᵀ in solver order (unsorted), imaginary parts dropped, no
        renormalisation; "1st" = first returned. With probe = test this is a train × test
        cross-matrix, so its eigenvectors are ill-posed; kept only for fidelity comparisons.
    """
    P = np.asarray(P, dtype=np.float64)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    n_probe, n_train, n_out = P.shape
    if mode in ("sorted", "authors") and n_probe != n_train:
        raise ValueError("eig needs a square kernel (N_probe == N_train)")
    values, vectors = [], []
    for k in range(n_out):
        Pk = P[:, :, k]
        if mode == "svd":
            _, s, vh = np.linalg.svd(Pk)
            values.append(s)
            vectors.append(vh[:n_keep])  # rows: unit right singular vectors, train side
            continue
        lam, vec = np.linalg.eig(Pk.T if mode == "authors" else Pk)
        if mode == "sorted":
            order = np.argsort(-np.abs(lam), kind="stable")
            lam, vec = lam[order], vec[:, order]
            v = vec[:, :n_keep].real
            v = v / np.linalg.norm(v, axis=0, keepdims=True).clip(min=np.finfo(float).tiny)
        else:
            v = vec[:, :n_keep].real
        values.append(lam)
        vectors.append(v.T)
    return Decomposition(np.stack(values), np.stack(vectors), mode, mode == "authors")


def leading_vectors(dec: Decomposition, which: int = 0) -> np.ndarray:
    """E (N_train, K): column k = vector `which` of output k (pseudo_kernel.md, 't = 0 structure vs final
    performance')."""
    return dec.vectors[:, which, :].T


def silhouette_of_leading(E: np.ndarray, n_clusters: int = 12, n_init: int = 10, random_state: int = 10) -> float:
    """Silhouette (Euclidean) of KMeans(12) on the rows of E: the t = 0 structure score."""
    labels = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state).fit_predict(E)
    return float(silhouette_score(E, labels, metric="euclidean"))


def group_order(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort of examples by group (for the 3 × 3 group plots) and the positions
    where a new group starts (vertical lines)."""
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    boundaries = np.flatnonzero(np.diff(sorted_labels)) + 1
    return order, boundaries


def group_means(v: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean |v| per group (NaN for an empty group): the heat-map companion of pseudo_kernel.md, 'Group plots'."""
    v = np.abs(np.asarray(v))
    labels = np.asarray(labels)
    out = np.full(n_groups, np.nan)
    for g in range(n_groups):
        sel = labels == g
        if sel.any():
            out[g] = v[sel].mean()
    return out


def grouping_table(dec: Decomposition, labels: dict[str, np.ndarray], which: int = 0) -> pd.DataFrame:
    """Long table: one row per (output unit k, grouping, group) with mean |v_k| and the
    eigenvalue. labels: grouping name → per-train-example group id (−1 = excluded),
    e.g. multitask.grouping_labels(train) restricted to "task" and "input"."""
    rows = []
    for k in range(dec.vectors.shape[0]):
        v = dec.vectors[k, which]
        lam = dec.values[k, which]
        for name, lab in labels.items():
            lab = np.asarray(lab)
            n_groups = int(lab.max()) + 1
            for g, m in enumerate(group_means(v, lab, n_groups)):
                rows.append(
                    dict(
                        output=k,
                        out_group=k // 3,
                        out_feature=k % 3,
                        grouping=name,
                        group=g,
                        mean_abs=m,
                        n=int((lab == g).sum()),
                        value_real=float(np.real(lam)),
                        value_imag=float(np.imag(lam)),
                        mode=dec.mode,
                        ill_posed=dec.ill_posed,
                    )
                )
    return pd.DataFrame(rows)


def kmeans_ari(points: np.ndarray, predicted: np.ndarray, n_clusters: int | None = None, seed: int = 0) -> float:
    """Adjusted Rand index between k-means clusters of `points` (items × dims, e.g. the
    12 averaged patterns) and a predicted grouping (pseudo_kernel.md, 'Grouping agreement, k-means + ARI')."""
    predicted = np.asarray(predicted)
    k = n_clusters or len(np.unique(predicted))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(np.asarray(points, float))
    return float(adjusted_rand_score(predicted, labels))
