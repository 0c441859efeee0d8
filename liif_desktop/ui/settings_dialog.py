"""The settings dialog: cache budgets (with current use), wheel behaviour, device."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from liif_desktop.ui.settings import ViewerSettings

WHEEL_ZOOMS = "Wheel zooms (Ctrl+wheel too)"
WHEEL_SCROLLS = "Wheel scrolls, Ctrl+wheel zooms"


def _mb(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.1f} MB in use"


class SettingsDialog(QDialog):
    """Edits a :class:`ViewerSettings`; read :meth:`values` after it is accepted.

    Parameters
    ----------
    settings
        The current values.
    feature_used, tile_used
        Bytes the caches hold now (shown beside their budgets).
    devices
        Device choices (``'auto'``, ``'cpu'``, …).
    """

    def __init__(
        self,
        parent: QWidget | None,
        settings: ViewerSettings,
        *,
        feature_used: int = 0,
        tile_used: int = 0,
        devices: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.feature_mb = self._budget_box(settings.feature_cache_mb)
        self.tile_mb = self._budget_box(settings.tile_cache_mb)
        form.addRow("Latent-code cache:", self._with_use(self.feature_mb, feature_used))
        form.addRow("Rendered-tile cache:", self._with_use(self.tile_mb, tile_used))
        self.wheel = QComboBox(self)
        self.wheel.addItems([WHEEL_ZOOMS, WHEEL_SCROLLS])
        self.wheel.setCurrentText(WHEEL_ZOOMS if settings.wheel_zooms else WHEEL_SCROLLS)
        form.addRow("Mouse wheel:", self.wheel)
        self.device = QComboBox(self)
        self.device.addItems(devices or ["auto", "cpu"])
        if self.device.findText(settings.device) < 0:
            self.device.addItem(settings.device)
        self.device.setCurrentText(settings.device)
        form.addRow("Device:", self.device)
        self.precision = QComboBox(self)
        self.precision.addItems(["auto", "fp32", "bf16", "fp16"])
        self.precision.setCurrentText(settings.precision)
        self.precision.setToolTip(
            "auto: measured once on this machine; bf16 where it runs faster than fp32 "
            "(CPUs with AVX512_BF16 or AMX, GPUs), else fp32"
        )
        form.addRow("Precision:", self.precision)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _budget_box(self, value: int) -> QSpinBox:
        box = QSpinBox(self)
        box.setRange(16, 65536)
        box.setSingleStep(64)
        box.setSuffix(" MB")
        box.setValue(int(value))
        return box

    def _with_use(self, box: QSpinBox, used: int) -> QWidget:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)
        layout.addWidget(QLabel(_mb(used), row))
        return row

    def values(self) -> ViewerSettings:
        """The settings as edited."""
        return ViewerSettings(
            feature_cache_mb=self.feature_mb.value(),
            tile_cache_mb=self.tile_mb.value(),
            wheel_zooms=self.wheel.currentText() == WHEEL_ZOOMS,
            device=self.device.currentText(),
            precision=self.precision.currentText(),
        )
