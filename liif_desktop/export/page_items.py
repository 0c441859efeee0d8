"""Batch items for files with pages: the unit of work becomes an (input file, page) pair."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from liif_desktop.export.batch import BatchItem
from liif_desktop.export.imageio import ImageLoadError
from liif_desktop.export.multipage import multipage_format
from liif_desktop.export.pages import open_pages, parse_page_range


def expand_pages(items: Iterable[BatchItem], pages: str | None = None) -> list[BatchItem]:
    """Split PDFs and multi-page TIFFs into one item per selected page.

    Parameters
    ----------
    items
        Batch items as collected (single images are passed through unchanged).
    pages
        A page selection such as ``'2-4,7'`` (see
        :func:`liif_desktop.export.pages.parse_page_range`); None: all pages. It applies to
        files with pages; single images are always kept.

    Returns
    -------
    list[BatchItem]
        An item with a fixed multi-page ``target`` (``.pdf`` / ``.tif``) keeps all its pages
        in one item (one multi-page output file); otherwise each page is its own item. A file
        whose pages cannot be counted (damaged, encrypted, empty) is kept as it is, so the
        batch reports its error and goes on.

    Raises
    ------
    ValueError
        A malformed page selection, or several pages for one single-image output file.
    """
    spec = (pages or "all").strip()
    parse_page_range(spec, 1)  # check the syntax once, before any file is opened
    first = re.match(r"\s*(\d+)", spec)
    first_requested = int(first.group(1)) if first else 1
    expanded: list[BatchItem] = []
    for item in items:
        try:
            source = open_pages(item.source)
        except ImageLoadError:
            expanded.append(item)
            continue
        if source.count == 1 and source.kind != "pdf":
            expanded.append(item)
            continue
        selected = parse_page_range(spec, source.count) or [first_requested]
        base = replace(item, page_count=source.count)
        target = item.target
        if target is not None and multipage_format(target) is not None and len(selected) > 1:
            expanded.append(replace(base, pages=tuple(selected)))
        elif target is not None and len(selected) > 1:
            raise ValueError(
                f"{target} names one image but {len(selected)} pages of {item.source} are "
                "selected; give a folder (one file per page), a .pdf or .tif (one multi-page "
                "file), or one page with --pages"
            )
        else:
            expanded += [replace(base, pages=(page,)) for page in selected]
    return expanded


def describe_item(item: BatchItem) -> str:
    """``'scan.pdf'``, ``'scan.pdf page 3'`` or ``'scan.pdf pages 2–4'`` for messages."""
    name = item.source.name
    if not item.pages:
        return name
    if len(item.pages) == 1:
        return f"{name} page {item.pages[0]}"
    return f"{name} pages {item.pages[0]}–{item.pages[-1]}"


__all__ = ["describe_item", "expand_pages"]
