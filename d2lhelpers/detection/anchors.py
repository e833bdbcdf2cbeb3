"""Anchor boxes: generating them, labelling them with ground truth, turning predictions
into detections.

Fixed against the book's `d2l.torch`: `assign_anchor_to_bbox` uses its
`iou_threshold` (the book's package hard-coded 0.5 for a while) and splits the flat
argmax with integer division (the book's float division is wrong past 2**24
anchor-box pairs); `multibox_target` treats label rows with a negative class as
padding, so a batch may hold images with different numbers of objects;
`multibox_detection` suppresses within each class (`class_agnostic=True` gives the
book's NMS over all classes). The batch is handled with tensor operations where the
book loops over images. Introduced in 13_computer_vision.ipynb.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .boxes import batched_nms, box_iou, offset_boxes, offset_inverse

__all__ = ["multibox_prior", "assign_anchor_to_bbox", "multibox_target", "multibox_detection"]


def multibox_prior(
    data: torch.Tensor, sizes: Sequence[float], ratios: Sequence[float]
) -> torch.Tensor:
    """Anchor boxes centred on every pixel of `data` (batch_size, channels, h, w).

    Returns (1, h * w * (n + m - 1), 4): corners as fractions of the width and the
    height, pixel by pixel in row-major order, and for each pixel the book's order
    (s_1, r_1), ..., (s_n, r_1), (s_1, r_2), ..., (s_1, r_m). In pixels an anchor
    is h*s*sqrt(r) wide and h*s/sqrt(r) high (both scale with the image height), so
    its aspect ratio is exactly r on non-square images too.
    """
    in_height, in_width = data.shape[-2:]
    device = data.device
    sizes_t = torch.tensor(list(sizes), dtype=torch.float32, device=device)  # (n,)
    ratios_t = torch.tensor(list(ratios), dtype=torch.float32, device=device)  # (m,)
    # centres of the pixels as fractions: (h,) and (w,)
    center_h = (torch.arange(in_height, device=device) + 0.5) / in_height
    center_w = (torch.arange(in_width, device=device) + 0.5) / in_width
    shift_y, shift_x = torch.meshgrid(center_h, center_w, indexing="ij")  # (h, w) each
    # widths and heights in pixels divided by the image height: (n + m - 1,)
    s = torch.cat([sizes_t, sizes_t[0].expand(len(ratios_t) - 1)])
    r = torch.cat([ratios_t[0].expand(len(sizes_t)), ratios_t[1:]])
    w = s * torch.sqrt(r) * in_height / in_width  # as a fraction of the width
    h = s / torch.sqrt(r)  # as a fraction of the height
    half = torch.stack((-w, -h, w, h), dim=1) / 2  # (a, 4)
    centers = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=-1)  # (h, w, 4)
    anchors = centers.reshape(-1, 1, 4) + half.unsqueeze(0)  # (h * w, a, 4)
    return anchors.reshape(1, -1, 4)


def _assign(
    ground_truth: torch.Tensor, valid: torch.Tensor, anchors: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """Greedy assignment for a batch: ground_truth (B, nb, 4), valid (B, nb) bool,
    anchors (na, 4) -> (B, na) index of the assigned box, -1 where none."""
    batch_size, num_gt = ground_truth.shape[:2]
    num_anchors = anchors.shape[0]
    device = anchors.device
    if num_gt == 0:
        return torch.full((batch_size, num_anchors), -1, dtype=torch.long, device=device)
    jaccard = box_iou(anchors, ground_truth.reshape(-1, 4))  # (na, B * nb)
    jaccard = jaccard.reshape(num_anchors, batch_size, num_gt).permute(1, 0, 2)  # (B, na, nb)
    jaccard = jaccard.masked_fill(~valid[:, None, :], -1.0).contiguous()
    # step 3 of the notes, done first: every anchor takes its best box if IoU >= threshold
    max_ious, indices = jaccard.max(dim=2)  # (B, na)
    above = (max_ious >= iou_threshold) & (max_ious >= 0)  # -1: the image has no box
    anchors_bbox_map = torch.where(above, indices, -1)
    # steps 1-2: the largest remaining IoU pairs one box with one anchor, then both are
    # discarded; this overrides the threshold rule for the anchors it picks
    rows = torch.arange(batch_size, device=device)
    for _ in range(min(num_gt, num_anchors)):
        best, flat_idx = jaccard.reshape(batch_size, -1).max(dim=1)  # (B,), (B,)
        active = best >= 0  # images that still have a box left
        if not bool(active.any()):
            break
        anc_idx = torch.div(flat_idx, num_gt, rounding_mode="floor")  # exact for int64
        box_idx = flat_idx % num_gt
        b, anc_idx, box_idx = rows[active], anc_idx[active], box_idx[active]
        anchors_bbox_map[b, anc_idx] = box_idx
        jaccard[b, :, box_idx] = -1.0
        jaccard[b, anc_idx, :] = -1.0
    return anchors_bbox_map


def assign_anchor_to_bbox(
    ground_truth: torch.Tensor,
    anchors: torch.Tensor,
    device: torch.device | str | None = None,
    iou_threshold: float = 0.5,
) -> torch.Tensor:
    """Assign ground-truth boxes to anchors, as the notes' three steps describe.

    ground_truth: (nb, 4), anchors: (na, 4), corners -> (na,) the index of the box
    assigned to each anchor, -1 for background. Each box first gets the anchor of
    the largest remaining IoU (greedy, without repeats); every other anchor takes
    its best box when their IoU >= `iou_threshold`. `device`: where to compute
    (default: the anchors' device).
    """
    device = anchors.device if device is None else torch.device(device)
    anchors, ground_truth = anchors.to(device), ground_truth.to(device)
    valid = torch.ones(1, ground_truth.shape[0], dtype=torch.bool, device=device)
    return _assign(ground_truth.unsqueeze(0), valid, anchors, iou_threshold)[0]


def multibox_target(
    anchors: torch.Tensor, labels: torch.Tensor, iou_threshold: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Label anchors with classes and offsets from the ground truth of a batch.

    anchors: (1, na, 4) or (na, 4); labels: (batch_size, nb, 5) rows
    (class, x1, y1, x2, y2) in the anchors' units, where a row with a negative class
    is padding (images with fewer objects). Returns
    bbox_offset (batch_size, na * 4): offsets to the assigned boxes, 0 for background;
    bbox_mask (batch_size, na * 4): 1 for the 4 values of an assigned anchor, else 0;
    class_labels (batch_size, na): 0 for background, class + 1 otherwise.
    """
    anchors = anchors.reshape(-1, 4)  # (na, 4)
    labels = labels.to(anchors.device)
    valid = labels[:, :, 0] >= 0  # (B, nb)
    gt_boxes = labels[:, :, 1:]  # (B, nb, 4)
    assigned = _assign(gt_boxes, valid, anchors, iou_threshold)  # (B, na)
    positive = assigned >= 0  # (B, na)
    idx = assigned.clamp(min=0)  # (B, na), any valid index where background
    cls = torch.gather(labels[:, :, 0], 1, idx).long() + 1  # (B, na)
    class_labels = torch.where(positive, cls, 0)
    assigned_bb = torch.gather(gt_boxes, 1, idx.unsqueeze(-1).expand(-1, -1, 4))  # (B, na, 4)
    mask = positive.unsqueeze(-1).to(anchors.dtype).expand(-1, -1, 4)  # (B, na, 4)
    assigned_bb = assigned_bb * mask  # all zeros for background, as in the book
    offset = offset_boxes(anchors.unsqueeze(0), assigned_bb) * mask  # (B, na, 4)
    batch_size = labels.shape[0]
    return offset.reshape(batch_size, -1), mask.reshape(batch_size, -1), class_labels


def multibox_detection(
    cls_probs: torch.Tensor,
    offset_preds: torch.Tensor,
    anchors: torch.Tensor,
    nms_threshold: float = 0.5,
    pos_threshold: float = 0.009999999,
    *,
    class_agnostic: bool = False,
) -> torch.Tensor:
    """Predicted boxes after non-maximum suppression, for a batch.

    cls_probs: (batch_size, num_classes + 1, na), class 0 = background;
    offset_preds: (batch_size, na * 4); anchors: (1, na, 4) or (na, 4).
    Returns (batch_size, na, 6) rows (class_id, confidence, x1, y1, x2, y2): first
    the kept boxes, highest confidence first, then the rest in anchor order with
    class_id -1. A box whose confidence p is below `pos_threshold` also gets
    class_id -1 (background) and confidence 1 - p. NMS runs within each class of each image
    (`class_agnostic=True`: over all classes of an image, as the book's code does).
    """
    batch_size, _, num_anchors = cls_probs.shape
    anchors = anchors.reshape(-1, 4).to(cls_probs.device)
    conf, class_id = cls_probs[:, 1:, :].max(dim=1)  # (B, na) each, background left out
    predicted_bb = offset_inverse(anchors.unsqueeze(0), offset_preds.reshape(batch_size, -1, 4))
    image = torch.arange(batch_size, device=cls_probs.device).repeat_interleave(num_anchors)
    groups = image if class_agnostic else image * cls_probs.shape[1] + class_id.reshape(-1)
    keep = batched_nms(predicted_bb.reshape(-1, 4), conf.reshape(-1), groups, nms_threshold)
    # sort key: a kept box's place in `keep` (highest score first), then the others in order
    total = batch_size * num_anchors
    rank = torch.arange(total, device=cls_probs.device) + total
    rank[keep] = torch.arange(len(keep), device=cls_probs.device)
    order = torch.argsort(rank.reshape(batch_size, num_anchors), dim=1)  # (B, na)
    kept = torch.zeros(total, dtype=torch.bool, device=cls_probs.device)
    kept[keep] = True
    class_id = torch.where(kept.reshape(batch_size, -1), class_id, -1)
    class_id, conf = class_id.gather(1, order), conf.gather(1, order)
    predicted_bb = predicted_bb.gather(1, order.unsqueeze(-1).expand(-1, -1, 4))
    below = conf < pos_threshold
    class_id = class_id.masked_fill(below, -1)
    conf = torch.where(below, 1 - conf, conf)
    return torch.cat([class_id.unsqueeze(-1).to(conf.dtype), conf.unsqueeze(-1), predicted_bb], -1)
