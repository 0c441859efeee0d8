"""Where an enlargement depends on what the model invented: the measurements behind the map.

This module holds the renders the "invented detail" map is built from (the local ensemble's
spread, and a render of a slightly perturbed input); the map itself is defined further down.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from liif_desktop.model.ensemble_spread import SpreadDecoder
from liif_desktop.render.region import RegionRenderer

StopCheck = Callable[[], bool] | None

#: Size of the input perturbation (in [0, 1] units: about 2 grey levels of 8-bit).
PERTURBATION = 2.0 / 255.0
PERTURBATION_SEED = 2026
#: The map is measured on the input grid enlarged this many times (then resampled).
MAP_GRID = 2
#: The pattern of the perturbation (see :func:`perturbation_pattern`).
PERTURBATION_KIND = "noise"


def render_with_spread(
    renderer: RegionRenderer,
    out_size: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
    should_stop: StopCheck = None,
) -> tuple[np.ndarray, np.ndarray]:
    """RGB of a rectangle (as :meth:`RegionRenderer.render`) and the ensemble's spread there.

    Returns
    -------
    tuple of numpy.ndarray
        (rows, cols, 3) float32 RGB in [0, 1] and (rows, cols) float32 spread in RGB units.
    """
    decoder = SpreadDecoder(renderer.model, renderer.dtype)
    win_rows, win_cols = renderer.lr_window(out_size, rows, cols)
    with torch.inference_mode():
        feat = renderer.features_for(win_rows, win_cols, should_stop)
        proj = decoder.project(feat)
        raw, spread = decoder.decode_grid_spread(
            proj,
            (win_rows[0], win_cols[0]),
            renderer.lr_size,
            out_size,
            rows,
            cols,
            max_queries=renderer.max_queries,
            should_stop=should_stop,
        )
        rgb = (raw * 0.5 + 0.5).clamp_(0, 1)
    return rgb.cpu().numpy(), (spread * 0.5).cpu().numpy()


def perturbation_pattern(shape: tuple[int, int], kind: str = "checker") -> np.ndarray:
    """A fixed ±1 pattern over the whole input: ``'checker'`` or seeded ``'noise'``.

    It depends only on the pixel position (and the seed), so tiles of the same image agree.
    """
    if kind == "checker":
        return (np.indices(shape).sum(0) % 2 * 2 - 1).astype(np.float32)
    if kind == "noise":
        rng = np.random.default_rng(PERTURBATION_SEED)
        return rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=shape)
    raise ValueError(f"unknown perturbation {kind!r}")


def perturbed_input(image: np.ndarray, kind: str = "checker") -> np.ndarray:
    """The (H, W, 3) input plus :data:`PERTURBATION` times the pattern (not clipped).

    Not clipping keeps the perturbation the same size on white paper as on ink.
    """
    pattern = perturbation_pattern(image.shape[:2], kind)
    return (image + PERTURBATION * pattern[..., None]).astype(np.float32)


# ----------------------------------------------------------------------------- the map

#: Gaussian smoothing of the score, in input pixels.
SMOOTHING = 2.0
#: Score that maps to 1.0 (scores are clipped there); fixed, so tiles and images compare.
FULL_SCALE = 1.0


def map_grid(lr_size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) of the grid the score is measured on: the input grid ×:data:`MAP_GRID`."""
    return lr_size[0] * MAP_GRID, lr_size[1] * MAP_GRID


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of standard deviation ``sigma``, radius ``ceil(3 sigma)``."""
    radius = max(1, int(np.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / max(sigma, 1e-6)) ** 2)
    return (k / k.sum()).astype(np.float32)


def smooth(values: np.ndarray, sigma: float, pad: tuple[int, int, int, int]) -> np.ndarray:
    """Separable Gaussian smoothing of a (h, w) window, keeping the valid part.

    ``pad`` = (top, bottom, left, right) pixels of edge replication to add first: where the
    window touches the border of the whole grid it is padded by the kernel's radius, and
    elsewhere it already holds that many real neighbours, so any window gives the values
    a whole-grid smoothing (edges replicated) gives there.
    """
    k = torch.from_numpy(gaussian_kernel(sigma))
    r = (k.numel() - 1) // 2
    t = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))[None, None]
    top, bottom, left, right = pad
    if any(pad):
        t = torch.nn.functional.pad(t, (left, right, top, bottom), mode="replicate")
    t = torch.nn.functional.conv2d(t, k.view(1, 1, 1, -1))
    t = torch.nn.functional.conv2d(t, k.view(1, 1, -1, 1))
    assert t.shape[-1] == values.shape[1] + left + right - 2 * r
    return t[0, 0].numpy()


@dataclass(frozen=True)
class _AxisPlan:
    """How one axis of an output rectangle reads the map grid."""

    window: tuple[int, int]  # grid pixels whose scores are measured
    pad: tuple[int, int]  # edge replication before smoothing (at the grid's borders)
    lower: np.ndarray  # per output pixel: grid index below its centre, from window start
    upper: np.ndarray  # ... and above it
    frac: np.ndarray  # weight of ``upper``


def _axis_plan(out_n: int, grid_n: int, start: int, stop: int, radius: int) -> _AxisPlan:
    # Output pixel centres in grid-pixel index units, clamped (bilinear, align_corners=False).
    g = (np.arange(start, stop, dtype=np.float64) + 0.5) * (grid_n / out_n) - 0.5
    g = np.clip(g, 0.0, grid_n - 1.0)
    lower = np.floor(g).astype(np.int64)
    upper = np.minimum(lower + 1, grid_n - 1)
    lo, hi = int(lower.min()), int(upper.max()) + 1
    w0, w1 = max(0, lo - radius), min(grid_n, hi + radius)
    pad = (radius - (lo - w0), radius - (w1 - hi))
    return _AxisPlan((w0, w1), pad, lower - lo, upper - lo, (g - lower).astype(np.float32))


def _plan(
    lr_size: tuple[int, int],
    out_size: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
) -> tuple[_AxisPlan, _AxisPlan]:
    grid = map_grid(lr_size)
    radius = (gaussian_kernel(SMOOTHING * MAP_GRID).size - 1) // 2
    return (
        _axis_plan(out_size[0], grid[0], rows[0], rows[1], radius),
        _axis_plan(out_size[1], grid[1], cols[0], cols[1], radius),
    )


def map_from_scores(scores: np.ndarray, py: _AxisPlan, px: _AxisPlan) -> np.ndarray:
    """The map of an output rectangle from the raw scores of its grid window.

    Smooths (:data:`SMOOTHING`), resamples bilinearly to the output pixels and normalises
    by the fixed :data:`FULL_SCALE`.
    """
    s = smooth(scores, SMOOTHING * MAP_GRID, (*py.pad, *px.pad))
    s = s[py.lower] * (1 - py.frac[:, None]) + s[py.upper] * py.frac[:, None]
    s = s[:, px.lower] * (1 - px.frac) + s[:, px.upper] * px.frac
    return np.clip(s / FULL_SCALE, 0.0, 1.0).astype(np.float32)


def score_from_renders(base: np.ndarray, perturbed: np.ndarray) -> np.ndarray:
    """Raw score: output change per unit of input change, mean over RGB ((h, w) float32)."""
    return (np.abs(perturbed - base).mean(axis=-1) / PERTURBATION).astype(np.float32)


_companions: weakref.WeakKeyDictionary[RegionRenderer, tuple[RegionRenderer, RegionRenderer]] = (
    weakref.WeakKeyDictionary()
)
_companions_lock = threading.Lock()


def companions(renderer: RegionRenderer) -> tuple[RegionRenderer, RegionRenderer]:
    """The fp32 renderers of the map for ``renderer``'s image: as it is, and perturbed.

    Made once per renderer and kept while it lives. An fp32 ``renderer`` is reused for the
    unperturbed side (sharing its latent-code cache); at lower precision the map gets its own
    fp32 one, since rounding noise would swamp a perturbation this small.
    """
    with _companions_lock:
        pair = _companions.get(renderer)
        if pair is None:
            image = renderer.image.permute(1, 2, 0).cpu().numpy()

            def make(pixels: np.ndarray) -> RegionRenderer:
                return RegionRenderer(
                    renderer.model,
                    pixels,
                    halo=renderer.halo,
                    feature_tile=renderer.feature_tile,
                    max_queries=renderer.max_queries,
                )

            base = renderer if renderer.precision == "fp32" else make(image)
            pair = (base, make(perturbed_input(image, PERTURBATION_KIND)))
            _companions[renderer] = pair
    return pair


def invention_tile(
    renderer: RegionRenderer,
    out_size: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
    should_stop: StopCheck = None,
) -> np.ndarray:
    """The "invented detail" map of output pixels ``rows × cols`` of an ``out_size`` grid.

    The score is how much the model's output moves when the input is nudged by a fixed,
    invisible pattern (:data:`PERTURBATION`, 2 grey levels): where a tiny change of the input
    changes the enlargement a lot, the detail there is decided by the model rather than by
    the input. It is measured on the input grid ×:data:`MAP_GRID` whatever the zoom, smoothed
    over :data:`SMOOTHING` input pixels, resampled to the rectangle and divided by the fixed
    :data:`FULL_SCALE`: the same pixel gets the same value from any tile, so tiles join
    seamlessly and maps of different images compare. It never looks at text.

    Cost: the perturbed image's latent codes (one encoder pass over the tiles it reaches,
    cached) and two decodes on the map grid's window (the rectangle plus a smoothing margin).

    Parameters
    ----------
    renderer
        The renderer of the enlargement (its model and image; an fp32 one shares its cache).
    out_size
        (H, W) of the whole output grid.
    rows, cols
        Half-open output pixel ranges.
    should_stop
        Polled between chunks; :class:`~liif_desktop.model.decoder.Cancelled` is raised when
        it returns True.

    Returns
    -------
    numpy.ndarray
        (rows, cols) float32 in [0, 1]; 1 is the most invented.
    """
    if not (0 <= rows[0] < rows[1] <= out_size[0] and 0 <= cols[0] < cols[1] <= out_size[1]):
        raise ValueError(f"rectangle {rows}×{cols} is outside the {out_size} output grid")
    py, px = _plan(renderer.lr_size, out_size, rows, cols)
    base, perturbed = companions(renderer)
    grid = map_grid(renderer.lr_size)
    a = base.render(grid, py.window, px.window, should_stop)
    b = perturbed.render(grid, py.window, px.window, should_stop)
    return map_from_scores(score_from_renders(a, b), py, px)


def whole_map(scores: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """The map of a whole output grid from the raw scores of the whole map grid."""
    grid = scores.shape[:2]
    lr_size = (grid[0] // MAP_GRID, grid[1] // MAP_GRID)
    py, px = _plan(lr_size, out_size, (0, out_size[0]), (0, out_size[1]))
    return map_from_scores(scores, py, px)
