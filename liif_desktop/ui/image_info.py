"""The image info panel: size, DPI, colour profile and an EXIF summary of the open file."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import ExifTags, Image, ImageCms
from PySide6.QtWidgets import QDockWidget, QTableWidget, QTableWidgetItem, QWidget

_EXIF_FIELDS = (
    ("Camera", ("Make", "Model")),
    ("Lens", ("LensModel",)),
    ("Taken", ("DateTimeOriginal", "DateTime")),
    ("Exposure", ("ExposureTime",)),
    ("Aperture", ("FNumber",)),
    ("ISO", ("ISOSpeedRatings", "PhotographicSensitivity")),
    ("Focal length", ("FocalLength",)),
    ("Software", ("Software",)),
)
_ORIENTATIONS = {1: "normal", 3: "rotated 180°", 6: "rotated 90° CW", 8: "rotated 90° CCW"}


def _exif_summary(im: Image.Image) -> list[tuple[str, str]]:
    exif = im.getexif()
    if not exif:
        return []
    values: dict[str, object] = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.items()}
    values.update(
        {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.get_ifd(ExifTags.IFD.Exif).items()}
    )
    rows = []
    for label, tags in _EXIF_FIELDS:
        parts = [str(values[t]).strip("\x00 ") for t in tags if t in values]
        text = " ".join(p for p in parts if p)
        if text:
            if label == "Exposure":
                seconds = float(values["ExposureTime"])  # type: ignore[arg-type]
                text = f"1/{round(1 / seconds)} s" if 0 < seconds < 1 else f"{seconds:g} s"
            elif label == "Aperture":
                text = f"f/{float(values['FNumber']):g}"  # type: ignore[arg-type]
            elif label == "Focal length":
                text = f"{float(values['FocalLength']):g} mm"  # type: ignore[arg-type]
            rows.append((label, text))
    orientation = values.get("Orientation")
    if isinstance(orientation, int) and orientation != 1:
        name = _ORIENTATIONS.get(orientation, f"EXIF {orientation}")
        rows.append(("Orientation", f"{name} (applied)"))
    return rows


def _profile_name(icc: bytes | None) -> str:
    if not icc:
        return "none (sRGB assumed)"
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.getProfileDescription(profile).strip() or "embedded"
    except (OSError, ImageCms.PyCMSError):
        return f"embedded ({len(icc)} bytes, unreadable)"


def describe_image_file(path: Path | None, shape: tuple[int, ...]) -> list[tuple[str, str]]:
    """Rows (label, value) describing the open image; only what the array says when the file
    is gone or the image was pasted."""
    h, w = shape[:2]
    rows = [("Size", f"{w} × {h} px ({w * h / 1e6:.2f} MP)")]
    if path is None:
        return [("File", "(not from a file)"), *rows]
    rows.insert(0, ("File", path.name))
    rows.append(("Folder", str(path.parent)))
    try:
        rows.append(("File size", f"{path.stat().st_size / 1024:.1f} KiB"))
        with Image.open(path) as im:
            rows.append(("Format", f"{im.format or '?'}, mode {im.mode}"))
            frames = int(getattr(im, "n_frames", 1) or 1)
            if frames > 1:
                rows.append(("Pages", f"{frames} (the first is shown)"))
            dpi = im.info.get("dpi")
            if dpi:
                # PNG stores pixels per metre: 300 dpi reads back as 299.9994.
                rows.append(("DPI", f"{round(float(dpi[0]), 1):g} × {round(float(dpi[1]), 1):g}"))
            rows.append(("Colour profile", _profile_name(im.info.get("icc_profile"))))
            rows += _exif_summary(im)
    except OSError as exc:
        rows.append(("Note", f"cannot read the file's details: {exc}"))
    return rows


class ImageInfoDock(QDockWidget):
    """A dock with :func:`describe_image_file`'s rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Image info", parent)
        self.setObjectName("imageInfoDock")
        self.table = QTableWidget(0, 2, self)
        self.table.horizontalHeader().setVisible(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setWidget(self.table)
        self.show_rows([("", "No image")])

    def show_rows(self, rows: list[tuple[str, str]]) -> None:
        self.table.setRowCount(len(rows))
        for i, (label, value) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(label))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self.table.setItem(i, 1, item)
        self.table.resizeColumnToContents(0)

    def rows(self) -> list[tuple[str, str]]:
        """What the panel shows (for tests and "copy")."""
        return [
            (self.table.item(i, 0).text(), self.table.item(i, 1).text())  # type: ignore[union-attr]
            for i in range(self.table.rowCount())
        ]
