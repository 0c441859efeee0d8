"""``liif-upscale``: exact output, batches with bad files, exit codes, progress, no Qt."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop import cli
from liif_desktop.export.batch import run_batch
from liif_desktop.export.job import quantize
from liif_desktop.model import load_checkpoint
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from tests.conftest import random_image
from tests.test_export_batch import BAD_NAMES, make_mixed_folder, save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=2)


def test_single_file_equals_upscale_array(tmp_path: Path, checkpoint: Path) -> None:
    pixels = (random_image(12, 16, seed=5) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    code = cli.main(
        [
            *(str(tmp_path / "in.png"), "-s", "2.5", "-o", str(out), "--model", str(checkpoint)),
            *("--precision", "fp32"),  # pinned: the comparison is exact
        ]
    )
    assert code == 0
    rgb = pixels.astype(np.float32) / 255
    expected = quantize(
        upscale_array(RegionRenderer(load_checkpoint(checkpoint), rgb), (30, 40)), np.uint8
    )
    with Image.open(out) as im:
        np.testing.assert_array_equal(np.asarray(im), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]


def test_batch_with_bad_files(
    tmp_path: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    goods, _ = make_mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    argv = [str(tmp_path / "in"), "-s", "2", "-o", str(out), "--model", str(checkpoint)]
    code = cli.main([*argv, "--format", "png", "--pattern", "{name}_big"])
    assert code == 1
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{p.stem}_big.png" for p in goods] + ["liif-manifest.jsonl"])
    err = capsys.readouterr().err
    assert "16 written, 0 skipped, 4 failed" in err
    for name in BAD_NAMES:
        assert f"failed: {tmp_path / 'in' / name}" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal
    # A second run skips everything that exists and still reports the failures.
    code = cli.main([*argv, "--format", "png", "--pattern", "{name}_big", "--overwrite", "skip"])
    assert code == 1 and len(list(out.iterdir())) == 16 + 1  # and the manifest
    assert "0 written, 16 skipped, 4 failed" in capsys.readouterr().err


def test_recursive_keeps_the_folder_layout(tmp_path: Path, checkpoint: Path) -> None:
    (tmp_path / "in" / "deeper").mkdir(parents=True)
    pixels = (random_image(8, 8) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in" / "top.jpg")
    Image.fromarray(pixels).save(tmp_path / "in" / "deeper" / "low.png")
    out = tmp_path / "out"
    argv = [str(tmp_path / "in"), "-r", "--width", "20", "-o", str(out), "--model", str(checkpoint)]
    assert cli.main(argv) == 0
    assert (out / "top_x2.5.jpg").is_file()  # format follows the input by default
    with Image.open(out / "deeper" / "low_x2.5.png") as im:
        assert im.size == (20, 20)


@pytest.mark.parametrize(
    "argv",
    [
        ["in.png", "-o", "out.png"],  # no size
        ["in.png", "-s", "2", "--width", "4", "-o", "out.png"],  # two sizes
        ["in.png", "-s", "-1", "-o", "out.png"],
        ["in.png", "--size", "12by3", "-o", "out.png"],
        ["in.png", "-s", "2", "-o", "out.xyz"],  # unknown output format
        ["in.png", "-s", "2", "-o", "out.png", "--format", "jpeg"],  # conflicting formats
        ["in.png", "in2.png", "-s", "2", "-o", "existing.png"],  # -o must be a folder
        ["in.png", "-s", "2", "-o", "o/", "--pattern", "{bad}"],
        ["in.png", "-s", "2", "-o", "out.png", "--model", "no-such-model"],
        ["empty-folder", "-s", "2", "-o", "out/"],  # no images found
        ["in.png", "-s", "2", "-o", "out/", "--format", "bmp"],
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path,
    argv: list[str],
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save("in.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save("in2.png")
    Path("existing.png").write_bytes(b"x")
    Path("empty-folder").mkdir()
    if "--model" not in argv:
        argv = [*argv, "--model", str(checkpoint)]
    with pytest.raises(SystemExit) as info:
        raise SystemExit(cli.main(argv))
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err
    assert Path("existing.png").read_bytes() == b"x"
    assert not Path("out").exists() and not Path("out.png").exists()


def test_progress_bar_on_a_terminal(tmp_path: Path, checkpoint: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    Image.fromarray((random_image(16, 16) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    Image.fromarray((random_image(16, 16) * 255).astype(np.uint8)).save(tmp_path / "b.png")
    stream = Terminal()
    reporter = cli.Reporter(stream, batch=True)
    args = cli.build_parser().parse_args(
        [
            str(tmp_path / "a.png"),
            str(tmp_path / "b.png"),
            "-s",
            "2",
            "-o",
            str(tmp_path / "o"),
            "--tile",
            "8",
            "--model",
            str(checkpoint),
        ]
    )
    items, settings = cli._plan(args)
    summary = None
    for ev in run_batch(items, cli._load_model(args), settings):
        reporter.on_event(ev)
        summary = ev.summary or summary
    assert summary is not None
    reporter.summary(summary)
    text = stream.getvalue()
    assert "\r" in text and "[2/2] b.png [" in text and "100%" in text and "ETA" in text
    assert "2 written, 0 skipped, 0 failed" in text.splitlines()[-1]


def test_runs_without_qt_in_a_subprocess(tmp_path: Path, checkpoint: Path) -> None:
    Image.fromarray((random_image(8, 8) * 255).astype(np.uint8)).save(tmp_path / "in.png")
    code = (
        "import sys\n"
        "from liif_desktop.cli import main\n"
        f"rc = main([{str(tmp_path / 'in.png')!r}, '-s', '2', '-o', "
        f"{str(tmp_path / 'out.webp')!r}, '--model', {str(checkpoint)!r}, '--device', 'cpu'])\n"
        "assert not any(m.split('.')[0] in ('PySide6', 'shiboken6', 'qtawesome') "
        "for m in sys.modules), 'Qt was imported'\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # quiet in a pipe
    with Image.open(tmp_path / "out.webp") as im:
        assert im.size == (16, 16)


def test_huge_images_need_allow_huge(
    tmp_path: Path,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Image.fromarray((random_image(12, 12) * 255).astype(np.uint8)).save(tmp_path / "in.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    argv = [str(tmp_path / "in.png"), "-s", "2", "-o", str(tmp_path / "out.png")]
    argv += ["--model", str(checkpoint)]
    assert cli.main(argv) == 1
    assert "--allow-huge" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()
    assert cli.main([*argv, "--allow-huge"]) == 0
    monkeypatch.undo()  # the 24×24 result is itself above the test's tiny limit
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (24, 24)


def test_single_input_into_a_folder_and_missing_inputs(
    tmp_path: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Image.fromarray((random_image(8, 8) * 255).astype(np.uint8)).save("in.tif")
    model = ["--model", str(checkpoint)]
    assert cli.main(["in.tif", "-s", "2", "-o", "out/", *model]) == 0
    assert sorted(p.name for p in Path("out").iterdir()) == ["in_x2.tif", "liif-manifest.jsonl"]
    assert cli.main(["in.tif", "gone.png", "-s", "2", "-o", "out", *model]) == 1
    names = sorted(p.name for p in Path("out").iterdir())
    assert names == ["in_x2-1.tif", "in_x2.tif", "liif-manifest.jsonl"]


def test_precision_auto_is_resolved_by_the_cached_calibration(
    tmp_path: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liif_desktop.render import precision as precision_module

    seen: list[str] = []
    real = precision_module.resolve_precision

    def spy(requested: str, device: object = "cpu", **kw: object) -> str:
        chosen = real(requested, device, **kw)  # type: ignore[arg-type]
        seen.append(chosen)
        return chosen

    monkeypatch.setattr(precision_module, "resolve_precision", spy)
    Image.fromarray((random_image(8, 8, seed=1) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    assert (
        cli.main(
            [
                str(tmp_path / "a.png"),
                "-s",
                "2",
                "-o",
                str(tmp_path / "b.png"),
                "--model",
                str(checkpoint),
            ]
        )
        == 0
    )
    assert seen and seen[0] in ("fp32", "bf16")
