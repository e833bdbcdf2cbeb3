"""Average precision (`d2lhelpers.detection.evaluate`) against values computed by hand and
against the PASCAL VOC devkit's all-point formula written out with Python lists."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from d2lhelpers.detection.evaluate import average_precision

PAD_LABEL = [-1.0] * 5
PAD_DET = [-1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
A, B = [0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.9, 0.9]


def _det(rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_the_hand_computed_example():
    # two boxes of class 0; detections by confidence: hit A, a duplicate of A, hit B.
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> envelope 1, 1, 2/3 -> AP = 1/2 + 1/2 * 2/3
    labels = torch.tensor([[[0.0, *A], [0.0, *B]]])
    detections = _det([[[0, 0.9, *A], [0, 0.8, *A], [0, 0.7, *B]]])
    ap = average_precision(detections, labels, num_classes=1)
    assert ap.tolist() == pytest.approx([0.5 + 0.5 * 2 / 3])


def test_perfect_detections_and_a_class_without_ground_truth():
    labels = torch.tensor([[[0.0, *A], [1.0, *B]], [[1.0, *A], PAD_LABEL]])
    detections = _det([[[0, 0.9, *A], [1, 0.8, *B]], [[1, 0.7, *A], PAD_DET]])
    ap = average_precision(detections, labels, num_classes=3)
    assert ap[:2].tolist() == [1.0, 1.0] and math.isnan(ap[2])
    assert float(torch.nanmean(ap)) == 1.0


def test_wrong_class_other_image_and_missed_boxes_count_against():
    labels = torch.tensor([[[0.0, *A]], [[0.0, *B]]])
    # class 1 on a class-0 box; a class-0 box put in the wrong image; nothing found in image 1
    detections = _det([[[1, 0.9, *A], [0, 0.8, *B]], [PAD_DET, PAD_DET]])
    assert average_precision(detections, labels, num_classes=1).tolist() == [0.0]
    # a correct detection ranked below a false one: precision 1/2 at recall 1/2
    detections = _det([[[0, 0.8, *B], [0, 0.6, *A]], [PAD_DET, PAD_DET]])
    assert average_precision(detections, labels, num_classes=1).tolist() == pytest.approx([0.25])


def test_the_iou_threshold_is_inclusive():
    labels = torch.tensor([[[0.0, 0.0, 0.0, 1.0, 1.0]]])
    half = _det([[[0, 0.9, 0.0, 0.0, 1.0, 0.5]]])  # IoU exactly 0.5
    assert average_precision(half, labels, 1, iou_threshold=0.5).tolist() == [1.0]
    assert average_precision(half, labels, 1, iou_threshold=0.51).tolist() == [0.0]


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="same images"):
        average_precision(torch.zeros(2, 3, 6), torch.zeros(1, 3, 5), 1)
    with pytest.raises(ValueError, match=r"\(num_images, k, 6\)"):
        average_precision(torch.zeros(1, 3, 5), torch.zeros(1, 3, 5), 1)


def _voc_reference(detections, labels, num_classes, threshold):
    """The VOC devkit's recipe: greedy matching in confidence order, then mrec/mpre with
    sentinels, the envelope from the right and the sum where recall changes."""
    result = []
    for c in range(num_classes):
        gts = {
            (i, j): row[1:]
            for i, image in enumerate(labels.tolist())
            for j, row in enumerate(image)
            if row[0] == c
        }
        dets = [
            (row[1], i, row[2:])
            for i, image in enumerate(detections.tolist())
            for row in image
            if row[0] == c
        ]
        dets.sort(key=lambda d: -d[0])  # Python's sort is stable, as the library's
        used, tp = set(), []
        for _, i, box in dets:
            best, best_iou = None, -1.0
            for (gi, gj), gbox in gts.items():
                if gi != i or (gi, gj) in used:
                    continue
                iou = float(torchvision.ops.box_iou(torch.tensor([box]), torch.tensor([gbox])))
                if iou > best_iou:
                    best, best_iou = (gi, gj), iou
            hit = best is not None and best_iou >= threshold
            if hit:
                used.add(best)
            tp.append(1 if hit else 0)
        if not gts:
            result.append(float("nan"))
            continue
        rec, prec, cum = [], [], 0
        for k, t in enumerate(tp):
            cum += t
            rec.append(cum / len(gts))
            prec.append(cum / (k + 1))
        mrec, mpre = [0.0, *rec, 1.0], [0.0, *prec, 0.0]
        for k in range(len(mpre) - 2, -1, -1):
            mpre[k] = max(mpre[k], mpre[k + 1])
        result.append(
            sum(
                (mrec[k + 1] - mrec[k]) * mpre[k + 1]
                for k in range(len(mrec) - 1)
                if mrec[k + 1] != mrec[k]
            )
        )
    return result


@pytest.mark.parametrize("seed", range(5))
def test_random_data_sets_agree_with_the_voc_recipe(seed):
    g = torch.Generator().manual_seed(seed)
    num_images, nb, k, num_classes = 6, 4, 12, 3

    def boxes(n):
        xy = torch.rand(n, 2, generator=g) * 0.7
        return torch.cat([xy, xy + 0.1 + 0.2 * torch.rand(n, 2, generator=g)], dim=1)

    gt = boxes(num_images * nb).reshape(num_images, nb, 4)
    gt_cls = torch.randint(-1, num_classes, (num_images, nb, 1), generator=g).float()  # -1: padding
    labels = torch.cat([gt_cls, gt], dim=-1)
    # detections near the ground truth (some hits, some misses) and random ones
    near = gt.repeat(1, 3, 1)[:, :k] + 0.05 * torch.randn(num_images, k, 4, generator=g)
    near = torch.cat([near[..., :2], torch.maximum(near[..., 2:], near[..., :2] + 0.01)], dim=-1)
    det_cls = torch.randint(-1, num_classes, (num_images, k, 1), generator=g).float()
    scores = torch.rand(num_images, k, 1, generator=g)
    detections = torch.cat([det_cls, scores, near], dim=-1)
    for threshold in (0.3, 0.5):
        ours = average_precision(detections, labels, num_classes, threshold).tolist()
        assert ours == pytest.approx(
            _voc_reference(detections, labels, num_classes, threshold), nan_ok=True
        )
