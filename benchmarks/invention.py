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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, machine_info, merge_json, to_float
from benchmarks.ocr import (
    Box,
    Crop,
    DOCUMENTS,
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
    text, cells = [], []
    for ch, cell in chars:
        if ch.isspace():
            if text and text[-1] != " ":
                text.append(" ")
                cells.append(cell)
            continue
        text.append(ch.upper())
        cells.append(cell)
    if text and text[-1] == " ":
        text.pop()
        cells.pop()
    return "".join(text), cells


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
    seeded noise.
    """
    from liif_desktop.imresize import imresize
    from liif_desktop.render.invention import MAP_GRID, perturbed_input, render_with_spread
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
    out = {
        "lr": lr,
        "sr": sr,
        "spread": spread,
        "bicubic": to_float(imresize(lr, output_shape=size)),
        "grid_sr": grid_sr,
        "grid_spread": grid_spread,
        "grid_photo": enlarge(photo, lr_float, grid)[0],
        "grid_checker": enlarge(document, perturbed_input(lr_float, "checker"), grid)[0],
        "grid_noise": enlarge(document, perturbed_input(lr_float, "noise"), grid)[0],
        "text": read_text(sr),
    }
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return out
