"""d2lhelpers: the tested helper library of the course, used as `import d2lhelpers as d2l`.

Names and signatures follow the book's `d2l.torch` (PyTorch edition), so code
written for the book runs unchanged. Importing the package has no side effects:
no seeding, no matplotlib settings, no downloads, no device probing.

The public API is what the submodules declare, each in its own `__all__`. The
names are imported below one by one, as `name as name` (the explicit re-export
type checkers and editors recognise), and `__all__` joins the submodules' lists
instead of copying them; tests/test_package.py checks that the two agree. The
one exception is `checks`: its learner-facing `check`, `exercises` and
`progress` are exported, not its classes.
"""

from .activations import checkpointed_forward as checkpointed_forward
from .activations import saved_activation_bytes as saved_activation_bytes
from .animator import Animator as Animator
from .attention import AdditiveAttention as AdditiveAttention
from .attention import DotProductAttention as DotProductAttention
from .attention import MultiHeadAttention as MultiHeadAttention
from .attention import PositionalEncoding as PositionalEncoding
from .attention import masked_softmax as masked_softmax
from .attention import transpose_output as transpose_output
from .attention import transpose_qkv as transpose_qkv
from .bahdanau import Seq2SeqAttentionDecoder as Seq2SeqAttentionDecoder
from .checks import check as check
from .checks import exercises as exercises
from .checks import progress as progress
from .classification import predict_ch3 as predict_ch3
from .classification import train_ch3 as train_ch3
from .classification import train_epoch_ch3 as train_epoch_ch3
from .cnn import Residual as Residual
from .cnn import corr2d as corr2d
from .cnn import resnet18 as resnet18
from .data import DATA_HUB as DATA_HUB
from .data import DATA_URL as DATA_URL
from .data import FASHION_MNIST_LABELS as FASHION_MNIST_LABELS
from .data import BatchLoader as BatchLoader
from .data import DownloadError as DownloadError
from .data import data_dir as data_dir
from .data import download as download
from .data import download_all as download_all
from .data import download_extract as download_extract
from .data import get_dataloader_workers as get_dataloader_workers
from .data import get_fashion_mnist_labels as get_fashion_mnist_labels
from .data import load_array as load_array
from .data import load_data_fashion_mnist as load_data_fashion_mnist
from .data import load_fashion_mnist_arrays as load_fashion_mnist_arrays
from .data import synthetic_data as synthetic_data
from .data import torchvision_fashion_mnist_root as torchvision_fashion_mnist_root
from .decoding import predict_seq2seq as predict_seq2seq
from .decoding import predict_seq2seq_beam as predict_seq2seq_beam
from .detection import SHAPE_CLASSES as SHAPE_CLASSES
from .detection import assign_anchor_to_bbox as assign_anchor_to_bbox
from .detection import average_precision as average_precision
from .detection import batched_nms as batched_nms
from .detection import bbox_to_rect as bbox_to_rect
from .detection import box_center_to_corner as box_center_to_corner
from .detection import box_corner_to_center as box_corner_to_center
from .detection import box_iou as box_iou
from .detection import load_data_shapes as load_data_shapes
from .detection import make_shapes as make_shapes
from .detection import multibox_detection as multibox_detection
from .detection import multibox_prior as multibox_prior
from .detection import multibox_target as multibox_target
from .detection import nms as nms
from .detection import offset_boxes as offset_boxes
from .detection import offset_inverse as offset_inverse
from .detection import show_bboxes as show_bboxes
from .devices import cpu as cpu
from .devices import gpu as gpu
from .devices import num_gpus as num_gpus
from .devices import try_all_gpus as try_all_gpus
from .devices import try_gpu as try_gpu
from .gradients import grad_clipping as grad_clipping
from .history import History as History
from .linear import linreg as linreg
from .linear import sgd as sgd
from .linear import squared_loss as squared_loss
from .memory import available_memory as available_memory
from .metrics import Accumulator as Accumulator
from .metrics import accuracy as accuracy
from .metrics import eval_mode as eval_mode
from .metrics import evaluate_accuracy as evaluate_accuracy
from .metrics import evaluate_accuracy_gpu as evaluate_accuracy_gpu
from .metrics import evaluate_loss as evaluate_loss
from .nmt import build_array_nmt as build_array_nmt
from .nmt import load_data_nmt as load_data_nmt
from .nmt import preprocess_nmt as preprocess_nmt
from .nmt import read_data_nmt as read_data_nmt
from .nmt import show_list_len_pair_hist as show_list_len_pair_hist
from .nmt import tokenize_nmt as tokenize_nmt
from .nmt import truncate_pad as truncate_pad
from .optimization import LossCurve as LossCurve
from .optimization import Trajectory as Trajectory
from .optimization import annotate as annotate
from .optimization import get_data_ch11 as get_data_ch11
from .optimization import show_trace_2d as show_trace_2d
from .optimization import train_2d as train_2d
from .optimization import train_ch11 as train_ch11
from .optimization import train_concise_ch11 as train_concise_ch11
from .plotting import plot as plot
from .plotting import plt as plt
from .plotting import set_axes as set_axes
from .plotting import set_figsize as set_figsize
from .plotting import show_heatmaps as show_heatmaps
from .plotting import show_images as show_images
from .plotting import use_svg_display as use_svg_display
from .quick import QUICK_FRACTION as QUICK_FRACTION
from .quick import QUICK_MAX_EPOCHS as QUICK_MAX_EPOCHS
from .quick import is_quick as is_quick
from .quick import quick_epochs as quick_epochs
from .quick import quick_share_epochs as quick_share_epochs
from .quick import show_mode as show_mode
from .rnn import RNNModel as RNNModel
from .rnn import RNNModelScratch as RNNModelScratch
from .rnn import predict_ch8 as predict_ch8
from .seed import set_seed as set_seed
from .seq2seq import AttentionDecoder as AttentionDecoder
from .seq2seq import Decoder as Decoder
from .seq2seq import Encoder as Encoder
from .seq2seq import EncoderDecoder as EncoderDecoder
from .seq2seq import MaskedSoftmaxCELoss as MaskedSoftmaxCELoss
from .seq2seq import Seq2SeqDecoder as Seq2SeqDecoder
from .seq2seq import Seq2SeqEncoder as Seq2SeqEncoder
from .seq2seq import bleu as bleu
from .seq2seq import sequence_mask as sequence_mask
from .shapes import layer_summary as layer_summary
from .text import HELDOUT_TOKENS as HELDOUT_TOKENS
from .text import SeqDataLoader as SeqDataLoader
from .text import Vocab as Vocab
from .text import count_corpus as count_corpus
from .text import load_corpus_time_machine as load_corpus_time_machine
from .text import load_data_time_machine as load_data_time_machine
from .text import read_time_machine as read_time_machine
from .text import seq_data_iter_random as seq_data_iter_random
from .text import seq_data_iter_sequential as seq_data_iter_sequential
from .text import tokenize as tokenize
from .timing import Timer as Timer
from .train_cnn import train_ch6 as train_ch6
from .train_rnn import evaluate_perplexity as evaluate_perplexity
from .train_rnn import train_ch8 as train_ch8
from .train_rnn import train_epoch_ch8 as train_epoch_ch8
from .train_seq2seq import train_seq2seq as train_seq2seq
from .train_vision import train_batch_ch13 as train_batch_ch13
from .train_vision import train_ch13 as train_ch13
from .transformer import AddNorm as AddNorm
from .transformer import DecoderBlock as DecoderBlock
from .transformer import EncoderBlock as EncoderBlock
from .transformer import PositionWiseFFN as PositionWiseFFN
from .transformer import TransformerDecoder as TransformerDecoder
from .transformer import TransformerEncoder as TransformerEncoder

__version__ = "0.1.0"


def _declared(*modules: str) -> list[str]:
    """The names that `modules` (submodules of this package) declare in their `__all__`."""
    import importlib

    return [name for m in modules for name in importlib.import_module(f".{m}", __name__).__all__]


__all__ = [
    "check",
    "exercises",
    "progress",
    *_declared(
        "activations",
        "animator",
        "attention",
        "bahdanau",
        "classification",
        "cnn",
        "data",
        "decoding",
        "detection",
        "devices",
        "gradients",
        "history",
        "linear",
        "memory",
        "metrics",
        "nmt",
        "optimization",
        "plotting",
        "quick",
        "rnn",
        "seed",
        "seq2seq",
        "shapes",
        "text",
        "timing",
        "train_cnn",
        "train_rnn",
        "train_seq2seq",
        "train_vision",
        "transformer",
    ),
]
