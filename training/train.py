"""Train or fine-tune a LIIF model; resumable, seeded, device-agnostic.

Usage::

    python -m training.train training/configs/rdn-liif-paper.json [--run-dir DIR] [--fresh]

A config is JSON (see ``training/configs/``). The run folder (default
``training/runs/<name>``) receives ``last.pth`` (model, optimiser, iteration: resumed
automatically), ``best.pth`` (best validation PSNR, official LIIF format), ``history.json``
and, at the end, ``results.json`` with the final benchmark PSNR. Progress and ETA are printed.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import signal
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from liif_desktop.model import LIIF, build_liif, load_checkpoint, save_checkpoint, select_device
from liif_desktop.model.checkpoint import model_from_spec, validate_checkpoint
from training.data import Batch, PatchSampler, load_training_images
from training.embed import rdn_liif_from_edsr, train_spare_capacity_only
from training.evaluate import BENCHMARK_ROOT, evaluate_model, evaluate_set, upscale_with_model

REPO = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "name": "run",
    "seed": 0,
    "device": "auto",
    "threads": None,
    "cpu_bf16": False,
    "model": {"init": "random", "args": None, "edsr_checkpoint": None},
    "data": {
        "folders": [],
        "npz": None,
        "lr_size": 48,
        "scale_range": [1.0, 4.0],
        "n_queries": 2304,
        "augment": True,
        "limit": None,
    },
    "optim": {
        "batch_size": 16,
        "lr": 1e-4,
        "warmup_iters": 0,
        "lr_step_iters": 200_000,
        "lr_gamma": 0.5,
        "iterations": 1_000_000,
        "iters_per_epoch": 1000,
    },
    "val": {
        "every": 1000,
        "dataset": "Set5",
        "scale": 4,
        "crop": None,
        "limit": None,
        "root": None,
    },
    "log_every": 10,
    "max_minutes": None,
    "final_eval": {"sets": ["Set5", "Set14"], "scales": [2, 3, 4]},
    "export": {"path": None, "half": True},
}


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in, recursively for nested dictionaries."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a JSON config and fill in the defaults."""
    return merge(DEFAULTS, json.loads(Path(path).read_text()))


def resolve(path: str | Path) -> Path:
    """Config paths are relative to the repository root."""
    p = Path(path)
    return p if p.is_absolute() else REPO / p


def lr_at(iteration: int, optim: dict[str, Any]) -> float:
    """Learning rate: linear warm-up, then multiplied by ``lr_gamma`` every ``lr_step_iters``."""
    warm = optim["warmup_iters"]
    factor = min(1.0, (iteration + 1) / warm) if warm else 1.0
    return float(optim["lr"] * factor * optim["lr_gamma"] ** (iteration // optim["lr_step_iters"]))


def build_model(cfg: dict[str, Any]) -> tuple[LIIF, dict[str, Any]]:
    """The initial model and its official-format args."""
    spec = cfg["model"]
    torch.manual_seed(cfg["seed"])
    if spec["init"] == "embed-edsr":
        edsr = load_checkpoint(resolve(spec["edsr_checkpoint"]))
        return rdn_liif_from_edsr(edsr, seed=cfg["seed"])
    if spec["init"] == "random":
        args = copy.deepcopy(spec["args"])
        return build_liif(args), args
    if spec["init"] == "checkpoint":
        path = resolve(spec["checkpoint"])
        entry = validate_checkpoint(torch.load(path, map_location="cpu", weights_only=True), path)
        return model_from_spec(entry, path), dict(entry["args"])
    raise ValueError(f"unknown model init {spec['init']!r}")


class NpzSampler:
    """Batches from pre-cut samples (see :mod:`training.precut`), augmented on the fly.

    Flips and transpositions are applied to the LR patch and, equivalently, to the query
    coordinates (negating y or x, swapping them), so no HR pixels are needed.
    """

    def __init__(self, path: Path, augment: bool = True) -> None:
        with np.load(path) as data:
            self.lr = torch.from_numpy(data["lr"])  # (N, p, p, 3) uint8
            self.index = torch.from_numpy(data["index"].astype(np.int64))  # (N, Q, 2) y, x
            self.gt = torch.from_numpy(data["gt"])  # (N, Q, 3) uint8
            self.hr_size = torch.from_numpy(data["hr_size"].astype(np.float32))  # (N,)
        self.augment = augment

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        pick = torch.from_numpy(rng.choice(len(self.lr), size=batch_size, replace=False))
        inp = self.lr[pick].float().div(255).permute(0, 3, 1, 2)
        size = self.hr_size[pick].view(-1, 1, 1)
        coord = -1 + (2 * self.index[pick].float() + 1) / size
        cell = (2 / size).expand_as(coord).clone()
        gt = self.gt[pick].float().div(255)
        if self.augment:
            codes = rng.integers(0, 8, size=batch_size)
            for i, code in enumerate(codes):
                if code & 1:
                    inp[i] = inp[i].flip(-1)
                    coord[i, :, 1] = -coord[i, :, 1]
                if code & 2:
                    inp[i] = inp[i].flip(-2)
                    coord[i, :, 0] = -coord[i, :, 0]
                if code & 4:
                    inp[i] = inp[i].transpose(-1, -2).clone()
                    coord[i] = coord[i].flip(-1)
        return Batch(inp.contiguous(), coord, cell, gt, size.view(-1))


class Trainer:
    """Runs one training configuration in a run folder."""

    def __init__(
        self,
        cfg: dict[str, Any],
        run_dir: Path,
        fresh: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self._log_fn = log or (lambda s: print(s, flush=True))
        if cfg["threads"]:
            torch.set_num_threads(int(cfg["threads"]))
        self.device = select_device(cfg["device"])
        self.model, self.args = build_model(cfg)
        self.model.to(self.device)
        params = list(self.model.parameters())
        if cfg["model"].get("train") == "spare":
            params = train_spare_capacity_only(self.model)
        self.optimizer = torch.optim.Adam(params, lr=cfg["optim"]["lr"])
        self.iteration = 0
        self.best_psnr = -math.inf
        self.history: dict[str, list[Any]] = {"loss": [], "val": []}
        self._stop = False
        last = run_dir / "last.pth"
        if last.is_file() and not fresh:
            self._resume(last)
        (run_dir / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")

    @property
    def stopped_by_signal(self) -> bool:
        """Whether SIGINT/SIGTERM ended training (the run is left to be resumed)."""
        return self._stop

    # -- bookkeeping ----------------------------------------------------------------------
    def log(self, text: str) -> None:
        self._log_fn(text)

    def _resume(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"]["sd"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.best_psnr = float(state["best_psnr"])
        history_path = self.run_dir / "history.json"
        if history_path.is_file():
            self.history = json.loads(history_path.read_text())
        self.log(f"resumed from {path} at iteration {self.iteration}")

    def _extra(self) -> dict[str, Any]:
        per_epoch = self.cfg["optim"]["iters_per_epoch"]
        return {"epoch": self.iteration // per_epoch, "iteration": self.iteration}

    def save_last(self) -> None:
        extra = self._extra()
        extra.update(optimizer=self.optimizer.state_dict(), best_psnr=self.best_psnr)
        save_checkpoint(self.run_dir / "last.pth", self.model, self.args, extra=extra)
        (self.run_dir / "history.json").write_text(json.dumps(self.history) + "\n")

    def _autocast(self) -> Any:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        if self.device.type == "cpu" and self.cfg["cpu_bf16"]:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    # -- validation -----------------------------------------------------------------------
    def validate(self) -> float:
        """Quick validation PSNR; saves ``best.pth`` when it improves."""
        val = self.cfg["val"]
        self.model.eval()
        start = time.monotonic()
        with self._autocast_eval():
            value = evaluate_set(
                lambda lr, size: upscale_with_model(self.model, lr, size),
                val["dataset"],
                int(val["scale"]),
                root=self._benchmark_root(),
                crop=val["crop"],
                limit=val["limit"],
            )
        self.model.train()
        self.history["val"].append([self.iteration, value])
        improved = value > self.best_psnr
        if improved:
            self.best_psnr = value
            extra = self._extra() | {"val_psnr": value}
            save_checkpoint(self.run_dir / "best.pth", self.model, self.args, extra=extra)
        self.log(
            f"[val] it {self.iteration}: {val['dataset']} x{val['scale']} {value:.3f} dB"
            f" (best {self.best_psnr:.3f}{', saved' if improved else ''};"
            f" {time.monotonic() - start:.0f} s)"
        )
        return value

    def _benchmark_root(self) -> Path:
        root = self.cfg["val"]["root"]
        return resolve(root) if root else BENCHMARK_ROOT

    def _autocast_eval(self) -> Any:
        return nullcontext()  # validation in full precision: comparable numbers

    # -- training -------------------------------------------------------------------------
    def _sampler(self) -> PatchSampler | NpzSampler:
        data = self.cfg["data"]
        if data["npz"]:
            return NpzSampler(resolve(data["npz"]), data["augment"])
        start = time.monotonic()
        images = load_training_images([resolve(f) for f in data["folders"]], limit=data["limit"])
        self.log(f"loaded {len(images)} training images in {time.monotonic() - start:.0f} s")
        return PatchSampler(
            images, data["lr_size"], tuple(data["scale_range"]), data["n_queries"], data["augment"]
        )

    def step(self, batch: Batch) -> float:
        batch = batch.to(self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.iteration, self.cfg["optim"])
        with self._autocast():
            pred = self.model(batch.inp, batch.coord, batch.cell)
        loss = torch.nn.functional.l1_loss(pred.float(), (batch.gt - 0.5) / 0.5)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.iteration += 1
        return float(loss.detach())

    def _request_stop(self, signum: int, _frame: Any) -> None:
        self.log(f"signal {signum}: stopping after this iteration")
        self._stop = True

    def train(self) -> None:
        """Train until the configured iterations or time limit; validate, save, resume-safe."""
        cfg, optim = self.cfg, self.cfg["optim"]
        sampler = self._sampler()
        total = int(optim["iterations"])
        limit_s = cfg["max_minutes"] * 60 if cfg["max_minutes"] else math.inf
        every = int(cfg["val"]["every"])
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        self.log(
            f"device {self.device}, {torch.get_num_threads()} threads; "
            f"{sum(p.numel() for p in self.model.parameters()) / 1e6:.2f} M parameters; "
            f"iteration {self.iteration}/{total}"
        )
        if not self.history["val"]:
            self.validate()
        self.model.train()
        start = time.monotonic()
        window_start, window_iters, window_loss = start, 0, 0.0
        done_at_start = self.iteration
        while self.iteration < total and not self._stop:
            if time.monotonic() - start > limit_s:
                self.log(f"time limit of {cfg['max_minutes']} min reached")
                break
            rng = np.random.default_rng([cfg["seed"], self.iteration])
            loss = self.step(sampler.sample(optim["batch_size"], rng))
            self.history["loss"].append([self.iteration, loss])
            window_iters += 1
            window_loss += loss
            if self.iteration % cfg["log_every"] == 0:
                now = time.monotonic()
                rate = (self.iteration - done_at_start) / (now - start)
                left = (total - self.iteration) / rate if rate > 0 else math.inf
                left = min(left, limit_s - (now - start))
                self.log(
                    f"it {self.iteration}/{total} loss {window_loss / window_iters:.4f} "
                    f"lr {lr_at(self.iteration - 1, optim):.2e} "
                    f"{window_iters / (now - window_start):.3f} it/s ETA {_hms(left)}"
                )
                window_start, window_iters, window_loss = now, 0, 0.0
            if self.iteration % every == 0:
                self.validate()
                self.save_last()
        if self.history["val"][-1][0] != self.iteration and not self._stop:
            self.validate()
        self.save_last()
        self.log(f"training stopped at iteration {self.iteration}; best {self.best_psnr:.3f} dB")

    def finish(self) -> dict[str, Any]:
        """Export the best checkpoint and run the final benchmark on the exported file."""
        best = self.run_dir / "best.pth"
        export = self.cfg["export"]
        target = best
        if export["path"]:
            target = resolve(export["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            model = load_checkpoint(best)
            state = torch.load(best, map_location="cpu", weights_only=True)
            extra = {k: state[k] for k in ("epoch", "iteration", "val_psnr") if k in state}
            save_checkpoint(target, model, self.args, half=bool(export["half"]), extra=extra)
            self.log(f"exported {best} to {target} ({target.stat().st_size / 1e6:.1f} MB)")
        final = self.cfg["final_eval"]
        results: dict[str, Any] = {"checkpoint": str(target), "val_history": self.history["val"]}
        out = self.run_dir / "results.json"

        def save(psnr: dict[str, dict[str, float]]) -> None:
            results["psnr"] = psnr
            out.write_text(json.dumps(results, indent=2) + "\n")

        save({})
        if final["sets"]:
            model = load_checkpoint(target, self.device)
            evaluate_model(
                model,
                final["sets"],
                final["scales"],
                root=self._benchmark_root(),
                log=lambda s: self.log(f"[final] {s}"),
                on_result=save,
            )
        return results


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a LIIF model from a JSON config")
    parser.add_argument("config", type=Path)
    parser.add_argument("--run-dir", type=Path, help="default: training/runs/<name>")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing last.pth")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=JSON",
        help="override config entries, e.g. optim.iterations=100",
    )
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    for item in args.set:
        key, _, value = item.partition("=")
        node = cfg
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = json.loads(value)
    run_dir = args.run_dir or REPO / "training" / "runs" / cfg["name"]
    trainer = Trainer(cfg, run_dir, fresh=args.fresh)
    trainer.train()
    if trainer.stopped_by_signal:
        return 1
    trainer.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
