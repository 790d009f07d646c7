"""Datasets of the perturb study (adversarial.md, 'Data'), offline only: nothing is ever downloaded.

``load_dataset(cfg)`` returns x_train (n, C, N, N) float32 in [0, 1] (unless contaminated),
y_train int64, x_test, y_test.  Subsets are deterministic: the first n per class in file order.
Sources: Fashion-MNIST IDX files (Debian package dataset-fashion-mnist), MNIST IDX / CIFAR-10 pickles
from a local folder named by ``root``, scikit-learn's bundled digits, and the synthetic dataset
(reconstruction).  A ``contamination`` key adds the Fourier-feature patterns of adversarial.md, 'Fourier-feature
contamination experiment (C4)'. The prepare rule stores the result as the ``perturb.images`` table, with the md5 of
every file read in its provenance (``sources``).

Files are checked against the published md5 checksums before they are read, and CIFAR-10
batches are unpickled by :class:`_BatchUnpickler`, which builds numpy arrays and nothing else:
a batch file is data, never code.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from learndyn.io import Table, read_provenance, read_table, write_table
from learndyn.perturb.idx import IMAGES_MAGIC, LABELS_MAGIC, idx_bytes, parse_idx

FASHION_ROOT = "/usr/share/datasets/fashion-mnist"
N_CLASSES = 10
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TV_FOLDER = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST"}
# synthetic defaults (adversarial.md, 'Data').  a, b tuned once (28x28, 100/class): an L2 logistic regression scores
# 0.98 / 0.92 / 0.80 / 0.57 at b = 1 / 1.5 / 2 / 3 (a = 1); b = 2 keeps it well above chance and below 100%
SYNTH_DEFAULTS = {"size": 28, "channels": 1, "seed": 0, "r_t": 3.0, "alpha": 1.0, "a": 1.0, "b": 2.0, "shift": 2}


# Published md5 checksums, as torchvision lists them: per IDX file (gzip file, uncompressed content:
# Debian's dataset-fashion-mnist recompresses the .gz files, so there only the content matches) and
# per CIFAR-10 python batch.
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
        "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
        "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
        "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
        "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
        "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
    },
    "cifar10": {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
    },
}


class DatasetError(FileNotFoundError):
    """A dataset that is missing or malformed; the message names the config key and the layout."""


class ChecksumError(DatasetError):
    """A dataset file whose md5 is not the published one (corrupt, truncated or another file)."""


def md5(blob: bytes) -> str:
    return hashlib.md5(blob, usedforsecurity=False).hexdigest()  # integrity against published sums


def _mismatch(path: Path, found: str, expected: str, key: str) -> ChecksumError:
    return ChecksumError(
        f"{path}: md5 {found}, expected the published {expected}: a corrupt, truncated or "
        f"different file; replace it with the published one (or, for a deliberate local "
        f"variant, set {key}.verify_md5: false)"
    )


# numpy's array and scalar reconstruction: all a CIFAR-10 batch pickle may build
_NUMPY_OK = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}  # how Python 3 writes bytes at protocol 2 (torch's weights_only allows it too)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch (dicts, lists, bytes, numbers, numpy arrays) and refuses any other
    class or function, so that a crafted batch cannot run code (pickle.load would call anything)."""

    def find_class(self, module, name):
        if (module, name) not in _NUMPY_OK:
            raise pickle.UnpicklingError(
                f"refused {module}.{name}: a CIFAR-10 batch holds only numpy arrays "
                "(the file is not a CIFAR-10 python batch, or was crafted)"
            )
        if module == "_codecs":
            import codecs

            return codecs.encode
        if name == "_frombuffer":
            from numpy._core.numeric import _frombuffer

            return _frombuffer
        if name in ("_reconstruct", "scalar"):
            import numpy._core.multiarray as ma  # not numpy.core: deprecated alias of the same module

            return getattr(ma, name)
        return getattr(np, name)


# -- file-backed datasets -------------------------------------------------------------------------
def _find_idx(root: Path, stem: str, name: str, key: str) -> Path:
    for folder in (root, root / _TV_FOLDER[name] / "raw"):
        for suffix in (".gz", ""):
            if (folder / (stem + suffix)).is_file():
                return folder / (stem + suffix)
    raise DatasetError(
        f"{key}.root = {str(root)!r}: no {stem}[.gz] for {name}. Expected the four IDX files "
        f"(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, "
        f"gzipped or raw) in that folder or in <root>/{_TV_FOLDER[name]}/raw/. "
        + (
            "Fashion-MNIST: install the Debian package dataset-fashion-mnist (`make setup`), which puts them in "
            f"{FASHION_ROOT}."
            if name == "fashion_mnist"
            else "Nothing is downloaded at run time: copy the files there and point the key at the folder."
        )
    )


def _read_idx_checked(path: Path, name: str, stem: str, magic: int, key: str, verify: bool, sums: dict):
    """An IDX file's array, after its md5 (file or uncompressed content) is checked against the published one."""
    content = idx_bytes(path)
    found_file, found = md5(path.read_bytes()), md5(content)
    sums[path.name] = {"md5": found_file, "uncompressed_md5": found}  # Debian's .gz: only the content matches
    published_gz, published = MD5[name][stem]
    if verify and published_gz != found_file and published != found:
        raise _mismatch(
            path, f"{found_file} (uncompressed {found})", f"{published_gz} ({stem}.gz; uncompressed {published})", key
        )
    return parse_idx(content, path, magic)


def _load_idx_dataset(name: str, root: Path, key: str, verify: bool = True) -> dict:
    out, sums = {}, {}
    for split, (img, lab) in _IDX_FILES.items():
        x = _read_idx_checked(_find_idx(root, img, name, key), name, img, IMAGES_MAGIC, key, verify, sums)
        y = _read_idx_checked(_find_idx(root, lab, name, key), name, lab, LABELS_MAGIC, key, verify, sums)
        if x.ndim != 3 or len(x) != len(y):
            raise DatasetError(f"{key}.root: {split} images {x.shape} do not match labels {y.shape}")
        out[f"x_{split}"] = x[:, None].astype(np.float32) / 255.0  # ToTensor: [0, 1], no normalisation
        out[f"y_{split}"] = y.astype(np.int64)
    out["sources"] = sums
    return out


def _load_cifar10(root: Path, key: str, verify: bool = True) -> dict:
    folder = next((f for f in (root / "cifar-10-batches-py", root) if (f / "test_batch").is_file()), None)
    if folder is None:
        raise DatasetError(
            f"{key}.root = {str(root)!r}: no CIFAR-10 python batches. Expected <root>/cifar-10-batches-py/ "
            "(or <root>/) holding data_batch_1..5 and test_batch (the 'python version' archive, unpacked). "
            "Nothing is downloaded at run time: point the key at a local copy."
        )

    def batch(name: str):
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"{key}.root: {path} missing (need data_batch_1..5 and test_batch)")
        blob = path.read_bytes()
        sums[name] = {"md5": md5(blob)}
        if verify and sums[name]["md5"] != MD5["cifar10"][name]:  # before unpickling anything
            raise _mismatch(path, sums[name]["md5"], MD5["cifar10"][name], key)
        try:  # the archive's own format: dicts with bytes keys (Python 2 pickles)
            d = _BatchUnpickler(io.BytesIO(blob), encoding="bytes").load()
            data, labels = np.asarray(d[b"data"]), d[b"labels"]
        except (pickle.UnpicklingError, EOFError, TypeError, KeyError, ValueError, AttributeError) as err:
            raise DatasetError(f"{path}: not a CIFAR-10 python batch: {err}") from None
        if data.shape[1] != 3072:
            raise DatasetError(f"{path}: rows of {data.shape[1]} values, expected 3072 (3 planes of 32x32)")
        return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, np.asarray(labels, dtype=np.int64)

    sums = {}
    train = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = batch("test_batch")
    return {
        "x_train": np.concatenate([b[0] for b in train]),
        "y_train": np.concatenate([b[1] for b in train]),
        "x_test": x_test,
        "y_test": y_test,
        "sources": sums,
    }


def _load_digits(size: int, seed: int) -> dict:
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).numpy()
    idx_train, idx_test = train_test_split(np.arange(len(x)), test_size=0.3, stratify=d.target, random_state=seed)
    idx_train, idx_test = np.sort(idx_train), np.sort(idx_test)  # keep file order inside each split
    return {
        "x_train": np.clip(x[idx_train], 0, 1),
        "y_train": d.target[idx_train].astype(np.int64),
        "x_test": np.clip(x[idx_test], 0, 1),
        "y_test": d.target[idx_test].astype(np.int64),
    }


# -- synthetic dataset (reconstruction) -------------------------------------------------------------
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
