"""learndyn.io.atomic_write: the one atomic write of tables, motor checkpoints, Lightning checkpoints
and figures. Files get the mode a plain open() gives (0o666 & ~umask), so colleagues sharing a
results folder can read them; a failing write keeps the old file and leaves no temp file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from learndyn.io import Table, atomic_write, read_table, write_table

TABLE = Table("test.modes", (("x", pa.int64()),))


@pytest.fixture(params=[0o022, 0o002, 0o027])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_table_and_motor_checkpoint_and_figure_get_the_umask_mode(tmp_path, umask):
    from matplotlib.figure import Figure

    from learndyn.figures.style import save_figure
    from learndyn.motor.checkpoints import save

    expected = 0o666 & ~umask
    table = write_table(pd.DataFrame({"x": [1, 2]}), tmp_path / "t.parquet", TABLE)
    npz = save(tmp_path / "ckpt", 1, [{"w": np.ones(3)}], run={"run": "f", "seed": 0}, step=10, loss=0.5, final=True)
    png = save_figure(Figure(figsize=(1, 1)), tmp_path / "fig.png")
    plain = tmp_path / "plain"
    plain.write_text("reference")  # what open() gives under this umask
    assert mode(plain) == expected
    for path in (table, npz, png):
        assert mode(path) == expected, f"{path.name}: mode {oct(mode(path))}, expected {oct(expected)}"
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "ckpt") == []


def test_lightning_checkpoint_gets_the_umask_mode(tmp_path):
    """The trainer factory's BreakpointCheckpoint writes step=<n>.ckpt through trainer.save_checkpoint."""
    import pytorch_lightning as pl
    import torch

    from learndyn.train.factory import make_trainer

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 1)

        def training_step(self, batch, _):
            return self.lin(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    old = os.umask(0o002)
    try:
        trainer = make_trainer(ckpt_dir=tmp_path / "ckpt", schedule=[0, 1], seed=0, max_steps=1, log=lambda _: None)
        data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(2, 1)), batch_size=2)
        trainer.fit(Tiny(), data)
    finally:
        os.umask(old)
    ckpts = sorted((tmp_path / "ckpt").glob("step=*.ckpt"))
    assert ckpts, "no checkpoint written"
    for path in ckpts:
        assert mode(path) == 0o664, f"{path.name}: mode {oct(mode(path))}, expected 0o664"
    assert leftovers(tmp_path / "ckpt") == []


def test_failing_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "t.parquet"
    write_table(pd.DataFrame({"x": [1]}), target, TABLE)
    with pytest.raises(RuntimeError, match="disk full"), atomic_write(target) as tmp:
        tmp.write_bytes(b"half a table")
        raise RuntimeError("disk full")
    assert read_table(target, TABLE)["x"].tolist() == [1]
    assert leftovers(tmp_path) == []


def test_failing_table_write_through_the_writer_keeps_the_old_file(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    target = tmp_path / "t.parquet"
    write_table(pd.DataFrame({"x": [1]}), target, TABLE)

    def broken(table, where, **_):
        Path(where).write_bytes(b"PAR1 truncated")
        raise OSError("killed mid-write")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="killed mid-write"):
        write_table(pd.DataFrame({"x": [2]}), target, TABLE)
    monkeypatch.undo()
    assert read_table(target, TABLE)["x"].tolist() == [1]
    assert leftovers(tmp_path) == []


def test_a_new_file_is_created_with_its_folder(tmp_path):
    target = tmp_path / "a" / "b" / "new.txt"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert leftovers(target.parent) == []
