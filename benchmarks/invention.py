"""Does the "invented detail" map mark where enlarged text is misread? (OCR crops, ×4)

Usage (from the repository root)::

    nice -n 5 .venv/bin/python -m benchmarks.invention            # all candidates, all crops
    nice -n 5 .venv/bin/python -m benchmarks.invention --limit 5  # quick check

The OCR crops of :mod:`benchmarks.ocr` (real receipt scans in ``shared/data/documents``) are
reduced ×4 with MATLAB bicubic, enlarged back by the Document model (fp32, CPU) and read by
tesseract. The read text is aligned with the ground truth character by character
(Levenshtein, upper case, whitespace collapsed, as in the OCR benchmark); each error is placed
at its ground-truth character (a substitution or deletion at that character, an insertion at
the character before it), whose cell is the annotated line box split evenly along its
characters. The text area is the union of the boxes. For a map (which never sees the OCR), a
threshold shared by all crops marks a share f of the pooled text area; an error counts as
inside by the share of its cell that is marked. The curve is errors inside against f; its
area (AUC) is compared with a random map and with plain edge strength of the enlargement.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, machine_info, merge_json, to_float
from benchmarks.ocr import (
    DOCUMENTS,
    Box,
    Crop,
    choose_crops,
    crop_pixels,
    ensure_tesseract,
    normalise,
    read_boxes,
    read_text,
    reduce,
    tesseract_version,
    text_rows,
)

SCALE = 4
SEED = 2026
#: Shares of the text area at which the curve is sampled.
FRACTIONS = tuple(round(0.01 * k, 2) for k in range(1, 101))
DOCUMENT_MODEL = "document-liif"
PHOTO_MODEL = "edsr-baseline-liif"

#: A character cell: (x0, y0, x1, y1) in crop pixels (floats, half-open).
Cell = tuple[float, float, float, float]


# ----------------------------------------------------------------------------- ground truth


def crop_rows(crop: Crop, folder: Path = DOCUMENTS) -> list[list[Box]]:
    """The crop's annotated boxes in reading order, in crop coordinates, as text rows."""
    boxes = read_boxes(folder / f"{crop.page}.boxes.csv")
    inside = [
        (b[0] - crop.left, b[1] - crop.top, b[2] - crop.left, b[3] - crop.top, b[4])
        for b in boxes
        if crop.left <= b[0]
        and b[2] <= crop.left + crop.width
        and crop.top <= b[1]
        and b[3] <= crop.top + crop.height
    ]
    return text_rows(inside)


def character_cells(rows: Sequence[Sequence[Box]]) -> tuple[str, list[Cell]]:
    """The normalised reference text of rows of boxes and a cell for each of its characters.

    Each box is split evenly along its width among its transcript's characters. Rows are read
    as in :func:`benchmarks.ocr.reading_order`; after normalisation (upper case, whitespace
    runs as one space) a space keeps the cell of the whitespace that starts its run: inside a
    box its own slot, between two boxes of a row the gap between them, between rows the cell
    of the character before it.
    """
    chars: list[tuple[str, Cell]] = []
    for r, row in enumerate(rows):
        if r:
            chars.append(("\n", chars[-1][1]))
        for i, (x0, y0, x1, y1, text) in enumerate(row):
            if i:
                prev = row[i - 1]
                gap = (float(prev[2]), float(y0), float(x0), float(y1))
                chars.append((" ", gap if x0 > prev[2] else chars[-1][1]))
            step = (x1 - x0) / max(1, len(text))
            for k, ch in enumerate(text):
                chars.append((ch, (x0 + k * step, float(y0), x0 + (k + 1) * step, float(y1))))
    letters: list[str] = []
    cells: list[Cell] = []
    for ch, cell in chars:
        if ch.isspace():
            if letters and letters[-1] != " ":
                letters.append(" ")
                cells.append(cell)
            continue
        letters.append(ch.upper())
        cells.append(cell)
    if letters and letters[-1] == " ":
        letters.pop()
        cells.pop()
    return "".join(letters), cells


def error_positions(hypothesis: str, reference: str) -> list[int]:
    """Reference indices of the errors of a minimal alignment of ``hypothesis`` to ``reference``.

    Substitutions and deletions sit at their reference character, an insertion at the
    reference character before it (the first one for an insertion at the start). The number
    of positions is the Levenshtein distance; an empty reference gives no positions.
    """
    a, b = hypothesis, reference
    n, m = len(a), len(b)
    if m == 0:
        return []
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(
                cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + (a[i - 1] != b[j - 1])
            )
    positions = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            if a[i - 1] != b[j - 1]:
                positions.append(j - 1)  # substitution
            i, j = i - 1, j - 1
        elif j > 0 and cost[i, j] == cost[i, j - 1] + 1:
            positions.append(j - 1)  # deletion of reference character j-1
            j -= 1
        else:
            positions.append(max(0, j - 1))  # insertion after reference character j-1
            i -= 1
    return positions[::-1]


def text_mask(rows: Sequence[Sequence[Box]], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the union of the boxes."""
    mask = np.zeros(shape, dtype=bool)
    for row in rows:
        for x0, y0, x1, y1, _ in row:
            mask[max(0, y0) : y1, max(0, x0) : x1] = True
    return mask


def cell_slices(cell: Cell, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The pixels a cell covers (at least one pixel), clipped to ``shape``."""
    x0, y0, x1, y1 = cell
    c0 = min(shape[1] - 1, max(0, int(np.floor(x0))))
    r0 = min(shape[0] - 1, max(0, int(np.floor(y0))))
    c1 = max(c0 + 1, min(shape[1], int(np.ceil(x1))))
    r1 = max(r0 + 1, min(shape[0], int(np.ceil(y1))))
    return slice(r0, r1), slice(c0, c1)


# ----------------------------------------------------------------------------- curve


@dataclass(frozen=True)
class ScoredCrop:
    """What the curve needs of one crop: its text area and its errors' cells."""

    mask: np.ndarray
    error_cells: list[Cell]


def errors_inside_curve(
    maps: Sequence[np.ndarray],
    crops: Sequence[ScoredCrop],
    fractions: Sequence[float] = FRACTIONS,
) -> list[float]:
    """Share of all errors inside the marked area, for each share of the text area marked.

    One threshold per share is taken over the text-area values of all crops together (the
    map's normalisation is the same everywhere); ties are broken by a fixed seeded jitter.
    An error adds the share of its cell's pixels that are marked.
    """
    rng = np.random.default_rng(SEED)
    jittered = [m.astype(np.float64) + 1e-9 * rng.random(m.shape) for m in maps]
    pooled = np.concatenate([m[c.mask] for m, c in zip(jittered, crops, strict=True)])
    total = sum(len(c.error_cells) for c in crops)
    if total == 0 or pooled.size == 0:
        raise ValueError("no errors or no text area to score")
    curve = []
    for f in fractions:
        threshold = np.quantile(pooled, 1.0 - f)
        inside = 0.0
        for m, c in zip(jittered, crops, strict=True):
            marked = m >= threshold
            for cell in c.error_cells:
                inside += float(marked[cell_slices(cell, m.shape)].mean())
        curve.append(inside / total)
    return curve


def area_under(curve: Sequence[float], fractions: Sequence[float] = FRACTIONS) -> float:
    """Trapezoid area under a curve sampled at ``fractions``, starting from (0, 0)."""
    xs = np.concatenate([[0.0], np.asarray(fractions, dtype=np.float64)])
    ys = np.concatenate([[0.0], np.asarray(curve, dtype=np.float64)])
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2))


def value_at(curve: Sequence[float], f: float, fractions: Sequence[float] = FRACTIONS) -> float:
    """The curve at share ``f`` (linear between samples)."""
    return float(np.interp(f, fractions, curve))


# ----------------------------------------------------------------------------- renders


def crop_renders(crop: Crop, models: dict[str, Any], cache: Path | None) -> dict[str, Any]:
    """Everything the maps and the scoring need of one crop (cached in ``cache`` if given).

    The low-resolution crop (×4 MATLAB bicubic reduction); the Document model's enlargement
    (read by OCR) with its ensemble spread; bicubic; and on the map grid (the input grid
    ×:data:`~liif_desktop.render.invention.MAP_GRID`): the Document model with its spread,
    the photo model, and the Document model on the input perturbed by a checkerboard and by
    seeded noise (four seeds).
    """
    from liif_desktop.imresize import imresize
    from liif_desktop.render.invention import (
        MAP_GRID,
        PERTURBATION_SEED,
        perturbed_input,
        render_with_spread,
    )
    from liif_desktop.render.region import RegionRenderer

    path = None
    if cache is not None:
        path = cache / f"{crop.page}_{crop.top}_{crop.left}.npz"
        if path.is_file():
            with np.load(path) as data:
                return {k: (str(data[k]) if k == "text" else data[k]) for k in data.files}
    hr = crop_pixels(crop)
    lr = reduce(hr, SCALE)
    lr_float = to_float(lr)
    size = (hr.shape[0], hr.shape[1])
    grid = (lr.shape[0] * MAP_GRID, lr.shape[1] * MAP_GRID)

    def enlarge(model: Any, image: np.ndarray, to: tuple[int, int]) -> tuple[np.ndarray, ...]:
        return render_with_spread(RegionRenderer(model, image), to, (0, to[0]), (0, to[1]))

    document, photo = models[DOCUMENT_MODEL], models[PHOTO_MODEL]
    sr, spread = enlarge(document, lr_float, size)
    grid_sr, grid_spread = enlarge(document, lr_float, grid)
    out: dict[str, Any] = {
        "lr": lr,
        "sr": sr,
        "spread": spread,
        "bicubic": to_float(imresize(lr, output_shape=size)),
        "grid_sr": grid_sr,
        "grid_spread": grid_spread,
        "grid_photo": enlarge(photo, lr_float, grid)[0],
        "grid_checker": enlarge(document, perturbed_input(lr_float, "checker"), grid)[0],
        "text": read_text(sr),
    }
    for k in range(4):  # grid_noise, grid_noise2 ... 4: the map's patterns and two more
        noisy = perturbed_input(lr_float, "noise", PERTURBATION_SEED + k)
        out[f"grid_noise{k + 1 if k else ''}"] = enlarge(document, noisy, grid)[0]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return out


# ----------------------------------------------------------------------------- maps

#: Crops (indices into :func:`benchmarks.ocr.choose_crops`) on which the chosen map's
#: settings (perturbation, smoothing, contrast floor) were picked among a few variants; the
#: results also report the other crops alone.
TUNING_CROPS = (0, 2, 4, 6, 8, 10, 12)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _blur(values: np.ndarray, sigma: float) -> np.ndarray:
    from liif_desktop.render.invention import gaussian_kernel, smooth_valid

    r = (gaussian_kernel(sigma).size - 1) // 2
    return smooth_valid(np.pad(values, r, mode="edge"), sigma)


def _upsample(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import torch

    t = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))[None, None]
    up = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False)
    return up[0, 0].numpy()


def edge_strength(rgb: np.ndarray) -> np.ndarray:
    """Luma gradient magnitude (central differences, zero on the border rows/columns)."""
    y = rgb @ _LUMA
    gy, gx = np.zeros_like(y), np.zeros_like(y)
    gy[1:-1] = (y[2:] - y[:-2]) / 2
    gx[:, 1:-1] = (y[:, 2:] - y[:, :-2]) / 2
    return np.hypot(gx, gy)


def candidate_maps(r: dict[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Every map measured on a crop's renders (output size), chosen one and baselines too.

    All but ``chosen``, ``random`` and ``edge_strength_raw`` are smoothed like the chosen
    map (a Gaussian of :data:`~liif_desktop.render.invention.SMOOTHING` input pixels).
    """
    from liif_desktop.imresize import imresize
    from liif_desktop.render.invention import SMOOTHING, whole_map

    size = (r["sr"].shape[0], r["sr"].shape[1])
    sigma = SMOOTHING * SCALE

    def grid_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _upsample(np.abs(a - b).mean(axis=-1), size)

    lr = to_float(r["lr"]).astype(np.float64)
    back = imresize(r["sr"].astype(np.float64), output_shape=lr.shape[:2]) - lr
    raw = {
        "ensemble_spread": r["spread"],
        "photo_vs_document": grid_diff(r["grid_photo"], r["grid_sr"]),
        "bicubic_difference": np.abs(r["sr"] - r["bicubic"]).mean(axis=-1),
        "back_projection_residual": imresize(np.abs(back).mean(axis=-1), output_shape=size),
        "perturbation_checker_gain": grid_diff(r["grid_checker"], r["grid_sr"]),
        "perturbation_noise_gain": grid_diff(r["grid_noise"], r["grid_sr"]),
        "edge_strength": edge_strength(r["sr"]),
    }
    maps = {name: _blur(values, sigma) for name, values in raw.items()}
    maps["chosen"] = whole_map(r["grid_sr"], [r["grid_noise"], r["grid_noise2"]], size)
    # The same map with the next two seeds, and with one pattern or all four: how much the
    # figures owe to the patterns drawn.
    maps["chosen_seeds_2028_2029"] = whole_map(
        r["grid_sr"], [r["grid_noise3"], r["grid_noise4"]], size
    )
    maps["one_pattern"] = whole_map(r["grid_sr"], [r["grid_noise"]], size)
    four = [r["grid_noise"], r["grid_noise2"], r["grid_noise3"], r["grid_noise4"]]
    maps["four_patterns"] = whole_map(r["grid_sr"], four, size)
    maps["edge_strength_raw"] = raw["edge_strength"]
    maps["random"] = np.random.default_rng(seed).random(size)
    return maps


def _describe(curve: list[float]) -> dict[str, Any]:
    return {
        "at_10pct": round(value_at(curve, 0.1), 4),
        "at_20pct": round(value_at(curve, 0.2), 4),
        "at_50pct": round(value_at(curve, 0.5), 4),
        "auc": round(area_under(curve), 4),
    }


def score_threshold(values: Sequence[np.ndarray], crops: Sequence[ScoredCrop], f: float) -> float:
    """The pooled text-area value above which a share ``f`` of the text area lies."""
    pooled = np.concatenate([v[c.mask] for v, c in zip(values, crops, strict=True)])
    return float(np.quantile(pooled, 1.0 - f))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.invention", description=__doc__)
    parser.add_argument("--stride", type=int, default=1, help="use every N-th OCR crop")
    parser.add_argument("--limit", type=int, help="at most N crops (after --stride)")
    parser.add_argument("--cache", type=Path, help="folder keeping renders between runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "invention.json")
    args = parser.parse_args(argv)

    ensure_tesseract()
    from liif_desktop.cpuinfo import cpu_flags, cpu_model
    from liif_desktop.render.invention import (
        CONTRAST_FLOOR,
        MAP_GRID,
        PERTURBATION,
        PERTURBATION_DRAWS,
        PERTURBATION_KIND,
        PERTURBATION_SEED,
        SCORE_SCALE,
        SMOOTHING,
    )
    from liif_desktop.weights import load_model

    start = time.perf_counter()
    models = {m: load_model(m).eval() for m in (DOCUMENT_MODEL, PHOTO_MODEL)}
    all_crops = choose_crops()
    indices = list(range(0, len(all_crops), args.stride))[: args.limit]
    scored: list[ScoredCrop] = []
    maps: dict[str, list[np.ndarray]] = {}
    per_crop: list[dict[str, Any]] = []
    for i in indices:
        crop = all_crops[i]
        r = crop_renders(crop, models, args.cache)
        reference, cells = character_cells(crop_rows(crop))
        if reference != normalise(crop.text):
            raise RuntimeError(f"{crop.page}: boxes do not spell the crop's ground truth")
        read = normalise(str(r["text"]))
        positions = error_positions(read, reference)
        scored.append(
            ScoredCrop(text_mask(crop_rows(crop), r["sr"].shape[:2]), [cells[p] for p in positions])
        )
        for name, values in candidate_maps(r, SEED + i).items():
            maps.setdefault(name, []).append(values)
        per_crop.append(
            {
                "index": i,
                "page": crop.page,
                "errors": len(positions),
                "chars": len(reference),
                "read": read,
            }
        )
        print(f"crop {i}: {len(positions)} errors in {len(reference)} chars", file=sys.stderr)

    curves = {name: errors_inside_curve(values, scored) for name, values in maps.items()}
    summary = {name: _describe(curve) for name, curve in curves.items()}
    for name, s in summary.items():
        print(f"{name:28s} at20 {s['at_20pct']:.3f}  auc {s['auc']:.3f}", file=sys.stderr)
    held_out = [k for k, i in enumerate(indices) if i not in TUNING_CROPS]
    held: dict[str, Any] = {}
    if held_out and sum(len(scored[k].error_cells) for k in held_out) > 0:
        for name in ("chosen", "edge_strength", "edge_strength_raw", "random"):
            curve = errors_inside_curve(
                [maps[name][k] for k in held_out], [scored[k] for k in held_out]
            )
            held[name] = _describe(curve)
    edge_at_20 = max(summary["edge_strength"]["at_20pct"], summary["edge_strength_raw"]["at_20pct"])
    raw_score_at_20 = -SCORE_SCALE * np.log1p(-score_threshold(maps["chosen"], scored, 0.2))
    result = {
        "about": __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else "",
        "errors_inside_at_20pct": summary["chosen"]["at_20pct"],
        "edge_baseline_at_20pct": edge_at_20,
        "random_baseline_at_20pct": summary["random"]["at_20pct"],
        "auc": summary["chosen"]["auc"],
        "edge_baseline_auc": max(
            summary["edge_strength"]["auc"], summary["edge_strength_raw"]["auc"]
        ),
        "random_baseline_auc": summary["random"]["auc"],
        "chosen": (
            f"{PERTURBATION_DRAWS} x {PERTURBATION_KIND} perturbation of "
            f"{PERTURBATION * 255:.0f}/255 (seeds {PERTURBATION_SEED}+k): mean output gain over "
            f"contrast (+{CONTRAST_FLOOR}), smoothed {SMOOTHING} input px, on the input grid "
            f"x{MAP_GRID}; map = 1 - exp(-score / {SCORE_SCALE})"
        ),
        "score_at_20pct_of_text_area": round(float(raw_score_at_20), 4),
        "fractions": list(FRACTIONS),
        "curve": [round(v, 4) for v in curves["chosen"]],
        "edge_curve": [round(v, 4) for v in curves["edge_strength"]],
        "candidates": summary,
        "candidate_curves": {k: [round(v, 4) for v in c] for k, c in curves.items()},
        "held_out": {"crops": [indices[k] for k in held_out], "results": held},
        "tuning_crops": list(TUNING_CROPS),
        "settings": {
            "scale": SCALE,
            "model": DOCUMENT_MODEL,
            "second_model": PHOTO_MODEL,
            "precision": "fp32",
            "device": "cpu",
            "tesseract": tesseract_version(),
            "crops": len(indices),
            "stride": args.stride,
            "errors": sum(len(c.error_cells) for c in scored),
            "chars": sum(c["chars"] for c in per_crop),
            "threshold": "one threshold over the pooled text area of all crops",
        },
        "per_crop": per_crop,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": {**machine_info(), "cpu_model": cpu_model(), "cpu_flags": cpu_flags()},
    }
    merge_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
