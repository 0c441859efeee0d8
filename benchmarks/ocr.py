"""OCR read-back of real receipt scans restored from ×3 / ×4 reductions (tesseract CER).

Usage (from the repository root)::

    nice -n 5 .venv/bin/python -m benchmarks.ocr                 # bicubic + every available model
    nice -n 5 .venv/bin/python -m benchmarks.ocr --models edsr-baseline-liif \
        training/runs/doc/best.pth
    nice -n 5 .venv/bin/python -m benchmarks.ocr --set5           # also Set5 ×4 PSNR per model
    nice -n 5 .venv/bin/python -m benchmarks.ocr --scales 4 --jpeg 75   # JPEG-75 reduced crops

Crops: from the SROIE receipts in ``shared/data/documents`` (pages with small text: median
line-box height ≤ ``MAX_LINE_HEIGHT`` px), runs of ``LINES_PER_CROP`` consecutive annotated
lines are cut out, seeded, keeping only crops that no other annotated box overlaps; the crop's
ground truth is its boxes' transcripts in reading order. Each crop (sides multiples of 12) is
reduced ×3 and ×4 with MATLAB-style bicubic (:func:`liif_desktop.imresize.imresize`), restored
to the crop size by bicubic and by each model (``RegionRenderer`` + ``upscale_array``), and read
by tesseract with fixed settings; the full-resolution crop is the ceiling.

CER = Levenshtein distance / reference length, after upper-casing (the transcripts are in
capitals) and collapsing all whitespace to single spaces; word accuracy = longest common
subsequence of words / reference words. Means are over crops.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.common import RESULTS, SHARED, load_rgb, machine_info, merge_json, psnr_y, to_float

DOCUMENTS = SHARED / "data" / "documents"
SET5 = SHARED / "data" / "benchmark" / "Set5"
TESSERACT_ARGS = ("--psm", "6", "--oem", "1", "-l", "eng")
#: White border added around every image before OCR (tesseract needs a margin around text).
OCR_BORDER = 16
SEED = 2026
LINES_PER_CROP = 3
CROPS_PER_PAGE = 3
MAX_LINE_HEIGHT = 60
MAX_CROP_WIDTH = 720
MARGIN = 6
SCALES = (3, 4)
BICUBIC = "bicubic"
CEILING = "full-resolution"
#: The method the ratios in the results are taken against.
OFFICIAL = "edsr-baseline-liif"


# ----------------------------------------------------------------------------- tesseract


def ensure_tesseract(install: bool = True) -> str:
    """Path of the tesseract binary; installs Debian's ``tesseract-ocr`` via apt if missing.

    Raises
    ------
    RuntimeError
        If it is missing and cannot be installed.
    """
    found = shutil.which("tesseract")
    if found or not install:
        if found is None:
            raise RuntimeError("tesseract is not installed (apt-get install tesseract-ocr)")
        return found
    subprocess.run(["apt-get", "install", "-y", "tesseract-ocr", "tesseract-ocr-eng"], check=False)
    found = shutil.which("tesseract")
    if found is None:
        raise RuntimeError("tesseract is missing and apt-get could not install tesseract-ocr")
    return found


def tesseract_version() -> str:
    out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "?"


def read_text(rgb: np.ndarray) -> str:
    """Text tesseract reads in an image ((H, W, 3) uint8 or float in [0, 1]), fixed settings."""
    if rgb.dtype != np.uint8:
        rgb = (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    padded = np.pad(rgb, ((OCR_BORDER,) * 2, (OCR_BORDER,) * 2, (0, 0)), constant_values=255)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crop.png"
        Image.fromarray(padded).save(path)
        out = subprocess.run(
            ["tesseract", str(path), "stdout", *TESSERACT_ARGS],
            capture_output=True,
            text=True,
            check=True,
            # One thread: the result does not depend on it, and it shares a busy CPU better.
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
    return out.stdout


# ----------------------------------------------------------------------------- scores


def normalise(text: str) -> str:
    """Upper case, all whitespace runs (newlines included) as single spaces, trimmed.

    The SROIE transcripts are all in capitals whatever the receipt prints, so case is ignored.
    """
    return " ".join(text.upper().split())


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edit distance (insertions, deletions, substitutions) between two sequences."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (whitespace normalised)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    return levenshtein(hyp, ref) / max(1, len(ref))


def word_accuracy(hypothesis: str, reference: str) -> float:
    """Share of reference words found in order in the hypothesis (LCS of word sequences)."""
    ref, hyp = normalise(reference).split(), normalise(hypothesis).split()
    if not ref:
        return 1.0
    prev = [0] * (len(hyp) + 1)
    for r in ref:
        cur = [0]
        for j, h in enumerate(hyp, 1):
            cur.append(prev[j - 1] + 1 if r == h else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1] / len(ref)


# ----------------------------------------------------------------------------- crops


@dataclass(frozen=True)
class Crop:
    """A benchmark crop: page, pixel rectangle (half-open) and ground-truth text."""

    page: str
    top: int
    left: int
    height: int
    width: int
    text: str


Box = tuple[int, int, int, int, str]


def read_boxes(path: Path) -> list[Box]:
    """``(x0, y0, x1, y1, transcript)`` of each annotated box, in file order."""
    boxes = []
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 9:
                continue
            xs = [int(v) for v in row[0:8:2]]
            ys = [int(v) for v in row[1:8:2]]
            text = ",".join(row[8:]).strip()
            if text:
                boxes.append((min(xs), min(ys), max(xs), max(ys), text))
    return boxes


def text_rows(boxes: list[Box]) -> list[list[Box]]:
    """Boxes grouped into text rows (close vertical centres), top to bottom, each left to right."""
    rows: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        centre = (box[1] + box[3]) / 2
        row_centre = float(np.mean([(b[1] + b[3]) / 2 for b in rows[-1]])) if rows else -1e9
        if abs(centre - row_centre) < 0.5 * (box[3] - box[1]):
            rows[-1].append(box)
        else:
            rows.append([box])
    return [sorted(row, key=lambda b: b[0]) for row in rows]


def reading_order(rows: list[list[Box]]) -> str:
    """The transcripts of rows of boxes, a line per row, read left to right."""
    return "\n".join(" ".join(b[4] for b in row) for row in rows)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grow(lo: int, hi: int, unit: int, limit: int) -> tuple[int, int] | None:
    """``(lo, hi)`` grown to a length that is a multiple of ``unit``, kept in ``[0, limit)``."""
    extra = -(hi - lo) % unit
    lo, hi = lo - extra // 2, hi + extra - extra // 2
    if lo < 0:
        lo, hi = 0, hi - lo
    if hi > limit:
        lo, hi = lo - (hi - limit), limit
    return (lo, hi) if lo >= 0 else None


def choose_crops(
    folder: Path = DOCUMENTS, seed: int = SEED, per_page: int = CROPS_PER_PAGE
) -> list[Crop]:
    """The benchmark crops (fixed by ``seed``), in page order.

    A crop holds ``LINES_PER_CROP`` consecutive text rows plus a margin, grown to sides that
    are multiples of every scale; it is kept only if no annotated box outside it overlaps it
    (so its ground truth is complete) and it does not overlap a crop already chosen.
    """
    rng = np.random.default_rng(seed)
    crops = []
    unit = int(np.lcm.reduce(SCALES))
    for gt_path in sorted(folder.glob("sroie_*.boxes.csv")):
        page = gt_path.name.split(".")[0]
        boxes = read_boxes(gt_path)
        rows = text_rows(boxes)
        heights = [b[3] - b[1] for b in boxes]
        if len(rows) < LINES_PER_CROP or np.median(heights) > MAX_LINE_HEIGHT:
            continue
        with Image.open(folder / f"{page}.png") as im:
            page_w, page_h = im.size
        chosen: list[Crop] = []
        for start in rng.permutation(len(rows) - LINES_PER_CROP + 1):
            group_rows = rows[int(start) : int(start) + LINES_PER_CROP]
            group = [b for row in group_rows for b in row]
            xs = _grow(
                min(b[0] for b in group) - MARGIN, max(b[2] for b in group) + MARGIN, unit, page_w
            )
            ys = _grow(
                min(b[1] for b in group) - MARGIN, max(b[3] for b in group) + MARGIN, unit, page_h
            )
            if xs is None or ys is None:
                continue
            rect = (xs[0], ys[0], xs[1], ys[1])
            taken = [(c.left, c.top, c.left + c.width, c.top + c.height) for c in chosen]
            if (
                rect[2] - rect[0] > MAX_CROP_WIDTH
                or any(_overlaps(rect, b[:4]) and b not in group for b in boxes)
                or any(_overlaps(rect, t) for t in taken)
                or "?" in reading_order(group_rows)
            ):
                continue
            text = reading_order(group_rows)
            chosen.append(Crop(page, ys[0], xs[0], ys[1] - ys[0], xs[1] - xs[0], text))
            if len(chosen) == per_page:
                break
        crops += chosen
    return crops


def crop_pixels(crop: Crop, folder: Path = DOCUMENTS) -> np.ndarray:
    """The crop's pixels, (H, W, 3) uint8."""
    page = load_rgb(folder / f"{crop.page}.png")
    return page[crop.top : crop.top + crop.height, crop.left : crop.left + crop.width]


# ----------------------------------------------------------------------------- restorers


Restorer = Callable[[np.ndarray, tuple[int, int]], np.ndarray]


def bicubic_restorer(lr: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """MATLAB-style bicubic enlargement of a uint8 image to ``out_size``, float in [0, 1]."""
    from liif_desktop.imresize import imresize

    return to_float(imresize(lr, output_shape=out_size))


def model_restorer(model_id: str) -> Restorer:
    """A restorer rendering with our LIIF path (catalogue id or checkpoint path)."""
    from liif_desktop.render.full import upscale_array
    from liif_desktop.render.region import RegionRenderer
    from liif_desktop.weights import load_model

    model = load_model(model_id).eval()

    def restore(lr: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
        return upscale_array(RegionRenderer(model, to_float(lr)), out_size)

    return restore


def method_name(model_id: str) -> str:
    """A short label: the catalogue id, or the file name for a checkpoint path."""
    return Path(model_id).name if model_id.endswith(".pth") else model_id


def reduce(hr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB-style bicubic reduction by an integer ``scale`` (sides divisible by it)."""
    from liif_desktop.imresize import imresize

    return imresize(hr, output_shape=(hr.shape[0] // scale, hr.shape[1] // scale))


def _scores(text: str, reference: str) -> dict[str, Any]:
    return {
        "cer": round(cer(text, reference), 4),
        "word_accuracy": round(word_accuracy(text, reference), 4),
        "read": normalise(text),
    }


def _summary(per_crop: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cer_mean": round(float(np.mean([c["cer"] for c in per_crop])), 4),
        "word_accuracy_mean": round(float(np.mean([c["word_accuracy"] for c in per_crop])), 4),
        "per_crop": per_crop,
    }


def run_ocr(
    crops: list[Crop],
    methods: dict[str, Restorer],
    scales: tuple[int, ...] = SCALES,
    jpeg_quality: int | None = None,
) -> dict[str, Any]:
    """CER and word accuracy per scale and method (plus the full-resolution ceiling).

    With ``jpeg_quality`` the reduced crops are saved as JPEG (Pillow, 4:2:0) at that quality
    before restoring, as a receipt photo or scan file is; the results are keyed
    ``x{s}_jpeg{q}``.
    """
    results: dict[str, Any] = {}
    hrs = [crop_pixels(c) for c in crops]
    ceiling = [_scores(read_text(hr), c.text) for hr, c in zip(hrs, crops, strict=True)]
    results[CEILING] = _summary(ceiling)
    print(f"{CEILING}: CER {results[CEILING]['cer_mean']:.4f}", file=sys.stderr)
    for scale in scales:
        lrs = [reduce(hr, scale) for hr in hrs]
        key = f"x{scale}"
        if jpeg_quality is not None:
            from training.degrade import jpeg

            lrs = [jpeg(lr, jpeg_quality) for lr in lrs]
            key += f"_jpeg{jpeg_quality}"
        for name, restore in methods.items():
            start = time.perf_counter()
            per_crop = [
                _scores(read_text(restore(lr, hr.shape[:2])), c.text)
                for lr, hr, c in zip(lrs, hrs, crops, strict=True)
            ]
            summary = _summary(per_crop)
            summary["seconds"] = round(time.perf_counter() - start, 1)
            results.setdefault(key, {})[name] = summary
            print(
                f"{key} {name}: CER {summary['cer_mean']:.4f} "
                f"words {summary['word_accuracy_mean']:.4f} ({summary['seconds']} s)",
                file=sys.stderr,
            )
    return results


def cer_ratio(
    per_crop: list[dict[str, Any]],
    reference: list[dict[str, Any]],
    n_boot: int = 10000,
    seed: int = SEED,
) -> dict[str, Any]:
    """Mean CER of a method over that of a reference on the same crops, with a 95 % interval.

    The interval is a paired bootstrap over crops (crops are resampled together for both
    methods), so it shows how much the ratio depends on which receipts happen to be in the set.
    """
    a = np.array([c["cer"] for c in per_crop], dtype=np.float64)
    b = np.array([c["cer"] for c in reference], dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("both methods must be scored on the same, non-empty set of crops")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, a.size, size=(n_boot, a.size))
    ratios = a[pick].mean(axis=1) / np.maximum(b[pick].mean(axis=1), 1e-12)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return {
        "ratio": round(float(a.mean() / max(b.mean(), 1e-12)), 4),
        "ci95": [round(float(lo), 4), round(float(hi), 4)],
        "share_of_resamples_below_0.75": round(float((ratios <= 0.75).mean()), 4),
    }


def ratios_to(results: dict[str, Any], reference: str) -> dict[str, Any]:
    """:func:`cer_ratio` of every method against ``reference``, per scale where both exist."""
    out: dict[str, Any] = {}
    for key, methods in results.items():
        if not key.startswith("x") or reference not in methods:
            continue
        ref = methods[reference]["per_crop"]
        out[key] = {
            name: cer_ratio(m["per_crop"], ref)
            for name, m in methods.items()
            if name != reference and len(m["per_crop"]) == len(ref)
        }
    return out


def set5_psnr(model_id: str, scale: int = 4) -> float:
    """Mean Set5 Y PSNR (shave = scale) of a model from the shipped MATLAB-bicubic LR files."""
    restore = model_restorer(model_id)
    values = []
    for hr_path in sorted((SET5 / "HR").glob("*.png")):
        lr = load_rgb(SET5 / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png")
        hr = load_rgb(hr_path)[: lr.shape[0] * scale, : lr.shape[1] * scale]
        sr = restore(lr, hr.shape[:2])
        values.append(psnr_y(sr, to_float(hr), shave=scale))
    return float(np.mean(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ocr", description=__doc__)
    parser.add_argument(
        "--models", nargs="+", help="model ids or checkpoint paths (default: every available)"
    )
    parser.add_argument("--no-bicubic", action="store_true")
    parser.add_argument("--set5", action="store_true", help="also measure Set5 ×4 PSNR")
    parser.add_argument("--limit", type=int, help="only the first N crops (quick checks)")
    parser.add_argument("--scales", nargs="+", type=int, default=list(SCALES))
    parser.add_argument(
        "--jpeg", type=int, metavar="QUALITY", help="save the reduced crops as JPEG (4:2:0) first"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "ocr.json")
    args = parser.parse_args(argv)

    ensure_tesseract()
    from liif_desktop.weights import read_manifest

    model_ids = args.models or [m.id for m in read_manifest() if m.available]
    crops = choose_crops()[: args.limit]
    methods: dict[str, Restorer] = {} if args.no_bicubic else {BICUBIC: bicubic_restorer}
    for model_id in model_ids:
        methods[method_name(model_id)] = model_restorer(model_id)
    results = run_ocr(crops, methods, tuple(args.scales), args.jpeg)
    update: dict[str, Any] = {
        "about": __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else "",
        "settings": {
            "tesseract": tesseract_version(),
            "args": " ".join(TESSERACT_ARGS),
            "border_px": OCR_BORDER,
            "seed": SEED,
            "lines_per_crop": LINES_PER_CROP,
            "reduction": "liif_desktop.imresize (MATLAB bicubic)",
        },
        "crops": [asdict(c) for c in crops],
        "results": results,
        "machine": machine_info(),
    }
    if args.set5:
        update["set5_x4_psnr"] = {method_name(m): round(set5_psnr(m), 4) for m in model_ids}
        print(f"Set5 x4 PSNR: {update['set5_x4_psnr']}", file=sys.stderr)
    merged = merge_json(args.out, update)
    ratios = ratios_to(merged["results"], OFFICIAL)
    if ratios:
        merge_json(args.out, {"cer_ratio_to_official": ratios})
        for key, per_method in ratios.items():
            for name, r in per_method.items():
                print(f"{key} {name}: {r['ratio']:.3f}x official {r['ci95']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
