"""Perturb data (adversarial.md, 'Data', 'Fourier-feature contamination experiment (C4)'): our IDX reader, the dataset
loaders, subsets, synthetic data, contamination."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from learndyn.io import PROVENANCE_KEY
from learndyn.perturb import published
from learndyn.perturb.data import contaminate, contamination_patterns, load_dataset, read_images, write_images
from learndyn.perturb.idx import IdxError, read_idx, write_idx
from learndyn.perturb.published import ChecksumError, DatasetError
from learndyn.perturb.synthetic import synthetic

FASHION = Path(published.FASHION_ROOT)


def _fake_idx_folder(folder: Path, n_train=40, n_test=20, gz=True) -> dict:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n, (img, lab) in (
        ("train", n_train, published._IDX_FILES["train"]),
        ("test", n_test, published._IDX_FILES["test"]),
    ):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) * 7 % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{img}{suffix}", x)
        write_idx(folder / f"{lab}{suffix}", y)
        arrays[split] = (x, y)
    return arrays


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip_raw_and_gzip(tmp_path, name):
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, x)
    blob = (tmp_path / name).read_bytes()
    raw = gzip.decompress(blob) if name.endswith(".gz") else blob
    assert int.from_bytes(raw[:4], "big") == 2051  # uint8, 3 dims: the images magic number
    got = read_idx(tmp_path / name, expect_magic=2051)
    assert got.dtype == np.uint8 and np.array_equal(got, x)
    labels = np.array([3, 1, 4], dtype=np.uint8)
    write_idx(tmp_path / "l.idx", labels)
    assert np.array_equal(read_idx(tmp_path / "l.idx", expect_magic=2049), labels)


def test_corrupt_idx_files_are_named(tmp_path):
    x = np.zeros((3, 5, 5), dtype=np.uint8)
    write_idx(tmp_path / "ok.idx", x)
    blob = (tmp_path / "ok.idx").read_bytes()
    (tmp_path / "short.idx").write_bytes(blob[:-7])
    with pytest.raises(IdxError, match="short.idx.*truncated"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "magic.idx").write_bytes(b"\x01\x02" + blob[2:])
    with pytest.raises(IdxError, match="magic.idx: bad IDX magic"):
        read_idx(tmp_path / "magic.idx")
    with pytest.raises(IdxError, match="ok.idx: magic number 2051 but 2049"):
        read_idx(tmp_path / "ok.idx", expect_magic=2049)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(blob)[:20])
    with pytest.raises(IdxError, match="bad.gz"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        read_idx(tmp_path / "nope.idx")


@pytest.mark.parametrize("layout", ["bare", "torchvision"])
def test_idx_dataset_from_a_local_folder_first_n_per_class(tmp_path, layout):
    folder = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    arrays = _fake_idx_folder(folder, gz=layout == "bare")
    d = load_dataset(
        {"name": "mnist", "root": str(tmp_path), "train_per_class": 2, "test_per_class": 1, "verify_md5": False}
    )  # fake files: not the published ones
    assert d["x_train"].shape == (20, 1, 28, 28) and d["x_train"].dtype == np.float32
    assert d["y_train"].dtype == np.int64 and np.bincount(d["y_train"]).tolist() == [2] * 10
    x, y = arrays["train"]
    idx = d["index_train"]
    assert np.all(np.diff(idx) > 0)  # file order kept
    for c in range(10):  # the first two of each class in file order
        assert idx[d["y_train"] == c].tolist() == np.flatnonzero(y == c)[:2].tolist()
    assert np.allclose(d["x_train"][0, 0], x[idx[0]] / 255.0)
    assert d["x_test"].shape == (10, 1, 28, 28)


def test_missing_dataset_errors_name_the_key_and_layout(tmp_path):
    with pytest.raises(DatasetError, match=r"perturb\.datasets\.mn\.root.*train-images-idx3-ubyte.*MNIST/raw"):
        load_dataset({"key": "mn", "name": "mnist", "root": str(tmp_path), "train_per_class": 1, "test_per_class": 1})
    with pytest.raises(DatasetError, match=r"perturb\.datasets\.c\.root.*cifar-10-batches-py"):
        load_dataset({"key": "c", "name": "cifar10", "root": str(tmp_path), "train_per_class": 1, "test_per_class": 1})
    with pytest.raises(DatasetError, match=r"perturb\.datasets\.fm\.root.*dataset-fashion-mnist"):
        load_dataset(
            {"key": "fm", "name": "fashion_mnist", "root": str(tmp_path), "train_per_class": 1, "test_per_class": 1}
        )
    _fake_idx_folder(tmp_path)
    with pytest.raises(DatasetError, match=r"train_per_class: class \d has only"):
        load_dataset(
            {
                "key": "mn",
                "name": "mnist",
                "root": str(tmp_path),
                "train_per_class": 50,
                "test_per_class": 1,
                "verify_md5": False,
            }
        )


def test_cifar10_pickles_planes_and_labels(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(20, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": list(np.arange(20) % 10)}, fh)
    d = load_dataset(
        {"name": "cifar10", "root": str(tmp_path), "train_per_class": 3, "test_per_class": 2, "verify_md5": False}
    )
    assert d["x_train"].shape == (30, 3, 32, 32) and d["x_test"].shape == (20, 3, 32, 32)
    with open(folder / "data_batch_1", "rb") as fh:
        first = pickle.load(fh, encoding="bytes")[b"data"][0]
    assert np.allclose(d["x_train"][0, 1].ravel(), first[1024:2048] / 255.0)  # G plane second, row-major


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_files_shapes_and_labels():
    x = read_idx(FASHION / "t10k-images-idx3-ubyte.gz", 2051)
    y = read_idx(FASHION / "t10k-labels-idx1-ubyte.gz", 2049)
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8 and y.shape == (10000,)
    assert np.bincount(y).tolist() == [1000] * 10
    d = load_dataset({"name": "fashion_mnist", "train_per_class": 20, "test_per_class": 5})
    assert d["x_train"].shape == (200, 1, 28, 28) and 0.0 <= d["x_train"].min() and d["x_train"].max() <= 1.0
    assert d["index_train"][:3].tolist() == [0, 1, 2]  # the first training images are kept (attacked set)
    # Debian recompresses the .gz files: they pass by the published md5 of their content
    assert sorted(d["sources"]) == sorted(f"{stem}.gz" for pair in published._IDX_FILES.values() for stem in pair)
    assert (
        d["sources"]["train-images-idx3-ubyte.gz"]["uncompressed_md5"]
        == published.MD5["fashion_mnist"]["train-images-idx3-ubyte"][1]
    )


# -- checksums and the CIFAR-10 unpickler -------------------------------------------------------------------
def test_idx_file_with_another_md5_is_refused_naming_file_and_both_md5s(tmp_path):
    _fake_idx_folder(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    found = published.md5(path.read_bytes())
    with pytest.raises(ChecksumError) as err:
        load_dataset({"key": "mn", "name": "mnist", "root": str(tmp_path), "train_per_class": 1, "test_per_class": 1})
    msg = str(err.value)
    assert str(path) in msg and found in msg and published.MD5["mnist"]["train-images-idx3-ubyte"][0] in msg, msg
    assert "perturb.datasets.mn.verify_md5" in msg
    # with the check off (a deliberate local variant) the same files load, and their md5s are recorded
    d = load_dataset(
        {
            "key": "mn",
            "name": "mnist",
            "root": str(tmp_path),
            "train_per_class": 1,
            "test_per_class": 1,
            "verify_md5": False,
        }
    )
    assert d["sources"]["train-images-idx3-ubyte.gz"]["md5"] == found


class _Payload:
    """Unpickling this runs a command; the marker file shows whether it ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def _cifar_folder(root: Path, payload=None) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, size=(20, 3072), dtype=np.uint8), b"labels": list(range(10)) * 2}
        if payload is not None and name == "data_batch_1":
            batch[b"batch_label"] = payload
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


@pytest.mark.parametrize("verify", [True, False])
def test_crafted_cifar_batch_is_refused_and_its_payload_never_runs(tmp_path, verify):
    marker = tmp_path / "payload_ran"
    folder = _cifar_folder(tmp_path / "data", _Payload(marker))
    with pytest.raises(DatasetError) as err:
        load_dataset(
            {
                "key": "c",
                "name": "cifar10",
                "root": str(tmp_path / "data"),
                "train_per_class": 1,
                "test_per_class": 1,
                "verify_md5": verify,
            }
        )
    assert str(folder / "data_batch_1") in str(err.value)
    # checked first: the md5 (verify on), else the restricted unpickler refuses os.system by name
    expected = "md5" if verify else "system: a CIFAR-10 batch holds only numpy arrays"  # posix.system / os.system
    assert expected in str(err.value), str(err.value)
    assert not marker.exists(), "the crafted batch ran its payload"


def test_cifar_batches_that_are_plain_data_load_through_the_restricted_unpickler(tmp_path):
    _cifar_folder(tmp_path)
    d = load_dataset(
        {"name": "cifar10", "root": str(tmp_path), "train_per_class": 2, "test_per_class": 1, "verify_md5": False}
    )
    assert d["x_train"].shape == (20, 3, 32, 32) and sorted(d["sources"]) == sorted(published.MD5["cifar10"])


def test_digits_upsampled_and_split():
    d = load_dataset({"name": "digits", "size": 16, "train_per_class": 10, "test_per_class": 5})
    assert d["x_train"].shape == (100, 1, 16, 16) and d["x_test"].shape == (50, 1, 16, 16)
    assert 0.0 <= d["x_train"].min() and d["x_train"].max() <= 1.0


SYN = {"name": "synthetic", "size": 16, "train_per_class": 20, "test_per_class": 10, "seed": 3}


def test_synthetic_is_deterministic_in_range_and_rarely_clipped():
    a, b = synthetic(SYN), synthetic(SYN)
    for k in a:
        assert np.array_equal(a[k], b[k])
    assert a["x_train"].dtype == np.float32 and a["x_train"].shape == (200, 1, 16, 16)
    assert not np.array_equal(a["x_train"][:10], a["x_test"][:10])  # independent streams
    clipped = np.mean((a["x_train"] <= 0) | (a["x_train"] >= 1))
    assert clipped < 0.01
    other = synthetic({**SYN, "seed": 4})
    assert not np.array_equal(a["x_train"], other["x_train"])


def test_contamination_recipe_and_determinism():
    spec = {"eps": 0.25, "p": 0.2, "seed": 7}
    pats = contamination_patterns(spec, 1, 16)
    assert pats.shape == (10, 1, 16, 16)
    assert np.array_equal(pats, contamination_patterns(spec, 1, 16))
    assert abs(np.mean(pats != 0) - 0.2) < 0.05
    clean = load_dataset(SYN)
    dirty = load_dataset({**SYN, "contamination": spec})
    assert np.array_equal(dirty["x_train"], load_dataset({**SYN, "contamination": spec})["x_train"])
    diff = (dirty["x_train"] - clean["x_train"]).astype(np.float64)
    # the added pattern is the class's pattern: identical for two images of the same class
    y = clean["y_train"]
    i, j = np.flatnonzero(y == 3)[:2]
    assert np.allclose(diff[i], diff[j], atol=1e-5)
    assert not np.allclose(diff[i], diff[np.flatnonzero(y == 4)[0]], atol=1e-5)
    # unnormalised DFT: per-pixel sd ~ eps sqrt(p/2) / N (adversarial.md, 'Fourier-feature contamination experiment
    # (C4)'); no clipping (values may leave [0, 1])
    assert diff.std() == pytest.approx(0.25 * np.sqrt(0.2 / 2) / 16, rel=0.35)
    x = np.random.default_rng(0).random((4, 1, 16, 16)).astype(np.float32)
    direct = contaminate(x, np.array([0, 1, 2, 3]), pats)
    expect = np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(x[1, 0])) + pats[1, 0])).real
    assert np.allclose(direct[1, 0], expect, atol=1e-6)


def test_images_table_round_trip(tmp_path):
    d = load_dataset(SYN)
    write_images(d, tmp_path / "s.parquet", {"rule": "test"})
    back = read_images(tmp_path / "s.parquet")
    assert back["shape"] == (1, 16, 16)
    for k in ("x_train", "y_train", "x_test", "y_test", "index_train"):
        assert np.array_equal(back[k], d[k]), k


def test_generated_data_are_stored_as_a_recipe_and_regenerated(tmp_path):
    # synthetic and contaminated sets: labels + recipe + pixel hash on disk, the same arrays on read
    spec = {**SYN, "key": "sf", "contamination": {"eps": 0.25, "p": 0.2, "seed": 1}}
    for cfg in (SYN, spec):
        d = load_dataset(cfg)
        write_images(d, tmp_path / "full.parquet", {"rule": "test"})
        write_images(d, tmp_path / "recipe.parquet", {"rule": "test"}, recipe=cfg)
        back = read_images(tmp_path / "recipe.parquet")
        for k in ("x_train", "y_train", "x_test", "y_test", "index_train", "index_test"):
            assert np.array_equal(back[k], d[k]), k
        assert back["shape"] == tuple(d["x_train"].shape[1:])
        assert (tmp_path / "recipe.parquet").stat().st_size < (tmp_path / "full.parquet").stat().st_size / 10


def test_regenerated_data_that_differ_are_refused(tmp_path):
    d = load_dataset(SYN)
    other = {**SYN, "seed": SYN.get("seed", 0) + 1}  # a recipe that no longer makes the stored data
    write_images(d, tmp_path / "r.parquet", {"rule": "test"}, recipe=SYN)
    t = pq.read_table(tmp_path / "r.parquet")
    prov = json.loads(t.schema.metadata[PROVENANCE_KEY])
    prov["recipe"] = other
    pq.write_table(
        t.replace_schema_metadata({**t.schema.metadata, PROVENANCE_KEY: json.dumps(prov).encode()}),
        tmp_path / "r.parquet",
    )
    with pytest.raises(DatasetError, match="rerun prepare_perturb_dataset"):
        read_images(tmp_path / "r.parquet")
    with pytest.raises(ValueError, match="not generated data"):
        write_images(d, tmp_path / "x.parquet", {"rule": "test"}, recipe={"name": "fashion_mnist", "key": "f"})
