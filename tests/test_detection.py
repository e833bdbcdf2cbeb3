"""Boxes, anchors and NMS (`d2lhelpers.detection`) against torchvision, hand-computed
values and the book's printed outputs (d2l-zh 2.0.0 executed notebooks)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder

import d2lhelpers as d2l

# the book's example (section "anchor boxes"): ground truth (class, corners) and five anchors
GROUND_TRUTH = torch.tensor([[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]])
ANCHORS = torch.tensor(
    [
        [0, 0.1, 0.2, 0.3],
        [0.15, 0.2, 0.4, 0.4],
        [0.63, 0.05, 0.88, 0.98],
        [0.66, 0.45, 0.8, 0.8],
        [0.57, 0.3, 0.92, 0.9],
    ]
)
# the book's printed `labels[0]` (offsets), `labels[1]` (mask) and `labels[2]` (classes)
BOOK_OFFSETS = [0.0] * 4 + [1.40, 10.0, 2.59, 7.18, -1.20, 0.269, 1.68, -1.57]
BOOK_OFFSETS += [0.0] * 4 + [-0.571, -1.00, 4.17e-06, 0.626]
BOOK_MASK = [0.0] * 4 + [1.0] * 8 + [0.0] * 4 + [1.0] * 4
BOOK_CLASSES = [0, 1, 2, 0, 2]
# the book's NMS example and its printed `multibox_detection` output
NMS_ANCHORS = torch.tensor(
    [
        [0.1, 0.08, 0.52, 0.92],
        [0.08, 0.2, 0.56, 0.95],
        [0.15, 0.3, 0.62, 0.91],
        [0.55, 0.2, 0.9, 0.88],
    ]
)
NMS_PROBS = torch.tensor([[0.0] * 4, [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]])
BOOK_DETECTION = [
    [0.00, 0.90, 0.10, 0.08, 0.52, 0.92],
    [1.00, 0.90, 0.55, 0.20, 0.90, 0.88],
    [-1.00, 0.80, 0.08, 0.20, 0.56, 0.95],
    [-1.00, 0.70, 0.15, 0.30, 0.62, 0.91],
]
CODER = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))  # the notes' sigmas 0.1 and 0.2 as weights


def _random_boxes(n, scale=1.0, seed=0, min_size=0.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * scale
    wh = torch.rand(n, 2, generator=g) * scale / 2 + min_size
    return torch.cat([xy, xy + wh], dim=1)


def _reference_assign(gt, anchors, threshold):
    """The notes' three steps with Python lists and torchvision's IoU."""
    iou = torchvision.ops.box_iou(anchors.double(), gt.double()).tolist()
    na, nb = len(anchors), len(gt)
    result = [-1] * na
    rows, cols = set(range(na)), set(range(nb))
    while rows and cols:
        i, j = max(
            ((i, j) for i in sorted(rows) for j in sorted(cols)), key=lambda p: iou[p[0]][p[1]]
        )
        result[i] = j
        rows.discard(i)
        cols.discard(j)
    for i in rows:
        j = max(range(nb), key=lambda j: iou[i][j])
        if iou[i][j] >= threshold:
            result[i] = j
    return result


# ---------------------------------------------------------------- two representations


def test_corner_center_round_trip_and_hand_values():
    boxes = torch.tensor([[60.0, 45.0, 378.0, 516.0], [400.0, 112.0, 655.0, 493.0]])  # dog, cat
    center = d2l.box_corner_to_center(boxes)
    assert torch.equal(center[0], torch.tensor([219.0, 280.5, 318.0, 471.0]))
    assert torch.equal(center[1], torch.tensor([527.5, 302.5, 255.0, 381.0]))
    assert torch.equal(d2l.box_center_to_corner(center), boxes)  # the book prints all True
    ours = d2l.box_corner_to_center(_random_boxes(50, 500))
    theirs = torchvision.ops.box_convert(_random_boxes(50, 500), "xyxy", "cxcywh")
    assert torch.allclose(ours, theirs)
    batched = _random_boxes(12).reshape(3, 4, 4)  # any leading dimensions
    as_center = d2l.box_corner_to_center(batched)
    assert torch.allclose(
        as_center.reshape(12, 4), d2l.box_corner_to_center(batched.reshape(12, 4))
    )
    assert torch.allclose(d2l.box_center_to_corner(as_center), batched, atol=1e-6)


def test_bbox_to_rect_and_show_bboxes_draw_on_the_axes():
    rect = d2l.bbox_to_rect([60.0, 45.0, 378.0, 516.0], "blue")
    assert rect.get_xy() == (60.0, 45.0) and rect.get_width() == 318.0
    assert rect.get_height() == 471.0 and not rect.get_fill()
    fig, ax = plt.subplots()
    d2l.show_bboxes(
        ax, torch.tensor([[1.0, 2, 3, 4], [2.0, 3, 5, 6], [0, 0, 1, 1]]), ["a", "b"], "w"
    )
    assert len(ax.patches) == 3 and [t.get_text() for t in ax.texts] == ["a", "b"]
    assert ax.texts[0].get_color() == "k"  # dark text on a white label
    assert d2l.show_bboxes(ax, [[0, 0, 1, 1]]) is None
    plt.close(fig)


# ---------------------------------------------------------------- IoU


@pytest.mark.parametrize("scale", [1.0, 728.0])
def test_box_iou_equals_torchvision(scale):
    a, b = _random_boxes(40, scale, seed=1), _random_boxes(30, scale, seed=2)
    assert torch.allclose(d2l.box_iou(a, b), torchvision.ops.box_iou(a, b), atol=1e-6)


def test_box_iou_hand_values():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    # overlap 1, union 4 + 4 - 1 = 7; identical boxes; disjoint boxes
    assert torch.allclose(d2l.box_iou(a, b), torch.tensor([[1 / 7, 1.0, 0.0]]))


def test_box_iou_of_zero_area_boxes_is_zero_not_nan():
    point = torch.tensor([[0.3, 0.3, 0.3, 0.3]])  # zero width and height
    line = torch.tensor([[0.1, 0.5, 0.9, 0.5]])  # zero height
    box = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    assert torch.isnan(torchvision.ops.box_iou(point, point)).all()  # what the book's code gives
    ours = d2l.box_iou(torch.cat([point, line, box]), torch.cat([point, line, box]))
    assert not torch.isnan(ours).any()
    expected = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.equal(ours, expected)
    boxes = torch.cat([point, box]).requires_grad_()
    d2l.box_iou(boxes, boxes).sum().backward()
    assert torch.isfinite(boxes.grad).all()


# ---------------------------------------------------------------- anchors


def test_multibox_prior_reproduces_the_books_printed_values():
    X = torch.zeros(1, 3, 561, 728)  # the book's catdog.jpg: h 561, w 728
    Y = d2l.multibox_prior(X, sizes=[0.75, 0.5, 0.25], ratios=[1, 2, 0.5])
    assert Y.shape == (1, 2042040, 4)
    boxes = Y.reshape(561, 728, 5, 4)
    assert torch.allclose(boxes[250, 250, 0], torch.tensor([0.06, 0.07, 0.63, 0.82]), atol=0.005)
    px = boxes[250, 250] * torch.tensor([728.0, 561.0, 728.0, 561.0])
    widths, heights = px[:, 2] - px[:, 0], px[:, 3] - px[:, 1]
    # d2l-zh PR #1190: 420.75, 280.50, 140.25, 595.03 x 297.52, 297.52 x 595.03 pixels
    assert torch.allclose(widths, torch.tensor([420.75, 280.50, 140.25, 595.03, 297.52]), atol=0.01)
    assert torch.allclose(
        heights, torch.tensor([420.75, 280.50, 140.25, 297.52, 595.03]), atol=0.01
    )


def test_multibox_prior_on_a_non_square_image_follows_the_formula():
    h, w = 3, 5
    sizes, ratios = [0.6, 0.3], [1.0, 4.0, 0.25]
    anchors = d2l.multibox_prior(torch.zeros(2, 1, h, w), sizes, ratios)
    pairs = [(s, ratios[0]) for s in sizes] + [(sizes[0], r) for r in ratios[1:]]
    assert anchors.shape == (1, h * w * len(pairs), 4)
    expected = []
    for i in range(h):
        for j in range(w):
            cx, cy = (j + 0.5) * w / w, (i + 0.5) * h / h  # pixel centre, in pixels
            for s, r in pairs:
                aw, ah = (
                    h * s * math.sqrt(r),
                    h * s / math.sqrt(r),
                )  # the notes: hs*sqrt(r), hs/sqrt(r)
                expected.append(
                    [(cx - aw / 2) / w, (cy - ah / 2) / h, (cx + aw / 2) / w, (cy + ah / 2) / h]
                )
    assert torch.allclose(anchors[0], torch.tensor(expected), atol=1e-6)
    px = anchors[0] * torch.tensor([w, h, w, h])
    aspect = (px[:, 2] - px[:, 0]) / (px[:, 3] - px[:, 1])
    assert torch.allclose(aspect[: len(pairs)], torch.tensor([r for _, r in pairs]), rtol=1e-5)


def test_assign_reproduces_the_books_example_and_the_reference():
    result = d2l.assign_anchor_to_bbox(GROUND_TRUTH[:, 1:], ANCHORS, "cpu")
    assert result.tolist() == [-1, 0, 1, -1, 1]
    assert result.dtype == torch.long
    for seed in range(5):
        gt, anchors = _random_boxes(4, seed=10 + seed), _random_boxes(30, seed=20 + seed)
        for threshold in (0.0, 0.2, 0.5, 0.7):
            ours = d2l.assign_anchor_to_bbox(gt, anchors, iou_threshold=threshold)
            assert ours.tolist() == _reference_assign(gt, anchors, threshold)


def test_assign_uses_its_threshold_argument():
    gt = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    # anchor 0 matches exactly (greedy); anchor 1 has IoU 0.6 with the box
    anchors = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.6]])
    assert d2l.assign_anchor_to_bbox(gt, anchors).tolist() == [0, 0]
    # the book's package compared with 0.5 whatever iou_threshold said
    assert d2l.assign_anchor_to_bbox(gt, anchors, iou_threshold=0.7).tolist() == [0, -1]
    assert d2l.assign_anchor_to_bbox(gt, anchors, iou_threshold=0.6).tolist() == [0, 0]


def test_assign_is_exact_past_2_to_the_24_anchor_box_pairs():
    num_gt, num_anchors = 16, 2**20 + 2  # 16,777,248 pairs > 2**24 = 16,777,216
    i = torch.arange(num_anchors, dtype=torch.float32)
    anchors = torch.stack(
        [i, torch.zeros_like(i), i + 1, torch.ones_like(i)], dim=1
    )  # unit squares
    target = 2**20  # box 15 sits exactly on this anchor: flat index 16 * 2**20 + 15
    gt = torch.stack([anchors[target - 200 * k] for k in range(num_gt - 1, -1, -1)])
    flat = target * num_gt + num_gt - 1
    assert (torch.tensor(flat) / num_gt).long().item() == target + 1  # the book's float arithmetic
    result = d2l.assign_anchor_to_bbox(gt, anchors)
    assert result[target].item() == num_gt - 1
    assert result[target + 1].item() == -1
    expected = {target - 200 * k: num_gt - 1 - k for k in range(num_gt)}
    assert {int(a): int(result[a]) for a in torch.nonzero(result >= 0).flatten()} == expected


def test_assign_with_more_boxes_than_anchors_gives_each_anchor_one_box():
    gt = _random_boxes(6, seed=3)
    anchors = gt[[4, 1]] + 0.001  # two anchors, each close to one box
    assert d2l.assign_anchor_to_bbox(gt, anchors).tolist() == [4, 1]
    empty = d2l.assign_anchor_to_bbox(torch.zeros(0, 4), anchors)
    assert empty.tolist() == [-1, -1]


# ---------------------------------------------------------------- offsets and labels


def test_offsets_equal_torchvision_box_coder_and_invert():
    anchors, boxes = _random_boxes(20, 1.0, seed=4, min_size=0.05), _random_boxes(20, 1.0, seed=5)
    ours = d2l.offset_boxes(anchors, boxes, eps=0.0)
    assert torch.allclose(ours, CODER.encode_single(boxes, anchors), atol=1e-4)
    back = d2l.offset_inverse(anchors, ours)
    assert torch.allclose(back, boxes, atol=1e-5)  # the round trip
    assert torch.allclose(back, CODER.decode_single(ours, anchors), atol=1e-5)
    # hand values: the anchor is 0.2 wide and 0.4 high at (0.5, 0.5); the box is moved and doubled
    a, b = torch.tensor([[0.4, 0.3, 0.6, 0.7]]), torch.tensor([[0.4, 0.3, 0.8, 1.1]])
    expected = [
        (0.6 - 0.5) / 0.2 / 0.1,
        (0.7 - 0.5) / 0.4 / 0.1,
        math.log(2) / 0.2,
        math.log(2) / 0.2,
    ]
    assert torch.allclose(d2l.offset_boxes(a, b, eps=0.0), torch.tensor([expected]), atol=1e-5)


def test_multibox_target_reproduces_the_books_printed_labels():
    offsets, mask, classes = d2l.multibox_target(ANCHORS.unsqueeze(0), GROUND_TRUTH.unsqueeze(0))
    assert classes.tolist() == [BOOK_CLASSES] and classes.dtype == torch.long
    assert mask.tolist() == [BOOK_MASK]
    assert torch.allclose(offsets, torch.tensor([BOOK_OFFSETS]), atol=0.006, rtol=0.003)


def test_multibox_target_on_a_batch_with_different_numbers_of_objects():
    padding = [-1.0, -1.0, -1.0, -1.0, -1.0]  # the book's data sets pad labels with -1 rows
    labels = torch.stack(
        [
            GROUND_TRUTH,
            torch.tensor([[1.0, 0.55, 0.2, 0.9, 0.88], padding]),
            torch.tensor([padding] * 2),
        ]
    )
    offsets, mask, classes = d2l.multibox_target(ANCHORS, labels)
    assert offsets.shape == mask.shape == (3, 20) and classes.shape == (3, 5)
    assert classes[0].tolist() == BOOK_CLASSES and mask[0].tolist() == BOOK_MASK
    # image 1 holds only the cat: reference assignment and torchvision's encoder
    cat = labels[1, :1, 1:]
    ref = _reference_assign(cat, ANCHORS, 0.5)
    assert classes[1].tolist() == [2 if j == 0 else 0 for j in ref]
    for a, j in enumerate(ref):
        row = offsets[1, 4 * a : 4 * a + 4]
        if j < 0:
            assert torch.equal(row.abs(), torch.zeros(4)) and mask[1, 4 * a] == 0
        else:
            assert torch.allclose(row, CODER.encode_single(cat, ANCHORS[a : a + 1])[0], atol=1e-4)
    # image 2 has no objects: everything is background
    assert classes[2].tolist() == [0] * 5 and mask[2].sum() == 0 and offsets[2].abs().sum() == 0


# ---------------------------------------------------------------- NMS and detection


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_equals_torchvision(threshold):
    boxes = _random_boxes(200, 100.0, seed=6)
    scores = torch.randperm(200, generator=torch.Generator().manual_seed(7)).float() / 200
    keep = d2l.nms(boxes, scores, threshold)
    assert torch.equal(keep, torchvision.ops.nms(boxes, scores, threshold))
    idxs = torch.randint(0, 4, (200,), generator=torch.Generator().manual_seed(8))
    ours = d2l.batched_nms(boxes, scores, idxs, threshold)
    assert torch.equal(ours, torchvision.ops.batched_nms(boxes, scores, idxs, threshold))


def test_nms_on_the_books_boxes_and_on_nothing():
    keep = d2l.nms(NMS_ANCHORS, torch.tensor([0.9, 0.8, 0.7, 0.9]), 0.5)
    assert keep.tolist() == [0, 3] and keep.dtype == torch.long
    assert d2l.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []
    assert d2l.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), 0.5).tolist() == []


def test_multibox_detection_reproduces_the_books_printed_output():
    zeros = torch.zeros(1, NMS_ANCHORS.numel())
    for class_agnostic in (False, True):  # the same here: dog and cat boxes overlap little
        out = d2l.multibox_detection(
            NMS_PROBS.unsqueeze(0),
            zeros,
            NMS_ANCHORS.unsqueeze(0),
            0.5,
            class_agnostic=class_agnostic,
        )
        assert out.shape == (1, 4, 6)
        assert torch.allclose(out[0], torch.tensor(BOOK_DETECTION), atol=1e-6)


def test_multibox_detection_suppresses_within_a_class_and_per_image():
    # a cat box with IoU 0.6 to a more confident dog box: the book's class-agnostic NMS drops it
    anchors = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.3], [0.6, 0.6, 0.9, 0.9]])
    probs = torch.tensor([[0.0, 0.1, 0.0], [0.9, 0.1, 0.005], [0.1, 0.8, 0.005]])  # bg, dog, cat
    zeros = torch.zeros(1, 12)
    aware = d2l.multibox_detection(probs.unsqueeze(0), zeros, anchors)[0]
    agnostic = d2l.multibox_detection(probs.unsqueeze(0), zeros, anchors, class_agnostic=True)[0]
    assert aware[:, 0].tolist() == [0, 1, -1] and aware[:, 1].tolist() == pytest.approx(
        [0.9, 0.8, 0.995]
    )
    assert agnostic[:, 0].tolist() == [0, -1, -1]
    assert torch.allclose(agnostic[:, 2:], anchors[[0, 2, 1]])
    # a batch of two images: boxes of image 0 never suppress those of image 1
    batch = d2l.multibox_detection(
        torch.stack([probs, probs]), torch.zeros(2, 12), anchors.unsqueeze(0), class_agnostic=True
    )
    assert torch.equal(batch[0], agnostic) and torch.equal(batch[1], agnostic)
    ref = torchvision.ops.batched_nms(anchors, probs[1:].max(0).values, probs[1:].argmax(0), 0.5)
    assert torch.allclose(aware[: len(ref), 2:], anchors[ref])


def _greedy_reference(boxes, scores, idxs, threshold):
    """The notes' NMS with Python lists: by score (ties in input order), keep the best box
    left and drop the boxes of its group whose IoU with it exceeds the threshold."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    iou = torchvision.ops.box_iou(boxes, boxes)
    keep, dropped = [], set()
    for i in order:
        if i in dropped:
            continue
        keep.append(i)
        dropped |= {j for j in order if idxs[j] == idxs[i] and float(iou[i, j]) > threshold}
    return keep


@pytest.mark.parametrize("matrix_limit", [4096, 7])  # IoU matrix at once, or row by row
def test_nms_with_tied_scores_and_many_groups_follows_the_greedy_rule(monkeypatch, matrix_limit):
    from d2lhelpers.detection import boxes as boxes_module

    monkeypatch.setattr(boxes_module, "_MATRIX_NMS_MAX", matrix_limit)
    boxes = _random_boxes(300, 1.0, seed=9, min_size=0.05)
    g = torch.Generator().manual_seed(10)
    scores = torch.randint(0, 6, (300,), generator=g).float() / 6  # many equal scores
    idxs = torch.randint(0, 40, (300,), generator=g)
    for threshold in (0.2, 0.5):
        no_groups = torch.zeros(300, dtype=torch.long)
        assert d2l.nms(boxes, scores, threshold).tolist() == _greedy_reference(
            boxes, scores, no_groups, threshold
        )
        assert d2l.batched_nms(boxes, scores, idxs, threshold).tolist() == _greedy_reference(
            boxes, scores, idxs, threshold
        )
