"""Viewport timings on a 2000×1500 document scan: jump from the fitted view to ×4 (CPU).

For each model: a fresh :class:`ViewportController` shows the fitted view, then the ×4 view
about the viewport centre (1280×800). Timed from the request: the placeholders, the coarse
LIIF pass over the whole view, the first exact tile, the whole view exact (visible pixels),
and everything done (the off-screen parts of the edge tiles too). Then a zoom change while
rendering: how soon the new view's placeholders and first LIIF pixels arrive.

Each configuration runs in a child process, so the OpenMP wait policy (which must be set
before torch loads) can differ between them. With ``--hog`` the same cold view is measured
again with a CPU hog of two busy processes started beside it, in the same run, and the JSON
records the ratio (the hog leaves half the machine, so 2× is the floor).

Run: ``.venv/bin/python benchmarks/viewport.py [--hog] [--models ...] [--precision auto]``
(writes ``benchmarks/results/viewport.json``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DOCUMENTS = REPO.parent / "shared" / "data" / "documents"
SCAN_SIZE = (1500, 2000)  # (H, W)
VIEWPORT = (1280, 800)
ZOOM = 4.0
TILE = 256


def document_scan() -> tuple[Any, str]:
    """A 2000×1500 RGB scan: a document page fitted onto white paper (or a synthetic page)."""
    import numpy as np
    from PIL import Image

    h, w = SCAN_SIZE
    pages = sorted(DOCUMENTS.glob("*.png"))
    canvas = Image.new("RGB", (w, h), "white")
    if pages:
        page = Image.open(pages[0]).convert("RGB")
        scale = min(w / page.width, h / page.height)
        size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
        page = page.resize(size, Image.Resampling.LANCZOS)
        canvas.paste(page, ((w - size[0]) // 2, (h - size[1]) // 2))
        source = str(pages[0].relative_to(REPO.parent))
    else:  # synthetic: dark strokes of text-like rows
        rng = np.random.default_rng(0)
        arr = np.full((h, w, 3), 245, np.uint8)
        for top in range(80, h - 80, 36):
            for left in range(100, w - 100, 14):
                if rng.random() < 0.8:
                    arr[top : top + 20, left : left + 3 + int(rng.integers(0, 8))] = 30
        canvas = Image.fromarray(arr)
        source = "synthetic"
    return np.asarray(canvas, dtype=np.float32) / 255.0, source


class Timeline:
    """on_update sink: when each tile of the watched generation reached each stage."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.t0 = 0.0
        self.generation = -1
        self.keys: set[Any] = set()
        self.first_update: float | None = None
        self.coarse: dict[Any, float] = {}
        self.exact: dict[Any, float] = {}
        self.computed_px = 0

    def watch(self, generation: int, keys: list[Any], t0: float) -> None:
        with self.lock:
            self.generation, self.keys, self.t0 = generation, set(keys), t0
            self.first_update = None
            self.coarse, self.exact = {}, {}

    def __call__(self, updates: list[Any]) -> None:
        from liif_desktop.render.viewport import MAIN, Stage

        now = time.perf_counter()
        with self.lock:
            for u in updates:
                if u.generation != self.generation or u.layer != MAIN or u.key not in self.keys:
                    continue
                if self.first_update is None:
                    self.first_update = now - self.t0
                if u.stage >= Stage.COARSE:
                    self.coarse.setdefault(u.key, now - self.t0)
                if u.stage >= Stage.EXACT:
                    self.exact.setdefault(u.key, now - self.t0)
            self.lock.notify_all()

    def wait_exact(self, timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: len(self.exact) >= len(self.keys), timeout)

    def wait_first_coarse(self, timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: bool(self.coarse), timeout)


def cold_view(
    model_id: str, precision: str, timeout: float, feature_tile: int | None = None
) -> dict[str, Any]:
    """The jump to ×4 on a fresh controller (nothing cached), then a zoom change while
    rendering."""
    from liif_desktop.render.geometry import ViewGeometry
    from liif_desktop.render.viewport import ViewportController
    from liif_desktop.weights import find_model, load_model

    info = find_model(model_id)
    assert info is not None, model_id
    model = load_model(info)
    image, source = document_scan()
    timeline = Timeline()
    options = {} if feature_tile is None else {"feature_tile": feature_tile}
    controller = ViewportController(timeline, tile_size=TILE, precision=precision, **options)
    try:
        controller.set_image("scan", image)
        controller.set_model(model_id, model)
        h, w = image.shape[:2]
        fit = min(VIEWPORT[0] / w, VIEWPORT[1] / h)
        fitted = ViewGeometry((h, w), fit, (0.0, 0.0), VIEWPORT).clamp_origin()
        controller.request_view(fitted)
        controller.wait_idle(timeout)
        t_cal = time.perf_counter()
        if precision == "auto":  # measured on first use; keep it out of the view's time
            from liif_desktop.render.precision import resolve_precision

            resolve_precision("auto")
        calibration_s = time.perf_counter() - t_cal
        centre = (VIEWPORT[0] / 2, VIEWPORT[1] / 2)
        zoomed = fitted.zoomed_about(ZOOM, *centre).clamp_origin()
        keys = zoomed.visible_tiles(TILE)
        t0 = time.perf_counter()
        timeline.watch(controller.generation + 1, keys, t0)
        request = controller.request_view(zoomed)
        assert request.generation == timeline.generation
        if not timeline.wait_exact(timeout):
            raise TimeoutError(f"view not exact in {timeout} s")
        view_exact = time.perf_counter() - t0
        controller.wait_idle(timeout)
        all_done = time.perf_counter() - t0
        visible = zoomed.visible_rect()
        assert visible is not None
        tile_px = sum(k.shape[0] * k.shape[1] for k in keys)
        full_tiles = [k for k in keys if k.shape == (TILE, TILE) and _inside(k, visible)]
        first_full = min((timeline.exact[k] for k in full_tiles), default=None)
        result = {
            "model": model_id,
            "precision": controller.precision,
            "feature_tile": controller.feature_tile,
            "calibration_s": round(calibration_s, 3),
            "tiles": len(keys),
            "visible_megapixels": round(visible.shape[0] * visible.shape[1] / 1e6, 3),
            "tile_megapixels": round(tile_px / 1e6, 3),
            "placeholders_s": round(timeline.first_update or 0.0, 3),
            "coarse_view_s": round(max(timeline.coarse.values()), 3),
            "first_exact_tile_s": round(min(timeline.exact.values()), 3),
            "first_exact_full_256_tile_s": None if first_full is None else round(first_full, 3),
            "view_exact_s": round(view_exact, 3),
            "all_done_s": round(all_done, 3),
        }
        # A zoom change while rendering: placeholders and first LIIF pixels of the new view.
        elsewhere = zoomed.panned(-3000, -2000).clamp_origin()
        controller.request_view(elsewhere)
        time.sleep(1.0)
        new = elsewhere.zoomed_about(3.0, *centre).clamp_origin()
        t1 = time.perf_counter()
        timeline.watch(controller.generation + 1, new.visible_tiles(TILE), t1)
        controller.request_view(new)
        timeline.wait_first_coarse(timeout)
        result["zoom_change_while_rendering"] = {
            "placeholders_ms": round(1000 * (timeline.first_update or 0.0), 1),
            "first_coarse_tile_ms": round(1000 * min(timeline.coarse.values()), 1),
        }
        return {"source": source, **result}
    finally:
        controller.shutdown()


def _inside(key: Any, rect: Any) -> bool:
    return (
        rect.rows[0] <= key.rows[0]
        and key.rows[1] <= rect.rows[1]
        and rect.cols[0] <= key.cols[0]
        and key.cols[1] <= rect.cols[1]
    )


def _busy(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def run_child(
    model_id: str,
    precision: str,
    wait_policy: str,
    timeout: float,
    feature_tile: int | None = None,
) -> dict[str, Any]:
    env = dict(os.environ)
    env["OMP_WAIT_POLICY"] = wait_policy
    cmd = [sys.executable, __file__, "--child", model_id, "--precision", precision]
    cmd += ["--timeout", str(timeout)]
    if feature_tile is not None:
        cmd += ["--feature-tile", str(feature_tile)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def with_hog(fn: Any, seconds: float) -> Any:
    """Run ``fn()`` with two busy processes beside it (ended when it returns)."""
    ctx = multiprocessing.get_context("spawn")
    stop_at = time.time() + seconds
    hogs = [ctx.Process(target=_busy, args=(stop_at,), daemon=True) for _ in range(2)]
    for p in hogs:
        p.start()
    try:
        return fn()
    finally:
        for p in hogs:
            p.terminate()
            p.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/viewport.json")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per view")
    parser.add_argument("--models", nargs="+", default=["edsr-baseline-liif", "rdn-liif-ours"])
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--hog", action="store_true", help="also measure beside a CPU hog")
    parser.add_argument(
        "--active-too", action="store_true", help="also measure with OpenMP's active wait"
    )
    parser.add_argument(
        "--compare-feature-tile",
        type=int,
        help="also run the quiet view with latent-code tiles of this size (side by side)",
    )
    parser.add_argument("--feature-tile", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(cold_view(args.child, args.precision, args.timeout, args.feature_tile)))
        return 0

    from benchmarks.common import machine_info

    results: dict[str, Any] = {
        "about": (__doc__ or "").splitlines()[0],
        "machine": machine_info(),
        "scan_hw": list(SCAN_SIZE),
        "viewport_wh": list(VIEWPORT),
        "zoom": ZOOM,
        "tile": TILE,
        "device": "cpu",
        "requested_precision": args.precision,
        "models": {},
    }
    policies = ["PASSIVE", "ACTIVE"] if args.active_too else ["PASSIVE"]
    for model_id in args.models:
        entry: dict[str, Any] = {}
        for policy in policies:
            print(f"{model_id}, OMP_WAIT_POLICY={policy} ...", flush=True)
            quiet = run_child(model_id, args.precision, policy, args.timeout)
            figures: dict[str, Any] = {"quiet": quiet}
            if args.compare_feature_tile:
                other = run_child(
                    model_id, args.precision, policy, args.timeout, args.compare_feature_tile
                )
                figures[f"quiet_feature_tile_{args.compare_feature_tile}"] = other
                figures["coarse_view_speedup_over_that"] = round(
                    other["coarse_view_s"] / quiet["coarse_view_s"], 2
                )
                figures["view_exact_speedup_over_that"] = round(
                    other["view_exact_s"] / quiet["view_exact_s"], 2
                )
            if args.hog:
                budget = 4 * quiet["all_done_s"] + 120
                hog = with_hog(
                    lambda m=model_id, p=policy: run_child(m, args.precision, p, args.timeout),
                    budget,
                )
                figures["beside_2_process_cpu_hog"] = hog
                figures["hog_over_quiet_view_exact"] = round(
                    hog["view_exact_s"] / quiet["view_exact_s"], 2
                )
            entry[policy.lower()] = figures
            print(json.dumps(figures, indent=1), flush=True)
        results["models"][model_id] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
