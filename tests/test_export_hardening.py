"""Exports under hostile conditions: killed by a signal, a full disk, leftovers of a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop.export import job, safety
from liif_desktop.export.imageio import LoadedImage
from liif_desktop.export.job import ExportSettings, OutputSize, export_image
from liif_desktop.export.safety import ExportError, remove_stale_temp_files
from tests.conftest import REPO, make_tiny_model
from tests.test_export_batch import save_tiny_checkpoint

DAY = 24 * 3600


def test_stale_temp_files_of_ours_are_removed_when_a_job_starts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    old = out / ".liif-abcd1234.part"
    recent = out / ".liif-efgh5678.part"
    not_ours = out / ".liif-notours.txt"
    folder_like = out / ".liif-dir00000.part"
    for path in (old, recent, not_ours):
        path.write_bytes(b"")
    folder_like.mkdir()
    link = out / ".liif-link0000.part"
    link.symlink_to(not_ours)
    for path in (old, not_ours, folder_like):
        os.utime(path, (time.time() - 2 * DAY, time.time() - 2 * DAY))
    os.utime(link, (time.time() - 2 * DAY,) * 2, follow_symlinks=False)
    image = LoadedImage.from_array(np.full((8, 8, 3), 0.5, np.float32))
    settings = ExportSettings(OutputSize(scale=2))
    list(export_image(image, make_tiny_model(), out / "a.png", settings))
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted(["a.png", recent.name, not_ours.name, folder_like.name, link.name])
    # Once per folder and process: a second job does not scan again, the function still works.
    os.utime(recent, (time.time() - 2 * DAY,) * 2)
    assert remove_stale_temp_files(out) == [recent]


def test_full_disk_is_reported_before_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(safety.shutil, "disk_usage", lambda _p: usage(10**9, 10**9, 5 << 20))

    def no_rendering(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendering started")

    monkeypatch.setattr(job, "RegionRenderer", no_rendering)
    image = LoadedImage.from_array(np.full((64, 64, 3), 0.5, np.float32))
    settings = ExportSettings(OutputSize(scale=8))  # 512×512 RGB: 0.8 MB + the 16 MB margin
    with pytest.raises(ExportError, match=r"the disk is full \(the output needs up to 1 MB"):
        list(export_image(image, make_tiny_model(), tmp_path / "big.png", settings))
    assert list(tmp_path.iterdir()) == []


def test_free_space_estimate_depends_on_format() -> None:
    assert safety.estimated_file_bytes((100, 200), 3, 1, "PNG") == 60_000
    assert safety.estimated_file_bytes((100, 200), 4, 2, "TIFF") == 160_000
    assert safety.estimated_file_bytes((100, 200), 3, 1, "JPEG") == 30_000


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_during_an_export_leaves_the_folder_clean(
    tmp_path: Path, signum: int, code: int
) -> None:
    model = save_tiny_checkpoint(tmp_path / "tiny.pth")
    source = tmp_path / "in.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(source)
    out = tmp_path / "out"
    out.mkdir()
    argv = [sys.executable, "-m", "liif_desktop.cli", str(source), "-s", "24"]
    argv += ["-o", str(out / "big.png"), "--model", str(model)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob(".liif-*.part")):
            assert proc.poll() is None and time.monotonic() < deadline, "no export started"
            time.sleep(0.01)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "no partial file was left" in err
    assert list(out.iterdir()) == []
