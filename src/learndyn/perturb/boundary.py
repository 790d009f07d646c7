"""Distance from each image to the model's nearest decision boundary (claim R1; docs/perturb_r1.md).

The distance is a minimal-norm attack (foolbox DeepFool, FMN or DDN) started from the model's **own
prediction**, not the label, so it is defined for every image, also the (many) ones an untrained
model gets wrong.  It is reported in pixel units and in two data scales of the same norm:

* ``x_norm``: the median norm of the dataset's training images (the data's typical size);
* ``nn_other``: the median, over the attacked images, of the distance to the nearest training
  image of another class (the clean-data spread: a classifier right on both images must put a
  boundary on the segment between them, so a distance of order ``nn_other`` or more means "no
  adversarial example closer than a real image of another class").

Each (image, checkpoint) gets a ``reason``: ``ok`` (the attack reached another class; ``dist``
is its norm), ``attack_failed`` (it did not within its steps: NaN), ``flat`` (the input-gradient of
the top-2 logit margin is zero at x, e.g. a constant model: no boundary a gradient attack can
reach; NaN), ``on_boundary`` (the top two logits tie at x: distance 0), ``nonfinite`` (NaN or infinite
logits, e.g. a diverged run: NaN).  Never a silent 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from learndyn.perturb.attacks import _as_inputs, _check_spec, _preprocessing, build_attack, wrap

NORM_OF_KIND = {"deepfool": "l2", "l2fmn": "l2", "ddn": "l2", "linf_fmn": "linf"}
REASONS = ("ok", "attack_failed", "flat", "on_boundary", "nonfinite")
TIE_TOL = 1e-6  # relative tolerance of a logit tie (float32 logits)
FLAT_TOL = 1e-10  # input-gradient norm below which the margin is flat


def _ord(norm: str):
    return 2 if norm == "l2" else np.inf


def _logits(model, x, pre):
    if pre is None:
        return model(x)
    shape = [1] * x.ndim
    shape[pre["axis"]] = -1
    mean = torch.as_tensor(pre.get("mean", 0.0), dtype=x.dtype, device=x.device).reshape(shape)
    std = torch.as_tensor(pre.get("std", 1.0), dtype=x.dtype, device=x.device).reshape(shape)
    return model((x - mean) / std)


def boundary_distance(
    model: torch.nn.Module, images, spec: dict, *, bounds=(0.0, 1.0), preprocessing=None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Per image: ``pred``, top-2 logit ``gap``, ``dist`` (norm of the attack's kind), ``reason`` and the
    flattened minimal perturbation ``delta`` (meaningful where the reason is ``ok``)."""
    norm = NORM_OF_KIND.get(spec.get("kind"))
    if norm is None:
        raise ValueError(
            f"boundary attack: kind must be one of {sorted(NORM_OF_KIND)} (minimal-norm), got {spec.get('kind')!r}"
        )
    x, _ = _as_inputs(model, images, torch.zeros(len(images), dtype=torch.int64), bounds)
    fmodel = wrap(model, bounds, preprocessing)
    xg = x.clone().requires_grad_(True)
    z = _logits(model, xg, _preprocessing(preprocessing))
    top = z.topk(2, dim=1) if z.shape[1] > 1 else None
    if top is None:
        raise ValueError("boundary attack: the model has a single output, no decision boundary")
    pred = top.indices[:, 0]
    margin = top.values[:, 0] - top.values[:, 1]
    (g,) = torch.autograd.grad(margin.sum(), xg)  # images are independent in eval mode
    gnorm = g.flatten(1).norm(dim=1)
    gap = margin.detach()
    scale = top.values.detach().abs().amax(dim=1).clamp_min(1.0)
    bad = ~torch.isfinite(z.detach()).all(dim=1).cpu().numpy()
    flat = (gnorm <= FLAT_TOL * scale).cpu().numpy() & ~bad
    tie = (gap <= TIE_TOL * scale).cpu().numpy() & ~flat & ~bad
    delta, dist, ok = _run(fmodel, x, pred.detach(), spec, seed, norm)
    if spec["kind"] in ("l2fmn", "linf_fmn") and (~ok).any():
        # FMN's first radius is the linearised distance; where that is exact it sits on the boundary
        # without crossing and never records an adversarial: retry those images once with 10x smaller steps
        retry = dict(spec, max_stepsize=float(spec.get("max_stepsize", 1.0)) / 10)
        idx = np.flatnonzero(~ok)
        delta[idx], dist[idx], ok[idx] = _run(fmodel, x[idx], pred.detach()[idx], retry, seed, norm)
    reason = np.where(ok, "ok", "attack_failed").astype(object)
    reason[tie], reason[flat], reason[bad] = "on_boundary", "flat", "nonfinite"
    dist = np.where(ok, dist, np.nan)
    dist[tie], dist[flat], dist[bad] = 0.0, np.nan, np.nan
    return {
        "delta": delta,
        "pred": pred.cpu().numpy(),
        "gap": gap.cpu().numpy().astype(np.float64),
        "dist": dist,
        "reason": reason.astype(str),
        "norm": norm,
    }


def _run(fmodel, x, labels, spec, seed, norm):
    fb_attack, _ = build_attack(spec)
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        _, clipped, success = fb_attack(fmodel, x, labels, epsilons=None)
    d = (clipped - x).flatten(1).detach().cpu().numpy().astype(np.float64)
    return d, np.linalg.norm(d, ord=_ord(norm), axis=1), success.cpu().numpy().astype(bool)


def data_scales(x_train: np.ndarray, y_train: np.ndarray, n_attacked: int, norm: str, chunk: int = 256) -> dict:
    """``x_norm`` (median norm of the training images) and ``nn_other`` (median over the first
    ``n_attacked`` images of the distance to the nearest training image of another class)."""
    flat = np.asarray(x_train, np.float32).reshape(len(x_train), -1)
    y = np.asarray(y_train)
    o = _ord(norm)
    x_norm = float(np.median(np.linalg.norm(flat, ord=o, axis=1)))
    nearest = np.empty(n_attacked)
    for i in range(n_attacked):
        other = flat[y != y[i]]
        best = np.inf
        for k in range(0, len(other), chunk * 16):
            best = min(best, float(np.linalg.norm(other[k : k + chunk * 16] - flat[i], ord=o, axis=1).min()))
        nearest[i] = best
    return {"x_norm": x_norm, "nn_other": float(np.median(nearest))}


def boundary_specs(attack_cfg: dict) -> dict[str, dict]:
    """``perturb.attack.boundary``: name -> minimal-norm attack spec (empty: no boundary table rows)."""
    specs = attack_cfg.get("boundary") or {}
    if not isinstance(specs, dict):
        raise TypeError(f"perturb.attack.boundary: expected a mapping name -> attack spec, got {specs!r}")
    for name, spec in specs.items():
        if not isinstance(spec, dict) or spec.get("kind") not in NORM_OF_KIND:
            raise ValueError(
                f"perturb.attack.boundary.{name}: kind must be one of {sorted(NORM_OF_KIND)} "
                f"(a minimal-norm attack), got {spec!r}"
            )
        try:
            _check_spec(spec)
        except ValueError as err:
            raise ValueError(f"perturb.attack.boundary.{name}: {err}") from None
    return specs


def boundary_frame(result: dict, *, step: int, labels, attack: str, kind: str, scales: dict) -> pd.DataFrame:
    """One checkpoint's rows of the boundary table (run columns and epoch added by the caller)."""
    n = len(result["dist"])
    return pd.DataFrame(
        {
            "step": int(step),
            "attack": attack,
            "kind": kind,
            "norm": result["norm"],
            "image": np.arange(n),
            "label": np.asarray(labels, np.int64),
            "pred": result["pred"].astype(np.int64),
            "correct": result["pred"] == np.asarray(labels),
            "gap": result["gap"],
            "dist": result["dist"],
            "dist_x": result["dist"] / scales["x_norm"],
            "dist_nn": result["dist"] / scales["nn_other"],
            "x_norm": scales["x_norm"],
            "nn_other": scales["nn_other"],
            "reason": result["reason"],
        }
    )


__all__ = [
    "NORM_OF_KIND",
    "REASONS",
    "boundary_distance",
    "boundary_frame",
    "boundary_specs",
    "data_scales",
]
