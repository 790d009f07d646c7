"""Our own reader of IDX files (MNIST / Fashion-MNIST format), gzipped or raw.

Layout: a big-endian 32-bit magic number whose bytes are 0, 0, a type code and the number of
dimensions (2051 = 0x00000803 for uint8 images of 3 dims, 2049 = 0x00000801 for uint8 labels),
then one big-endian int32 per dimension, then the values row-major.  Every check names the file.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

# type code -> big-endian numpy dtype (the IDX format's table)
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


class IdxError(ValueError):
    """A file that is not a well-formed IDX file (or not the expected kind)."""


def idx_bytes(path: Path) -> bytes:
    """The IDX content of a file, gunzipped when it is gzip (whatever its suffix)."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    try:
        if head == b"\x1f\x8b":  # gzip magic, whatever the suffix
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise IdxError(f"{path}: cannot be read (truncated or corrupt gzip?): {err}") from err


def read_idx(path: str | os.PathLike, expect_magic: int | None = None) -> np.ndarray:
    """The array stored in an IDX file; ``expect_magic`` (e.g. 2051) also checks the kind."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: IDX file not found")
    return parse_idx(idx_bytes(path), path, expect_magic)


def parse_idx(data: bytes, path: str | os.PathLike, expect_magic: int | None = None) -> np.ndarray:
    """The array of IDX content ``data`` read from ``path`` (named in every error)."""
    if len(data) < 4:
        raise IdxError(f"{path}: {len(data)} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in _TYPES or ndim == 0:
        raise IdxError(
            f"{path}: bad IDX magic number 0x{magic:08x} (expected 0x0000TTDD: type TT in "
            f"{sorted(hex(c) for c in _TYPES)}, DD dimensions)"
        )
    if expect_magic is not None and magic != expect_magic:
        raise IdxError(
            f"{path}: magic number {magic} but {expect_magic} expected "
            f"({IMAGES_MAGIC} = uint8 images of 3 dims, {LABELS_MAGIC} = uint8 labels)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{path}: truncated header ({len(data)} bytes, {header} needed for {ndim} dims)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[code])
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != need:
        raise IdxError(
            f"{path}: {len(data) - header} data bytes, but dims {dims} of {dtype} need {need} "
            "(truncated or corrupt file)"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, arr: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``arr`` as an IDX file (gzipped when the name ends in .gz); used by tests and tools."""
    path = Path(path)
    arr = np.asarray(arr)
    code = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise IdxError(f"{path}: dtype {arr.dtype} has no IDX type code")
    blob = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    blob += arr.astype(np.dtype(_TYPES[code])).tobytes()
    gz = path.suffix == ".gz" if compress is None else compress
    path.write_bytes(gzip.compress(blob) if gz else blob)
    return path
