"""The published datasets of the perturb study (adversarial.md, 'Data'), read from local files only: nothing
is ever downloaded.  Fashion-MNIST IDX files (Debian package dataset-fashion-mnist), MNIST IDX / CIFAR-10
pickles from a local folder named by ``root``, and scikit-learn's bundled digits.

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

from learndyn.perturb.idx import IMAGES_MAGIC, LABELS_MAGIC, idx_bytes, parse_idx

FASHION_ROOT = "/usr/share/datasets/fashion-mnist"
N_CLASSES = 10  # every dataset of the study, the synthetic one too
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TV_FOLDER = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST"}


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
