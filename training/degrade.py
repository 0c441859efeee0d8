"""Real-file degradations of LR training patches: blur, resize chains, noise and JPEG.

Clean MATLAB-bicubic LR teaches a model that every 8×8 block edge and noise speck is detail to
sharpen. Real inputs (phone photos, web images, scanned receipts) are blurred a little, noisy and
JPEG-compressed, so the real-inputs models see LR patches degraded by :func:`degrade`: a blur, a
down-and-up resize chain and noise (Gaussian or Poisson) in a random order, each with a random
strength or skipped, then JPEG at a random quality (Pillow, 4:2:0). JPEG always comes last
because a real file is encoded once its pixels are final. Only the LR patch is degraded; the HR
targets stay clean, so the model learns to undo the damage.

Everything is a pure function of the given ``numpy`` generator (numpy and Pillow only).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

_RESAMPLERS = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Degradation:
    """Probabilities and strength ranges of the LR degradations (each drawn uniformly).

    Attributes
    ----------
    clean
        Probability that a patch is left untouched (keeps clean inputs sharp).
    blur, blur_sigma
        Probability of a Gaussian blur and its sigma range in LR pixels.
    resize, resize_factor
        Probability of a down-and-up resize chain (random Pillow filters) and the range of
        the intermediate size relative to the patch.
    noise, noise_sigma
        Probability of Gaussian noise and its sigma range (of 255); colour or grey, half each.
    poisson, poisson_peak
        Probability of Poisson (shot) noise and the range of photon counts at full white.
    jpeg, jpeg_quality
        Probability of JPEG (4:2:0) and its quality range, inclusive.
    """

    clean: float = 0.15
    blur: float = 0.5
    blur_sigma: tuple[float, float] = (0.2, 1.5)
    resize: float = 0.3
    resize_factor: tuple[float, float] = (0.5, 0.95)
    noise: float = 0.5
    noise_sigma: tuple[float, float] = (1.0, 12.0)
    poisson: float = 0.15
    poisson_peak: tuple[float, float] = (30.0, 600.0)
    jpeg: float = 0.85
    jpeg_quality: tuple[int, int] = (30, 95)

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Degradation:
        """Settings from a JSON object (lists become tuples; unknown keys are an error)."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
        return cls(**values)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an (H, W, 3) uint8 image (Pillow's, edges extended)."""
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma)))


def resize_chain(image: np.ndarray, factor: float, down: int, up: int) -> np.ndarray:
    """Resize to ``factor`` of the size and back, with the Pillow filters ``down`` and ``up``."""
    h, w = image.shape[:2]
    small = (max(1, round(w * factor)), max(1, round(h * factor)))
    im = Image.fromarray(image).resize(small, _RESAMPLERS[down])
    return np.asarray(im.resize((w, h), _RESAMPLERS[up]))


def gaussian_noise(
    image: np.ndarray, sigma: float, rng: np.random.Generator, grey: bool = False
) -> np.ndarray:
    """Add Gaussian noise of ``sigma`` (of 255); ``grey`` uses one field for all channels."""
    shape = (*image.shape[:2], 1) if grey else image.shape
    noise = rng.standard_normal(shape) * sigma
    return np.clip(image + noise, 0, 255).round().astype(np.uint8)


def poisson_noise(image: np.ndarray, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise: each value counts photons with ``peak`` counts at full white."""
    counts = rng.poisson(image.astype(np.float64) / 255.0 * peak)
    return np.clip(counts / peak * 255.0, 0, 255).round().astype(np.uint8)


def encode(image: np.ndarray, fmt: str, quality: int, subsampling: int = 2) -> np.ndarray:
    """Round-trip through a lossy file format in memory.

    Parameters
    ----------
    image
        (H, W, 3) uint8 RGB.
    fmt
        ``"JPEG"`` or ``"WEBP"``.
    quality
        Encoder quality (1–100).
    subsampling
        JPEG chroma subsampling as Pillow numbers it: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0.
    """
    buf = io.BytesIO()
    options: dict[str, Any] = {"quality": int(quality)}
    if fmt == "JPEG":
        options["subsampling"] = subsampling
    Image.fromarray(image).save(buf, format=fmt, **options)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def jpeg(image: np.ndarray, quality: int, subsampling: int = 2) -> np.ndarray:
    """JPEG round trip at ``quality`` (default chroma 4:2:0)."""
    return encode(image, "JPEG", quality, subsampling)


def degrade(
    image: np.ndarray, rng: np.random.Generator, spec: Degradation = Degradation()
) -> np.ndarray:
    """A randomly degraded copy of an LR patch.

    Parameters
    ----------
    image
        (H, W, 3) uint8 RGB patch.
    rng
        Random generator; the result is a pure function of its state.
    spec
        Probabilities and strength ranges.

    Returns
    -------
    ndarray
        (H, W, 3) uint8, same size.
    """
    if rng.random() < spec.clean:
        return image
    out = image
    for step in rng.permutation(3):
        if step == 0 and rng.random() < spec.blur:
            out = gaussian_blur(out, float(rng.uniform(*spec.blur_sigma)))
        elif step == 1 and rng.random() < spec.resize:
            factor = float(rng.uniform(*spec.resize_factor))
            down, up = (int(k) for k in rng.integers(0, len(_RESAMPLERS), 2))
            out = resize_chain(out, factor, down, up)
        elif step == 2:
            if rng.random() < spec.noise:
                sigma = float(rng.uniform(*spec.noise_sigma))
                out = gaussian_noise(out, sigma, rng, grey=bool(rng.random() < 0.5))
            if rng.random() < spec.poisson:
                out = poisson_noise(out, float(rng.uniform(*spec.poisson_peak)), rng)
    if rng.random() < spec.jpeg:
        lo, hi = spec.jpeg_quality
        out = jpeg(out, int(rng.integers(lo, hi + 1)))
    return out


class DegradedSampler:
    """Wraps a sampler with ``sample_one(rng)`` and degrades its LR patches.

    Parameters
    ----------
    inner
        A :class:`training.data.PatchSampler` or :class:`training.documents.DocumentPatchSampler`.
    spec
        The degradations.
    """

    def __init__(self, inner: Any, spec: Degradation = Degradation()) -> None:
        self.inner = inner
        self.spec = spec

    def sample_one(
        self, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """As the inner sampler's, with the LR patch passed through :func:`degrade`."""
        lr, coord, cell, gt, scale = self.inner.sample_one(rng)
        return degrade(lr, rng, self.spec), coord, cell, gt, scale
