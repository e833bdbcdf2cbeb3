"""Image perturbations for testing what augmentation buys (computer-vision chapter).

Augmentation is meant to make a model robust to changes the test data can contain.
Fashion-MNIST's test images are centred like its training images, so an honest
experiment also scores the model on a perturbed copy of the test set:
`shift_images` moves every image by its own random whole-pixel offset (zeros come
in at the edges), reproducibly for a given generator, and `mirror_asymmetry` says
how far a set of images is from its own left-right mirror (whether flipping them
makes images the data set contains). Introduced in 13_computer_vision.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["shift_images", "mirror_asymmetry"]


def shift_images(
    images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Each image moved by its own random (dy, dx), both in [-max_shift, max_shift].

    images: (batch, channels, height, width). Pixels moved out are dropped, zeros
    come in (what `RandomCrop(size, padding=max_shift)` does to one image). The
    offsets are drawn from `generator` (torch's global generator when None), so
    the same generator state gives the same perturbed images. Returns a new tensor
    of the same shape and dtype.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a (batch, channels, height, width) tensor, got {shape}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be a whole number of pixels >= 0, got {max_shift!r}")
    batch, _, height, width = images.shape
    if max_shift == 0 or batch == 0:
        return images.clone()
    offsets = torch.randint(0, 2 * max_shift + 1, (batch, 2), generator=generator)
    padded = F.pad(images, (max_shift,) * 4)  # (batch, channels, height + 2s, width + 2s)
    rows = (offsets[:, :1] + torch.arange(height)).to(images.device)  # (batch, height)
    cols = (offsets[:, 1:] + torch.arange(width)).to(images.device)  # (batch, width)
    b = torch.arange(batch, device=images.device)[:, None, None]
    # advanced indexing puts the indexed axes first: (batch, height, width, channels)
    out = padded.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def mirror_asymmetry(images: torch.Tensor) -> float:
    """How far the mean of `images` is from its own left-right mirror, from 0 up.

    images: (n, ..., width) with n >= 1. Returns |m - flip(m)| / |m| for the mean
    image m (Frobenius norms): 0 for a symmetric mean, near 0 when flipped images
    look like the data set's, about 1 or more when the images all face one way.
    """
    if not isinstance(images, torch.Tensor) or images.dim() < 2 or len(images) == 0:
        raise ValueError("images must be a tensor (n, ..., width) holding at least one image")
    mean = images.double().mean(dim=0)
    norm = float(torch.linalg.vector_norm(mean))
    if norm == 0:
        return 0.0
    return float(torch.linalg.vector_norm(mean - mean.flip(-1))) / norm
