"""Run folders under hostile conditions: a second writer, a symlinked checkpoint folder."""

import multiprocessing as mp
import os

import pytest

from learndyn.io import FolderBusyError, clear_folder, writer_lock


def _hold(folder, ready, release):
    with writer_lock(folder):
        ready.set()
        release.wait(30)


def test_second_writer_is_refused_and_lock_dies_with_its_holder(tmp_path):
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    assert ready.wait(30)
    with pytest.raises(FolderBusyError, match=f"pid {holder.pid} on .* is still writing checkpoints"):
        with writer_lock(tmp_path):
            pass
    holder.kill()  # a killed job must not leave the lock behind
    holder.join(30)
    with writer_lock(tmp_path):
        pass
    release.set()


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
