"""Make a scanned-document PDF from the receipt scans in ../shared/data/documents.

Each page is one receipt, reduced (MATLAB-style bicubic, as the OCR benchmark does) to a
low-resolution scan and stored as a JPEG image filling the page, the way office scanners
write PDFs: ``python scripts/make_scanned_pdf.py /tmp/scan.pdf``. The page size is that of an
80 mm till roll, so the DPI follows from the reduced width.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from liif_desktop.imresize import imresize

DOCUMENTS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "documents"
RECEIPT_WIDTH_IN = 80 / 25.4


def scanned_page(path: Path, reduce: float, quality: int) -> Image.Image:
    """A receipt scan reduced ``reduce`` times and round-tripped through JPEG."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
    small = np.clip(imresize(rgb, 1 / reduce), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(np.round(small * 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the PDF to write")
    parser.add_argument(
        "--receipts", nargs="+", default=["sroie_015", "sroie_045", "sroie_075"], metavar="NAME"
    )
    parser.add_argument("--reduce", type=float, default=2.0, help="reduction factor (2)")
    parser.add_argument("--quality", type=int, default=75, help="JPEG quality (75)")
    args = parser.parse_args(argv)
    pages = [
        scanned_page(DOCUMENTS / f"{name}.png", args.reduce, args.quality) for name in args.receipts
    ]
    dpi = pages[0].width / RECEIPT_WIDTH_IN
    pages[0].save(args.out, save_all=True, append_images=pages[1:], resolution=dpi)
    sizes = ", ".join(f"{p.width}×{p.height}" for p in pages)
    print(f"{args.out}: {len(pages)} pages ({sizes} px, {dpi:.0f} dpi)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
