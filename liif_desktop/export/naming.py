"""Output file names from a pattern such as ``'{name}_x{scale}'``."""

from __future__ import annotations

import string
from pathlib import Path

from liif_desktop.export.imagewrite import FORMAT_SUFFIXES

#: Fields a name pattern may use.
PATTERN_FIELDS = {
    "name": "input file name without its suffix",
    "scale": "scale factor, e.g. 2 or 2.5 (width scale when the axes differ)",
    "width": "output width in pixels",
    "height": "output height in pixels",
    "format": "output format in lower case (png, jpeg, tiff, webp)",
    "page": "page number of a PDF or multi-page TIFF (added as _pN when left out)",
}
DEFAULT_PATTERN = "{name}_x{scale}"


def validate_pattern(pattern: str) -> None:
    """Raise ValueError if ``pattern`` is unusable (unknown field, separator, empty)."""
    if not pattern.strip():
        raise ValueError("the name pattern is empty")
    if "/" in pattern or "\\" in pattern:
        raise ValueError(f"the name pattern {pattern!r} must not contain a folder separator")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValueError(f"the name pattern {pattern!r} is malformed ({exc})") from exc
    for _, field, spec, _ in parsed:
        if field is None:
            continue
        if field not in PATTERN_FIELDS:
            known = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
            raise ValueError(f"unknown field {{{field}}} in the name pattern; use {known}")
        if spec:
            raise ValueError(f"format specs are not supported in the name pattern ({pattern!r})")


def format_scale(in_size: tuple[int, int], out_size: tuple[int, int]) -> str:
    """The scale for a file name: ``'2'``, ``'2.5'``, ``'1.33'`` (width based)."""
    scale = out_size[1] / in_size[1]
    text = f"{scale:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def output_name(
    pattern: str,
    source: Path,
    in_size: tuple[int, int],
    out_size: tuple[int, int],
    fmt: str,
    page: int | None = None,
    page_count: int = 1,
) -> str:
    """The output file name (with the format's suffix) for ``source``.

    ``in_size`` and ``out_size`` are (H, W). ``page`` (1-based) names one page of a multi-page
    input, zero-padded to the digits of ``page_count`` so names sort in page order; when the
    pattern has no ``{page}`` it is appended as ``_pN`` so pages never share a name.
    """
    validate_pattern(pattern)
    page_text = "1" if page is None else f"{page:0{len(str(max(page_count, page)))}d}"
    stem = pattern.format(
        name=source.stem,
        scale=format_scale(in_size, out_size),
        width=out_size[1],
        height=out_size[0],
        format=fmt.lower(),
        page=page_text,
    )
    if page is not None and "{page}" not in pattern:
        stem += f"_p{page_text}"
    stem = stem.strip().rstrip(".") or source.stem
    return stem + FORMAT_SUFFIXES.get(fmt, "." + fmt.lower())


__all__ = ["DEFAULT_PATTERN", "PATTERN_FIELDS", "format_scale", "output_name", "validate_pattern"]


def format_duration(seconds: float | None, unknown: str = "–") -> str:
    """``'0:42'`` or ``'1:02:03'`` for a duration; ``unknown`` when it is not known yet."""
    if seconds is None:
        return unknown
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
