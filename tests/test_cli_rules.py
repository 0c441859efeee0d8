"""The CLI's rules: --help/--version without torch, exact sizes, what -o means, what is said,
exit codes on signals."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from liif_desktop import __version__, cli
from liif_desktop.export import batch
from tests.conftest import REPO, random_image
from tests.test_export_batch import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=2)


def save(path: Path, height: int = 16, width: int = 16) -> Path:
    Image.fromarray((random_image(height, width, seed=4) * 255).astype(np.uint8)).save(path)
    return path


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_do_not_import_torch(flag: str) -> None:
    code = (
        "import sys\n"
        "from liif_desktop.cli import main\n"
        "try:\n"
        f"    main([{flag!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6'))\n"
        "assert not heavy, heavy[:5]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    if flag == "--version":
        assert done.stdout.strip() == f"liif-upscale {__version__}"
    else:
        for rule in ("unit of work", "-o OUT", "precision", "exit codes", "143"):
            assert rule in done.stdout


@pytest.mark.parametrize(("size", "expected"), [("40x20", (20, 20)), ("40x20!", (40, 20))])
def test_size_fits_or_is_exact(
    tmp_path: Path, checkpoint: Path, size: str, expected: tuple[int, int]
) -> None:
    src = save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert cli.main([str(src), "--size", size, "-o", str(out), "--model", str(checkpoint)]) == 0
    with Image.open(out) as im:
        assert im.size == expected


def test_several_inputs_refuse_a_file_name(
    tmp_path: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = save(tmp_path / "a.png"), save(tmp_path / "b.png")
    argv = [str(a), str(b), "-s", "2", "--model", str(checkpoint), "-o"]
    assert cli.main([*argv, str(tmp_path / "two.png")]) == 2
    assert "need a folder" in capsys.readouterr().err
    assert not (tmp_path / "two.png").exists()
    assert cli.main([*argv, str(tmp_path / "two.png") + os.sep]) == 0
    names = sorted(p.name for p in (tmp_path / "two.png").iterdir())
    assert names == ["a_x2.png", "b_x2.png", "liif-manifest.jsonl"]
    assert cli.main([*argv, str(tmp_path / "plain")]) == 0  # no image suffix: a new folder
    assert (tmp_path / "plain").is_dir()


def test_a_renamed_output_is_always_reported(
    tmp_path: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = save(tmp_path / "in.png")
    argv = [str(src), "-s", "2", "-o", str(tmp_path / "out.png"), "--model", str(checkpoint)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().err == ""  # quiet in a pipe when -o is what was written
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert f"wrote {tmp_path / 'out-1.png'} ({tmp_path / 'out.png'} exists)" in err
    assert (tmp_path / "out-1.png").is_file()


def test_one_line_per_file_on_a_terminal(
    tmp_path: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    save(tmp_path / "in" / "a.png")
    save(tmp_path / "in" / "b.png")
    (tmp_path / "in" / "deeper").mkdir()
    save(tmp_path / "in" / "deeper" / "c.png")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = [str(tmp_path / "in"), "-s", "2", "-o", str(tmp_path / "out"), "--model"]
    assert cli.main([*argv, str(checkpoint)]) == 0
    lines = [line.split("\r")[-1] for line in terminal.getvalue().splitlines()]
    assert f"note: {tmp_path / 'in'}: skipping 1 sub-folder(s) (use -r to include them)" in lines
    done = [line for line in lines if " -> " in line]
    assert [line.split(" -> ")[0].strip("\x1b[K") for line in done] == [
        str(tmp_path / "in" / "a.png"),
        str(tmp_path / "in" / "b.png"),
    ]
    assert "2 written, 0 skipped, 0 failed" in lines[-1]
    terminal.truncate(0)
    assert cli.main([*argv, str(checkpoint), "-r", "--overwrite", "skip"]) == 0
    assert "skipping" not in terminal.getvalue()


@pytest.mark.parametrize(("signum", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_stop_signal_exits_128_plus_its_number_and_leaves_no_partial_file(
    tmp_path: Path,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
    signum: str,
    code: int,
) -> None:
    if not hasattr(signal, signum):
        pytest.skip(f"no {signum} on this platform")
    real = batch.run_batch

    def signalled(*args: Any, **kwargs: Any) -> Iterator[batch.BatchEvent]:
        for ev in real(*args, **kwargs):
            if ev.kind == "progress":
                os.kill(os.getpid(), getattr(signal, signum))
            yield ev

    monkeypatch.setattr(batch, "run_batch", signalled)
    before = signal.getsignal(signal.SIGTERM)
    src = save(tmp_path / "in.png", 24, 24)
    out = tmp_path / "out"
    out.mkdir()
    argv = [str(src), "-s", "4", "--tile", "8", "-o", str(out / "big.png")]
    assert cli.main([*argv, "--model", str(checkpoint)]) == code
    assert list(out.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored


def test_batch_eta_is_never_below_the_current_files() -> None:
    assert batch.batch_eta(4.0, 0.8, 16.0) == 16.0  # "0:16 for this file, 0:04 for all" no more
    assert batch.batch_eta(4.0, 0.5, 1.0) == pytest.approx(4.0)
    assert batch.batch_eta(4.0, 0.5, None) == pytest.approx(4.0)
    assert batch.batch_eta(0.0, 0.0, 3.0) == 3.0
    assert batch.batch_eta(0.0, 0.0, None) is None
