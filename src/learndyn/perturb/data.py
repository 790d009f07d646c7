"""Datasets of the perturb study (adversarial.md, 'Data'), offline only: nothing is ever downloaded.

``load_dataset(cfg)`` returns x_train (n, C, N, N) float32 in [0, 1] (unless contaminated),
y_train int64, x_test, y_test.  Subsets are deterministic: the first n per class in file order.
Sources: the published datasets (:mod:`learndyn.perturb.published`: Fashion-MNIST, MNIST, CIFAR-10,
scikit-learn's digits) and the synthetic dataset (:mod:`learndyn.perturb.synthetic`, reconstruction).
A ``contamination`` key adds the Fourier-feature patterns of adversarial.md, 'Fourier-feature
contamination experiment (C4)'. The prepare rule stores the result as the ``perturb.images`` table, with the md5 of
every file read in its provenance (``sources``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from learndyn.io import Table, read_provenance, read_table, write_table
from learndyn.perturb.published import (
    FASHION_ROOT,
    N_CLASSES,
    DatasetError,
    _load_cifar10,
    _load_digits,
    _load_idx_dataset,
)
from learndyn.perturb.synthetic import synthetic


# -- Fourier-feature contamination (adversarial.md, 'Fourier-feature contamination experiment (C4)')
# --------------------------------------------------------
def contamination_patterns(spec: dict, channels: int, n: int) -> np.ndarray:
    """P_c = eps · Z ⊙ M per class and channel (complex-free, fftshifted frequency layout), own seed."""
    rng = np.random.default_rng(int(spec["seed"]))
    z = rng.standard_normal((N_CLASSES, channels, n, n))
    m = rng.random((N_CLASSES, channels, n, n)) < float(spec["p"])
    return float(spec["eps"]) * z * m


def contaminate(x: np.ndarray, y: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """x' = Re(IDFT(ifftshift(fftshift(DFT x) + P_y))): unnormalised DFT, float32, no clipping.

    P_c is not Hermitian-symmetric, so taking the real part symmetrises it (authors' recipe).
    """
    spec = np.fft.fftshift(np.fft.fft2(x.astype(np.float64)), axes=(-2, -1))
    out = np.fft.ifft2(np.fft.ifftshift(spec + patterns[y], axes=(-2, -1))).real
    return out.astype(np.float32)


# -- subsets and the entry point ---------------------------------------------------------------------
def first_per_class(y: np.ndarray, n: int, key: str) -> np.ndarray:
    """Indices of the first ``n`` examples of each class, in file order."""
    idx = []
    for c in range(N_CLASSES):
        hits = np.flatnonzero(y == c)[:n]
        if len(hits) < n:
            raise DatasetError(f"{key}: class {c} has only {len(hits)} examples, {n} requested")
        idx.append(hits)
    return np.sort(np.concatenate(idx))


def load_dataset(cfg: dict) -> dict[str, np.ndarray]:
    """The dataset described by ``cfg`` (one entry of ``perturb.datasets``), subset and contaminated."""
    key = f"perturb.datasets.{cfg.get('key', cfg['name'])}"
    name = cfg["name"]
    if name in ("fashion_mnist", "mnist"):
        if name == "mnist" and "root" not in cfg:
            raise DatasetError(f"{key}.root: MNIST needs a local folder (IDX files or <root>/MNIST/raw/)")
        full = _load_idx_dataset(name, Path(cfg.get("root", FASHION_ROOT)), key, cfg.get("verify_md5", True))
    elif name == "cifar10":
        if "root" not in cfg:
            raise DatasetError(f"{key}.root: CIFAR-10 needs a local folder holding cifar-10-batches-py/")
        full = _load_cifar10(Path(cfg["root"]), key, cfg.get("verify_md5", True))
    elif name == "digits":
        full = _load_digits(int(cfg.get("size", 16)), int(cfg.get("seed", 0)))
    elif name == "synthetic":
        full = synthetic(cfg)
    else:
        raise DatasetError(f"{key}.name: unknown dataset {name!r}")
    out, index = {}, {}
    for split, per in (("train", cfg["train_per_class"]), ("test", cfg["test_per_class"])):
        idx = (
            np.arange(len(full[f"y_{split}"]))
            if per == "all"
            else first_per_class(full[f"y_{split}"], int(per), f"{key}.{split}_per_class")
        )
        out[f"x_{split}"], out[f"y_{split}"], index[split] = full[f"x_{split}"][idx], full[f"y_{split}"][idx], idx
    if "contamination" in cfg:
        pats = contamination_patterns(cfg["contamination"], out["x_train"].shape[1], out["x_train"].shape[-1])
        for split in ("train", "test"):  # the same patterns serve train and test
            out[f"x_{split}"] = contaminate(out[f"x_{split}"], out[f"y_{split}"], pats)
    out["index_train"], out["index_test"] = index["train"], index["test"]
    out["sources"] = full.get("sources", {})  # file name -> {md5, ...} of every file read (none: generated data)
    return out


# -- the prepared-images table --------------------------------------------------------------------------
# Generated data (the synthetic set, any contaminated set) are cheap to remake and deterministic, so their
# table stores the recipe, labels and a sha256 of the pixels instead of the pixels (~16 MB per dataset):
# read_images regenerates them and refuses a result whose hash differs (another numpy, a changed generator).
IMAGE_LABELS = Table("perturb.image_labels", (("split", pa.string()), ("index", pa.int64()), ("label", pa.int64())))


def images_table(n_values: int) -> Table:
    return Table(
        "perturb.images",
        (
            ("split", pa.string()),
            ("index", pa.int64()),
            ("label", pa.int64()),
            ("pixels", pa.list_(pa.float32(), n_values)),
        ),
    )


def regenerable(cfg: dict) -> bool:
    """A dataset remade from its config alone (seeded generator and/or seeded contamination)."""
    return cfg.get("name") == "synthetic" or "contamination" in cfg


def pixels_sha256(data: dict) -> str:
    h = hashlib.sha256()
    for split in ("train", "test"):
        h.update(np.ascontiguousarray(data[f"x_{split}"], np.float32).tobytes())
    return h.hexdigest()


def images_frame(data: dict, pixels: bool = True) -> pd.DataFrame:
    parts = []
    for split in ("train", "test"):
        x = data[f"x_{split}"]
        part = {"split": split, "index": data[f"index_{split}"], "label": data[f"y_{split}"]}
        if pixels:
            part["pixels"] = list(x.reshape(len(x), -1))
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def write_images(data: dict, path, prov: dict, recipe: dict | None = None) -> None:
    """The images table; with ``recipe`` (a :func:`regenerable` dataset config) labels + recipe + pixel hash only."""
    shape = [int(s) for s in data["x_train"].shape[1:]]
    if recipe is None:
        write_table(images_frame(data), path, images_table(int(np.prod(shape))), {**prov, "shape": shape})
        return
    if not regenerable(recipe):
        raise ValueError(
            f"write_images: {recipe.get('key', recipe.get('name'))!r} is not generated data "
            "(synthetic or contaminated): store its pixels"
        )
    write_table(
        images_frame(data, pixels=False),
        path,
        IMAGE_LABELS,
        {**prov, "shape": shape, "storage": "recipe", "recipe": recipe, "pixels_sha256": pixels_sha256(data)},
    )


def read_images(path) -> dict[str, np.ndarray]:
    """The prepared dataset: x_/y_/index_ train and test (file order), and ``shape`` (C, N, N)."""
    prov = read_provenance(path)
    shape = tuple(prov["shape"])
    if prov.get("storage") == "recipe":
        return _regenerate(path, prov, shape)
    n_values = pq.read_schema(path).field("pixels").type.list_size
    df = read_table(path, images_table(n_values))
    out = {"shape": shape}
    for split in ("train", "test"):
        part = df[df["split"] == split]
        out[f"x_{split}"] = (
            np.stack(part["pixels"].to_numpy()).astype(np.float32).reshape(-1, *shape)
            if len(part)
            else np.zeros((0, *shape), np.float32)
        )
        out[f"y_{split}"] = part["label"].to_numpy(np.int64)
        out[f"index_{split}"] = part["index"].to_numpy(np.int64)
    return out


def _regenerate(path, prov: dict, shape: tuple) -> dict[str, np.ndarray]:
    df = read_table(path, IMAGE_LABELS)
    data = load_dataset(prov["recipe"])
    for split in ("train", "test"):
        part = df[df["split"] == split]
        if not (
            np.array_equal(part["label"].to_numpy(np.int64), data[f"y_{split}"])
            and np.array_equal(part["index"].to_numpy(np.int64), data[f"index_{split}"])
        ):
            raise DatasetError(
                f"{path}: the regenerated {split} labels / indices differ from the stored ones; "
                "rerun prepare_perturb_dataset"
            )
    if pixels_sha256(data) != prov["pixels_sha256"]:
        raise DatasetError(
            f"{path}: the regenerated pixels differ from those prepared (sha256 "
            f"{pixels_sha256(data)[:12]} != {prov['pixels_sha256'][:12]}: another numpy or a changed "
            "generator); rerun prepare_perturb_dataset"
        )
    return {
        "shape": shape,
        **{k: data[k] for k in ("x_train", "y_train", "x_test", "y_test", "index_train", "index_test")},
    }
