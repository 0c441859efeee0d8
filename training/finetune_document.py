"""Fine-tune a LIIF model on synthetic scanned documents mixed with photos.

Usage (from the repository root)::

    nohup nice -n 10 .venv/bin/python -m training.finetune_document \
        --config training/configs/document.json > training/runs/doc/log.txt &

The LIIF training step, as in the paper: an LR patch (``lr_size``²) is the MATLAB-style bicubic
reduction of an HR crop by a random scale; ``n_queries`` HR pixel centres with their cells are
decoded and compared with the HR colours by L1 on the model's raw output (colours normalised to
[-1, 1] the same way). A share ``photo_fraction`` of the patches comes from the photo training
sets so photos do not regress; the rest are synthetic scans (:mod:`training.documents`).

Each iteration draws its samples from a generator seeded by ``(seed, iteration)``, so a resumed
run draws the same batches as an uninterrupted one. Every ``val_every`` iterations the model is
scored on held-out synthetic pages (Y PSNR, their own seed; never the OCR benchmark) and the best
one is saved in the official format (float16) as ``best.pth``; ``last.pth`` holds the state to
resume from.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from liif_desktop.imresize import imresize
from liif_desktop.model import LIIF, load_checkpoint, save_checkpoint
from training.data import PatchSampler, list_images, load_rgb
from training.degrade import Degradation, DegradedSampler, degrade
from training.documents import DocumentPatchSampler, validation_pages

REPO = Path(__file__).resolve().parent.parent
Y_WEIGHTS = torch.tensor([65.738, 129.057, 25.064], dtype=torch.float64) / 256.0


def load_config(path: str | Path) -> dict[str, Any]:
    """The fine-tuning settings (see ``training/configs/document.json``)."""
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else REPO / p


def make_batch(
    samplers: list[Any], weights: np.ndarray, batch_size: int, rng: np.random.Generator
) -> tuple[torch.Tensor, ...]:
    """A batch mixing the samplers with the given probabilities (queries cut to the minimum)."""
    picks = rng.choice(len(samplers), size=batch_size, p=weights)
    samples = [samplers[int(k)].sample_one(rng) for k in picks]
    n = min(s[1].shape[0] for s in samples)
    inp = np.stack([s[0] for s in samples]).astype(np.float32) / 255.0
    return (
        torch.from_numpy(inp).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(np.stack([s[1][:n] for s in samples])),
        torch.from_numpy(np.stack([s[2][:n] for s in samples])),
        torch.from_numpy(np.stack([s[3][:n] for s in samples])),
    )


@torch.no_grad()
def predict(
    model: LIIF, lr: np.ndarray, out_size: tuple[int, int], chunk: int = 16384
) -> np.ndarray:
    """The whole ``out_size`` output of a uint8 LR image, (H, W, 3) float32 in [0, 1]."""
    inp = torch.from_numpy(lr.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    feat = model.encode(inp)
    h, w = out_size
    ys = -1 + (2 * torch.arange(h, dtype=torch.float32) + 1) / h
    xs = -1 + (2 * torch.arange(w, dtype=torch.float32) + 1) / w
    coord = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1).view(1, -1, 2)
    cell = torch.tensor([2.0 / h, 2.0 / w]).expand_as(coord)
    out = torch.cat(
        [
            model.query(feat, coord[:, i : i + chunk], cell[:, i : i + chunk])
            for i in range(0, coord.shape[1], chunk)
        ],
        1,
    )
    return (out * 0.5 + 0.5).clamp(0, 1).view(h, w, 3).numpy()


def psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """Y-channel PSNR (BT.601, images in [0, 1]) with ``shave`` border pixels dropped."""
    diff = torch.from_numpy(sr.astype(np.float64) - hr.astype(np.float64) / 255.0) @ Y_WEIGHTS
    diff = diff[shave:-shave, shave:-shave]
    return float(-10 * torch.log10(diff.pow(2).mean()))


Pairs = list[tuple[np.ndarray, np.ndarray]]


def validate(model: LIIF, sets: dict[str, tuple[int, Pairs]]) -> dict[str, float]:
    """Mean Y PSNR of each held-out set (name -> (scale, pairs)), and their mean over sets."""
    model.eval()
    scores = {}
    for name, (scale, pairs) in sets.items():
        values = [psnr_y(predict(model, lr, hr.shape[:2]), hr, scale) for lr, hr in pairs]
        scores[name] = float(np.mean(values))
    scores["mean"] = float(np.mean(list(scores.values())))
    model.train()
    return scores


def selection_score(cfg: dict[str, Any], score: dict[str, float], start: dict[str, float]) -> float:
    """The number a checkpoint is selected by (higher is better), from its validation scores.

    By default the mean over the validation sets. With ``select`` in the config,
    ``{"score": name, "guard": name, "max_drop_db": d}``: the ``score`` set's PSNR, as long as
    the ``guard`` set has not dropped more than ``d`` dB below its value at the start
    (``start``); a checkpoint past that bound is never selected (-inf). A real-inputs model is
    chosen on its degraded validation while its clean validation stays near the original's.
    """
    rule = cfg.get("select")
    if not rule:
        return float(score["mean"])
    guard = str(rule["guard"])
    if score[guard] < start[guard] - float(rule["max_drop_db"]):
        return -math.inf
    return float(score[str(rule["score"])])


def learning_rate(cfg: dict[str, Any], it: int) -> float:
    """Linear warm-up, then cosine decay from ``lr`` to ``lr_min``."""
    warm = int(cfg.get("warmup", 0))
    if it < warm:
        return float(cfg["lr"]) * (it + 1) / warm
    t = (it - warm) / max(1, int(cfg["iterations"]) - warm)
    lo, hi = float(cfg["lr_min"]), float(cfg["lr"])
    return lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * min(1.0, t)))


def held_out_photos(cfg: dict[str, Any]) -> list[Path]:
    """Photos kept out of training for validation: every ``every``-th file of ``folder``."""
    val = cfg["validation"]
    if "photo_folder" not in val:
        return []
    return list_images([_resolve(val["photo_folder"])])[:: int(val["every"])]


def photo_pairs(paths: list[Path], lr_size: int, scale: int) -> Pairs:
    """Centre crops of ``lr_size * scale`` pixels and their MATLAB-bicubic LR."""
    pairs = []
    size = lr_size * scale
    for path in paths:
        image = load_rgb(path)
        top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        hr = np.ascontiguousarray(image[top : top + size, left : left + size])
        pairs.append((imresize(hr, output_shape=(lr_size, lr_size)), hr))
    return pairs


def validation_sets(cfg: dict[str, Any]) -> dict[str, tuple[int, Pairs]]:
    """The held-out sets, from their own seed: clean ``x{s}`` and, with ``degrade`` in the
    config, ``x{s}_degraded`` (every LR degraded; :func:`training.degrade.degrade`).

    Synthetic pages by default; held-out photos when ``validation.photo_folder`` is set.
    """
    val = cfg["validation"]
    held_out = held_out_photos(cfg)
    sets: dict[str, tuple[int, Pairs]] = {}
    for s in (int(k) for k in val["scales"]):
        if held_out:
            pairs = photo_pairs(held_out, int(val["lr_size"]), s)
        else:
            pairs = validation_pages(
                int(val["seed"]) + s,
                val["count"],
                val["lr_size"],
                s,
                block_weights=val.get("block_weights"),
                printed=float(val.get("printed", 0.0)),
            )
        sets[f"x{s}"] = (s, pairs)
        if "degrade" in cfg:
            spec = replace(Degradation.from_config(cfg["degrade"]), clean=0.0)
            rng = np.random.default_rng([int(val["seed"]), s, 1])
            sets[f"x{s}_degraded"] = (s, [(degrade(lr, rng, spec), hr) for lr, hr in pairs])
    return sets


def model_at_start(cfg: dict[str, Any]) -> LIIF:
    """The weights the selection guard is measured against: ``select.reference`` when given
    (a run that continues another model keeps the original's clean quality as its bound),
    else the run's ``init`` checkpoint."""
    rule = cfg.get("select") or {}
    return load_checkpoint(_resolve(rule.get("reference", cfg["init"])))


def make_optimizer(cfg: dict[str, Any], model: LIIF) -> torch.optim.Adam:
    """Adam over the encoder and the decoder MLP, each group with its learning-rate ``scale``.

    ``decoder_lr_scale`` (default 1) multiplies the decoder's rate; 0 freezes the decoder, so
    only the encoder learns to map damaged inputs onto latent codes the original decoder reads.
    """
    decoder_scale = float(cfg.get("decoder_lr_scale", 1.0))
    groups: list[dict[str, Any]] = [{"params": list(model.encoder.parameters()), "scale": 1.0}]
    if decoder_scale > 0:
        groups.append({"params": list(model.imnet.parameters()), "scale": decoder_scale})
    else:
        model.imnet.requires_grad_(False)
    return torch.optim.Adam(groups, lr=float(cfg["lr"]))


def run(cfg: dict[str, Any], resume: bool = True) -> Path:
    """Fine-tune per ``cfg``; returns the path of the best checkpoint."""
    torch.set_num_threads(int(cfg.get("threads", 2)))
    torch.manual_seed(int(cfg["seed"]))
    out_dir = _resolve(cfg["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    init = _resolve(cfg["init"])
    model = load_checkpoint(init).train()
    args = torch.load(init, map_location="cpu", weights_only=True)["model"]["args"]
    opt = make_optimizer(cfg, model)

    held_out = set(held_out_photos(cfg))
    photos = [
        im
        for im in (
            load_rgb(p)
            for p in list_images([_resolve(f) for f in cfg["photo_folders"]])
            if p not in held_out
        )
        if min(im.shape[:2]) >= int(cfg["lr_size"]) * 4
    ]
    photo_sampler = PatchSampler(
        photos, cfg["lr_size"], tuple(cfg["scale_range"]), cfg["n_queries"], augment=True
    )
    doc_sampler = DocumentPatchSampler(
        cfg["lr_size"],
        tuple(cfg.get("doc_scale_range", cfg["scale_range"])),
        tuple(cfg["lr_em_range"]),
        cfg["n_queries"],
        block_weights=cfg.get("block_weights"),
        printed=float(cfg.get("printed", 0.0)),
    )
    samplers: list[Any] = [doc_sampler, photo_sampler]
    if "degrade" in cfg:
        spec = Degradation.from_config(cfg["degrade"])
        samplers = [DegradedSampler(s, spec) for s in samplers]
    mix = np.array([1.0 - float(cfg["photo_fraction"]), float(cfg["photo_fraction"])])
    pages = validation_sets(cfg)

    start, best = 0, -math.inf
    last = out_dir / "last.pth"
    if resume and last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=True)
        model.load_state_dict(state["sd"])
        opt.load_state_dict(state["optimizer"])
        start, best = int(state["iteration"]), float(state["best"])
        initial = state.get("initial_scores") or validate(model_at_start(cfg), pages)
        print(f"resumed at iteration {start}, best {best:.3f}", flush=True)
    else:
        score = validate(model, pages)
        print(f"it 0 val {json.dumps(score)} (initial weights)", flush=True)
        initial = score
        reference = (cfg.get("select") or {}).get("reference")
        if reference is not None and _resolve(reference) != init:
            initial = validate(model_at_start(cfg), pages)
            print(f"reference val {json.dumps(initial)}", flush=True)
        best = selection_score(cfg, score, initial)
        save_checkpoint(out_dir / "best.pth", model, args, half=True, extra={"iteration": 0})

    def checkpoint(done: int) -> None:
        """Validate; keep the best (and, if asked, every) checkpoint and the state to resume."""
        nonlocal best
        score = validate(model, pages)
        improved = selection_score(cfg, score, initial) > best
        if improved:
            best = selection_score(cfg, score, initial)
            save_checkpoint(out_dir / "best.pth", model, args, half=True, extra={"iteration": done})
        print(f"it {done} val {json.dumps(score)}{' best' if improved else ''}", flush=True)
        if cfg.get("keep_every_validation"):
            save_checkpoint(
                out_dir / f"it{done}.pth", model, args, half=True, extra={"iteration": done}
            )
        state = {"sd": model.state_dict(), "optimizer": opt.state_dict()}
        torch.save({**state, "iteration": done, "best": best, "initial_scores": initial}, last)

    t0, losses = time.time(), []
    limit_s = float(cfg.get("max_minutes") or math.inf) * 60
    for it in range(start, int(cfg["iterations"])):
        if time.time() - t0 > limit_s:
            print(f"time limit of {cfg['max_minutes']} min reached at iteration {it}", flush=True)
            break
        rng = np.random.default_rng([int(cfg["seed"]), it])
        inp, coord, cell, gt = make_batch(samplers, mix, int(cfg["batch_size"]), rng)
        for group in opt.param_groups:
            # A run saved before per-group rates has one group and no scale.
            group["lr"] = learning_rate(cfg, it) * group.get("scale", 1.0)
        loss = torch.nn.functional.l1_loss(model(inp, coord, cell), (gt - 0.5) / 0.5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        done = it + 1
        if done % int(cfg["log_every"]) == 0:
            rate = (time.time() - t0) / len(losses)
            print(
                f"it {done} loss {np.mean(losses[-int(cfg['log_every']) :]):.4f} "
                f"lr {learning_rate(cfg, it):.2e} {rate:.2f} s/it",
                flush=True,
            )
        if done % int(cfg["val_every"]) == 0 or done == int(cfg["iterations"]):
            checkpoint(done)
    done = start + len(losses)
    if losses and done % int(cfg["val_every"]) != 0 and done != int(cfg["iterations"]):
        checkpoint(done)  # stopped by the time limit between two validations
    print(f"finished: best validation {best:.3f} -> {out_dir / 'best.pth'}", flush=True)
    return out_dir / "best.pth"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="training/configs/document.json")
    parser.add_argument("--fresh", action="store_true", help="ignore last.pth and start over")
    parser.add_argument("--iterations", type=int, help="override the config (quick checks)")
    parser.add_argument("--out-dir", help="override the config's output folder")
    ns = parser.parse_args(argv)
    cfg = load_config(_resolve(ns.config))
    if ns.iterations is not None:
        cfg["iterations"] = ns.iterations
    if ns.out_dir:
        cfg["out_dir"] = ns.out_dir
    print(f"config {json.dumps(cfg)}", flush=True)
    run(cfg, resume=not ns.fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
