"""The synthetic detection data (`d2lhelpers.detection.shapes`): every box checked against
the pixels it encloses, the classes against the share of their box a shape fills."""

from __future__ import annotations

import pytest
import torch

from d2lhelpers.detection.shapes import SHAPE_CLASSES, load_data_shapes, make_shapes


def _pixel_box(ink: torch.Tensor) -> list[float]:
    """(x1, y1, x2, y2) of the inked pixels, far edges included, in pixels."""
    ys, xs = torch.nonzero(ink > 0, as_tuple=True)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def test_shapes_ranges_and_padding():
    images, labels = make_shapes(40, image_size=48, max_shapes=4, seed=1)
    assert images.shape == (40, 1, 48, 48) and images.dtype == torch.float32
    assert labels.shape == (40, 4, 5)
    assert float(images.min()) == 0.0 and float(images.max()) <= 1.0
    present = labels[:, :, 0] >= 0
    assert bool(present[:, 0].all())  # every image has a shape
    # padding rows come last and are all -1
    assert torch.equal(present, present.cummin(dim=1).values)
    assert bool((labels[~present] == -1).all())
    assert set(labels[present][:, 0].long().tolist()) == {0, 1, 2}
    boxes = labels[present][:, 1:]
    assert bool((boxes >= 0).all() and (boxes <= 1).all())
    assert bool((boxes[:, 2:] > boxes[:, :2]).all())


def test_a_lone_shape_s_box_is_the_extent_of_its_pixels_and_its_class_its_fill():
    images, labels = make_shapes(300, image_size=64, max_shapes=1, seed=2)
    fill = {name: [] for name in SHAPE_CLASSES}
    for image, (cls, *box) in zip(images[:, 0], labels[:, 0].tolist(), strict=True):
        pixels = [v * 64 for v in box]
        assert pixels == pytest.approx(_pixel_box(image), abs=1e-4)
        x1, y1, x2, y2 = (round(v) for v in pixels)
        fill[SHAPE_CLASSES[int(cls)]].append(float((image[y1:y2, x1:x2] > 0).float().mean()))
    # a rectangle fills its box, a disk about pi/4 of it, a triangle about half
    assert min(fill["rectangle"]) == 1.0
    assert 0.6 < min(fill["circle"]) and max(fill["circle"]) < 0.95
    assert 0.3 < min(fill["triangle"]) and max(fill["triangle"]) < 0.7


def test_every_box_is_tight_and_holds_all_the_ink():
    images, labels = make_shapes(100, image_size=64, max_shapes=3, seed=3)
    for image, rows in zip(images[:, 0], labels, strict=True):
        covered = torch.zeros_like(image, dtype=torch.bool)
        for cls, *box in rows.tolist():
            if cls < 0:
                continue
            x1, y1, x2, y2 = (round(v * 64) for v in box)
            region = image[y1:y2, x1:x2] > 0
            # ink on each of the box's four edges
            assert (
                region[0].any() and region[-1].any() and region[:, 0].any() and region[:, -1].any()
            )
            covered[y1:y2, x1:x2] = True
        assert not bool(((image > 0) & ~covered).any())  # no shape outside the boxes


def test_the_same_seed_gives_the_same_data():
    a, b, c = make_shapes(5, seed=7), make_shapes(5, seed=7), make_shapes(5, seed=8)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="min_size"):
        make_shapes(3, image_size=16, min_size=20)
    with pytest.raises(ValueError, match="max_shapes"):
        make_shapes(3, max_shapes=0)


def test_loaders_hold_disjoint_images_and_shrink_in_quick_mode(monkeypatch):
    train_iter, test_iter = load_data_shapes(16, num_train=64, num_test=32, image_size=32)
    X, y = next(iter(train_iter))
    assert X.shape == (16, 1, 32, 32) and y.shape == (16, 3, 5)
    assert train_iter.num_examples == 64 and test_iter.num_examples == 32
    train = torch.cat([X for X, _ in train_iter]).flatten(1)
    test = torch.cat([X for X, _ in test_iter]).flatten(1)
    assert not bool((torch.cdist(test, train) == 0).any())  # no test image is a training image
    monkeypatch.setenv("D2L_QUICK", "1")
    train_iter, test_iter = load_data_shapes(8, num_train=200, num_test=100, image_size=32)
    assert (train_iter.num_examples, test_iter.num_examples) == (20, 10)


def test_scikit_image_0_20_random_shapes_is_called_as_it_accepts(monkeypatch):
    """scikit-image 0.20 (pyproject's lower bound) names the generator `random_seed`, not `rng`."""
    import skimage.draw

    real = skimage.draw.random_shapes
    calls = []

    def random_shapes_0_20(
        image_shape, max_shapes, min_shapes=1, min_size=2, max_size=None, num_channels=3,
        shape=None, intensity_range=None, allow_overlap=False, num_trials=100,
        random_seed=None, *, channel_axis=-1,
    ):  # fmt: skip
        calls.append(random_seed)
        return real(
            image_shape, max_shapes, min_shapes, min_size, max_size, num_channels, shape,
            intensity_range, allow_overlap, num_trials, random_seed, channel_axis=channel_axis,
        )  # fmt: skip

    expected = make_shapes(6, image_size=32, min_size=6, seed=3)
    monkeypatch.setattr(skimage.draw, "random_shapes", random_shapes_0_20)
    got = make_shapes(6, image_size=32, min_size=6, seed=3)
    assert calls and all(c is calls[0] and c is not None for c in calls)  # one generator, passed
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
