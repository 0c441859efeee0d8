"""User settings kept with QSettings (organisation "LIIF Desktop")."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "LIIF Desktop"
APPLICATION = "LIIF Desktop"
MAX_RECENT = 10


@dataclass
class ViewerSettings:
    """What the settings dialog edits.

    Attributes
    ----------
    feature_cache_mb, tile_cache_mb
        Budgets of the latent-code cache and the rendered-tile cache.
    wheel_zooms
        True: the plain wheel zooms (like most image viewers); False: it scrolls and
        Ctrl+wheel zooms.
    device
        ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'mps'``.
    precision
        ``'auto'`` (measured once per machine: bf16 where this CPU or GPU runs it faster,
        else fp32), ``'fp32'``, ``'bf16'`` or ``'fp16'``.
    """

    feature_cache_mb: int = 512
    tile_cache_mb: int = 256
    wheel_zooms: bool = True
    device: str = "auto"
    precision: str = "auto"


def _as_bool(value: object) -> bool:
    # QSettings' INI backend hands booleans back as the strings "true" / "false".
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


class AppSettings:
    """Typed access to the app's QSettings.

    Parameters
    ----------
    qsettings
        The store to use (tests pass an INI file); default: the user's "LIIF Desktop" store.
    """

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.store = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)

    def viewer(self) -> ViewerSettings:
        d = ViewerSettings()
        s = self.store
        return ViewerSettings(
            feature_cache_mb=int(s.value("cache/feature_mb", d.feature_cache_mb)),  # type: ignore[call-overload]
            tile_cache_mb=int(s.value("cache/tile_mb", d.tile_cache_mb)),  # type: ignore[call-overload]
            wheel_zooms=_as_bool(s.value("view/wheel_zooms", d.wheel_zooms)),
            device=str(s.value("model/device", d.device)),
            precision=str(s.value("model/precision", d.precision)),
        )

    def set_viewer(self, v: ViewerSettings) -> None:
        self.store.setValue("cache/feature_mb", int(v.feature_cache_mb))
        self.store.setValue("cache/tile_mb", int(v.tile_cache_mb))
        self.store.setValue("view/wheel_zooms", bool(v.wheel_zooms))
        self.store.setValue("model/device", v.device)
        self.store.setValue("model/precision", v.precision)

    def recent_files(self) -> list[str]:
        value = self.store.value("files/recent", [])
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return []

    def add_recent(self, path: str) -> list[str]:
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT]
        self.store.setValue("files/recent", files)
        return files

    def clear_recent(self) -> None:
        self.store.setValue("files/recent", [])

    def model_id(self) -> str | None:
        value = self.store.value("model/id", "")
        return str(value) or None

    def set_model_id(self, model_id: str) -> None:
        self.store.setValue("model/id", model_id)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        geometry = self.store.value("window/geometry")
        state = self.store.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def set_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)
