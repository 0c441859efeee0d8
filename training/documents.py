"""Synthetic document pages and scan degradation, for teaching LIIF what text looks like.

A page is drawn with Pillow as an ink mask (text in many fonts and scripts, tables, rules,
forms, receipt-like columns; optionally receipts as till printers print them, in unsmoothed
bitmap fonts made of dots), then turned into a scan: paper colour and texture, ink colour and
uneven ink density, a slight rotation, optical blur, sensor noise and JPEG compression. The
degraded page is the HR target; the LR input is made from it by the same MATLAB-style bicubic
reduction as for photos, so the model meets at training time what a downscaled real scan looks
like at inference time.

Text sizes are chosen in LR pixels (the em size in the LR image, 5–14 px by default) and scaled
by the training scale, so small text is common at every scale.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from liif_desktop.imresize import imresize

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))

#: Font files that are not text faces (symbols, dingbats, calligraphic script, maths).
_EXCLUDED_FONT_WORDS = ("Math", "Symbol", "D050000L", "Z003", "ExtraLight", "Emoji")
#: Noto ships one file per script; only the general Latin/Greek/Cyrillic families are used.
_NOTO_PREFIXES = ("NotoSans-", "NotoSerif-", "NotoSansMono-")

LATIN_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LATIN_LOWER = "abcdefghijklmnopqrstuvwxyz"
GREEK = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρστυφχψω"
CYRILLIC = "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЫЭЮЯабвгдежзийклмнопрстуфхцчшщыэюя"
PUNCTUATION = ".,:;-/#&()%*'\"!?+=@$"
SCRIPTS = {"latin": LATIN_UPPER + LATIN_LOWER, "greek": GREEK, "cyrillic": CYRILLIC}


@dataclass(frozen=True)
class FontFace:
    """A font file and the scripts it covers."""

    path: Path
    scripts: frozenset[str]

    @property
    def monospace(self) -> bool:
        return "Mono" in self.path.name


def _covers(font: ImageFont.FreeTypeFont, text: str) -> bool:
    """Whether every character of ``text`` has a glyph (differs from the missing-glyph box)."""

    def glyph(ch: str) -> bytes:
        im = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(im).text((4, 4), ch, fill=255, font=font)
        return im.tobytes()

    missing = glyph("\ue000")
    return all(glyph(ch) != missing for ch in text)


@functools.lru_cache(maxsize=1)
def available_fonts() -> tuple[FontFace, ...]:
    """Text fonts installed on this machine with the scripts each covers (sorted by path).

    Raises
    ------
    RuntimeError
        If no usable font is found (install ``fonts-dejavu-core`` at least).
    """
    faces = []
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in (".ttf", ".otf"):
                continue
            if any(word in path.name for word in _EXCLUDED_FONT_WORDS):
                continue
            if "noto" in str(path).lower() and not path.name.startswith(_NOTO_PREFIXES):
                continue
            try:
                font = ImageFont.truetype(str(path), 24)
            except OSError:
                continue
            scripts = frozenset(
                name
                for name, probe in (("latin", "AMgw09"), ("greek", "ΔΩλ"), ("cyrillic", "ЖЯд"))
                if _covers(font, probe)
            )
            if "latin" in scripts:
                faces.append(FontFace(path, scripts))
    if not faces:
        raise RuntimeError("no usable fonts found under " + ", ".join(map(str, FONT_DIRS)))
    return tuple(faces)


@functools.lru_cache(maxsize=512)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


# ----------------------------------------------------------------------------- text content


def _word(rng: np.random.Generator, script: str) -> str:
    kind = rng.random()
    if kind < 0.18:
        return _number(rng)
    letters = SCRIPTS[script]
    n = int(rng.integers(1, 11))
    word = "".join(letters[int(i)] for i in rng.integers(0, len(letters), n))
    case = rng.random()
    if case < 0.4:
        word = word.upper()
    elif case < 0.7:
        word = word.lower()
    else:
        word = word[:1].upper() + word[1:].lower()
    if rng.random() < 0.15:
        word += PUNCTUATION[int(rng.integers(0, 6))]
    return word


def _number(rng: np.random.Generator) -> str:
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return f"{rng.uniform(0, 999):.2f}"
    if kind == 1:
        d, m, y = rng.integers(1, 29), rng.integers(1, 13), rng.integers(1990, 2030)
        return f"{d:02d}/{m:02d}/{y}"
    if kind == 2:
        return f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}"
    if kind == 3:
        code = "".join(LATIN_UPPER[int(i)] for i in rng.integers(0, 26, int(rng.integers(1, 4))))
        return (
            code
            + str(int(rng.integers(10, 10**8)))
            + ("-" + LATIN_UPPER[0] if rng.random() < 0.3 else "")
        )
    if kind == 4:
        return f"{rng.integers(0, 100)}%"
    return str(int(rng.integers(0, 10 ** int(rng.integers(1, 7)))))


def text_line(rng: np.random.Generator, n_words: int, script: str = "latin") -> str:
    """A line of random words, numbers, dates and codes in one script."""
    return " ".join(_word(rng, script) for _ in range(max(1, n_words)))


# ----------------------------------------------------------------------------- page layouts


@dataclass
class _Pen:
    """Drawing state of one page: mask canvas, font choice and the cursor."""

    draw: ImageDraw.ImageDraw
    width: int
    height: int
    em: int
    rng: np.random.Generator
    faces: Sequence[FontFace]
    canvas: Image.Image | None = None
    printed: float = 0.0

    def face(self, script: str = "latin", mono: bool | None = None) -> FontFace:
        pool = [f for f in self.faces if script in f.scripts]
        if mono is not None:
            pool = [f for f in pool if f.monospace == mono] or pool
        return pool[int(self.rng.integers(0, len(pool)))]

    def font(self, face: FontFace, scale: float = 1.0) -> ImageFont.FreeTypeFont:
        return _font(face.path, max(4, round(self.em * scale)))

    def text(self, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont) -> float:
        self.draw.text(xy, text, fill=255, font=font)
        return float(font.getlength(text))

    def hline(self, y: float, x0: float, x1: float, thick: int, dashed: bool = False) -> None:
        if x1 <= x0:
            return
        if not dashed:
            self.rect(x0, y, x1, y + thick - 1)
            return
        dash = max(2, round(self.em * self.rng.uniform(0.2, 0.6)))
        gap = max(1, round(dash * self.rng.uniform(0.4, 1.2)))
        x = x0
        while x < x1:
            self.rect(x, y, min(x + dash - 1, x1), y + thick - 1)
            x += dash + gap

    def vline(self, x: float, y0: float, y1: float, thick: int) -> None:
        self.rect(x, y0, x + thick - 1, y1)

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A filled rectangle with integer corners (empty ones are skipped)."""
        a, b, c, d = round(x0), round(y0), round(x1), round(y1)
        if c >= a and d >= b:
            self.draw.rectangle((a, b, c, d), fill=255)


def _paragraph(pen: _Pen, y: float) -> float:
    rng = pen.rng
    script = str(rng.choice(["latin"] * 6 + ["greek", "cyrillic"]))
    face = pen.face(script)
    font = pen.font(face, rng.uniform(0.9, 1.3))
    leading = font.size * rng.uniform(1.1, 1.6)
    x0 = rng.uniform(-0.2, 0.1) * pen.width
    for _ in range(int(rng.integers(2, 8))):
        line = text_line(rng, int(rng.integers(3, 14)), script)
        pen.text((x0, y), line, font)
        y += leading
        if y > pen.height:
            break
    return y + leading * rng.uniform(0, 1)


def _receipt(pen: _Pen, y: float) -> float:
    rng = pen.rng
    if pen.printed > 0 and rng.random() < pen.printed:
        return _printed_receipt(pen, y)
    face = pen.face("latin", mono=bool(rng.random() < 0.6))
    font = pen.font(face)
    leading = font.size * rng.uniform(1.05, 1.4)
    x0 = rng.uniform(-0.1, 0.1) * pen.width
    right = pen.width * rng.uniform(0.7, 1.1)
    thick = max(1, round(pen.em * rng.uniform(0.05, 0.15)))
    for _ in range(int(rng.integers(3, 10))):
        if rng.random() < 0.2:
            pen.hline(y + leading / 2, x0, right, thick, dashed=bool(rng.random() < 0.6))
        elif rng.random() < 0.3:
            line = str(rng.choice(["-", "=", "*", "."])) * int(rng.integers(10, 60))
            pen.text((x0, y), line, font)
        else:
            label = text_line(rng, int(rng.integers(1, 4))).upper()
            pen.text((x0, y), label, font)
            amount = f"{rng.uniform(0, 500):.2f}"
            pen.text((right - font.getlength(amount), y), amount, font)
        y += leading
    return y


@dataclass(frozen=True)
class _PrintHead:
    """How a receipt printer lays down a bitmap font: pixel size, dot pitch, dot or solid."""

    glyph_px: int
    pitch: int
    dots: bool
    dot_radius: float


def _print_head(rng: np.random.Generator, size: float) -> _PrintHead:
    # Till printers use bitmap fonts about 9-16 dots high; the dot pitch sets the print size.
    pitch = max(1, round(size / int(rng.integers(9, 17))))
    return _PrintHead(
        glyph_px=max(6, round(size / pitch)),
        pitch=pitch,
        dots=bool(pitch >= 3 and rng.random() < 0.5),
        dot_radius=float(rng.uniform(0.5, 0.75)),
    )


def _dot_cell(head: _PrintHead) -> np.ndarray:
    """Ink of one printer dot on a ``pitch`` × ``pitch`` cell (1 = ink)."""
    sub = 4  # supersampled, so a dot's edge pixels get partial ink
    c = (np.arange(head.pitch * sub) + 0.5) / (head.pitch * sub) - 0.5
    inside = (np.hypot(c[:, None], c[None, :]) <= head.dot_radius).astype(np.float32)
    return inside.reshape(head.pitch, sub, head.pitch, sub).mean(axis=(1, 3))


def _printed_width(text: str, face: FontFace, head: _PrintHead) -> float:
    return float(_font(face.path, head.glyph_px).getlength(text) * head.pitch)


def _printed_text(
    pen: _Pen, xy: tuple[float, float], text: str, face: FontFace, head: _PrintHead
) -> float:
    """Draw ``text`` as a receipt printer would: an unsmoothed bitmap font whose pixels are
    printed as square or round dots ``pitch`` page pixels apart. Returns the width drawn."""
    assert pen.canvas is not None
    if not text.strip():
        return _printed_width(text, face, head)
    font = _font(face.path, head.glyph_px)
    width = int(np.ceil(font.getlength(text))) + 2
    height = int(np.ceil(head.glyph_px * 1.4)) + 2
    bitmap = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(bitmap)
    draw.fontmode = "1"  # no anti-aliasing: the glyphs are the printer's dot matrix
    draw.text((1, 1), text, fill=255, font=font)
    dots = np.asarray(bitmap, dtype=np.float32) / 255.0
    cell = _dot_cell(head) if head.dots else np.ones((head.pitch, head.pitch), np.float32)
    big = np.kron(dots, cell)
    ink = Image.fromarray((big * 255).astype(np.uint8), mode="L")
    x, y = round(xy[0]), round(xy[1])
    box = (x, y, x + ink.width, y + ink.height)
    pen.canvas.paste(ImageChops.lighter(pen.canvas.crop(box), ink), box)
    return _printed_width(text, face, head)


def _printed_case(rng: np.random.Generator, text: str) -> str:
    case = rng.random()
    if case < 0.5:
        return text.upper()
    if case < 0.8:
        return " ".join(w[:1].upper() + w[1:].lower() for w in text.split(" "))
    return text


def _printed_receipt(pen: _Pen, y: float) -> float:
    """A thermal / dot-matrix till receipt: bitmap font, label and amount columns, rows of
    ``-``, ``=`` or ``*`` as rules, dates, quantities and totals."""
    rng = pen.rng
    face = pen.face("latin", mono=bool(rng.random() < 0.7))
    head = _print_head(rng, pen.em * rng.uniform(0.85, 1.2))
    line_h = head.glyph_px * head.pitch * rng.uniform(1.15, 1.6)
    x0 = rng.uniform(-0.1, 0.1) * pen.width
    right = pen.width * rng.uniform(0.7, 1.1)
    char_w = max(1.0, _printed_width("0", face, head))
    n_chars = max(4, int((right - x0) / char_w))

    for _ in range(int(rng.integers(3, 10))):
        kind = rng.random()
        if kind < 0.2:
            rule = str(rng.choice(["-", "=", "*", ".", "-", "="])) * n_chars
            _printed_text(pen, (x0, y), rule, face, head)
        elif kind < 0.35:
            line = _printed_case(rng, text_line(rng, int(rng.integers(2, 6))))[:n_chars]
            width = _printed_width(line, face, head)
            _printed_text(pen, ((x0 + right - width) / 2, y), line, face, head)
        elif kind < 0.5:
            qty, price = int(rng.integers(1, 20)), rng.uniform(0, 99)
            line = f"{qty}X {price:.2f}" if rng.random() < 0.5 else f"{qty} @ {price:.2f}"
            _printed_text(pen, (x0, y), line, face, head)
            total = f"{qty * price:.2f}"
            _printed_text(pen, (right - len(total) * char_w, y), total, face, head)
        else:
            label = _printed_case(rng, text_line(rng, int(rng.integers(1, 4))))
            if rng.random() < 0.4:
                label += str(rng.choice([" :", ":", " #:", " RM", " $"]))
            value = f"{rng.uniform(0, 500):.2f}" if rng.random() < 0.7 else _number(rng)
            label = label[: max(1, n_chars - len(value) - 2)]  # columns never collide
            _printed_text(pen, (x0, y), label, face, head)
            _printed_text(pen, (right - len(value) * char_w, y), value, face, head)
        y += line_h
        if y > pen.height:
            break
    return y + line_h * rng.uniform(0, 1)


def _table(pen: _Pen, y: float) -> float:
    rng = pen.rng
    face = pen.face(str(rng.choice(["latin", "latin", "latin", "cyrillic"])))
    script = "cyrillic" if "cyrillic" in face.scripts and rng.random() < 0.2 else "latin"
    font = pen.font(face, rng.uniform(0.8, 1.1))
    row_h = font.size * rng.uniform(1.4, 2.0)
    n_cols = int(rng.integers(2, 6))
    x0 = rng.uniform(-0.2, 0.05) * pen.width
    widths = rng.uniform(0.6, 1.4, n_cols)
    widths = widths / widths.sum() * pen.width * rng.uniform(0.9, 1.4)
    edges = x0 + np.concatenate([[0.0], np.cumsum(widths)])
    thick = max(1, round(pen.em * rng.uniform(0.04, 0.12)))
    n_rows = int(rng.integers(2, 7))
    for r in range(n_rows + 1):
        pen.hline(y + r * row_h, edges[0], edges[-1], thick)
    for e in edges:
        pen.vline(e, y, y + n_rows * row_h, thick)
    pad = font.size * 0.3
    for r in range(n_rows):
        for c in range(n_cols):
            cell = _number(rng) if rng.random() < 0.5 else text_line(rng, 1, script)
            pen.text((edges[c] + pad, y + r * row_h + pad * 0.8), cell, font)
    return y + n_rows * row_h + row_h * rng.uniform(0.3, 1.0)


def _form(pen: _Pen, y: float) -> float:
    rng = pen.rng
    font = pen.font(pen.face("latin"), rng.uniform(0.9, 1.1))
    leading = font.size * rng.uniform(1.6, 2.2)
    thick = max(1, round(pen.em * rng.uniform(0.04, 0.1)))
    x0 = rng.uniform(-0.1, 0.1) * pen.width
    for _ in range(int(rng.integers(2, 6))):
        label = text_line(rng, int(rng.integers(1, 3))) + ":"
        width = pen.text((x0, y), label, font)
        start = x0 + width + font.size * 0.5
        if rng.random() < 0.3:
            box = font.size * 0.8
            for k in range(int(rng.integers(1, 4))):
                bx = start + k * box * 3
                pen.draw.rectangle((bx, y + 2, bx + box, y + 2 + box), outline=255, width=thick)
                if rng.random() < 0.5:
                    pen.text((bx + box * 1.3, y), text_line(rng, 1), font)
        else:
            pen.hline(
                y + font.size * 1.1,
                start,
                pen.width * rng.uniform(0.6, 1.1),
                thick,
                dashed=bool(rng.random() < 0.3),
            )
            if rng.random() < 0.6:
                pen.text(
                    (start + font.size * 0.3, y), text_line(rng, int(rng.integers(1, 4))), font
                )
        y += leading
    return y


def _heading(pen: _Pen, y: float) -> float:
    rng = pen.rng
    font = pen.font(pen.face("latin"), rng.uniform(1.2, 1.8))
    x0 = rng.uniform(0.0, 0.3) * pen.width
    pen.text((x0, y), text_line(rng, int(rng.integers(1, 5))).upper(), font)
    return y + font.size * rng.uniform(1.3, 1.8)


_BLOCKS: tuple[Callable[[_Pen, float], float], ...] = (
    _paragraph,
    _receipt,
    _table,
    _form,
    _heading,
)
#: Default relative frequencies of the blocks in :data:`_BLOCKS`.
BLOCK_WEIGHTS = (0.3, 0.25, 0.2, 0.15, 0.1)


def render_ink(
    rng: np.random.Generator,
    height: int,
    width: int,
    em: float,
    faces: Sequence[FontFace] | None = None,
    block_weights: Sequence[float] | None = None,
    printed: float = 0.0,
) -> np.ndarray:
    """An ink mask of a page region: (height, width) float32 in [0, 1], 1 = full ink.

    Parameters
    ----------
    rng
        Random generator (the page is a pure function of its state).
    height, width
        Size of the region in pixels.
    em
        Typical font size (em) in pixels; blocks vary it by roughly ±30 %.
    faces
        Fonts to draw with (default: :func:`available_fonts`).
    block_weights
        Relative frequencies of the layout blocks (paragraph, receipt, table, form, heading);
        default :data:`BLOCK_WEIGHTS`.
    printed
        Probability that a receipt block is drawn as a till printer prints (bitmap font,
        square or round dots; :func:`_printed_receipt`) instead of with smooth outlines.
    """
    faces = list(faces or available_fonts())
    weights = np.asarray(block_weights or BLOCK_WEIGHTS, dtype=np.float64)
    weights = weights / weights.sum()
    canvas = Image.new("L", (width, height), 0)
    pen = _Pen(
        ImageDraw.Draw(canvas), width, height, max(4, round(em)), rng, faces, canvas, printed
    )
    # Start above the top edge so the region looks like a crop out of a larger page.
    y = -rng.uniform(0, 2.5) * em
    while y < height:
        block = _BLOCKS[int(rng.choice(len(_BLOCKS), p=weights))]
        y = block(pen, y)
    return np.asarray(canvas, dtype=np.float32) / 255.0


# ----------------------------------------------------------------------------- scan degradation


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a coarse random grid upsampled bicubically."""
    coarse = rng.standard_normal((cells, cells)).astype(np.float32)
    im = Image.fromarray(coarse, mode="F").resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(im, dtype=np.float32)


@dataclass(frozen=True)
class ScanStyle:
    """Strength ranges of the scan degradation (each drawn uniformly per page)."""

    rotation_deg: float = 1.5
    blur_sigma: tuple[float, float] = (0.0, 1.2)
    noise_sigma: tuple[float, float] = (0.0, 0.03)
    jpeg_quality: tuple[int, int] = (55, 95)
    jpeg_probability: float = 0.7
    paper_texture: tuple[float, float] = (0.0, 0.06)
    ink_fade: tuple[float, float] = (0.0, 0.5)


def degrade_scan(
    ink: np.ndarray, rng: np.random.Generator, style: ScanStyle = ScanStyle()
) -> np.ndarray:
    """Turn an ink mask into a realistic scanned page.

    Parameters
    ----------
    ink
        (H, W) float32 ink coverage in [0, 1] from :func:`render_ink`.
    rng
        Random generator.
    style
        Strength ranges.

    Returns
    -------
    ndarray
        (H, W, 3) uint8 RGB page.
    """
    h, w = ink.shape
    # Slight skew of the sheet on the scanner glass.
    angle = rng.uniform(-style.rotation_deg, style.rotation_deg)
    if abs(angle) > 0.05:
        ink_im = Image.fromarray(ink, mode="F").rotate(
            angle, resample=Image.Resampling.BICUBIC, fillcolor=0.0
        )
        ink = np.clip(np.asarray(ink_im, dtype=np.float32), 0.0, 1.0)
    # Uneven ink (thermal receipts fade, toner is patchy).
    fade = rng.uniform(*style.ink_fade)
    density = 1.0 - fade * (0.5 + 0.5 * np.tanh(_smooth_field(rng, h, w, 4)))
    ink = ink * density * rng.uniform(0.75, 1.0)

    paper = rng.uniform(0.82, 1.0) * (1.0 - rng.uniform(0.0, 0.08, 3))  # tinted paper
    ink_colour = rng.uniform(0.0, 0.3) + rng.uniform(-0.05, 0.05, 3)
    if rng.random() < 0.15:  # blue ballpoint / stamp ink
        ink_colour = np.array([0.1, 0.15, rng.uniform(0.4, 0.7)])
    texture = rng.uniform(*style.paper_texture)
    shade = 1.0 + texture * (_smooth_field(rng, h, w, 6) + 0.3 * _smooth_field(rng, h, w, 24))
    page = paper[None, None, :] * shade[..., None]
    page = page * (1.0 - ink[..., None]) + ink_colour[None, None, :] * ink[..., None]

    img = Image.fromarray((np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8), mode="RGB")
    sigma = rng.uniform(*style.blur_sigma)
    if sigma > 0.15:
        img = img.filter(ImageFilter.GaussianBlur(sigma))
    out = np.asarray(img, dtype=np.float32) / 255.0
    noise = rng.uniform(*style.noise_sigma)
    out = out + noise * rng.standard_normal(out.shape).astype(np.float32)
    out_u8 = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
    if rng.random() < style.jpeg_probability:
        buf = io.BytesIO()
        quality = int(rng.integers(style.jpeg_quality[0], style.jpeg_quality[1] + 1))
        Image.fromarray(out_u8).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        with Image.open(buf) as jpeg:
            out_u8 = np.asarray(jpeg.convert("RGB"))
    return out_u8


def synthetic_scan(
    rng: np.random.Generator,
    height: int,
    width: int,
    em: float,
    style: ScanStyle = ScanStyle(),
    block_weights: Sequence[float] | None = None,
    printed: float = 0.0,
) -> np.ndarray:
    """A degraded synthetic page region, (height, width, 3) uint8 (see :func:`render_ink`)."""
    ink = render_ink(rng, height, width, em, block_weights=block_weights, printed=printed)
    return degrade_scan(ink, rng, style)


# ----------------------------------------------------------------------------- training samples


class DocumentPatchSampler:
    """Draws LIIF training samples from synthetic scans made on the fly.

    Has the interface of :class:`training.data.PatchSampler` (``sample_one``), so the two can
    be mixed.

    Parameters
    ----------
    lr_size
        Side ``p`` of the LR patches.
    scale_range
        ``(min, max)`` of the uniformly drawn scale.
    lr_em_range
        Font size (em) range in LR pixels; the HR page uses ``em * scale``.
    n_queries
        HR pixels sampled per patch.
    style
        Scan degradation ranges.
    block_weights
        Relative frequencies of the page layout blocks (default :data:`BLOCK_WEIGHTS`).
    printed
        Share of receipt blocks printed with a bitmap font (see :func:`render_ink`).
    """

    def __init__(
        self,
        lr_size: int = 48,
        scale_range: tuple[float, float] = (1.0, 4.0),
        lr_em_range: tuple[float, float] = (5.0, 14.0),
        n_queries: int = 2304,
        style: ScanStyle = ScanStyle(),
        block_weights: Sequence[float] | None = None,
        printed: float = 0.0,
    ) -> None:
        self.block_weights = tuple(block_weights) if block_weights else None
        self.printed = float(printed)
        self.lr_size = int(lr_size)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.lr_em_range = (float(lr_em_range[0]), float(lr_em_range[1]))
        self.n_queries = int(n_queries)
        self.style = style

    def sample_one(
        self, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """One sample: ``(lr uint8 (p,p,3), coord (Q,2), cell (Q,2), gt (Q,3), scale)``."""
        p = self.lr_size
        scale = float(rng.uniform(*self.scale_range))
        hr_size = max(p, round(p * scale))
        em = float(rng.uniform(*self.lr_em_range)) * hr_size / p
        hr = synthetic_scan(rng, hr_size, hr_size, em, self.style, self.block_weights, self.printed)
        lr = imresize(hr, output_shape=(p, p))
        n_pixels = hr_size * hr_size
        n = min(self.n_queries, n_pixels)
        pick = rng.choice(n_pixels, size=n, replace=False)
        centres = (-1 + (2 * np.arange(hr_size) + 1) / hr_size).astype(np.float32)
        coord = np.stack([centres[pick // hr_size], centres[pick % hr_size]], axis=1)
        cell = np.full((n, 2), 2.0 / hr_size, dtype=np.float32)
        gt = hr.reshape(-1, 3)[pick].astype(np.float32) / 255.0
        return lr, coord, cell, gt, hr_size / p


def validation_pages(
    seed: int,
    count: int,
    lr_size: int,
    scale: int,
    lr_em_range: tuple[float, float] = (5.0, 12.0),
    block_weights: Sequence[float] | None = None,
    printed: float = 0.0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Held-out synthetic (LR, HR) uint8 pairs at an integer scale, from their own seed.

    The HR page is ``scale * lr_size`` square; its LR is the MATLAB-style bicubic reduction.
    ``block_weights`` and ``printed`` are as for :func:`render_ink`.
    """
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        size = lr_size * scale
        em = float(rng.uniform(*lr_em_range)) * scale
        hr = synthetic_scan(rng, size, size, em, block_weights=block_weights, printed=printed)
        pairs.append((imresize(hr, output_shape=(lr_size, lr_size)), hr))
    return pairs
