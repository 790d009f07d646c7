"""Run folders under hostile conditions: a second writer, a symlinked checkpoint folder."""

import multiprocessing as mp
import os
import time

import pytest

from learndyn.io import FolderBusyError, clear_folder, writer_lock


def _hold(folder, ready):
    with writer_lock(folder):
        ready.set()
        time.sleep(120)  # until killed


def test_second_writer_is_refused_and_lock_dies_with_its_holder(tmp_path):
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, ready))
    holder.start()
    assert ready.wait(30)
    with pytest.raises(FolderBusyError, match=f"pid {holder.pid} on .* is still writing checkpoints"):
        with writer_lock(tmp_path):
            pass
    holder.kill()  # a killed job must not leave the lock behind
    holder.join(30)
    with writer_lock(tmp_path):
        pass


def test_clear_folder_keeps_a_symlinked_folder(tmp_path):
    scratch = tmp_path / "scratch"
    (scratch / "sub").mkdir(parents=True)
    (scratch / "step=1.ckpt").write_text("x")
    (scratch / "sub" / "f").write_text("y")
    link = tmp_path / "ckpt"
    link.symlink_to(scratch)
    clear_folder(link)
    assert link.is_symlink() and scratch.is_dir() and os.listdir(scratch) == []


def test_config_change_in_symlinked_ckpt_folder_starts_fresh(tmp_path):
    from learndyn.train.factory import FINGERPRINT, _prepare_run_dir

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "step=5.ckpt").write_text("old")
    (scratch / FINGERPRINT).write_text('{"hash": "other"}')
    ckpt = tmp_path / "run" / "ckpt"
    ckpt.parent.mkdir()
    ckpt.symlink_to(scratch)
    _prepare_run_dir(ckpt, {"lr": 0.1}, log=lambda m: None)  # was: "Cannot call rmtree on a symbolic link"
    assert ckpt.is_symlink() and not (scratch / "step=5.ckpt").exists() and (scratch / FINGERPRINT).exists()


def test_swapped_table_is_refused_naming_both_identities(tmp_path):
    import shutil

    import pandas as pd
    import pyarrow as pa

    from learndyn.io import Table, TableError, read_table, write_table

    t = Table("history", (("step", pa.int64()), ("acc", pa.float64())))
    a = tmp_path / "results" / "perturb" / "runs" / "fmnist" / "fc_relu" / "s0" / "history.parquet"
    b = tmp_path / "results" / "perturb" / "runs" / "fmnist" / "fc_relu" / "s1" / "history.parquet"
    write_table(pd.DataFrame({"step": [0], "acc": [0.1]}), a, t, {"rule": "train", "wildcards": {"seed": "0"}})
    write_table(pd.DataFrame({"step": [0], "acc": [0.9]}), b, t, {"rule": "train", "wildcards": {"seed": "1"}})
    assert read_table(b, t)["acc"].iloc[0] == 0.9
    shutil.copyfile(a, b)  # seed 0's table put in seed 1's place: same kind, same schema
    with pytest.raises(
        TableError,
        match=r"written as results/perturb/runs/fmnist/fc_relu/s0/history.parquet "
        r"\(rule train, wildcards \{'seed': '0'\}\), not as .*/s1/history.parquet",
    ):
        read_table(b, t)
    moved = tmp_path / "copy" / "results"
    shutil.copytree(tmp_path / "results", moved)  # a whole project copied elsewhere still reads
    assert (
        read_table(moved / "perturb" / "runs" / "fmnist" / "fc_relu" / "s0" / "history.parquet", t)["acc"].iloc[0]
        == 0.1
    )


def test_clearing_a_checkpoint_folder_keeps_the_writer_lock(tmp_path):
    from learndyn.io import WRITER_LOCK

    with writer_lock(tmp_path):
        (tmp_path / "step=1.ckpt").write_text("x")
        clear_folder(tmp_path)
        assert os.listdir(tmp_path) == [WRITER_LOCK]
