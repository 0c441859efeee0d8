"""Before/after crops of JPEG inputs at ×4 for the README (docs/realinputs-*.png).

Usage (from the repository root)::

    .venv/bin/python scripts/realinputs_crops.py \
        --receipt-models edsr-baseline-liif=Official document-liif=Document \
        --photo-models edsr-baseline-liif=Official

Receipt: a crop of an SROIE receipt scan (the first crop of the OCR benchmark), reduced ×4
with MATLAB bicubic and saved as JPEG 75 (4:2:0). Photo: a crop of a DIV2K validation LR image
saved as JPEG 75. Each is enlarged ×4 by bicubic and by each model; the panels are laid side by
side with their names above.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import SHARED, load_rgb  # noqa: E402
from benchmarks.ocr import bicubic_restorer, choose_crops, crop_pixels, model_restorer, reduce  # noqa: E402
from training.degrade import jpeg  # noqa: E402

PHOTO = SHARED / "data" / "benchmark" / "DIV2K_valid" / "LR_bicubic_X4_crops_unverified"
SCALE = 4
QUALITY = 75
LABEL_H = 18


def strip(panels: list[tuple[str, np.ndarray]]) -> Image.Image:
    """Panels (float RGB in [0, 1], same size) side by side, each with its name above."""
    h, w = panels[0][1].shape[:2]
    gap = 4
    out = Image.new("RGB", (len(panels) * (w + gap) - gap, h + LABEL_H), "white")
    draw = ImageDraw.Draw(out)
    for i, (name, image) in enumerate(panels):
        x = i * (w + gap)
        draw.text((x + 3, 3), name, fill="black")
        out.paste(
            Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)), (x, LABEL_H)
        )
    return out


def compare(lr: np.ndarray, models: list[tuple[str, str]], input_label: str) -> Image.Image:
    """The JPEG LR (pixel-replicated), bicubic and each model at ×SCALE."""
    size = (lr.shape[0] * SCALE, lr.shape[1] * SCALE)
    nearest = np.repeat(np.repeat(lr, SCALE, 0), SCALE, 1).astype(np.float32) / 255.0
    panels = [(input_label, nearest), ("bicubic", bicubic_restorer(lr, size))]
    for model_id, label in models:
        panels.append((label, model_restorer(model_id)(lr, size)))
    return strip(panels)


def _model_arg(text: str) -> tuple[str, str]:
    model_id, _, label = text.partition("=")
    return model_id, label or model_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipt-models", nargs="+", required=True, help="id_or_path=label")
    parser.add_argument("--photo-models", nargs="+", required=True, help="id_or_path=label")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args(argv)
    receipt_models = [_model_arg(m) for m in args.receipt_models]
    photo_models = [_model_arg(m) for m in args.photo_models]

    crop = choose_crops()[0]
    receipt = crop_pixels(crop)
    receipt = receipt[: receipt.shape[0] // 12 * 12, : min(receipt.shape[1], 240) // 12 * 12]
    lr = jpeg(reduce(receipt, SCALE), QUALITY)
    compare(lr, receipt_models, f"JPEG {QUALITY} input").save(args.out / "realinputs-receipt.png")

    photo = load_rgb(PHOTO / "0801x4.png")[20:84, 40:104]
    compare(jpeg(photo, QUALITY), photo_models, f"JPEG {QUALITY} input").save(
        args.out / "realinputs-photo.png"
    )
    print(f"wrote {args.out / 'realinputs-receipt.png'} and {args.out / 'realinputs-photo.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
