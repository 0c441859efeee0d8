"""The "invented detail" map of a whole image, tile by tile, written as a greyscale PNG.

White marks where the enlargement depends most on what the model invented (see
:func:`liif_desktop.render.invention.invention_tile`); the map has the enlargement's size, so
it lies over it pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from liif_desktop.export.batch import BatchEvent
from liif_desktop.export.imageio import ImageLoadError, LoadedImage, load_image
from liif_desktop.export.job import (
    ExportProgress,
    ExportSettings,
    Target,
    export_image,
    quantize,
)
from liif_desktop.export.job import _plan as plan_output  # the same rectangle as the export
from liif_desktop.export.safety import ExportError, PendingFile, describe_os_error
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.render.full import output_tiles
from liif_desktop.render.invention import invention_tile
from liif_desktop.render.region import RegionRenderer

#: Inserted before the suffix of the enlargement's name: ``page_x4.png`` → ``page_x4.invented.png``.
MAP_SUFFIX = ".invented.png"


def map_path_for(output: Path) -> Path:
    """Where the map of an enlargement written to ``output`` goes (beside it, always PNG)."""
    return output.with_name(output.stem + MAP_SUFFIX)


def invention_map_tiles(
    renderer: RegionRenderer,
    out_size: tuple[int, int],
    tile: int = 256,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[tuple[int, int], tuple[int, int], np.ndarray]]:
    """``(rows, cols, map)`` for every tile of the ``out_size`` grid (map: float32 in [0, 1]).

    Raises
    ------
    liif_desktop.model.decoder.Cancelled
        When ``should_stop`` returns True (between tiles and between chunks).
    """
    for rows, cols in output_tiles(out_size, tile):
        if should_stop is not None and should_stop():
            raise Cancelled
        yield rows, cols, invention_tile(renderer, out_size, rows, cols, should_stop)


def invention_map(
    rgb: np.ndarray,
    model: LIIF,
    full_size: tuple[int, int],
    origin: tuple[int, int] = (0, 0),
    out_size: tuple[int, int] | None = None,
    tile: int = 256,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """The map of an (H, W, 3) float32 image enlarged to ``full_size``, as uint8 grey.

    ``origin`` and ``out_size`` pick a rectangle of that grid (a region export); by default
    the whole grid.
    """
    out_size = full_size if out_size is None else out_size
    renderer = RegionRenderer(model, rgb)
    out = np.empty(out_size, dtype=np.uint8)
    r0, c0 = origin
    for rows, cols in output_tiles(out_size, tile):
        if should_stop is not None and should_stop():
            raise Cancelled
        grid_rows, grid_cols = (rows[0] + r0, rows[1] + r0), (cols[0] + c0, cols[1] + c0)
        values = invention_tile(renderer, full_size, grid_rows, grid_cols, should_stop)
        out[rows[0] : rows[1], cols[0] : cols[1]] = quantize(values, np.uint8)
    return out


def write_grey_png(grey: np.ndarray, target: Path) -> Path:
    """Write a uint8 (H, W) map as a greyscale PNG, replacing a file there, never partially.

    Raises
    ------
    ExportError
        The file cannot be written.
    """
    pending = PendingFile(target)
    try:
        try:
            Image.fromarray(grey, mode="L").save(pending.handle, format="PNG")
        except OSError as exc:
            raise ExportError(describe_os_error(exc, target)) from exc
        return pending.commit(overwrite=True)
    except BaseException:
        pending.discard()
        raise


def write_map_beside(
    source: Path,
    output: Path,
    model: LIIF,
    allow_huge: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Write the map of ``source``'s enlargement ``output`` beside it (:func:`map_path_for`).

    The map has the size of the file at ``output`` (a whole-image enlargement).
    """
    with Image.open(output) as written:
        width, height = written.size
    image = load_image(source, allow_huge=allow_huge)
    grey = invention_map(image.rgb, model, (height, width), should_stop=should_stop)
    return write_grey_png(grey, map_path_for(output))


def write_maps_for(
    event: BatchEvent, model: LIIF, allow_huge: bool, report: Callable[[str], None]
) -> bool:
    """For a batch's ``'file_done'`` event, write the map beside its output (the CLI's hook).

    Returns False (after reporting why) when the map could not be written.
    """
    if event.kind != "file_done" or event.source is None or event.output is None:
        return True
    try:
        write_map_beside(event.source, event.output, model, allow_huge=allow_huge)
    except (ExportError, ImageLoadError, OSError) as exc:
        report(f"error: invented-detail map of {event.source}: {exc}")
        return False
    return True


def export_with_map(
    image: LoadedImage,
    model: LIIF,
    target: Target,
    settings: ExportSettings,
    should_stop: Callable[[], bool] | None = None,
    protected: tuple[Path, ...] = (),
) -> Iterator[ExportProgress]:
    """:func:`~liif_desktop.export.job.export_image`, then the map beside the file written.

    The ``'done'`` step comes last, once the map is written too; its warnings name the map.
    """
    done = None
    for progress in export_image(image, model, target, settings, should_stop, protected):
        if progress.phase == "done":
            done = progress
        else:
            yield progress
    if done is None or done.output is None:
        return
    yield replace(done, phase="write")
    plan = plan_output(image.size, settings)
    grey = invention_map(
        image.rgb, model, plan.full_size, plan.origin, plan.out_size, settings.tile, should_stop
    )
    written = write_grey_png(grey, map_path_for(done.output))
    yield replace(done, warnings=(*done.warnings, f"invented-detail map written to {written}"))


__all__ = [
    "MAP_SUFFIX",
    "export_with_map",
    "invention_map",
    "invention_map_tiles",
    "map_path_for",
    "write_grey_png",
    "write_map_beside",
    "write_maps_for",
]
