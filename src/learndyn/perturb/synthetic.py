"""The synthetic dataset of the perturb study (adversarial.md, 'Data'; reconstruction): low-frequency class
templates plus 1/f^alpha noise, with circular jitter."""

from __future__ import annotations

import numpy as np

from learndyn.perturb.published import N_CLASSES, DatasetError

# synthetic defaults (adversarial.md, 'Data').  a, b tuned once (28x28, 100/class): an L2 logistic regression scores
# 0.98 / 0.92 / 0.80 / 0.57 at b = 1 / 1.5 / 2 / 3 (a = 1); b = 2 keeps it well above chance and below 100%
SYNTH_DEFAULTS = {"size": 28, "channels": 1, "seed": 0, "r_t": 3.0, "alpha": 1.0, "a": 1.0, "b": 2.0, "shift": 2}


def _radius(n: int) -> np.ndarray:
    k = np.fft.fftfreq(n, 1.0 / n)  # integer frequencies in numpy's order
    return np.hypot(k[:, None], k[None, :])


def _standardise(a: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=(-2, -1), keepdims=True)
    return a / a.std(axis=(-2, -1), keepdims=True)


def _random_field(rng: np.random.Generator, shape: tuple, weight: np.ndarray) -> np.ndarray:
    """Real part of the inverse DFT of complex Gaussian coefficients times ``weight``, standardised."""
    coef = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * weight
    return _standardise(np.fft.ifft2(coef).real)


def synthetic(cfg: dict) -> dict:
    """Class templates (low-frequency, r <= r_t) + 1/f^alpha noise, circular jitter (adversarial.md, 'Data')."""
    p = {**SYNTH_DEFAULTS, **{k: v for k, v in cfg.items() if k in SYNTH_DEFAULTS}}
    n, c = int(p["size"]), int(p["channels"])
    if "all" in (cfg["train_per_class"], cfg["test_per_class"]):
        raise DatasetError(
            "perturb.datasets.<synthetic>.train_per_class/test_per_class: the synthetic set needs "
            "numbers (it has no 'all')"
        )
    n_train, n_test = cfg["train_per_class"] * N_CLASSES, cfg["test_per_class"] * N_CLASSES
    s_templates, s_train, s_test = np.random.SeedSequence(int(p["seed"])).spawn(3)  # independent streams
    r = _radius(n)
    templates = _random_field(np.random.default_rng(s_templates), (N_CLASSES, c, n, n), (r <= p["r_t"]) * 1.0)
    # sd of a*T + b*noise is ~sqrt(a^2 + b^2); 0.5 / (3 sd) keeps clipping well under 1% of pixels
    sigma = 0.5 / (3.0 * np.hypot(p["a"], p["b"]))
    noise_w = 1.0 / np.maximum(r, 1.0) ** p["alpha"]

    def draw(seq, count):
        rng = np.random.default_rng(seq)
        y = np.tile(np.arange(N_CLASSES), count // N_CLASSES)  # interleaved classes: first n per class = prefix
        shifts = rng.integers(-p["shift"], p["shift"] + 1, size=(count, 2))
        x = np.empty((count, c, n, n), dtype=np.float64)
        for i in range(count):
            x[i] = np.roll(templates[y[i]], tuple(shifts[i]), axis=(-2, -1))
        x = p["a"] * x + p["b"] * _random_field(rng, (count, c, n, n), noise_w)
        return np.clip(0.5 + sigma * x, 0.0, 1.0).astype(np.float32), y.astype(np.int64)

    x_train, y_train = draw(s_train, n_train)
    x_test, y_test = draw(s_test, n_test)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
