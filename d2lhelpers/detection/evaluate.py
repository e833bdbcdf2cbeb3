"""Scoring a detector: average precision per class (AP) and its mean (mAP).

The book stops at drawing the predicted boxes; a detector is measured by how
well its ranked detections find the ground-truth boxes. For one class, sort every
detection of the data set by confidence; a detection is a true positive when its
IoU with a not yet matched ground-truth box of that class in its image is at
least `iou_threshold` (the best such box is matched), otherwise a false positive
(a second detection of a matched box included). AP is the area under the
precision-recall curve after precision is made non-increasing in recall (PASCAL
VOC 2010 onwards, all points). Introduced in 13_computer_vision.ipynb.
"""

from __future__ import annotations

import torch

from .boxes import box_iou

__all__ = ["average_precision"]


def _ap_from_matches(is_tp: torch.Tensor, num_gt: int) -> float:
    """AP from the true-positive flags (k,) of detections sorted by confidence."""
    if num_gt == 0:
        return float("nan")
    if is_tp.numel() == 0:
        return 0.0
    tp = torch.cumsum(is_tp.double(), 0)
    precision = tp / torch.arange(1, len(tp) + 1, dtype=torch.float64)
    recall = tp / num_gt
    # the precision envelope: the best precision at this recall or any higher one
    envelope = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
    recall_steps = torch.diff(recall, prepend=torch.zeros(1, dtype=torch.float64))
    return float((recall_steps * envelope).sum())


def average_precision(
    detections: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    iou_threshold: float = 0.5,
) -> torch.Tensor:
    """AP of each class over a data set of images, at one IoU threshold.

    detections: (num_images, k, 6) rows (class_id, confidence, x1, y1, x2, y2), as
    `multibox_detection` returns them (rows with class_id -1 are ignored);
    labels: (num_images, nb, 5) rows (class, x1, y1, x2, y2) in the same units,
    rows with a negative class are padding. Returns (num_classes,) float64: AP per
    class in [0, 1], NaN for a class without ground truth. `mAP` is
    `torch.nanmean` of it.
    """
    if detections.shape[0] != labels.shape[0]:
        raise ValueError(
            f"detections and labels must cover the same images: got {detections.shape[0]} "
            f"and {labels.shape[0]}"
        )
    if detections.shape[-1] != 6 or labels.shape[-1] != 5:
        raise ValueError(
            "detections must be (num_images, k, 6) rows (class_id, confidence, box) and "
            "labels (num_images, nb, 5) rows (class, box); got "
            f"{tuple(detections.shape)} and {tuple(labels.shape)}"
        )
    detections, labels = detections.detach().cpu(), labels.detach().cpu()
    ap = torch.full((num_classes,), float("nan"), dtype=torch.float64)
    for c in range(num_classes):
        num_gt = int((labels[:, :, 0] == c).sum())
        image_idx, det_idx = torch.nonzero(detections[:, :, 0] == c, as_tuple=True)
        scores = detections[image_idx, det_idx, 1]
        order = torch.argsort(scores, descending=True, stable=True)
        matched = torch.zeros(labels.shape[:2], dtype=torch.bool)  # (num_images, nb)
        is_tp = torch.zeros(len(order), dtype=torch.bool)
        for rank, k in enumerate(order.tolist()):
            i, j = int(image_idx[k]), int(det_idx[k])
            candidates = (labels[i, :, 0] == c) & ~matched[i]  # (nb,)
            if not bool(candidates.any()):
                continue
            ious = box_iou(detections[i, j, 2:].unsqueeze(0), labels[i, :, 1:])[0]  # (nb,)
            ious = torch.where(candidates, ious, -1.0)
            best = int(torch.argmax(ious))
            if float(ious[best]) >= iou_threshold:
                matched[i, best] = True
                is_tp[rank] = True
        ap[c] = _ap_from_matches(is_tp, num_gt)
    return ap
