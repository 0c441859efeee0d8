"""Viewport engine timings on a 2000×1500 document scan at ×4 (CPU).

For each available model: jump from the fitted view to ×4 about the viewport centre and time
the placeholder plan, the first LIIF tile and the whole 1280×800 viewport; then time how soon
the first tile of a new zoom starts while a tile of the old one is rendering; then pan away,
clear the tile cache and pan back, where the latent codes come from the feature cache.

Run: ``.venv/bin/python benchmarks/viewport.py`` (writes ``benchmarks/results/viewport.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from liif_desktop.model.liif import LIIF
from liif_desktop.render.engine import TileRequest, TileResult, ViewportEngine
from liif_desktop.render.geometry import ViewGeometry
from liif_desktop.render.region import RegionRenderer
from liif_desktop.weights import all_models, load_model

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = REPO.parent / "shared" / "data" / "documents"
SCAN_SIZE = (1500, 2000)  # (H, W)
VIEWPORT = (1280, 800)
ZOOM = 4.0
TILE = 256
CANCEL_DELAYS = (0.2, 1.0, 2.0)
CANCEL_PANS = ((-3000, -2000), (3000, 2000), (3000, -2000))


def document_scan() -> tuple[np.ndarray, str]:
    """A 2000×1500 RGB scan: a document page fitted onto white paper (or a synthetic page)."""
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


class TileStarts:
    """on_tile_start sink: when each request started (for the cancel latency)."""

    def __init__(self) -> None:
        self.times: list[tuple[TileRequest, float]] = []
        self.started = threading.Event()

    def __call__(self, request: TileRequest) -> None:
        self.times.append((request, time.perf_counter()))
        self.started.set()


class Timeline:
    """on_result sink: time of each delivered tile; wakes the waiter when a view is complete."""

    def __init__(self, engine_ref: Callable[[], ViewportEngine]) -> None:
        self._engine = engine_ref
        self.times: list[float] = []
        self.done = threading.Event()

    def __call__(self, result: TileResult) -> None:
        self.times.append(time.perf_counter())
        refined, visible = self._engine().progress()
        if refined >= visible:
            self.done.set()

    def reset(self) -> None:
        self.times.clear()
        self.done.clear()


def run_view(
    engine: ViewportEngine, timeline: Timeline, geometry: ViewGeometry, timeout: float
) -> dict[str, Any]:
    """Show ``geometry`` and time the plan, the first LIIF tile and the whole viewport."""
    timeline.reset()
    t0 = time.perf_counter()
    plan = engine.update_view(geometry)
    t_plan = time.perf_counter() - t0
    if plan.pending and not timeline.done.wait(timeout):
        raise TimeoutError(f"viewport not finished in {timeout} s")
    t_all = time.perf_counter() - t0
    first = timeline.times[0] - t0 if timeline.times else 0.0
    refined, visible = engine.progress()
    return {
        "tiles": visible,
        "refined": refined,
        "from_cache": len(plan.tiles) - plan.pending,
        "plan_ms": round(1000 * t_plan, 1),
        "first_tile_s": round(first, 3),
        "viewport_s": round(t_all, 3),
        "output_megapixels": round(
            sum(t.request.key.shape[0] * t.request.key.shape[1] for t in plan.tiles) / 1e6, 3
        ),
    }


def bench_model(model_id: str, model: LIIF, image: np.ndarray, timeout: float) -> dict[str, Any]:
    engine: ViewportEngine
    timeline = Timeline(lambda: engine)
    starts = TileStarts()
    engine = ViewportEngine(timeline, tile_size=TILE, on_tile_start=starts)
    try:
        engine.set_image("scan", image)
        engine.set_model(model_id, model)
        h, w = image.shape[:2]
        fit = min(VIEWPORT[0] / w, VIEWPORT[1] / h)
        fitted = ViewGeometry((h, w), fit, (0.0, 0.0), VIEWPORT).clamp_origin()
        t0 = time.perf_counter()
        fit_plan = engine.update_view(fitted)
        fit_ms = 1000 * (time.perf_counter() - t0)
        centre = (VIEWPORT[0] / 2, VIEWPORT[1] / 2)
        zoomed = fitted.zoomed_about(ZOOM, *centre).clamp_origin()
        cold = run_view(engine, timeline, zoomed, timeout)

        # Cancel latency: start a ×4 view elsewhere (fresh latent codes), then zoom to ×3
        # while its first tile has run for a while (encoding at first, decoding later).
        cancel = []
        for delay, (dx, dy) in zip(CANCEL_DELAYS, CANCEL_PANS, strict=True):
            elsewhere = zoomed.panned(dx, dy).clamp_origin()
            starts.started.clear()
            engine.update_view(elsewhere)
            starts.started.wait(timeout)
            time.sleep(delay)  # how far the old tile has got: a measured setting, not a sync
            starts_before = len(starts.times)
            starts.started.clear()
            t_change = time.perf_counter()
            engine.update_view(elsewhere.zoomed_about(3.0, *centre).clamp_origin())
            starts.started.wait(timeout)
            latency = 1000 * (starts.times[starts_before][1] - t_change)
            cancel.append({"old_tile_ran_s": delay, "first_new_tile_start_ms": round(latency, 1)})
            engine.update_view(zoomed)  # all cached: stops the ×3 tile, queues nothing
            engine.wait_idle(timeout)

        # Pan back: tiles cleared, latent codes still cached.
        engine.tile_cache.clear()
        feature_mb = engine.feature_cache_used / 2**20
        warm = run_view(engine, timeline, zoomed, timeout)
        return {
            "fit_view": {
                "zoom": round(fit, 4),
                "tiles": len(fit_plan.tiles),
                "plan_ms": round(fit_ms, 1),
            },
            "jump_to_x4": cold,
            "zoom_change_while_rendering": cancel,
            "pan_back_feature_cache_hit": warm,
            "feature_cache_used_mb": round(feature_mb, 1),
            "speedup_first_tile": round(cold["first_tile_s"] / max(warm["first_tile_s"], 1e-6), 2),
            "speedup_viewport": round(cold["viewport_s"] / max(warm["viewport_s"], 1e-6), 2),
        }
    finally:
        engine.shutdown()


def feature_tile_encode_s(model: LIIF, image: np.ndarray, side: int) -> float:
    """Seconds to encode one feature tile: the longest a stale tile can delay a new one."""
    renderer = RegionRenderer(model, image, feature_tile=side)
    ty, tx = image.shape[0] // 2 // side, image.shape[1] // 2 // side
    t0 = time.perf_counter()
    renderer.feature_tile_at(ty, tx)
    return round(time.perf_counter() - t0, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/viewport.json")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per view")
    parser.add_argument("--models", nargs="+", help="model ids (default: every available)")
    args = parser.parse_args(argv)
    image, source = document_scan()
    earlier: dict[str, Any] = {}
    if args.models and args.out.is_file():  # measuring some models: keep the others' figures
        earlier = json.loads(args.out.read_text(encoding="utf-8")).get("models", {})
    results: dict[str, Any] = {
        "scan": {"source": source, "size_hw": list(SCAN_SIZE)},
        "viewport_wh": list(VIEWPORT),
        "zoom": ZOOM,
        "tile": TILE,
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "models": earlier,
    }
    for info in all_models():
        if not info.available or (args.models and info.id not in args.models):
            continue
        print(f"{info.id} ...", flush=True)
        model = load_model(info)
        results["models"][info.id] = bench_model(info.id, model, image, args.timeout)
        results["models"][info.id]["feature_tile_encode_s"] = {
            str(side): feature_tile_encode_s(model, image, side) for side in (128, 64)
        }
        print(json.dumps(results["models"][info.id], indent=2), flush=True)
    baseline = results["models"].get("edsr-baseline-liif", {}).get("jump_to_x4", {})
    for figures in results["models"].values():
        if baseline.get("viewport_s"):
            view_s = figures["jump_to_x4"]["viewport_s"]
            figures["time_relative_to_edsr_baseline"] = round(view_s / baseline["viewport_s"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
