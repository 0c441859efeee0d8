"""The models committed in ``weights/`` (trained by our own code): format, architecture, quality."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from liif_desktop import weights
from liif_desktop.model.rdn import RDNEncoder, ResidualDenseBlock
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from tests.conftest import REPO, SHARED
from training.evaluate import psnr_y

MANIFEST = json.loads((REPO / "weights" / "manifest.json").read_text(encoding="utf-8"))
OURS = [m["id"] for m in MANIFEST["models"] if m["source"].get("kind") == "repository"]
SET5 = SHARED / "data" / "benchmark" / "Set5"


@pytest.mark.parametrize("model_id", OURS)
def test_our_weights_verify_and_load_in_the_official_format(model_id: str) -> None:
    info = weights.find_model(model_id)
    weights.verify(info)  # sha256 of the committed file
    state = torch.load(info.path, map_location="cpu", weights_only=True)
    assert set(state["model"]) == {"name", "args", "sd"} and state["model"]["name"] == "liif"
    model = weights.load_model(info)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # fp16 file, fp32 model
    assert info.psnr() is not None  # labelled with its measured quality


def test_our_rdn_is_config_b() -> None:
    model = weights.load_model("rdn-liif-ours")
    rdn = model.encoder
    assert isinstance(rdn, RDNEncoder)
    blocks = [b for b in rdn.RDBs if isinstance(b, ResidualDenseBlock)]
    assert len(blocks) == 16 and all(len(b.convs) == 8 for b in blocks)
    assert rdn.out_dim == 64


@pytest.mark.skipif(not SET5.is_dir(), reason="../shared/data/benchmark/Set5 is not present")
def test_our_rdn_beats_bicubic_on_a_set5_crop() -> None:
    # A 40×40 LR crop of "bird" (MATLAB-bicubic ×4 LR shipped with Set5) against its HR crop.
    lr = np.asarray(Image.open(SET5 / "LR_bicubic" / "X4" / "birdx4.png").convert("RGB"))
    hr = np.asarray(Image.open(SET5 / "HR" / "bird.png").convert("RGB"))
    lr_crop = lr[20:60, 20:60]
    hr_crop = hr[80:240, 80:240].astype(np.float32) / 255.0
    model = weights.load_model("rdn-liif-ours")
    sr = upscale_array(RegionRenderer(model, lr_crop.astype(np.float32) / 255.0), (160, 160))
    bicubic = Image.fromarray(lr_crop).resize((160, 160), Image.Resampling.BICUBIC)
    bic = np.asarray(bicubic, dtype=np.float32) / 255.0
    gain = psnr_y(sr, hr_crop, 4) - psnr_y(bic, hr_crop, 4)
    assert gain > 2.0, gain
