"""Bounding boxes: two representations, drawing, IoU, offsets and non-maximum suppression.

A box is 4 numbers in the last dimension: corners `(x1, y1, x2, y2)` (upper-left,
lower-right) or centre form `(cx, cy, w, h)`. Coordinates are pixels or fractions
of the image size; every function here works with either. The book's defects are
fixed: `box_iou` gives 0, not NaN, when both boxes have zero area, and
`batched_nms` suppresses within each class only (the book's NMS ignores classes).
Both NMS functions keep the book's greedy rule; `nms` computes the IoUs of up to
4096 boxes at once, and `batched_nms` works group by group (the IoUs of boxes that
cannot suppress each other are never computed).
Introduced in 13_computer_vision.ipynb.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib import patches
from matplotlib.axes import Axes

__all__ = [
    "box_corner_to_center",
    "box_center_to_corner",
    "bbox_to_rect",
    "show_bboxes",
    "box_iou",
    "offset_boxes",
    "offset_inverse",
    "nms",
    "batched_nms",
]

# The offset transform's constants (the notes' mu and sigma): mu = 0, sigma_xy = 0.1, sigma_wh = 0.2.
SIGMA_XY, SIGMA_WH = 0.1, 0.2


def box_corner_to_center(boxes: torch.Tensor) -> torch.Tensor:
    """Corners (x1, y1, x2, y2) -> centre form (cx, cy, w, h); boxes: (..., 4) -> (..., 4)."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def box_center_to_corner(boxes: torch.Tensor) -> torch.Tensor:
    """Centre form (cx, cy, w, h) -> corners (x1, y1, x2, y2); boxes: (..., 4) -> (..., 4)."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)


def bbox_to_rect(bbox: Sequence[float] | torch.Tensor, color: str) -> patches.Rectangle:
    """A matplotlib rectangle (outline only) for one box in corners form, in pixels."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    return patches.Rectangle(
        xy=(x1, y1), width=x2 - x1, height=y2 - y1, fill=False, edgecolor=color, linewidth=2
    )


def show_bboxes(
    axes: Axes,
    bboxes: torch.Tensor | Sequence,
    labels: Sequence[str] | str | None = None,
    colors: Sequence[str] | str | None = None,
) -> None:
    """Draw boxes (n, 4), corners in pixels, on `axes`, each with an optional label.

    Colours cycle through `colors` (default blue, green, red, magenta, cyan); a
    label is written at the box's upper-left corner on a patch of the box's colour.
    """

    def as_list(obj: Sequence[str] | str | None) -> list[str]:
        if obj is None:
            return []
        return [obj] if isinstance(obj, str) else list(obj)

    labels = as_list(labels)
    colors = as_list(colors) or ["b", "g", "r", "m", "c"]
    for i, bbox in enumerate(bboxes):
        color = colors[i % len(colors)]
        rect = bbox_to_rect(bbox, color)
        axes.add_patch(rect)
        if labels and len(labels) > i:
            text_color = "k" if color == "w" else "w"
            axes.text(
                rect.xy[0],
                rect.xy[1],
                labels[i],
                va="center",
                ha="center",
                fontsize=9,
                color=text_color,
                bbox={"facecolor": color, "lw": 0},
            )


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise intersection over union (the Jaccard index of the two pixel sets).

    boxes1: (N, 4), boxes2: (M, 4), corners form -> (N, M). Where the union is
    empty (both boxes have zero area) the IoU is 0, not the book's 0/0 = NaN.
    """
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # (N,)
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # (M,)
    upper_left = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    lower_right = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    inter = (lower_right - upper_left).clamp(min=0).prod(dim=-1)  # (N, M)
    union = area1[:, None] + area2[None, :] - inter  # (N, M)
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), 0.0)


def offset_boxes(
    anchors: torch.Tensor, assigned_bb: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Offsets that move each anchor onto its assigned box (the notes' transform).

    anchors, assigned_bb: (..., 4) corners -> (..., 4):
    ((x_b - x_a) / w_a / 0.1, (y_b - y_a) / h_a / 0.1, log(w_b / w_a) / 0.2, log(h_b / h_a) / 0.2),
    with `eps` inside the logarithm as in the book (an unassigned anchor's box is all zeros).
    """
    c_anc = box_corner_to_center(anchors)
    c_assigned = box_corner_to_center(assigned_bb)
    offset_xy = (c_assigned[..., :2] - c_anc[..., :2]) / c_anc[..., 2:] / SIGMA_XY
    offset_wh = torch.log(eps + c_assigned[..., 2:] / c_anc[..., 2:]) / SIGMA_WH
    return torch.cat([offset_xy, offset_wh], dim=-1)


def offset_inverse(anchors: torch.Tensor, offset_preds: torch.Tensor) -> torch.Tensor:
    """Boxes predicted from anchors and offsets: the inverse of `offset_boxes`.

    anchors: (..., 4) corners, offset_preds: (..., 4) -> predicted boxes (..., 4), corners.
    """
    anc = box_corner_to_center(anchors)
    pred_xy = offset_preds[..., :2] * SIGMA_XY * anc[..., 2:] + anc[..., :2]
    pred_wh = torch.exp(offset_preds[..., 2:] * SIGMA_WH) * anc[..., 2:]
    return box_center_to_corner(torch.cat([pred_xy, pred_wh], dim=-1))


#: Up to this many boxes, `nms` reads one precomputed IoU matrix (64 MB of float32 at most).
_MATRIX_NMS_MAX = 4096


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Non-maximum suppression over all boxes, whatever their class (the book's `nms`).

    boxes: (n, 4) corners, scores: (n,) -> indices (k,) of the kept boxes, highest
    score first. Repeatedly keeps the best remaining box and drops every box whose
    IoU with it exceeds `iou_threshold`; equal scores keep their input order. Up to
    4096 boxes the IoUs are computed once as a matrix; beyond, row by row.
    """
    order = torch.argsort(scores, descending=True, stable=True)  # (n,)
    if order.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    if order.numel() <= _MATRIX_NMS_MAX:
        ranked = boxes[order]
        suppresses = (box_iou(ranked, ranked) > iou_threshold).cpu()  # (n, n): row i drops these
        removed = torch.zeros(len(order), dtype=torch.bool)
        kept_ranks = []
        for i in range(len(order)):
            if not removed[i]:
                kept_ranks.append(i)
                removed |= suppresses[i]
        return order[torch.tensor(kept_ranks, device=order.device)]
    keep: list[torch.Tensor] = []
    while order.numel() > 0:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        if rest.numel() == 0:
            break
        iou = box_iou(boxes[best].unsqueeze(0), boxes[rest]).reshape(-1)  # (len(rest),)
        order = rest[iou <= iou_threshold]
    return torch.stack(keep).to(torch.long)


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """NMS within each group (class, or image and class): boxes of different groups never
    suppress each other (as `torchvision.ops.batched_nms`).

    boxes: (n, 4) corners, scores: (n,), idxs: (n,) integer group ids -> kept
    indices (k,), highest score first, equal scores in input order: what one `nms`
    over all boxes would keep if boxes of different groups never overlapped. Runs
    `nms` group by group, so each group's IoUs are computed among its own boxes only.
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    keep = []
    for group in torch.unique(idxs):
        members = torch.nonzero(idxs == group).reshape(-1)  # (m,) in input order
        keep.append(members[nms(boxes[members], scores[members], iou_threshold)])
    kept = torch.cat(keep).sort().values  # input order, so that a stable sort keeps ties so
    return kept[torch.argsort(scores[kept], descending=True, stable=True)]
