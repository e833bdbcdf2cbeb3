"""A detection data set that ships offline: shapes drawn by scikit-image, with exact boxes.

The book trains its detector on the banana data set (a download). Here every image
is made by `skimage.draw.random_shapes`: one to `max_shapes` grey rectangles,
circles and triangles on an empty background, none overlapping another, and each
with its bounding box. Its boxes are the exact extent of each shape's pixels, except
for a triangle cut by the image's top edge (scikit-image then reports a negative
row, and what is left of the triangle may look like a trapezoid): images with such
a shape, or with an ellipse, are drawn again, so every box is exact and the three
classes are told apart by shape alone. Introduced in 13_computer_vision.ipynb.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import torch

from ..data.loader import BatchLoader
from ..quick import QUICK_FRACTION, is_quick

__all__ = ["SHAPE_CLASSES", "make_shapes", "load_data_shapes"]

#: Class ids 0, 1, 2 of `make_shapes`.
SHAPE_CLASSES = ("rectangle", "circle", "triangle")


def make_shapes(
    num_images: int,
    image_size: int = 64,
    max_shapes: int = 3,
    min_size: int = 10,
    max_size: int | None = None,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`num_images` images with shapes and their boxes, the same for the same arguments.

    Returns images (num_images, 1, image_size, image_size): ink in [0, 1], 0 for the
    empty background, a random grey level between 0.2 and 1 for each shape; labels
    (num_images, max_shapes, 5): rows (class, x1, y1, x2, y2) with corners as
    fractions of the image size (x2, y2: the far edges of the last pixels), then
    rows of -1 for images with fewer shapes (as `multibox_target` expects). Shapes
    are `min_size` to `max_size` pixels (default: half the image) across.
    """
    from skimage.draw import random_shapes  # scikit-image: imported when used

    # the generator argument is `random_seed` in scikit-image 0.20 (the oldest we support)
    # and `rng` from 0.21 on
    seed_name = "rng" if "rng" in inspect.signature(random_shapes).parameters else "random_seed"

    if num_images < 0 or max_shapes < 1 or not 1 < min_size <= image_size:
        raise ValueError(
            f"need num_images >= 0, max_shapes >= 1 and 1 < min_size <= image_size; got "
            f"num_images={num_images}, max_shapes={max_shapes}, min_size={min_size}, "
            f"image_size={image_size}"
        )
    max_size = image_size // 2 if max_size is None else max_size
    rng = np.random.default_rng(seed)
    images = np.zeros((num_images, image_size, image_size), dtype=np.float32)
    labels = np.full((num_images, max_shapes, 5), -1.0, dtype=np.float32)
    i = 0
    while i < num_images:
        with warnings.catch_warnings():  # "could not fit any shapes": drawn again below
            warnings.simplefilter("ignore", UserWarning)
            image, found = random_shapes(
                (image_size, image_size),
                max_shapes,
                min_size=min_size,
                max_size=max_size,
                num_channels=1,
                intensity_range=(0, 204),
                **{seed_name: rng},
            )
        inside = all(
            0 <= r0 < r1 <= image_size and 0 <= c0 < c1 <= image_size
            for _, ((r0, r1), (c0, c1)) in found
        )
        if not found or not inside or any(name == "ellipse" for name, _ in found):
            continue  # draw this image again
        images[i] = 1 - image[..., 0] / 255.0  # white background -> 0
        for j, (name, ((r0, r1), (c0, c1))) in enumerate(found):
            labels[i, j] = [SHAPE_CLASSES.index(name), c0, r0, c1, r1]
        labels[i, : len(found), 1:] /= image_size
        i += 1
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


def load_data_shapes(
    batch_size: int, num_train: int = 2000, num_test: int = 500, image_size: int = 64
) -> tuple[BatchLoader, BatchLoader]:
    """Loaders over `make_shapes` images, as the book's `load_data_bananas(batch_size)`.

    Batches are (images (batch_size, 1, image_size, image_size), labels
    (batch_size, 3, 5)); the training loader reshuffles every epoch. The test images
    are further draws of the same generator, none of them a training image. Quick
    mode keeps `QUICK_FRACTION` of each (at least one batch).
    """
    if is_quick():
        num_train = min(num_train, max(batch_size, round(num_train * QUICK_FRACTION)))
        num_test = min(num_test, max(batch_size, round(num_test * QUICK_FRACTION)))
    images, labels = make_shapes(num_train + num_test, image_size)
    train = (images[:num_train], labels[:num_train])
    test = (images[num_train:], labels[num_train:])
    return BatchLoader(train, batch_size, shuffle=True, seed=0), BatchLoader(test, batch_size)
