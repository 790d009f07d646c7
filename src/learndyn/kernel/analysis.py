"""Per-run analyses of the multitask experiment (pseudo_kernel.md, 'Analyses'): t = 0 pseudo-kernel structure, hidden
representations over training, their embedding, and k-means + ARI against the predicted groups.

Embedding: M-PHATE (``m-phate``) is not installed here, so the documented substitute is PCA
fitted on all (snapshot × item) rows of one array pooled (pseudo_kernel.md, 'Hidden representations over training');
every table and caption that shows it says ``embedding = pca``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from learndyn.kernel import decompose as dc
from learndyn.kernel import multitask as mt
from learndyn.kernel.pseudo_kernel import multitask_closed_form
from learndyn.kernel.tables import (  # noqa: F401 (schemas: tables.py)
    ARI,
    EIGVEC,
    EMBED,
    EMBEDDING,
    GROUPINGS,
    GROUPS,
    HIDDEN,
)

PREDICTED = {"input": dc.PREDICTED_INPUT_GROUPS, "task": dc.PREDICTED_TASK_GROUPS}


def kernel_t0(net: mt.TaskNet, data: mt.TaskData) -> np.ndarray:
    """P (N, N, 9) on train × train (pseudo_kernel.md, 'Per-output eigen/SVD decomposition at t = 0' default), closed
    form in float64."""
    x, y = data.x.double(), data.y.double()
    return multitask_closed_form(
        net.W1.double(), net.W2.double(), x, x, y, b1=net.b1.double(), b2=net.b2.double()
    ).numpy()


def t0_structure(run: str, inits: dict[str, mt.TaskNet], train: mt.TaskData, modes, n_keep: int, kmeans_seed: int = 10):
    """Eigenvector table, grouping table and t = 0 silhouettes {(init, mode): value}."""
    labels = mt.grouping_labels(train)
    eig_rows, group_frames, silhouettes = [], [], {}
    for init, net in inits.items():
        P = kernel_t0(net, train)
        for mode in modes:
            dec = dc.decompose(P, mode, n_keep=n_keep)
            E = dc.leading_vectors(dec)
            silhouettes[(init, mode)] = dc.silhouette_of_leading(E, random_state=kmeans_seed)
            lam = np.real(dec.values[:, 0])
            for k in range(E.shape[1]):
                eig_rows.append(
                    pd.DataFrame(
                        {
                            "run": run,
                            "init": init,
                            "mode": mode,
                            "output": k,
                            "example": np.arange(len(E)),
                            "v": E[:, k],
                            "eigenvalue": float(lam[k]),
                            "task": labels["task"],
                            "input": labels["input"],
                            "ill_posed": dec.ill_posed,
                        }
                    )
                )
            g = dc.grouping_table(dec, {k: labels[k] for k in ("task", "input")})
            group_frames.append(g.assign(run=run, init=init).drop(columns=["mode"]).assign(mode=mode))
    eig = pd.concat(eig_rows, ignore_index=True)
    groups = pd.concat(group_frames, ignore_index=True)[[c for c, _ in GROUPS.columns]]
    return eig, groups, silhouettes


@torch.no_grad()
def hidden_averages(net: mt.TaskNet, data: mt.TaskData) -> dict[str, np.ndarray]:
    """grouping -> (n_items, H) mean hidden pattern per item (NaN rows for absent items)."""
    h = net.hidden(data.x.float()).numpy()
    out = {}
    for grouping, lab in mt.grouping_labels(data).items():
        avg = np.full((GROUPINGS[grouping], h.shape[1]), np.nan, np.float32)
        for item in range(GROUPINGS[grouping]):
            sel = lab == item
            if sel.any():
                avg[item] = h[sel].mean(0)
        out[grouping] = avg
    return out


def embed(arr: np.ndarray, dims: int = 2) -> np.ndarray:
    """PCA of (snapshots, items, H) with all present rows pooled: (snapshots, items, dims)."""
    flat = arr.reshape(-1, arr.shape[-1]).astype(np.float64)
    ok = np.isfinite(flat).all(1)
    centred = flat[ok] - flat[ok].mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    out = np.full((flat.shape[0], dims), np.nan)
    out[ok] = centred @ vt[:dims].T
    return out.reshape(*arr.shape[:2], dims)


def ari_at(points: np.ndarray, grouping: str, seed: int) -> float:
    """k-means (k = number of predicted groups) on the present items vs the predicted labels."""
    pred = PREDICTED[grouping]
    ok = np.isfinite(points).all(1)
    if ok.sum() <= len(np.unique(pred[ok])):
        return float("nan")
    return dc.kmeans_ari(points[ok], pred[ok], n_clusters=len(np.unique(pred)), seed=seed)


def relative_weight_change(w0: dict, w1: dict) -> float:
    """‖W_T − W_0‖ / ‖W_0‖ over all weights (rich vs lazy diagnostic, pseudo_kernel.md, 'Baselines')."""
    num = sum(float(((w1[k] - w0[k]) ** 2).sum()) for k in w0)
    den = sum(float((w0[k] ** 2).sum()) for k in w0)
    return float(np.sqrt(num / den))
