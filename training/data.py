"""Training samples for LIIF: LR patches, query coordinates, cells and HR colours.

The paper's recipe (``sr-implicit-downsampled``): pick a scale ``s`` uniformly in a range, cut a
square HR crop of ``round(p * s)`` pixels, downsample it to ``p × p`` with MATLAB-style bicubic
(:func:`liif_desktop.imresize.imresize`), augment by flips and transposition, and sample
``n_queries`` HR pixels with their centres and cell sizes as the decoder's targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from liif_desktop.imresize import imresize

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def list_images(folders: Iterable[str | Path]) -> list[Path]:
    """Image files at the top level of each folder (sub-folders such as LR sets are skipped)."""
    paths: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"training folder not found: {folder}")
        paths += sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
    if not paths:
        raise FileNotFoundError("no training images found in the given folders")
    return paths


def load_rgb(path: str | Path) -> np.ndarray:
    """An image file as an (H, W, 3) uint8 RGB array."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@dataclass(frozen=True)
class Batch:
    """One training batch (all tensors float32 on CPU).

    Attributes
    ----------
    inp : (B, 3, p, p)
        LR patches in [0, 1].
    coord : (B, Q, 2)
        Query pixel centres (y, x) in [-1, 1] of the HR crop.
    cell : (B, Q, 2)
        Query cell sizes (2 / HR crop size).
    gt : (B, Q, 3)
        HR colours at the queries, in [0, 1].
    scales : (B,)
        The scale of each sample.
    """

    inp: torch.Tensor
    coord: torch.Tensor
    cell: torch.Tensor
    gt: torch.Tensor
    scales: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(t.to(device, non_blocking=True) for t in self.tensors()))

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.inp, self.coord, self.cell, self.gt, self.scales)


def _augment(patch: np.ndarray, code: int) -> np.ndarray:
    """One of the 8 flips/transpositions of a square patch (``code`` in 0..7)."""
    if code & 1:
        patch = patch[:, ::-1]
    if code & 2:
        patch = patch[::-1]
    if code & 4:
        patch = patch.transpose(1, 0, 2)
    return np.ascontiguousarray(patch)


def pixel_centre_grid(size: int) -> np.ndarray:
    """Centres of a ``size × size`` grid in [-1, 1], as (size*size, 2) (y, x) float32."""
    c = (-1 + (2 * np.arange(size) + 1) / size).astype(np.float32)
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return np.stack([yy.ravel(), xx.ravel()], axis=1)


class PatchSampler:
    """Draws training batches from images held in memory.

    Parameters
    ----------
    images
        HR images, (H, W, 3) uint8.
    lr_size
        Side ``p`` of the LR patches.
    scale_range
        ``(min, max)`` of the uniformly drawn scale.
    n_queries
        HR pixels sampled per patch (without replacement; fewer if the crop is smaller).
    augment
        Random flips and transpositions.

    Notes
    -----
    Crops are drawn uniformly over all pixels (an image is chosen with probability
    proportional to its area), among the images large enough for the crop.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        lr_size: int = 48,
        scale_range: tuple[float, float] = (1.0, 4.0),
        n_queries: int = 2304,
        augment: bool = True,
    ) -> None:
        if not images:
            raise ValueError("no images to sample from")
        self.images = list(images)
        self.lr_size = int(lr_size)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.n_queries = int(n_queries)
        self.augment = augment
        self._min_side = np.array([min(im.shape[:2]) for im in self.images])
        self._area = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        if self._min_side.max() < self.lr_size:
            raise ValueError(f"all images are smaller than the {self.lr_size}px LR patch")

    def sample_raw(
        self, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """One sample as integers: ``(lr (p,p,3), query rows/cols (Q,2), gt (Q,3), hr_size)``.

        ``lr`` and ``gt`` are uint8; the queries are pixel indices of the (augmented) HR crop.
        """
        p = self.lr_size
        largest = int(self._min_side.max())
        scale = float(rng.uniform(*self.scale_range))
        hr_size = min(round(p * scale), largest)
        fits = self._min_side >= hr_size
        prob = np.where(fits, self._area, 0.0)
        image = self.images[int(rng.choice(len(self.images), p=prob / prob.sum()))]
        top = int(rng.integers(0, image.shape[0] - hr_size + 1))
        left = int(rng.integers(0, image.shape[1] - hr_size + 1))
        hr = image[top : top + hr_size, left : left + hr_size]
        if self.augment:
            hr = _augment(hr, int(rng.integers(0, 8)))
        lr = imresize(hr, output_shape=(p, p))
        n_pixels = hr_size * hr_size
        pick = rng.choice(n_pixels, size=min(self.n_queries, n_pixels), replace=False)
        rows_cols = np.stack([pick // hr_size, pick % hr_size], axis=1)
        return lr, rows_cols, hr.reshape(-1, 3)[pick], hr_size

    def sample_one(
        self, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """One sample: ``(lr uint8 (p,p,3), coord (Q,2), cell (Q,2), gt (Q,3), scale)``."""
        lr, rows_cols, gt, hr_size = self.sample_raw(rng)
        coord = (-1 + (2 * rows_cols + 1) / hr_size).astype(np.float32)
        cell = np.full(coord.shape, 2.0 / hr_size, dtype=np.float32)
        return lr, coord, cell, gt.astype(np.float32) / 255.0, hr_size / self.lr_size

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """A batch of ``batch_size`` samples (queries cut to the smallest count in the batch)."""
        samples = [self.sample_one(rng) for _ in range(batch_size)]
        n = min(s[1].shape[0] for s in samples)
        inp = np.stack([s[0] for s in samples]).astype(np.float32) / 255.0
        return Batch(
            inp=torch.from_numpy(inp).permute(0, 3, 1, 2).contiguous(),
            coord=torch.from_numpy(np.stack([s[1][:n] for s in samples])),
            cell=torch.from_numpy(np.stack([s[2][:n] for s in samples])),
            gt=torch.from_numpy(np.stack([s[3][:n] for s in samples])),
            scales=torch.tensor([s[4] for s in samples], dtype=torch.float32),
        )


def load_training_images(
    folders: Iterable[str | Path], min_side: int = 0, limit: int | None = None
) -> list[np.ndarray]:
    """Load the HR images of the training folders into memory (uint8).

    Parameters
    ----------
    folders
        Set folders; images at their top level are used.
    min_side
        Skip images whose shorter side is below this.
    limit
        Use at most this many images (the first ones, folders in the given order), for quick
        runs.
    """
    paths = list_images(folders)
    if limit is not None:
        paths = paths[: int(limit)]
    images = [load_rgb(p) for p in paths]
    return [im for im in images if min(im.shape[:2]) >= min_side]
