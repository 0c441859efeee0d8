"""Where an enlargement depends on what the model invented: the measurements behind the map.

This module holds the renders the "invented detail" map is built from (the local ensemble's
spread, and a render of a slightly perturbed input); the map itself is defined further down.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
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
#: Independent perturbations whose gains are averaged (seeds ``PERTURBATION_SEED + k``): one
#: pattern's gain varies with the pattern; two halve that variance for one more encoder pass
#: and one more decode of the map grid (benchmarks/invention.py: 0.45-0.49 of the errors in
#: 20 % of the text area with one pattern, depending on its seed; 0.49-0.51 with two).
PERTURBATION_DRAWS = 2


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


def perturbation_pattern(
    shape: tuple[int, int], kind: str = "checker", seed: int = PERTURBATION_SEED
) -> np.ndarray:
    """A fixed ±1 pattern over the whole input: ``'checker'`` or ``'noise'`` seeded by ``seed``.

    It depends only on the pixel position (and the seed), so tiles of the same image agree.
    """
    if kind == "checker":
        return (np.indices(shape).sum(0) % 2 * 2 - 1).astype(np.float32)
    if kind == "noise":
        rng = np.random.default_rng(seed)
        return rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=shape)
    raise ValueError(f"unknown perturbation {kind!r}")


def perturbed_input(
    image: np.ndarray, kind: str = "checker", seed: int = PERTURBATION_SEED
) -> np.ndarray:
    """The (H, W, 3) input plus :data:`PERTURBATION` times the pattern (not clipped).

    Not clipping keeps the perturbation the same size on white paper as on ink.
    """
    pattern = perturbation_pattern(image.shape[:2], kind, seed)
    return (image + PERTURBATION * pattern[..., None]).astype(np.float32)


# ----------------------------------------------------------------------------- the map

#: Gaussian smoothing of gain and contrast, in input pixels.
SMOOTHING = 2.0
#: Contrast added below the ratio (map-grid luma gradient units): keeps flat paper from
#: dividing by nothing, and sets how much contrast it takes to halve a gain's weight.
CONTRAST_FLOOR = 0.1
#: Scale of the score: the map is ``1 - exp(-score / SCORE_SCALE)``, fixed so that tiles and
#: images compare. Set so that 0.5 is the score above which the benchmark's receipts have
#: a fifth of their text area (benchmarks/invention.py).
SCORE_SCALE = 15.0
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def map_grid(lr_size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) of the grid the score is measured on: the input grid ×:data:`MAP_GRID`."""
    return lr_size[0] * MAP_GRID, lr_size[1] * MAP_GRID


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of standard deviation ``sigma``, radius ``ceil(3 sigma)``."""
    radius = max(1, int(np.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / max(sigma, 1e-6)) ** 2)
    return (k / k.sum()).astype(np.float32)


#: Radius of the smoothing on the map grid.
_RADIUS = (gaussian_kernel(SMOOTHING * MAP_GRID).size - 1) // 2
#: Map-grid pixels a window needs around the values it yields (smoothing + gradient).
_MARGIN = _RADIUS + 1


def smooth_valid(values: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian smoothing of a (h, w) array, keeping only the fully covered part.

    The result is smaller by the kernel's radius on every side.
    """
    k = torch.from_numpy(gaussian_kernel(sigma))
    t = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))[None, None]
    t = torch.nn.functional.conv2d(t, k.view(1, 1, 1, -1))
    t = torch.nn.functional.conv2d(t, k.view(1, 1, -1, 1))
    return t[0, 0].numpy()


def _replicate(values: np.ndarray, pad: tuple[int, int, int, int]) -> np.ndarray:
    top, bottom, left, right = pad
    return np.pad(values, ((top, bottom), (left, right)), mode="edge")


def scores(
    base: np.ndarray, perturbed: Sequence[np.ndarray], pad: tuple[int, int, int, int]
) -> np.ndarray:
    """Smoothed gain over smoothed contrast, from renders of a window of the map grid.

    Gain is how far the output moved per unit of input change (mean over RGB and over the
    perturbations); contrast is
    the luma gradient of the unperturbed render (central differences). Both are smoothed by
    :data:`SMOOTHING` and their ratio is taken with :data:`CONTRAST_FLOOR` added below.

    Parameters
    ----------
    base, perturbed
        (h, w, 3) renders of the same window of the map grid: as it is and under each
        perturbation.
    pad
        (top, bottom, left, right): map-grid pixels of edge replication that complete the
        window to :data:`_MARGIN` pixels around the part wanted (non-zero only at the grid's
        borders). The whole grid is the window with ``_MARGIN`` on every side.

    Returns
    -------
    numpy.ndarray
        Scores of the window less :data:`_MARGIN` pixels on every side (after padding).
    """
    moved = np.mean([np.abs(p - base).mean(axis=-1) for p in perturbed], axis=0)
    gain = _replicate(moved / PERTURBATION, pad)
    luma = _replicate(base @ _LUMA, pad)
    gy = (luma[2:, 1:-1] - luma[:-2, 1:-1]) * 0.5
    gx = (luma[1:-1, 2:] - luma[1:-1, :-2]) * 0.5
    sigma = SMOOTHING * MAP_GRID
    smooth_gain = smooth_valid(gain[1:-1, 1:-1], sigma)
    smooth_contrast = smooth_valid(np.hypot(gx, gy), sigma)
    return smooth_gain / (smooth_contrast + CONTRAST_FLOOR)


@dataclass(frozen=True)
class _AxisPlan:
    """How one axis of an output rectangle reads the map grid."""

    window: tuple[int, int]  # map-grid pixels to render
    pad: tuple[int, int]  # edge replication completing the margin (at the grid's borders)
    lower: np.ndarray  # per output pixel: score index below its centre
    upper: np.ndarray  # ... and above it
    frac: np.ndarray  # weight of ``upper``


def _axis_plan(out_n: int, grid_n: int, start: int, stop: int) -> _AxisPlan:
    # Output pixel centres in map-grid index units, clamped (bilinear, align_corners=False).
    g = (np.arange(start, stop, dtype=np.float64) + 0.5) * (grid_n / out_n) - 0.5
    g = np.clip(g, 0.0, grid_n - 1.0)
    lower = np.floor(g).astype(np.int64)
    upper = np.minimum(lower + 1, grid_n - 1)
    lo, hi = int(lower.min()), int(upper.max()) + 1
    w0, w1 = max(0, lo - _MARGIN), min(grid_n, hi + _MARGIN)
    pad = (_MARGIN - (lo - w0), _MARGIN - (w1 - hi))
    return _AxisPlan((w0, w1), pad, lower - lo, upper - lo, (g - lower).astype(np.float32))


def _plan(
    lr_size: tuple[int, int],
    out_size: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
) -> tuple[_AxisPlan, _AxisPlan]:
    grid = map_grid(lr_size)
    return (
        _axis_plan(out_size[0], grid[0], rows[0], rows[1]),
        _axis_plan(out_size[1], grid[1], cols[0], cols[1]),
    )


def _finish(
    base: np.ndarray, perturbed: Sequence[np.ndarray], py: _AxisPlan, px: _AxisPlan
) -> np.ndarray:
    s = scores(base, perturbed, (*py.pad, *px.pad))
    s = s[py.lower] * (1 - py.frac[:, None]) + s[py.upper] * py.frac[:, None]
    s = s[:, px.lower] * (1 - px.frac) + s[:, px.upper] * px.frac
    return (1.0 - np.exp(-np.maximum(s, 0.0) / SCORE_SCALE)).astype(np.float32)


Companions = tuple[RegionRenderer, tuple[RegionRenderer, ...]]
COMPANION_FEATURE_TILE = 128
_companions: weakref.WeakKeyDictionary[RegionRenderer, Companions] = weakref.WeakKeyDictionary()
_companions_lock = threading.Lock()


def perturbed_inputs(image: np.ndarray) -> list[np.ndarray]:
    """The map's :data:`PERTURBATION_DRAWS` perturbed copies of an (H, W, 3) input."""
    return [
        perturbed_input(image, PERTURBATION_KIND, PERTURBATION_SEED + k)
        for k in range(PERTURBATION_DRAWS)
    ]


def companions(renderer: RegionRenderer) -> Companions:
    """The fp32 renderers of the map for ``renderer``'s image: as it is, and each perturbed.

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
                    # Encoded tile by tile here: small viewer tiles would pay the halo
                    # several times over.
                    feature_tile=max(renderer.feature_tile, COMPANION_FEATURE_TILE),
                    max_queries=renderer.max_queries,
                )

            base = renderer if renderer.precision == "fp32" else make(image)
            pair = (base, tuple(make(p) for p in perturbed_inputs(image)))
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

    The input is nudged by fixed, invisible patterns (:data:`PERTURBATION`, 2 grey levels
    of seeded ±noise, :data:`PERTURBATION_DRAWS` of them) and the model's output compared
    with the unperturbed one (the mean move over the patterns). Where the
    output moves a lot for so small a cause, relative to the local contrast of the
    enlargement, the detail there is decided by the model more than by the input. Measured
    on the input grid ×:data:`MAP_GRID` whatever the zoom, smoothed over :data:`SMOOTHING`
    input pixels, resampled bilinearly to the rectangle and mapped to [0, 1) by the fixed
    :data:`SCORE_SCALE`: a pixel gets the same value from any tile, so tiles join seamlessly,
    and maps of different images compare. It never looks at text.

    Cost: the perturbed images' latent codes (an encoder pass per pattern over the input
    tiles the rectangle reaches, cached) and 1 + :data:`PERTURBATION_DRAWS` decodes of the
    map grid's window (the rectangle plus a margin of ``3 × SMOOTHING + 1`` input pixels).
    At ×4 that is 3 decodes of a quarter of the tile's queries and 2 encoder passes: about
    0.9 of the tile's own cost with EDSR-baseline.

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
    b = [p.render(grid, py.window, px.window, should_stop) for p in perturbed]
    return _finish(a, b, py, px)


def whole_map(
    base: np.ndarray, perturbed: Sequence[np.ndarray], out_size: tuple[int, int]
) -> np.ndarray:
    """The map of a whole ``out_size`` grid from whole-map-grid renders (benchmarks, tests).

    ``base`` and each of ``perturbed`` are (H·MAP_GRID, W·MAP_GRID, 3) renders of the input
    as it is and perturbed (:func:`perturbed_inputs`).
    """
    lr_size = (base.shape[0] // MAP_GRID, base.shape[1] // MAP_GRID)
    py, px = _plan(lr_size, out_size, (0, out_size[0]), (0, out_size[1]))
    return _finish(base, perturbed, py, px)
