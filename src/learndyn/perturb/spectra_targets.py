"""Targets 3 and 4 of the frequency analysis (adversarial.md, 'Quantitative metrics'): the end-to-end predictor
of linear models with its class differences, and the spectra of conv / locally connected filters.  Their
spectra go through the same metrics as the perturbations' (:mod:`learndyn.perturb.spectra`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from learndyn.perturb.spectra import metrics_from_power


def linear_predictor(model, in_shape) -> np.ndarray:
    """beta_c = d logit_c / dx at x = 0, shape (n_classes, C, N, N) (constant in x for a linear model).

    All classes in one backward pass: row c of a batch of zeros receives the gradient of logit c
    (samples do not interact in eval mode).
    """
    import torch

    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        probe = model(torch.zeros((1, *in_shape), dtype=dtype))
        n_classes = probe.shape[-1]
        x = torch.zeros((n_classes, *in_shape), dtype=dtype, requires_grad=True)
        logits = model(x)
        (grad,) = torch.autograd.grad(logits.diagonal().sum(), x)
    finally:
        model.train(was_training)
    return grad.detach().cpu().numpy().astype(np.float64)


def class_difference(beta: np.ndarray, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """beta_y - beta_{c*} per image, c* the wrong class nearest in L2: argmin (z_y - z_c)/||beta_y - beta_c||.

    For a linear model this is (up to sign and scale) the L2-minimal adversarial direction while the box
    constraint is inactive.  Shapes: beta (n_classes, C, N, N), logits (B, n_classes), labels (B,).
    """
    beta = np.asarray(beta, dtype=np.float64)
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    flat = beta.reshape(beta.shape[0], -1)
    gram = flat @ flat.T
    sq = np.diag(gram)[:, None] + np.diag(gram)[None, :] - 2 * gram  # ||beta_a - beta_b||^2
    rows = np.arange(len(labels))
    margin = logits[rows, labels][:, None] - logits
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = margin / np.sqrt(sq[labels])
    dist[rows, labels] = np.inf
    nearest = np.argmin(dist, axis=1)
    return beta[labels] - beta[nearest]


def _pad_power(kernels: np.ndarray, n: int) -> np.ndarray:
    """|DFT|^2 of (..., K, K) kernels zero-padded to n x n (placement does not change |DFT|), fftshifted."""
    k = kernels.shape[-1]
    if k > n:
        raise ValueError(f"kernel size {k} exceeds the image side {n}")
    spec = np.fft.fft2(kernels.astype(np.float64), s=(n, n))
    return np.fft.fftshift(spec.real**2 + spec.imag**2, axes=(-2, -1))


def _lc_kernels(module) -> np.ndarray | None:
    """(L, C_out, C_in, K, K) kernels of a locally connected layer (weight (L, C_out, C_in*K*K)), else None."""
    weight = getattr(module, "weight", None)
    if weight is None or weight.ndim != 3:
        return None
    k = getattr(module, "kernel_size", None)
    k = k[0] if isinstance(k, (tuple, list)) else k
    if k is None:
        return None
    w = weight.detach().cpu().numpy()
    c_in = w.shape[2] // (k * k)
    return w.reshape(w.shape[0], w.shape[1], c_in, k, k)


def filter_spectra(model, n: int | None = None, *, r0: float | None = None) -> pd.DataFrame:
    """One row per conv / locally connected layer: mean kernel power spectrum and its adversarial.md, 'Quantitative
    metrics' metrics.

    Power is averaged over output and input channels (LC: also over positions).  For LC layers
    ``position_var`` = mean_k Var_positions(P_l(k)) / mean_k P(k)^2 and ``weight_departure`` =
    sum_l ||W_l - mean W||^2 / sum_l ||W_l||^2 measure the departure from weight sharing (0 for a conv).
    ``n`` (image side) defaults to ``model.in_shape[-1]`` when the model carries it.
    """
    import torch

    if n is None:
        shape = getattr(model, "in_shape", None)
        if shape is None:
            raise ValueError("filter_spectra needs the image side n (the model has no in_shape attribute)")
        n = int(shape[-1])
    rows, powers = [], []
    layer = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            w = module.weight.detach().cpu().numpy()
            p = _pad_power(w, n).reshape(-1, n, n).mean(axis=0)
            extra = {"kind": "conv", "position_var": 0.0, "weight_departure": 0.0}
            k = w.shape[-1]
        else:
            w = _lc_kernels(module)
            if w is None:
                continue
            per_pos = _pad_power(w, n).mean(axis=(1, 2))  # (L, n, n)
            p = per_pos.mean(axis=0)
            flat = w.reshape(w.shape[0], -1).astype(np.float64)
            dev = ((flat - flat.mean(axis=0)) ** 2).sum() / max((flat**2).sum(), 1e-300)
            extra = {
                "kind": "lc",
                "position_var": float(per_pos.var(axis=0).mean() / max((p**2).mean(), 1e-300)),
                "weight_departure": float(dev),
            }
            k = w.shape[-1]
        metrics = {key: float(val[0]) for key, val in metrics_from_power(p[None], r0=r0).items()}
        rows.append({"layer": layer, "module": name, "kernel": int(k), **extra, **metrics})
        powers.append(p.ravel())
        layer += 1
    df = pd.DataFrame(rows)
    df["power"] = powers
    return df
