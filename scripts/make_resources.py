"""Generate everything in ``resources/``: the bundled sample page and the app icon.

Run ``.venv/bin/python scripts/make_resources.py`` after changing this file and commit its
outputs with it. The outputs are reproducible: the page is drawn with DejaVu fonts (Debian's
``fonts-dejavu-core`` / ``fonts-dejavu-extra``) and degraded with a seeded random generator;
``resources/resources.json`` records the Pillow and FreeType versions that made them, plus the
sha256 of each file, so a test can tell a real change from a toolchain difference.

The sample page is a low-resolution "scan": a page is rendered at four times the final size,
rotated slightly, blurred, downscaled (bicubic, antialiased) so that body text lands at about
6-7 px x-height, then given a paper tone, uneven lighting and sensor noise.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

from liif_desktop.appinfo import ICON_SIZES, PACKAGE_NAME, SAMPLE_PAGE

REPO = Path(__file__).resolve().parent.parent
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
SEED = 20201217  # LIIF's arXiv date; any fixed value works

# Sample page geometry: final size and the supersampling factor it is drawn at.
PAGE_SIZE = (760, 980)
SUPERSAMPLE = 4
PAGE_ROTATION_DEG = -0.6
BODY_PX = 12  # final body font size in px; DejaVu Serif then has a ~6.3 px x-height

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)

# Icon palette.
ICON_BG = "#1d3557"
ICON_LIGHT = "#a8dadc"
ICON_WARM = "#e76f51"
ICON_RING = "#f1faee"


# --------------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------------


def font_path(file_name: str) -> Path:
    """Path of a DejaVu font file; raises SystemExit with an install hint when missing."""
    for folder in FONT_DIRS:
        path = folder / file_name
        if path.is_file():
            return path
    raise SystemExit(
        f"font {file_name} not found in {', '.join(map(str, FONT_DIRS))}: "
        "apt-get install fonts-dejavu-core fonts-dejavu-extra"
    )


def load_font(file_name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(file_name)), size)


# --------------------------------------------------------------------------------------------
# Sample page: layout
# --------------------------------------------------------------------------------------------

TITLE = "Notes on Continuous Zoom"
SUBTITLE = "Field report No. 7 \u2014 archive digitisation, spring 2026"
PARAGRAPHS_1 = (
    "A scanned page is a grid of samples, and most old scans were made at a resolution that "
    "was generous for the screens of their day but is meagre today. Small print shrinks to a "
    "few pixels per letter: the strokes blur into one another, an e looks like a c, and the "
    "digits 3, 5, 6, 8 and 9 become hard to tell apart.",
    "An implicit image function treats the picture as a continuous signal instead. A "
    "convolutional encoder turns the low-resolution image into a grid of latent codes; a small "
    "network then answers, for any point of the plane and any pixel size, which colour belongs "
    "there. The output scale is therefore not fixed: 2.5x, 3.7x or 12x are all valid requests, "
    "and only the part of the page on screen needs to be computed.",
)
HEADING_2 = "1. Measurements"
PARAGRAPH_2 = (
    "The table below lists the pages used in this report, with the time the viewer needed to "
    "fill one screen at each zoom level on a laptop processor. Times are medians of 5 runs."
)
TABLE_HEADER = ("Page", "Size (px)", "Zoom", "Time (s)", "Legible")
TABLE_ROWS = (
    ("A-014", "612 x 790", "2.0x", "0.84", "partly"),
    ("A-027", "655 x 842", "3.0x", "1.37", "yes"),
    ("B-103", "701 x 915", "3.7x", "1.92", "yes"),
    ("C-250", "588 x 761", "4.0x", "2.06", "yes"),
    ("C-318", "640 x 828", "6.5x", "3.49", "mostly"),
)
HEADING_3 = "2. Reading small digits"
PARAGRAPH_3 = (
    "Serial numbers are the hardest test. Try the line below at 100 % and then at 300 % or "
    "400 %: every group has four digits, and the check sum of each row is printed at its end."
)
DIGIT_GROUPS = (
    "0123 4567 8901 2345 6789",
    "9876 5432 1098 7654 3210",
    "3141 5926 5358 9793 2384",
    "2718 2818 2845 9045 2353",
)


def digit_line(groups: str) -> str:
    """A row of digit groups followed by its digit sum."""
    total = sum(int(ch) for ch in groups if ch.isdigit())
    return f"{groups}  \u03a3 = {total}"


PARAGRAPH_4 = (
    "Fine serifs, thin hairlines and the dots over i and j are the first details to vanish in a "
    "poor scan and the first to come back when the page is enlarged with care. Compare the "
    "words minimum, illumination and jurisdiction before and after zooming in."
)
HEADING_4 = "3. Notes for the next visit"
PARAGRAPH_5 = (
    "Bring the calibration target (grey wedge No. 14) and scan it at the start and the end of "
    "each session. Boxes 41 to 57 are still to be done; box 49 holds the hand-written ledgers "
    "from 1911 to 1923, whose ink has faded to a light brown and needs a separate exposure."
)
FOOTER_LEFT = "LIIF Desktop sample page \u2014 drawn and degraded by scripts/make_resources.py"
FOOTER_RIGHT = "page 7 / 12"


@dataclass
class PageFonts:
    title: ImageFont.FreeTypeFont
    subtitle: ImageFont.FreeTypeFont
    heading: ImageFont.FreeTypeFont
    body: ImageFont.FreeTypeFont
    table: ImageFont.FreeTypeFont
    table_bold: ImageFont.FreeTypeFont
    digits: ImageFont.FreeTypeFont
    footer: ImageFont.FreeTypeFont


def page_fonts(scale: int) -> PageFonts:
    def px(size: float) -> int:
        return round(size * scale)

    return PageFonts(
        title=load_font("DejaVuSans-Bold.ttf", px(26)),
        subtitle=load_font("DejaVuSerif-Italic.ttf", px(14)),
        heading=load_font("DejaVuSans-Bold.ttf", px(16)),
        body=load_font("DejaVuSerif.ttf", px(BODY_PX)),
        table=load_font("DejaVuSansCondensed.ttf", px(11.5)),
        table_bold=load_font("DejaVuSansCondensed-Bold.ttf", px(11.5)),
        digits=load_font("DejaVuSansMono.ttf", px(12)),
        footer=load_font("DejaVuSans.ttf", px(9.5)),
    )


def wrap_text(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap of ``text`` to lines no wider than ``width`` pixels."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if line and font.getlength(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def draw_justified(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    line: str,
    font: ImageFont.FreeTypeFont,
    width: float,
    fill: int,
) -> None:
    """Draw ``line`` stretched to ``width`` by widening the spaces between words."""
    words = line.split()
    if len(words) < 2:
        draw.text(xy, line, font=font, fill=fill)
        return
    gap = (width - sum(font.getlength(w) for w in words)) / (len(words) - 1)
    x, y = xy
    for word in words:
        draw.text((x, y), word, font=font, fill=fill)
        x += font.getlength(word) + gap


def draw_dashed_rule(
    draw: ImageDraw.ImageDraw, x0: float, x1: float, y: float, dash: float, thick: float, ink: int
) -> None:
    x = x0
    while x < x1:
        draw.rectangle((x, y, min(x + dash, x1), y + thick), fill=ink)
        x += 2 * dash


def render_clean_page(scale: int) -> Image.Image:
    """The page before degradation: greyscale ('L'), ``scale`` times the final size."""
    width, height = PAGE_SIZE[0] * scale, PAGE_SIZE[1] * scale
    ink = 28
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    fonts = page_fonts(scale)
    margin = 64 * scale
    text_width = width - 2 * margin
    body_leading = round(BODY_PX * 1.5 * scale)
    y = 58.0 * scale

    def paragraph(text: str) -> None:
        nonlocal y
        lines = wrap_text(text, fonts.body, text_width)
        for i, line in enumerate(lines):
            if i < len(lines) - 1:
                draw_justified(draw, (margin, y), line, fonts.body, text_width, ink)
            else:
                draw.text((margin, y), line, font=fonts.body, fill=ink)
            y += body_leading
        y += 0.6 * body_leading

    def heading(text: str) -> None:
        nonlocal y
        y += 6 * scale
        draw.text((margin, y), text, font=fonts.heading, fill=ink)
        y += 30 * scale

    draw.text((margin, y), TITLE, font=fonts.title, fill=ink)
    y += 40 * scale
    draw.text((margin, y), SUBTITLE, font=fonts.subtitle, fill=ink)
    y += 26 * scale
    draw.rectangle((margin, y, width - margin, y + 2 * scale), fill=ink)
    y += 18 * scale

    for text in PARAGRAPHS_1:
        paragraph(text)
    heading(HEADING_2)
    paragraph(PARAGRAPH_2)

    # Table: ruled header, right-aligned numeric columns.
    col_x = [margin + f * text_width for f in (0.0, 0.2, 0.46, 0.64, 0.84)]
    col_right = [False, True, True, True, False]
    col_w = [0.18 * text_width, 0.22 * text_width, 0.14 * text_width, 0.16 * text_width, 0]
    row_h = 21 * scale
    draw.rectangle((margin, y, width - margin, y + 1.5 * scale), fill=ink)
    y += 5 * scale
    for row_index, row in enumerate((TABLE_HEADER, *TABLE_ROWS)):
        font = fonts.table_bold if row_index == 0 else fonts.table
        for text, x, right, w in zip(row, col_x, col_right, col_w, strict=True):
            tx = x + w - font.getlength(text) if right else x
            draw.text((tx, y), text, font=font, fill=ink)
        y += row_h
        if row_index == 0:
            draw.rectangle((margin, y - 4 * scale, width - margin, y - 3 * scale), fill=ink)
    draw.rectangle((margin, y, width - margin, y + 1.5 * scale), fill=ink)
    y += 22 * scale

    heading(HEADING_3)
    paragraph(PARAGRAPH_3)
    for groups in DIGIT_GROUPS:
        draw.text((margin + 24 * scale, y), digit_line(groups), font=fonts.digits, fill=ink)
        y += 19 * scale
    y += 14 * scale
    draw_dashed_rule(draw, margin, width - margin, y, 7 * scale, 1.5 * scale, ink)
    y += 18 * scale
    paragraph(PARAGRAPH_4)
    heading(HEADING_4)
    paragraph(PARAGRAPH_5)

    footer_y = height - 46 * scale
    if y > footer_y - 10 * scale:
        raise SystemExit(f"page content overflows into the footer (y={y / scale:.0f} px)")
    draw.rectangle((margin, footer_y - 8 * scale, width - margin, footer_y - 7 * scale), fill=ink)
    draw.text((margin, footer_y), FOOTER_LEFT, font=fonts.footer, fill=ink)
    right_w = fonts.footer.getlength(FOOTER_RIGHT)
    draw.text((width - margin - right_w, footer_y), FOOTER_RIGHT, font=fonts.footer, fill=ink)
    return page


# --------------------------------------------------------------------------------------------
# Sample page: degradation ("scan")
# --------------------------------------------------------------------------------------------


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid upsampled bicubically."""
    coarse = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    img = Image.fromarray(coarse).resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32)


def paper_palette() -> list[int]:
    """256-entry colour ramp from ink (index 0) to paper (index 255), flattened RGB."""
    paper = np.array([238.0, 231.0, 214.0])
    ink = np.array([36.0, 34.0, 44.0])
    t = np.linspace(0.0, 1.0, 256)[:, None]
    ramp = np.rint(ink * (1.0 - t) + paper * t).astype(np.uint8)
    return [int(v) for v in ramp.reshape(-1)]


def degrade_like_scan(clean: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Turn a clean supersampled greyscale page into a small, soft, noisy scan.

    The result is an 8-bit palette image whose palette runs from ink to paper colour, as
    many document scanners write: one byte per pixel keeps a noisy page under 400 KB where
    the same pixels as 24-bit RGB would take about twice that.
    """
    scale = clean.width // PAGE_SIZE[0]
    rotated = clean.rotate(
        PAGE_ROTATION_DEG, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255
    )
    # Dust on the glass: a few small grey specks, blurred and sampled with the page.
    dust = ImageDraw.Draw(rotated)
    for _ in range(40):
        x = float(rng.uniform(0, rotated.width))
        y = float(rng.uniform(0, rotated.height))
        r = float(rng.uniform(0.4, 1.6)) * scale
        dust.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(90, 200)))
    # Optics blur of about 0.45 final px before sampling: soft like a scan, yet close enough to
    # the bicubic degradation LIIF was trained on that super-resolution sharpens it visibly.
    blurred = rotated.filter(ImageFilter.GaussianBlur(radius=0.45 * scale))
    small = blurred.resize(PAGE_SIZE, Image.Resampling.BICUBIC)
    grey = np.asarray(small, dtype=np.float32)
    height, width = grey.shape
    # Uneven lamp: a little darker towards the left edge and bottom, plus blotchy paper.
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    lamp = 1.0 - 0.05 * (1 - xs) ** 3 - 0.025 * ys**2
    blotch = 1.0 + 0.012 * smooth_field(rng, (height, width), 9)
    noise = rng.normal(0.0, 0.8, (height, width)).astype(np.float32)
    level = grey * lamp * blotch + noise
    page = Image.fromarray(np.clip(np.rint(level), 0, 255).astype(np.uint8))
    scan = Image.frombytes("P", page.size, page.tobytes())
    scan.putpalette(paper_palette())
    return scan


def body_x_height(scale: int = SUPERSAMPLE) -> float:
    """x-height of the body font on the final page, in pixels (measured on the glyph)."""
    font = load_font("DejaVuSerif.ttf", BODY_PX * scale)
    top = font.getbbox("x", anchor="ls")[1]
    return -top / scale


def make_sample_page() -> Image.Image:
    rng = np.random.default_rng(SEED)
    return degrade_like_scan(render_clean_page(SUPERSAMPLE), rng)


# --------------------------------------------------------------------------------------------
# Icon: a pixel staircase outside a magnifier, a smooth edge inside it
# --------------------------------------------------------------------------------------------

# Geometry in a unit square (y down), shared by the PNG drawing and the SVG text. The SVG uses
# only plain shapes and paths (no clip paths or masks) so that every renderer draws it alike.
ICON_INSET = 0.04  # margin around the rounded square
ICON_CORNER = 0.18  # rounded-square corner radius
ICON_GRID = 6  # the pixel mosaic is ICON_GRID x ICON_GRID cells
ICON_EDGE = 0.92  # the ideal edge is the line x + y = ICON_EDGE; warm below-right of it
LENS_CENTER = (0.44, 0.44)
LENS_RADIUS = 0.25
LENS_RING = 0.055
HANDLE_END = (0.84, 0.84)
HANDLE_WIDTH = 0.11
ICON_SHADE = 0.35  # how much of ICON_BG darkens the mosaic outside the lens


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _shaded(colour: str) -> str:
    fg, bg = _hex_rgb(colour), _hex_rgb(ICON_BG)
    mixed = (round(c * (1 - ICON_SHADE) + b * ICON_SHADE) for c, b in zip(fg, bg, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def _light_steps() -> list[tuple[float, float]]:
    """Outline of the light (upper-left) part of the mosaic, without its rounded corner.

    Starts on the top edge and ends on the left edge; cell (r, c) is light when its centre
    lies on the light side of the edge, so the outline is a staircase.
    """
    n = ICON_GRID
    extents = []  # light width of each row, in cells
    for r in range(n):
        light = [c for c in range(n) if (c + 0.5) / n + (r + 0.5) / n <= ICON_EDGE]
        extents.append(len(light))
    points = [(extents[0] / n, ICON_INSET)]
    for r, width in enumerate(extents):
        if width == 0:
            break
        nxt = extents[r + 1] / n if r + 1 < n else 0.0
        points.append((width / n, (r + 1) / n))
        points.append((max(nxt, ICON_INSET), (r + 1) / n))
    return points


def _lens_segment() -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the ideal edge crosses the lens circle: (upper-right point, lower-left point)."""
    cx, cy = LENS_CENTER
    offset = (ICON_EDGE - cx - cy) / 2
    foot = (cx + offset, cy + offset)
    half = math.sqrt(LENS_RADIUS**2 - 2 * offset**2)
    step = half / math.sqrt(2)
    return (foot[0] + step, foot[1] - step), (foot[0] - step, foot[1] + step)


def _handle_start() -> tuple[float, float]:
    cx, cy = LENS_CENTER
    angle = math.atan2(HANDLE_END[1] - cy, HANDLE_END[0] - cx)
    reach = LENS_RADIUS + LENS_RING
    return cx + reach * math.cos(angle), cy + reach * math.sin(angle)


def draw_icon(size: int) -> Image.Image:
    """The icon as RGBA at ``size`` px, drawn supersampled and reduced."""
    big = size * 4 if size < 512 else size * 2

    def s(v: float) -> float:
        return v * big

    def box(center: tuple[float, float], radius: float) -> tuple[float, float, float, float]:
        return (
            s(center[0] - radius),
            s(center[1] - radius),
            s(center[0] + radius),
            s(center[1] + radius),
        )

    layer = Image.new("RGBA", (big, big), _shaded(ICON_WARM))
    d = ImageDraw.Draw(layer)
    light = [(ICON_INSET, ICON_INSET), *_light_steps()]
    d.polygon([(s(x), s(y)) for x, y in light], fill=_shaded(ICON_LIGHT))
    # Inside the lens: the ideal smooth edge, unshaded.
    lens = Image.new("RGBA", (big, big), ICON_LIGHT)
    warm = [(ICON_EDGE, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, ICON_EDGE)]
    ImageDraw.Draw(lens).polygon([(s(x), s(y)) for x, y in warm], fill=ICON_WARM)
    lens_mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(lens_mask).ellipse(box(LENS_CENTER, LENS_RADIUS), fill=255)
    layer.paste(lens, (0, 0), lens_mask)
    # Pillow strokes inside the box: the box's edge is the ring's outer edge.
    ring_outer = LENS_RADIUS + LENS_RING
    d.ellipse(box(LENS_CENTER, ring_outer), outline=ICON_RING, width=round(s(LENS_RING)))
    start = _handle_start()
    d.line(
        [(s(start[0]), s(start[1])), (s(HANDLE_END[0]), s(HANDLE_END[1]))],
        fill=ICON_RING,
        width=round(s(HANDLE_WIDTH)),
    )
    for end in (start, HANDLE_END):
        d.ellipse(box(end, HANDLE_WIDTH / 2), fill=ICON_RING)

    square = Image.new("L", (big, big), 0)
    ImageDraw.Draw(square).rounded_rectangle(
        (s(ICON_INSET), s(ICON_INSET), s(1 - ICON_INSET), s(1 - ICON_INSET)),
        radius=s(ICON_CORNER),
        fill=255,
    )
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    canvas.paste(layer, (0, 0), square)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def icon_svg() -> str:
    """The same icon as SVG (hicolor/scalable), built from the same geometry."""
    u = 256.0  # SVG user units per icon side

    def f(v: float) -> str:
        return f"{v * u:.2f}".rstrip("0").rstrip(".")

    def pt(p: tuple[float, float]) -> str:
        return f"{f(p[0])},{f(p[1])}"

    i, r = ICON_INSET, ICON_CORNER
    light = (
        f"M{pt((i, i + r))} A{f(r)},{f(r)} 0 0 1 {pt((i + r, i))} "
        + " ".join(f"L{pt(p)}" for p in _light_steps())
        + " Z"
    )
    p1, p2 = _lens_segment()
    segment = f"M{pt(p1)} A{f(LENS_RADIUS)},{f(LENS_RADIUS)} 0 0 1 {pt(p2)} Z"
    cx, cy = LENS_CENTER
    start = _handle_start()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">\n'
        f'<rect x="{f(i)}" y="{f(i)}" width="{f(1 - 2 * i)}" height="{f(1 - 2 * i)}" '
        f'rx="{f(r)}" fill="{_shaded(ICON_WARM)}"/>\n'
        f'<path d="{light}" fill="{_shaded(ICON_LIGHT)}"/>\n'
        f'<circle cx="{f(cx)}" cy="{f(cy)}" r="{f(LENS_RADIUS)}" fill="{ICON_LIGHT}"/>\n'
        f'<path d="{segment}" fill="{ICON_WARM}"/>\n'
        f'<circle cx="{f(cx)}" cy="{f(cy)}" r="{f(LENS_RADIUS + LENS_RING / 2)}" fill="none" '
        f'stroke="{ICON_RING}" stroke-width="{f(LENS_RING)}"/>\n'
        f'<line x1="{f(start[0])}" y1="{f(start[1])}" x2="{f(HANDLE_END[0])}" '
        f'y2="{f(HANDLE_END[1])}" stroke="{ICON_RING}" stroke-width="{f(HANDLE_WIDTH)}" '
        'stroke-linecap="round"/>\n'
        "</svg>\n"
    )


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def build_all() -> dict[str, bytes]:
    """Every file of ``resources/`` (except the record), by relative path."""
    out: dict[str, bytes] = {}
    out[SAMPLE_PAGE] = png_bytes(make_sample_page())
    icons = {size: draw_icon(size) for size in ICON_SIZES}
    for size, image in icons.items():
        out[f"icons/{PACKAGE_NAME}-{size}.png"] = png_bytes(image)
    out[f"icons/{PACKAGE_NAME}.svg"] = icon_svg().encode("utf-8")

    ico = io.BytesIO()
    base = icons[max(ICO_SIZES)]
    base.save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[icons[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    out[f"icons/{PACKAGE_NAME}.ico"] = ico.getvalue()
    icns = io.BytesIO()
    icons[1024].save(
        icns, format="ICNS", append_images=[icons[s] for s in (16, 32, 64, 128, 256, 512)]
    )
    out[f"icons/{PACKAGE_NAME}.icns"] = icns.getvalue()
    return out


def record(files: dict[str, bytes]) -> dict[str, object]:
    """What made the files and what they hash to (``resources/resources.json``)."""
    return {
        "about": "Generated by scripts/make_resources.py; do not edit by hand.",
        "pillow": PIL.__version__,
        "freetype": features.version("freetype2"),
        "numpy": np.__version__,
        "seed": SEED,
        "sample_page": {
            "size": list(PAGE_SIZE),
            "body_font_px": BODY_PX,
            "body_x_height_px": round(body_x_height(), 2),
            "rotation_deg": PAGE_ROTATION_DEG,
        },
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }


def write_all(out_dir: Path) -> dict[str, bytes]:
    files = build_all()
    for name, data in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (out_dir / "resources.json").write_text(json.dumps(record(files), indent=2) + "\n")
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "resources", help="output folder (default: resources/)"
    )
    args = parser.parse_args(argv)
    files = write_all(args.out)
    for name, data in sorted(files.items()):
        print(f"{len(data):>9,d}  {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
