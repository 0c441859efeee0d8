"""PDFs and TIFFs the tests make themselves: Pillow's writers and a few hand-built files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def page_pixels(height: int, width: int, seed: int) -> np.ndarray:
    """A seeded greyscale 'scan': paper with dark bars (uint8), smooth enough for JPEG."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width), 235, np.uint8)
    for _ in range(max(1, height // 8)):
        r, c = int(rng.integers(0, height - 2)), int(rng.integers(0, max(1, width - 6)))
        page[r : r + 2, c : c + 6] = 30
    return page


def scanned_pdf(path: Path, sizes: list[tuple[int, int]], dpi: float = 300.0) -> list[np.ndarray]:
    """A PDF with one greyscale image per page (Pillow's writer); returns the page pixels."""
    pages = [page_pixels(h, w, seed=i) for i, (h, w) in enumerate(sizes)]
    images = [Image.fromarray(p) for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi)
    return pages


def multipage_tiff(
    path: Path, sizes: list[tuple[int, int]], dpi: float = 200.0
) -> list[np.ndarray]:
    """A multi-page RGB TIFF (lossless); returns each page's pixels."""
    rng = np.random.default_rng(7)
    pages = [(rng.random((h, w, 3)) * 255).astype(np.uint8) for h, w in sizes]
    images = [Image.fromarray(p) for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:], dpi=(dpi, dpi))
    return pages


def build_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF file from object bodies (object 1 must be the catalog), with a correct xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer_extra + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d " % len(data) + extra + b">>\nstream\n" + data + b"\nendstream"


def page_pdf(
    content: bytes, size: tuple[float, float] = (200, 100), image: np.ndarray | None = None
) -> bytes:
    """One page drawing ``content``; ``image`` (uint8 grey) is available as ``/Im0``."""
    resources = b"<< /XObject << /Im0 5 0 R >> >>" if image is not None else b"<< >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents 4 0 R /Resources %s >>"
        % (size[0], size[1], resources),
        _stream(content),
    ]
    if image is not None:
        h, w = image.shape
        objects.append(
            _stream(
                image.tobytes(),
                b"/Type /XObject /Subtype /Image /Width %d /Height %d "
                b"/ColorSpace /DeviceGray /BitsPerComponent 8 " % (w, h),
            )
        )
    return build_pdf(objects)


def encrypted_pdf() -> bytes:
    """A PDF encrypted with a user password (not the empty one): it cannot be opened."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
        b"<< /Filter /Standard /V 1 /R 2 /P -4 /O <"
        + b"11" * 32
        + b"> /U <"
        + b"22" * 32
        + b"> >>",
    ]
    ids = b"<" + b"ab" * 16 + b">"
    return build_pdf(objects, b"/Encrypt 4 0 R /ID [" + ids + b" " + ids + b"] ")


def pageless_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty."""
    return build_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


def damaged_pdf(valid: bytes) -> bytes:
    """A PDF's header followed by garbage where its body was."""
    rng = np.random.default_rng(3)
    return valid[:9] + rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
