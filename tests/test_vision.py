"""shift_images and mirror_asymmetry (d2lhelpers/vision.py), against torchvision and hand values."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms.functional as TF

from d2lhelpers.vision import mirror_asymmetry, shift_images


def _by_torchvision(images: torch.Tensor, max_shift: int, seed: int) -> torch.Tensor:
    """Each image padded by max_shift and cropped back at the offsets the generator draws."""
    g = torch.Generator().manual_seed(seed)
    offsets = torch.randint(0, 2 * max_shift + 1, (len(images), 2), generator=g)
    h, w = images.shape[-2:]
    return torch.stack(
        [
            TF.crop(TF.pad(x, [max_shift]), int(dy), int(dx), h, w)
            for x, (dy, dx) in zip(images, offsets, strict=True)
        ]
    )


@pytest.mark.parametrize("shape", [(7, 1, 28, 28), (5, 3, 9, 13), (1, 2, 4, 6)])
@pytest.mark.parametrize("max_shift", [1, 3])
def test_matches_pad_and_crop_image_by_image(shape, max_shift):
    images = torch.rand(shape)
    got = shift_images(images, max_shift, torch.Generator().manual_seed(4))
    torch.testing.assert_close(got, _by_torchvision(images, max_shift, 4), rtol=0, atol=0)


def test_every_image_is_a_whole_pixel_shift_with_zeros_coming_in():
    images = (
        torch.rand(40, 1, 10, 12) + 0.5
    )  # no zeros inside, so the zeros show where pixels came in
    out = shift_images(images, 2, torch.Generator().manual_seed(0))
    seen = set()
    for x, y in zip(images, out, strict=True):
        found = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = torch.zeros_like(x)
                src = x[:, max(0, dy) : 10 + min(0, dy), max(0, dx) : 12 + min(0, dx)]
                shifted[:, max(0, -dy) : 10 + min(0, -dy), max(0, -dx) : 12 + min(0, -dx)] = src
                if torch.equal(shifted, y):
                    found.append((dy, dx))
        assert len(found) == 1, found
        seen.add(found[0])
    assert len(seen) > 10, "40 images should get many different offsets"


def test_reproducible_and_independent_of_the_global_generator():
    images = torch.rand(6, 1, 8, 8)
    a = shift_images(images, 3, torch.Generator().manual_seed(1))
    torch.manual_seed(123)
    b = shift_images(images, 3, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, shift_images(images, 3, torch.Generator().manual_seed(2)))


def test_zero_shift_and_dtype():
    images = torch.randint(0, 255, (3, 1, 5, 5), dtype=torch.uint8)
    out = shift_images(images, 0)
    assert torch.equal(out, images) and out.data_ptr() != images.data_ptr()
    assert shift_images(images, 2).dtype == torch.uint8


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_shift_named(bad):
    with pytest.raises(ValueError, match="max_shift"):
        shift_images(torch.zeros(1, 1, 4, 4), bad)


def test_bad_images_named():
    with pytest.raises(ValueError, match="batch, channels, height, width"):
        shift_images(torch.zeros(4, 4), 1)


def test_mirror_asymmetry_hand_values():
    assert mirror_asymmetry(torch.tensor([[[1.0, 0.0]]])) == pytest.approx(math.sqrt(2))
    symmetric = torch.tensor([[[1.0, 2.0, 1.0]], [[3.0, 0.0, 3.0]]])
    assert mirror_asymmetry(symmetric) == 0.0
    # two images facing opposite ways: their mean is symmetric
    assert mirror_asymmetry(torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])) == 0.0
    # mean [[2, 1]]: |[1, -1]| / |[2, 1]| = sqrt(2) / sqrt(5)
    pair = torch.tensor([[[3.0, 1.0]], [[1.0, 1.0]]])
    assert mirror_asymmetry(pair) == pytest.approx(math.sqrt(2 / 5))
    assert mirror_asymmetry(torch.zeros(2, 3, 3)) == 0.0


def test_mirror_asymmetry_bad_input():
    with pytest.raises(ValueError, match="at least one image"):
        mirror_asymmetry(torch.zeros(0, 3, 3))
