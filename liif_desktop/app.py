"""Entry point of the desktop app: ``liif-desktop [IMAGE] [--zoom Z] [--screenshot OUT]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from liif_desktop import appinfo


def _center(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y in image pixels, got {text!r}") from None
    return x, y


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if w < 100 or h < 100:
        raise argparse.ArgumentTypeError("the window must be at least 100x100")
    return w, h


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="liif-desktop",
        description="LIIF Desktop: a super-resolution image viewer. With no IMAGE it opens the "
        "bundled sample page.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {appinfo.VERSION}")
    p.add_argument("image", nargs="?", type=Path, help="image to open")
    p.add_argument(
        "--page", type=int, default=1, metavar="N", help="page of a PDF or multi-page TIFF (1)"
    )
    p.add_argument("--zoom", type=_positive, help="zoom factor (4 = 400 %%)")
    p.add_argument("--center", type=_center, metavar="X,Y", help="image point to centre on")
    p.add_argument("--model", help="model id to use (see `python -m liif_desktop.weights list`)")
    p.add_argument(
        "--screenshot",
        type=Path,
        metavar="OUT.png",
        help="wait until the visible tiles are refined, save a grab of the window, and quit",
    )
    p.add_argument(
        "--timeout", type=_positive, default=300.0, help="seconds --screenshot waits (300)"
    )
    p.add_argument(
        "--compare",
        choices=("off", "swap", "split"),
        default="off",
        help="show bicubic instead of LIIF (swap) or beside it (split)",
    )
    p.add_argument(
        "--size", type=_size, metavar="WxH", help="window size (default 1200x800 with --screenshot)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the app; returns the exit status."""
    args = build_parser().parse_args(argv)
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from liif_desktop.ui.settings import APPLICATION, ORGANISATION

    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(appinfo.VERSION)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)

    from liif_desktop.ui.main_window import MainWindow
    from liif_desktop.ui.resources import app_icon, sample_image_path
    from liif_desktop.ui.responsiveness import freeze_startup_heap, prefer_gui_thread

    prefer_gui_thread()

    app.setWindowIcon(app_icon())
    app.setDesktopFileName("liif-desktop")  # matches the .desktop entry (Wayland icon)

    scripted = args.screenshot is not None
    if not scripted:
        from liif_desktop.diagnostics import start_logging

        start_logging()
    window = MainWindow(remember=not scripted)
    if args.model is not None:
        known = [m.id for m in window.models]
        if args.model not in known or not window.select_model(args.model):
            print(
                f"liif-desktop: unknown or unusable model {args.model!r}; known: {known}",
                file=sys.stderr,
            )
            window.close()
            return 1
    if args.size is not None or scripted:
        window.resize(*(args.size or (1200, 800)))
    path = args.image if args.image is not None else sample_image_path()
    if path is not None and not window.open_path(path, page=args.page):
        if scripted:
            print(f"liif-desktop: cannot open {path}", file=sys.stderr)
            window.close()
            return 1
    if scripted and path is None:
        print("liif-desktop: no image given and no bundled sample found", file=sys.stderr)
        window.close()
        return 1
    freeze_startup_heap()
    window.show()
    if args.compare == "swap":
        window.act_compare.setChecked(True)
    elif args.compare == "split":
        window.act_split.setChecked(True)
    if not scripted and args.image is None and args.zoom is None and args.compare == "off":
        from liif_desktop.ui.first_screen import maybe_show_first_screen

        maybe_show_first_screen(window)
    if scripted:
        from liif_desktop.ui.scripted import ScreenshotJob

        job = ScreenshotJob(
            window, args.screenshot, zoom=args.zoom, center=args.center, timeout_s=args.timeout
        )
        job.start()
    elif args.zoom is not None or args.center is not None:
        from PySide6.QtCore import QTimer

        def set_view() -> None:
            if args.zoom is not None:
                window.canvas.set_zoom(args.zoom)
            if args.center is not None:
                window.canvas.center_on(*args.center)

        QTimer.singleShot(0, set_view)
    code = app.exec()
    window.close()
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
