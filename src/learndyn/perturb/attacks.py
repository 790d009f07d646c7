"""Adversarial perturbations through foolbox 3 (adversarial.md, 'Attacks'), and the saliency map.

:func:`attack` wraps a model in a foolbox ``PyTorchModel`` (bounds in pixel units, any
normalisation as foolbox ``preprocessing`` so ε is always in pixel units), runs one attack on
the whole batch in a single call and keeps foolbox's *clipped* adversarials.  Every knob that
foolbox defaults differently from the authors (steps, absolute step size, random start) is set
explicitly from ``spec``; nothing is left to foolbox defaults silently.

Attack kinds (``spec["kind"]``):

* ``linf_pgd``: LinfPGD(steps, abs_stepsize, random_start) at ``eps`` (paper-faithful L∞).
* ``l2_pgd``:   L2PGD(steps, abs_stepsize, random_start) at ``eps`` (the L2 frequency probe).
* ``ddn`` / ``l2fmn``: minimal-norm L2 attacks, called with ``epsilons=None``; their ‖δ‖₂ is
  the ‖δ_min‖₂ series.
* ``linf_fmn``: the minimal-norm L∞ attack (FMN), for the L∞ distance to the boundary.
* ``deepfool``: L2 DeepFool on the logit differences (``candidates`` classes, ``overshoot``); exact for
  a linear model up to the overshoot, and unlike DDN (cross-entropy gradient) not biased upward where
  the softmax is flat, i.e. at initialisation (docs/perturb_r1.md).

:func:`boundary_distance` runs a minimal-norm attack from the model's *own prediction* (not the
label): the distance from every image to the nearest decision boundary (R1, docs/perturb_r1.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

KINDS = ("linf_pgd", "l2_pgd", "ddn", "l2fmn", "linf_fmn", "deepfool")
MINIMAL_NORM = ("ddn", "l2fmn", "linf_fmn", "deepfool")


@dataclass
class AttackResult:
    """One attack on a batch.  ``delta`` is x_adv − x where ``correct & success``, zero elsewhere.

    ``correct``: the clean image is classified as its label.  ``success``: foolbox's mask, i.e.
    the clipped adversarial is misclassified (trivially true for most wrongly classified clean
    images, so use ``kept`` = correct & success).  ``l2``/``linf`` are norms of the stored δ.
    """

    delta: np.ndarray
    correct: np.ndarray
    success: np.ndarray
    l2: np.ndarray
    linf: np.ndarray
    pred: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        return self.correct & self.success


def _check_spec(spec: dict) -> dict:
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"attack spec: kind must be one of {KINDS}, got {kind!r} (spec {spec})")
    need = ("steps",) if kind in MINIMAL_NORM else ("eps", "steps", "abs_stepsize", "random_start")
    missing = [k for k in need if k not in spec]
    if missing:
        raise ValueError(
            f"attack spec {kind}: missing keys {missing} (foolbox defaults differ "
            f"from the paper's, so they must be set explicitly); spec {spec}"
        )
    if int(spec["steps"]) < 1:
        raise ValueError(f"attack spec {kind}: steps must be >= 1, got {spec['steps']}")
    if kind not in MINIMAL_NORM and float(spec["eps"]) <= 0:
        raise ValueError(f"attack spec {kind}: eps must be > 0, got {spec['eps']}")
    return spec


def build_attack(spec: dict):
    """The foolbox attack object and the ``epsilons`` argument for ``spec``."""
    import foolbox as fb

    spec = _check_spec(spec)
    kind, steps = spec["kind"], int(spec["steps"])
    if kind == "linf_pgd":
        return fb.attacks.LinfPGD(
            steps=steps, abs_stepsize=float(spec["abs_stepsize"]), random_start=bool(spec["random_start"])
        ), float(spec["eps"])
    if kind == "l2_pgd":
        return fb.attacks.L2PGD(
            steps=steps, abs_stepsize=float(spec["abs_stepsize"]), random_start=bool(spec["random_start"])
        ), float(spec["eps"])
    if kind == "ddn":
        return fb.attacks.DDNAttack(
            steps=steps, init_epsilon=float(spec.get("init_epsilon", 1.0)), gamma=float(spec.get("gamma", 0.05))
        ), None
    if kind == "deepfool":
        return fb.attacks.L2DeepFoolAttack(
            steps=steps,
            candidates=int(spec.get("candidates", 10)),
            overshoot=float(spec.get("overshoot", 0.02)),
            loss="logits",
        ), None
    fmn = _l2fmn_class() if kind == "l2fmn" else fb.attacks.LInfFMNAttack
    return fmn(
        steps=steps, max_stepsize=float(spec.get("max_stepsize", 1.0)), gamma=float(spec.get("gamma", 0.05))
    ), None


def _l2fmn_class():
    """foolbox's L2FMNAttack with its L2-ball projection fixed: in foolbox 3.3.4 ``project`` scales
    by ``min(1, norms / norms)`` = 1 (no projection, and the norm of x instead of x - x0), so the
    attack returns its first adversarial step (norm ~ max_stepsize), not a minimal one
    (tests/perturb/test_boundary.py checks the fix against the linear closed form)."""
    import eagerpy as ep
    import foolbox as fb
    from foolbox.devutils import atleast_kd, flatten

    class L2FMN(fb.attacks.L2FMNAttack):
        def project(self, x, x0, epsilon):
            norms = ep.maximum(flatten(x - x0).norms.l2(axis=-1), 1e-12)
            return x0 + (x - x0) * atleast_kd(ep.minimum(1, epsilon / norms), x.ndim)

    return L2FMN


def _device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _preprocessing(preprocessing):
    """foolbox preprocessing dict; mean/std on the channel axis (−3) unless told otherwise."""
    if preprocessing is None:
        return None
    pre = dict(preprocessing)
    pre.setdefault("axis", -3)
    for key in ("mean", "std"):  # foolbox wants 1-D arrays with an axis, not floats or lists
        if key in pre:
            pre[key] = np.atleast_1d(np.asarray(pre[key], dtype=np.float32))
    return pre


def wrap(model: torch.nn.Module, bounds=(0.0, 1.0), preprocessing=None):
    """foolbox PyTorchModel of ``model`` in eval mode on the model's own device."""
    import foolbox as fb

    model.eval()
    lo, hi = (float(b) for b in bounds)
    if not lo < hi:
        raise ValueError(f"attack bounds must satisfy lower < upper, got {bounds}")
    return fb.PyTorchModel(model, bounds=(lo, hi), device=_device(model), preprocessing=_preprocessing(preprocessing))


def _tensor(a, dtype, dev) -> torch.Tensor:
    """A fresh tensor (arrays read from Parquet are read-only; torch warns on those)."""
    if torch.is_tensor(a):
        return a.detach().to(device=dev, dtype=dtype).clone()
    return torch.tensor(np.array(a), dtype=dtype, device=dev)


def _as_inputs(model, images, labels, bounds):
    dev = _device(model)
    x, y = _tensor(images, torch.float32, dev), _tensor(labels, torch.int64, dev)
    if x.ndim != 4 or y.shape != (x.shape[0],):
        raise ValueError(f"attack: images must be (B,C,N,N) and labels (B,), got {tuple(x.shape)} and {tuple(y.shape)}")
    lo, hi = bounds
    if x.numel() and (float(x.min()) < lo - 1e-6 or float(x.max()) > hi + 1e-6):
        raise ValueError(
            f"attack: images span [{float(x.min()):.4g}, {float(x.max()):.4g}] outside "
            f"bounds {bounds}; pass the data range as bounds (adversarial.md, 'Fourier-feature "
            "contamination experiment (C4)')"
        )
    return x, y


def attack(
    model: torch.nn.Module, images, labels, spec: dict, *, bounds=(0.0, 1.0), preprocessing=None, seed: int = 0
) -> AttackResult:
    """Attack every image of the batch in one foolbox call; deterministic given ``seed``.

    The random start draws from torch's global generator, so the call runs inside a forked RNG
    state seeded with ``seed`` (the caller's RNG stream is left untouched).
    """
    x, y = _as_inputs(model, images, labels, bounds)
    fmodel = wrap(model, bounds, preprocessing)
    fb_attack, eps = build_attack(spec)
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        with torch.no_grad():
            pred = fmodel(x).argmax(-1)
        _, clipped, success = fb_attack(fmodel, x, y, epsilons=eps)
    correct = pred == y
    kept = correct & success
    delta = torch.where(kept[:, None, None, None], clipped - x, torch.zeros_like(x))
    flat = delta.flatten(1)
    return AttackResult(
        delta=delta.detach().cpu().numpy().astype(np.float32),
        correct=correct.cpu().numpy(),
        success=success.cpu().numpy().astype(bool),
        l2=flat.norm(dim=1).cpu().numpy().astype(np.float32),
        linf=flat.abs().amax(dim=1).cpu().numpy().astype(np.float32) if flat.shape[1] else np.zeros(len(x), np.float32),
        pred=pred.cpu().numpy(),
    )


def saliency(model: torch.nn.Module, images, *, preprocessing=None) -> np.ndarray:
    """g(x) = ∂ logit_ŷ(x) / ∂x at the clean image, ŷ the predicted class (raw, not normalised).

    Any normalisation is applied inside, so g is a gradient with respect to pixel values.
    """
    model.eval()
    dev = _device(model)
    x = _tensor(images, torch.float32, dev).requires_grad_(True)
    if x.ndim != 4:
        raise ValueError(f"saliency: images must be (B,C,N,N), got {tuple(x.shape)}")
    pre = _preprocessing(preprocessing)
    z = x
    if pre is not None:
        shape = [1] * x.ndim
        shape[pre["axis"]] = -1
        mean = torch.as_tensor(pre.get("mean", 0.0), dtype=x.dtype, device=dev).reshape(shape)
        std = torch.as_tensor(pre.get("std", 1.0), dtype=x.dtype, device=dev).reshape(shape)
        z = (x - mean) / std
    logits = model(z)
    top = logits.gather(1, logits.argmax(1, keepdim=True)).sum()  # images are independent in eval mode
    (g,) = torch.autograd.grad(top, x)
    return g.detach().cpu().numpy().astype(np.float32)
