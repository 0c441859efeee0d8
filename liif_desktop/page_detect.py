"""A quick guess whether an image is a scanned or photographed page of text (numpy only).

Used to suggest the Document model. The heuristic looks for what pages of text share:

1. **Paper**: a bright luminance mode that covers a large share of the image (the histogram
   of a page is bimodal: a big bright paper peak and a smaller dark ink tail).
2. **Little colour**: paper and ink are nearly grey; photos are usually more saturated.
3. **Some ink**: a small but non-trivial share of pixels much darker than the paper.
4. **Thin strokes**: nearly every ink pixel lies within a couple of pixels of paper, as text
   strokes and rules do; dark regions of photos are solid blobs.

It is a hint, not a classifier: a drawing on white paper passes, a page photographed under
coloured light may not. The image is subsampled to at most :data:`ANALYSIS_SIDE` pixels on its
longer side first, so a call is cheap for any image size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["ANALYSIS_SIDE", "LOSSY_SUFFIXES", "looks_like_document", "lossy_file", "page_features"]

#: File types whose pixels went through a lossy encoder (JPEG blocks, ringing).
LOSSY_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".webp")
#: Longer side of the subsampled image the statistics are computed on.
ANALYSIS_SIDE = 512
#: BT.601 luma weights.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

MIN_PAPER_LEVEL = 0.55
MIN_PAPER_SHARE = 0.40
MAX_CHROMA = 0.12
MIN_INK_SHARE = 0.003
MAX_INK_SHARE = 0.45
MIN_STROKE_SHARE = 0.75
#: Ink is darker than the paper level by at least this much.
INK_CONTRAST = 0.25
#: Paper pixels lie within this distance of the paper level.
PAPER_TOLERANCE = 0.12
#: An ink pixel is part of a thin stroke when paper lies within this many pixels.
STROKE_RADIUS = 2


def _as_float(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
    rgb = rgb[..., :3]
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / 255.0
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / 65535.0
    return np.clip(rgb.astype(np.float32), 0.0, 1.0)


def _near(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` (Chebyshev distance) of a True pixel of ``mask``."""
    h, w = mask.shape
    padded = np.pad(mask, radius, constant_values=False)
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy : dy + h, dx : dx + w]
    return out


def page_features(rgb: np.ndarray) -> dict[str, float]:
    """The statistics the decision is made from.

    Parameters
    ----------
    rgb
        (H, W, 3) image, uint8 / uint16 or float in [0, 1]; extra channels are ignored.

    Returns
    -------
    dict
        ``paper_level`` (luminance of the brightest well-populated histogram peak),
        ``paper_share``, ``chroma`` (median max−min of RGB), ``ink_share`` and
        ``stroke_share`` (share of ink pixels within :data:`STROKE_RADIUS` px of paper).
    """
    image = _as_float(rgb)
    step = max(1, int(np.ceil(max(image.shape[:2]) / ANALYSIS_SIDE)))
    image = image[::step, ::step]
    luma = image @ _LUMA
    chroma = float(np.median(image.max(axis=2) - image.min(axis=2)))

    hist, edges = np.histogram(luma, bins=32, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    # The paper peak: the brightest bin holding at least 5 % of the pixels (or the mode).
    populated = np.nonzero(hist >= 0.05 * luma.size)[0]
    peak = int(populated[-1]) if populated.size else int(np.argmax(hist))
    paper_level = float(np.median(luma[np.abs(luma - centres[peak]) <= 1.0 / 32]))
    paper = np.abs(luma - paper_level) <= PAPER_TOLERANCE
    ink = luma < paper_level - INK_CONTRAST
    ink_count = int(ink.sum())
    stroke_share = float(_near(paper, STROKE_RADIUS)[ink].mean()) if ink_count else 0.0
    return {
        "paper_level": paper_level,
        "paper_share": float(paper.mean()),
        "chroma": chroma,
        "ink_share": ink_count / luma.size,
        "stroke_share": stroke_share,
    }


def looks_like_document(rgb: np.ndarray) -> tuple[bool, str]:
    """Guess whether ``rgb`` is a page of text.

    Parameters
    ----------
    rgb
        (H, W, 3) image, uint8 / uint16 or float in [0, 1].

    Returns
    -------
    (bool, str)
        The decision and a one-line reason naming the deciding measurement.
    """
    f = page_features(rgb)
    if f["paper_level"] < MIN_PAPER_LEVEL:
        return (
            False,
            f"no bright paper: the brightest large luminance peak is {f['paper_level']:.2f}",
        )
    if f["paper_share"] < MIN_PAPER_SHARE:
        return False, f"paper covers only {f['paper_share']:.0%} of the image"
    if f["chroma"] > MAX_CHROMA:
        return False, f"too colourful for a page (median chroma {f['chroma']:.2f})"
    if f["ink_share"] < MIN_INK_SHARE:
        return False, f"almost no ink ({f['ink_share']:.1%} dark pixels): a blank or light image"
    if f["ink_share"] > MAX_INK_SHARE:
        return False, f"too much dark area for a page ({f['ink_share']:.0%})"
    if f["stroke_share"] < MIN_STROKE_SHARE:
        return False, (
            f"dark areas are solid, not thin strokes ({f['stroke_share']:.0%} of ink near paper)"
        )
    return True, (
        f"page: paper {f['paper_share']:.0%} at luminance {f['paper_level']:.2f}, "
        f"{f['ink_share']:.1%} ink in thin strokes ({f['stroke_share']:.0%}), "
        f"chroma {f['chroma']:.2f}"
    )


def lossy_file(path: Path | None) -> bool:
    """Whether ``path`` names a lossy image file (JPEG/WebP: suits the real-inputs models)."""
    return path is not None and path.suffix.lower() in LOSSY_SUFFIXES
