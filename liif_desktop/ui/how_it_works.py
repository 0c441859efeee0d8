"""The "How it works" panel: the app's answer to "how does AI bring out hidden detail when
enlarging 4×?", with its sources and a figure of the query geometry drawn by the app."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QTextDocument
from PySide6.QtWidgets import QDockWidget, QTextBrowser, QWidget

LIIF_PAPER = "https://arxiv.org/abs/2012.09161"
LIIF_CODE = "https://github.com/yinboc/liif"
RELATED = (
    (
        "On the Effect of Image Resolution on Semantic Segmentation",
        "https://arxiv.org/abs/2402.05398",
        "labelling every pixel works better at the image's own resolution than on a downscaled "
        "copy whose result is enlarged afterwards: fine detail is lost in the round trip.",
    ),
    (
        "FeatSharp: Your Vision Model Features, Sharper",
        "https://arxiv.org/abs/2502.16025",
        "the same question for the coarse feature maps of vision transformers: upsample them "
        "coherently, picking up detail from tiles of the image seen at a higher resolution.",
    ),
    (
        "Elastic-DETR: Making Image Resolution Learnable with Content-Specific Network Prediction",
        "https://arxiv.org/abs/2412.06341",
        "resolution as something to learn: a small network predicts from each image's content "
        "the scale at which a detector should look at it.",
    ),
)
FIGURE_URL = QUrl("liif-figure://query-geometry")
FIGURE_SIZE = (300, 230)
"""Logical size of the figure; it is drawn at twice that for sharp HiDPI display."""

_NEIGHBOUR_COLOURS = ("#d1495b", "#edae49", "#00798c", "#30638e")


def draw_query_figure(scale: float = 2.0) -> QImage:
    """The query geometry: latent cells with their codes, a query point, its pixel ("cell"),
    its four nearest codes and the areas that weight them.

    Parameters
    ----------
    scale
        Device pixels per logical pixel of :data:`FIGURE_SIZE`.
    """
    w, h = FIGURE_SIZE
    image = QImage(round(w * scale), round(h * scale), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(scale, scale)
    font = QFont()
    font.setPixelSize(11)
    p.setFont(font)
    cell, x0, y0 = 62.0, 14.0, 10.0

    def centre(i: int, j: int) -> QPointF:
        return QPointF(x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell)

    p.setPen(QPen(QColor("#bbbbbb"), 1))
    for k in range(4):  # the latent grid: one cell per input pixel
        p.drawLine(QPointF(x0, y0 + k * cell), QPointF(x0 + 3 * cell, y0 + k * cell))
        p.drawLine(QPointF(x0 + k * cell, y0), QPointF(x0 + k * cell, y0 + 3 * cell))
    q = QPointF(centre(1, 1).x() + 0.38 * cell, centre(1, 1).y() + 0.3 * cell)
    neighbours = [(1, 1), (1, 2), (2, 1), (2, 2)]
    # Each code's weight is the area of the rectangle between the query and the code
    # diagonally opposite: the nearer the code, the larger its share.
    for k, (i, j) in enumerate(neighbours):
        opposite = centre(3 - i, 3 - j)
        colour = QColor(_NEIGHBOUR_COLOURS[k])
        colour.setAlpha(55)
        p.fillRect(QRectF(q, opposite).normalized(), colour)
    for i in range(3):
        for j in range(3):
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#555555"))
            p.drawEllipse(centre(i, j), 3.0, 3.0)
    for k, (i, j) in enumerate(neighbours):
        colour = QColor(_NEIGHBOUR_COLOURS[k])
        p.setPen(QPen(colour, 2))
        p.drawLine(q, centre(i, j))
        p.setBrush(colour)
        p.drawEllipse(centre(i, j), 4.5, 4.5)
    pixel = 0.45 * cell  # the output pixel's size: what the model is told as "cell"
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(QPen(QColor("#222222"), 1.2, Qt.PenStyle.DashLine))
    p.drawRect(QRectF(q.x() - pixel / 2, q.y() - pixel / 2, pixel, pixel))
    p.setPen(QPen(QColor("#000000"), 2))
    p.drawLine(q + QPointF(-5, -5), q + QPointF(5, 5))
    p.drawLine(q + QPointF(-5, 5), q + QPointF(5, -5))
    p.setPen(QColor("#222222"))
    right = x0 + 3 * cell + 8
    p.drawText(QPointF(right, y0 + 14), "• latent code,")
    p.drawText(QPointF(right + 9, y0 + 28), "one per input")
    p.drawText(QPointF(right + 9, y0 + 42), "pixel")
    p.drawText(QPointF(right, centre(1, 1).y() + 8), "× query point")
    p.drawText(QPointF(right, centre(1, 1).y() + 26), "┆ its pixel size")
    p.drawText(QPointF(right + 9, centre(1, 1).y() + 40), '("cell")')
    p.drawText(QPointF(right, centre(2, 2).y() - 4), "shaded: weights")
    p.drawText(QPointF(right + 9, centre(2, 2).y() + 10), "of the 4 codes")
    p.drawText(QPointF(x0, y0 + 3 * cell + 18), "The MLP answers once per coloured code;")
    p.drawText(QPointF(x0, y0 + 3 * cell + 32), "the 4 answers are blended by area.")
    p.end()
    image.setDevicePixelRatio(scale)
    return image


def _related_html() -> str:
    items = "".join(
        f'<li><a href="{url}">{title}</a> ({url.rsplit("/", 1)[-1]}): {line}</li>'
        for title, url, line in RELATED
    )
    return f"<ul>{items}</ul>"


EXPLANATION = f"""
<h3>How does it bring out detail when enlarging 4×?</h3>
<p><b>The task</b> is <i>single-image super-resolution at an arbitrary scale</i>: from one
low-resolution picture, predict what a sharper, larger version of it looks like — at ×2, ×3.7
or ×12, not only at one fixed factor. LIIF (Local Implicit Image Function; Chen, Liu and Wang,
CVPR 2021) does it by treating the image as a continuous function that can be asked for the
colour at <i>any</i> point, so every zoom level is rendered directly, not stretched from a
fixed enlargement.</p>
<ol>
<li><b>Input</b> — your image, at its own resolution.</li>
<li><b>Encoder</b> — a convolutional network (EDSR or RDN) turns every input pixel into a
<b>latent code</b>: 64 numbers that describe the pixel and its neighbourhood.</li>
<li><b>Latent grid</b> — the codes sit on a grid, one at the centre of each input pixel.</li>
<li><b>Coordinate queries</b> — for each screen pixel, the viewer asks for the colour at its
exact position in the image, together with the size of that screen pixel there (the
"cell").</li>
<li><b>MLP</b> — a small network takes a nearby latent code, the offset of the query from it
and the cell, and predicts a colour. It does so for the four nearest codes and blends the four
answers, each weighted by the area of the rectangle between the query and the code opposite
it, so the result is continuous from one cell to the next (the figure).</li>
<li><b>Pixels</b> — only the tiles on screen are computed, in the background; until they land
you see a bicubic placeholder (press <b>C</b> or <b>S</b> to compare the two).</li>
</ol>
<p align="center"><img src="{FIGURE_URL.toString()}" width="{FIGURE_SIZE[0]}"
height="{FIGURE_SIZE[1]}"></p>
<p><b>What is learned.</b> The encoder and the MLP were trained on pairs of sharp images and
copies of them made small (DIV2K photos for the official model; synthetic scanned pages for
the Document model). From many such examples they learned what a sharp edge, a letter
stroke or a texture usually looks like when all that is left of it is a few blurred pixels.</p>
<p><b>What is invented.</b> Structure at the input's own resolution is in your picture. Detail
finer than its pixels is not: it is <i>inferred</i> from what the model learned — usually
plausible and often more legible than bicubic, but it can be wrong, especially for small text,
where a model may render a confident but different letter. Do not rely on enlarged detail as
evidence.</p>
<p><b>Invented-detail overlay</b> (<b>U</b>): it tints the places where the enlargement
changes most when the input is nudged by an invisible amount, relative to the local contrast
— there the detail comes from the model more than from your pixels, and on scanned receipts
the brightest fifth of the text held about half of the misread characters. It cannot tell
right from wrong: an unmarked letter can still be wrong, a marked one is often right, and it
says nothing about what the original really looked like.</p>
<p><b>Sources.</b> Paper: <a href="{LIIF_PAPER}">Learning Continuous Image Representation with
Local Implicit Image Function</a> (arXiv 2012.09161). Code: <a href="{LIIF_CODE}">
github.com/yinboc/liif</a>; the app's own implementation loads its checkpoints unmodified.</p>
<p><b>Related work on resolution</b>:</p>
{_related_html()}
"""


class HowItWorksDock(QDockWidget):
    """Dock widget holding :data:`EXPLANATION` and the figure (links open in the browser)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("How it works", parent)
        self.setObjectName("howItWorksDock")
        browser = QTextBrowser(self)
        browser.setOpenExternalLinks(True)
        document = browser.document()
        document.addResource(
            QTextDocument.ResourceType.ImageResource.value, FIGURE_URL, draw_query_figure()
        )
        browser.setHtml(EXPLANATION)
        self.setWidget(browser)
        self.setMinimumWidth(340)
