"""A short dockable explanation of what LIIF does to the picture."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QTextBrowser, QWidget

EXPLANATION = """
<h3>How it works</h3>
<p>LIIF (Local Implicit Image Function, Chen et al. 2020) treats an image as a continuous
function: it can be asked for the colour at <i>any</i> point, so every zoom level is rendered
directly, not stretched from a fixed enlargement.</p>
<ol>
<li><b>Input</b> — your image, at its own resolution.</li>
<li><b>Encoder</b> — a convolutional network (EDSR or RDN) turns every input pixel into a
<b>latent code</b>: 64 numbers that describe the pixel and its neighbourhood.</li>
<li><b>Coordinate queries</b> — for each screen pixel, the viewer asks for the colour at its
exact position in the image, together with the size of the screen pixel there.</li>
<li><b>MLP</b> — a small network takes the nearest latent codes and the offset of the query
from them, and predicts a colour; four neighbours are blended so the result is smooth.</li>
<li><b>Pixels</b> — only the tiles on screen are computed, in the background; until they
land you see a bicubic placeholder (press <b>C</b> or <b>S</b> to compare the two).</li>
</ol>
<p><b>An honest note:</b> LIIF does not recover information that is not in the input. Fine
detail — sharper letter edges, texture — is <i>inferred</i> from what the model learned from
its training images. It is usually plausible and often more legible than bicubic, but it can
be wrong, especially for small text, where a model may render a confident but different
letter. Do not rely on enlarged detail as evidence.</p>
"""


class HowItWorksDock(QDockWidget):
    """Dock widget holding :data:`EXPLANATION`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("How it works", parent)
        self.setObjectName("howItWorksDock")
        browser = QTextBrowser(self)
        browser.setOpenExternalLinks(False)
        browser.setHtml(EXPLANATION)
        self.setWidget(browser)
        self.setMinimumWidth(260)
