"""Training pipeline: exact EDSR→RDN embedding, patch sampling, schedule, resume, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from liif_desktop.imresize import imresize
from liif_desktop.model import LIIF, build_liif, load_checkpoint, save_checkpoint
from liif_desktop.model.edsr import EDSREncoder
from liif_desktop.model.rdn import RDNEncoder, ResidualDenseBlock
from training.data import PatchSampler, pixel_centre_grid
from training.embed import edsr_from_embedded_rdn, rdn_liif_from_edsr, train_spare_capacity_only
from training.evaluate import psnr_y
from training.precut import precut
from training.train import (
    DEFAULTS,
    NpzSampler,
    Trainer,
    build_model,
    load_config,
    lr_at,
    merge,
)

from .conftest import SHARED, random_image

CONFIGS = Path(__file__).resolve().parent.parent / "training" / "configs"
SET5 = SHARED / "data" / "benchmark" / "Set5"
T91 = SHARED / "data" / "train" / "T91"

EDSR_ARGS: dict[str, Any] = {
    "encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True}},
    "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [32, 32]}},
}


def _query_grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    coord = torch.from_numpy(pixel_centre_grid(size)).unsqueeze(0)
    return coord, torch.full_like(coord, 2.0 / size)


def _rdn(model: LIIF) -> RDNEncoder:
    assert isinstance(model.encoder, RDNEncoder)
    return model.encoder


def _assert_embedding_exact(edsr: LIIF) -> None:
    rdn, args = rdn_liif_from_edsr(edsr, seed=1)
    assert args["encoder_spec"]["name"] == "rdn"
    image = torch.from_numpy(random_image(20, 24, seed=3)).permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        feat_e, feat_r = edsr.encode(image), rdn.eval().encode(image)
        scale = float(feat_e.abs().max())
        assert float((feat_e - feat_r).abs().max()) < 1e-5 * max(1.0, scale)
        coord, cell = _query_grid(40)
        coord = coord[:, :1000]
        out_e = edsr.query(feat_e, coord, cell[:, :1000])
        out_r = rdn.query(feat_r, coord, cell[:, :1000])
    assert float((out_e - out_r).abs().max()) < 1e-4
    # The unused dense convs are random (so they can learn) but do not reach the output.
    with torch.no_grad():
        block = _rdn(rdn).RDBs[0]
        assert isinstance(block, ResidualDenseBlock)
        unused = block.convs.get_parameter("6.conv.0.weight")
        assert float(unused.abs().max()) > 0
        assert float(block.LFF.weight[:, 7 * 64 :].abs().max()) == 0


def test_embedding_of_random_edsr_is_exact() -> None:
    torch.manual_seed(0)
    edsr = build_liif(EDSR_ARGS).eval()
    _assert_embedding_exact(edsr)


def test_embedding_of_official_weights_is_exact(edsr_weights: Path) -> None:
    _assert_embedding_exact(load_checkpoint(edsr_weights))


def test_embedding_rejects_wrong_widths() -> None:
    torch.manual_seed(0)
    small = build_liif(
        {
            "encoder_spec": {
                "name": "edsr-baseline",
                "args": {"no_upsampling": True, "n_feats": 16, "n_resblocks": 2},
            },
            "imnet_spec": {"name": "mlp", "args": {"hidden_list": [8]}},
        }
    )
    assert isinstance(small.encoder, EDSREncoder)
    with pytest.raises(ValueError, match="widths differ"):
        rdn_liif_from_edsr(small)


def test_embedded_model_trains() -> None:
    # Gradients reach the parameters that the embedding set to zero (a dead ReLU would not).
    torch.manual_seed(0)
    rdn, _ = rdn_liif_from_edsr(build_liif(EDSR_ARGS))
    image = torch.from_numpy(random_image(12, 12, seed=1)).permute(2, 0, 1).unsqueeze(0)
    coord, cell = _query_grid(24)
    loss = rdn(image, coord, cell).abs().mean()
    loss.backward()
    last_rdb = _rdn(rdn).RDBs[-1]
    assert isinstance(last_rdb, ResidualDenseBlock)
    grad_lff = last_rdb.LFF.weight.grad
    grad_gff = rdn.get_parameter("encoder.GFF.0.weight").grad
    assert grad_lff is not None and grad_gff is not None
    assert float(grad_lff.abs().max()) > 0
    assert float(grad_gff.abs().max()) > 0


def test_spare_capacity_training_keeps_the_embedding() -> None:
    # One Adam step on the spare capacity changes the output, yet every embedded weight (the
    # MLP, the paired convs, the used LFF columns) stays exactly as it was.
    torch.manual_seed(0)
    rdn, _ = rdn_liif_from_edsr(build_liif(EDSR_ARGS))
    before = {k: v.clone() for k, v in rdn.state_dict().items()}
    params = train_spare_capacity_only(rdn)
    assert 0 < sum(p.numel() for p in params) < sum(p.numel() for p in rdn.parameters())
    image = torch.from_numpy(random_image(12, 12, seed=1)).permute(2, 0, 1).unsqueeze(0)
    coord, cell = _query_grid(24)
    out0 = rdn(image, coord, cell).detach()
    opt = torch.optim.Adam(params, lr=1e-3)
    rdn(image, coord, cell).abs().mean().backward()
    opt.step()
    after = rdn.state_dict()
    for key in ("imnet.layers.0.weight", "encoder.RDBs.0.convs.1.conv.0.weight"):
        assert torch.equal(before[key], after[key]), key
    lff = "encoder.RDBs.0.LFF.weight"
    assert torch.equal(before[lff][:, : 7 * 64], after[lff][:, : 7 * 64])
    assert not torch.equal(before[lff][:, 7 * 64 :], after[lff][:, 7 * 64 :])
    assert float((rdn(image, coord, cell).detach() - out0).abs().max()) > 0


def test_lr_schedule() -> None:
    optim = {"lr": 1e-4, "warmup_iters": 10, "lr_step_iters": 100, "lr_gamma": 0.5}
    assert lr_at(0, optim) == pytest.approx(1e-5)
    assert lr_at(9, optim) == pytest.approx(1e-4)
    assert lr_at(99, optim) == pytest.approx(1e-4)
    assert lr_at(100, optim) == pytest.approx(5e-5)
    assert lr_at(250, optim) == pytest.approx(2.5e-5)
    assert lr_at(5, {**optim, "warmup_iters": 0}) == pytest.approx(1e-4)


def test_config_defaults_merge() -> None:
    cfg = merge(DEFAULTS, {"optim": {"lr": 3e-5}, "name": "x"})
    assert cfg["optim"]["lr"] == 3e-5
    assert cfg["optim"]["batch_size"] == DEFAULTS["optim"]["batch_size"]
    assert DEFAULTS["optim"]["lr"] == 1e-4  # not mutated
    paper = load_config(CONFIGS / "rdn-liif-paper.json")
    assert paper["optim"]["batch_size"] == 16
    assert paper["data"]["lr_size"] == 48
    assert paper["data"]["n_queries"] == 2304
    assert paper["data"]["scale_range"] == [1.0, 4.0]
    assert paper["optim"]["lr_step_iters"] == 200 * paper["optim"]["iters_per_epoch"]
    for path in CONFIGS.glob("rdn-liif-*.json"):
        assert load_config(path)["name"] == path.stem, path


def test_patch_sampler_matches_downsampled_crops() -> None:
    rng_img = np.random.default_rng(0)
    images = [(rng_img.random((70, 90, 3)) * 255).astype(np.uint8) for _ in range(3)]
    sampler = PatchSampler(images, lr_size=12, scale_range=(1.5, 3.0), n_queries=50, augment=False)
    lr, coord, cell, gt, scale = sampler.sample_one(np.random.default_rng(5))
    hr_size = round(12 * scale)
    assert 1.5 <= scale <= 3.0 + 1e-9
    assert lr.shape == (12, 12, 3) and lr.dtype == np.uint8
    assert coord.shape == (50, 2) and gt.shape == (50, 3)
    np.testing.assert_allclose(cell, 2.0 / hr_size)
    assert np.abs(coord).max() < 1
    # Find the crop: the HR pixels under the queries, and the LR as MATLAB-bicubic of the crop.
    rows = np.rint(((coord[:, 0] + 1) * hr_size - 1) / 2).astype(int)
    cols = np.rint(((coord[:, 1] + 1) * hr_size - 1) / 2).astype(int)
    found = False
    for image in images:
        for top in range(image.shape[0] - hr_size + 1):
            for left in range(image.shape[1] - hr_size + 1):
                crop = image[top : top + hr_size, left : left + hr_size]
                if np.array_equal(crop[rows, cols].astype(np.float32) / 255, gt):
                    np.testing.assert_array_equal(imresize(crop, output_shape=(12, 12)), lr)
                    found = True
    assert found


def test_patch_sampler_batches_are_seeded() -> None:
    images = [(np.random.default_rng(i).random((64, 64, 3)) * 255).astype(np.uint8) for i in (1, 2)]
    sampler = PatchSampler(images, lr_size=8, n_queries=40)
    a = sampler.sample(3, np.random.default_rng([0, 7]))
    b = sampler.sample(3, np.random.default_rng([0, 7]))
    c = sampler.sample(3, np.random.default_rng([0, 8]))
    for x, y in zip(a.tensors(), b.tensors(), strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a.inp, c.inp)
    assert a.inp.shape == (3, 3, 8, 8)
    assert a.coord.shape[0] == 3 and a.coord.shape[2] == 2
    assert float(a.inp.min()) >= 0 and float(a.inp.max()) <= 1


def test_npz_sampler_augments_coords_with_the_patch(tmp_path: Path) -> None:
    # With HR == LR (scale 1) every query colour is the LR pixel under its coordinate, so any
    # flip/transpose of the patch must move the coordinates the same way.
    rng = np.random.default_rng(0)
    n, p, q = 6, 10, 30
    lr = (rng.random((n, p, p, 3)) * 255).astype(np.uint8)
    index = np.stack([rng.choice(p * p, q, replace=False) for _ in range(n)])
    yx = np.stack([index // p, index % p], axis=-1).astype(np.int16)
    gt = np.stack([lr[i].reshape(-1, 3)[index[i]] for i in range(n)])
    path = tmp_path / "patches.npz"
    np.savez(path, lr=lr, index=yx, gt=gt, hr_size=np.full(n, p, dtype=np.int16))
    sampler = NpzSampler(path, augment=True)
    batch = sampler.sample(n, np.random.default_rng(3))
    for i in range(n):
        r = np.rint(((batch.coord[i, :, 0].numpy() + 1) * p - 1) / 2).astype(int)
        c = np.rint(((batch.coord[i, :, 1].numpy() + 1) * p - 1) / 2).astype(int)
        np.testing.assert_allclose(batch.inp[i].numpy()[:, r, c].T, batch.gt[i].numpy())
    np.testing.assert_allclose(batch.cell.numpy(), 2.0 / p)


def test_psnr_y() -> None:
    hr = np.full((10, 10, 3), 0.5)
    assert psnr_y(hr, hr, 2) == float("inf")
    sr = hr + 0.1
    y_step = 0.1 * (65.738 + 129.057 + 25.064) / 256
    assert psnr_y(sr, hr, 2) == pytest.approx(-10 * np.log10(y_step**2))
    sr_border = hr.copy()
    sr_border[0] = 1.0  # inside the shaved border
    assert psnr_y(sr_border, hr, 1) == float("inf")


def _write_pngs(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        pixels = (random_image(40, 48, seed=i) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")


def _tiny_config(folder: Path, iterations: int) -> dict[str, Any]:
    return merge(
        DEFAULTS,
        {
            "name": "tiny",
            "device": "cpu",
            "model": {
                "init": "random",
                "args": {
                    "encoder_spec": {
                        "name": "edsr-baseline",
                        "args": {"no_upsampling": True, "n_resblocks": 1, "n_feats": 8},
                    },
                    "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [16]}},
                },
            },
            "data": {"folders": [str(folder)], "lr_size": 8, "n_queries": 32},
            "optim": {"batch_size": 2, "lr": 1e-3, "iterations": iterations, "iters_per_epoch": 2},
            "val": {"every": 2, "crop": 8, "limit": 1},
            "log_every": 1,
            "final_eval": {"sets": []},
        },
    )


def test_trainer_resumes_to_the_same_weights(tmp_path: Path) -> None:
    if not SET5.is_dir():
        pytest.skip(f"benchmark data not found at {SET5} (validation reads Set5)")
    data = tmp_path / "images"
    _write_pngs(data, 3)
    logs: list[str] = []

    straight = Trainer(_tiny_config(data, 4), tmp_path / "straight", log=logs.append)
    straight.train()
    Trainer(_tiny_config(data, 2), tmp_path / "split", log=logs.append).train()
    resumed = Trainer(_tiny_config(data, 4), tmp_path / "split", log=logs.append)
    assert resumed.iteration == 2
    resumed.train()
    for (name, a), b in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)
    assert any("ETA" in line for line in logs)
    history = json.loads((tmp_path / "split" / "history.json").read_text())
    assert [v[0] for v in history["val"]] == [0, 2, 4]

    # Checkpoints are official-format files the app loads; the export is fp16 on disk.
    cfg = _tiny_config(data, 4)
    cfg["export"]["path"] = str(tmp_path / "ship.pth")
    results = Trainer(cfg, tmp_path / "straight", log=logs.append).finish()
    assert results["checkpoint"] == str(tmp_path / "ship.pth")
    raw = torch.load(tmp_path / "ship.pth", map_location="cpu", weights_only=True)
    assert raw["model"]["name"] == "liif" and raw["epoch"] == raw["iteration"] // 2
    assert all(v.dtype == torch.float16 for v in raw["model"]["sd"].values())
    shipped = load_checkpoint(tmp_path / "ship.pth")
    best = load_checkpoint(tmp_path / "straight" / "best.pth")
    for a, b in zip(shipped.state_dict().values(), best.state_dict().values(), strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b.half().float())


@pytest.mark.slow
def test_short_run_from_random_init_learns(tmp_path: Path) -> None:
    """A test-sized LIIF-RDN from random init: loss falls, Set5 x4 PSNR rises (minutes)."""
    if not (SET5.is_dir() and T91.is_dir()):
        pytest.skip(f"training/benchmark data not found under {SHARED / 'data'}")
    cfg = load_config(CONFIGS / "rdn-liif-test.json")
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.train()
    losses = [loss for _, loss in trainer.history["loss"]]
    first, last = np.mean(losses[:20]), np.mean(losses[-20:])
    vals = [psnr for _, psnr in trainer.history["val"]]
    print(f"loss {first:.4f} -> {last:.4f}; Set5 x4 (crops) PSNR {vals}")
    assert last < 0.7 * first
    assert vals[-1] > vals[0] + 1.0
    assert trainer.best_psnr == max(vals)


def test_precut_round_trip(tmp_path: Path) -> None:
    # At scale 1 the LR patch is the HR crop, so each query colour is the LR pixel under it.
    images = [(np.random.default_rng(i).random((30, 40, 3)) * 255).astype(np.uint8) for i in (0, 1)]
    sampler = PatchSampler(images, lr_size=10, scale_range=(1.0, 1.0), n_queries=25)
    arrays = precut(sampler, 5, seed=0)
    assert arrays["lr"].shape == (5, 10, 10, 3) and arrays["lr"].dtype == np.uint8
    assert arrays["index"].shape == (5, 25, 2) and arrays["index"].dtype == np.int16
    assert arrays["gt"].shape == (5, 25, 3) and arrays["gt"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["hr_size"], 10)
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    batch = NpzSampler(path, augment=True).sample(5, np.random.default_rng(1))
    for i in range(5):
        r = np.rint(((batch.coord[i, :, 0].numpy() + 1) * 10 - 1) / 2).astype(int)
        c = np.rint(((batch.coord[i, :, 1].numpy() + 1) * 10 - 1) / 2).astype(int)
        np.testing.assert_allclose(batch.inp[i].numpy()[:, r, c].T, batch.gt[i].numpy())


def test_edsr_form_of_an_embedding_is_exact_and_checked() -> None:
    torch.manual_seed(0)
    edsr = build_liif(EDSR_ARGS).eval()
    rdn, _ = rdn_liif_from_edsr(edsr, seed=2)
    back = edsr_from_embedded_rdn(rdn)
    for key, value in edsr.state_dict().items():
        if "mean" not in key:  # the unused colour shifts are not part of the function
            assert torch.equal(value, back.state_dict()[key]), key
    image = torch.from_numpy(random_image(16, 16, seed=4)).permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        torch.testing.assert_close(back.encode(image), rdn.eval().encode(image), atol=1e-5, rtol=0)
        rdn.get_parameter("encoder.RDBs.3.convs.2.conv.0.weight")[0, 0, 0, 0] += 1e-3
    with pytest.raises(ValueError, match="RDB 3 dense conv 2"):
        edsr_from_embedded_rdn(rdn)


def test_model_init_from_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = build_liif(EDSR_ARGS)
    save_checkpoint(tmp_path / "start.pth", source, EDSR_ARGS, half=True)
    cfg = merge(
        DEFAULTS, {"model": {"init": "checkpoint", "checkpoint": str(tmp_path / "start.pth")}}
    )
    model, args = build_model(cfg)
    assert args == EDSR_ARGS
    for a, b in zip(model.state_dict().values(), source.state_dict().values(), strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b.half().float())
