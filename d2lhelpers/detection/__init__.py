"""Object detection helpers of the computer-vision chapter: boxes, anchors, NMS.

`boxes` holds what works on boxes alone (the two representations, drawing, IoU,
offsets, non-maximum suppression); `anchors` generates anchor boxes, labels them
against ground truth and turns predictions into detections; `shapes` makes a
detection data set offline (scikit-image's shapes with exact boxes); `evaluate`
scores detections (average precision per class). The book's functions keep
the names and signatures of its `d2l.torch`. Introduced in 13_computer_vision.ipynb.
"""

from .anchors import assign_anchor_to_bbox, multibox_detection, multibox_prior, multibox_target
from .boxes import (
    batched_nms,
    bbox_to_rect,
    box_center_to_corner,
    box_corner_to_center,
    box_iou,
    nms,
    offset_boxes,
    offset_inverse,
    show_bboxes,
)
from .evaluate import average_precision
from .shapes import SHAPE_CLASSES, load_data_shapes, make_shapes

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
    "multibox_prior",
    "assign_anchor_to_bbox",
    "multibox_target",
    "multibox_detection",
    "average_precision",
    "SHAPE_CLASSES",
    "make_shapes",
    "load_data_shapes",
]
