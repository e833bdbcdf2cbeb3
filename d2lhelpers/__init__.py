"""d2lhelpers: the tested helper library of the course, used as `import d2lhelpers as d2l`.

Names and signatures follow the book's `d2l.torch` (PyTorch edition), so code
written for the book runs unchanged. Importing the package has no side effects:
no seeding, no matplotlib settings, no downloads, no device probing.
"""

from .activations import checkpointed_forward, saved_activation_bytes
from .animator import Animator
from .attention import (
    AdditiveAttention,
    DotProductAttention,
    MultiHeadAttention,
    PositionalEncoding,
    masked_softmax,
    transpose_output,
    transpose_qkv,
)
from .bahdanau import AttentionDecoder, Seq2SeqAttentionDecoder
from .beam_search import predict_seq2seq_beam
from .checks import check, exercises, progress
from .classification import predict_ch3, train_ch3, train_epoch_ch3
from .cnn import Residual, corr2d, resnet18
from .data import (
    DATA_HUB,
    DATA_URL,
    FASHION_MNIST_LABELS,
    BatchLoader,
    DownloadError,
    data_dir,
    download,
    download_all,
    download_extract,
    get_dataloader_workers,
    get_fashion_mnist_labels,
    load_array,
    load_data_fashion_mnist,
    load_fashion_mnist_arrays,
    synthetic_data,
    torchvision_fashion_mnist_root,
)
from .detection import (
    assign_anchor_to_bbox,
    batched_nms,
    bbox_to_rect,
    box_center_to_corner,
    box_corner_to_center,
    box_iou,
    multibox_detection,
    multibox_prior,
    multibox_target,
    nms,
    offset_boxes,
    offset_inverse,
    show_bboxes,
)
from .devices import cpu, gpu, num_gpus, try_all_gpus, try_gpu
from .history import History
from .linear import linreg, sgd, squared_loss
from .memory import available_memory
from .metrics import (
    Accumulator,
    accuracy,
    eval_mode,
    evaluate_accuracy,
    evaluate_accuracy_gpu,
    evaluate_loss,
)
from .nmt import (
    build_array_nmt,
    load_data_nmt,
    preprocess_nmt,
    read_data_nmt,
    show_list_len_pair_hist,
    tokenize_nmt,
    truncate_pad,
)
from .optimization import (
    LossCurve,
    Trajectory,
    annotate,
    get_data_ch11,
    show_trace_2d,
    train_2d,
    train_ch11,
    train_concise_ch11,
)
from .plotting import plot, plt, set_axes, set_figsize, show_heatmaps, show_images, use_svg_display
from .quick import QUICK_FRACTION, QUICK_MAX_EPOCHS, is_quick, quick_epochs, show_mode
from .rnn import RNNModel, RNNModelScratch, predict_ch8
from .seed import set_seed
from .seq2seq import (
    Decoder,
    Encoder,
    EncoderDecoder,
    MaskedSoftmaxCELoss,
    Seq2SeqDecoder,
    Seq2SeqEncoder,
    bleu,
    sequence_mask,
)
from .shapes import layer_summary
from .text import (
    HELDOUT_TOKENS,
    SeqDataLoader,
    Vocab,
    count_corpus,
    load_corpus_time_machine,
    load_data_time_machine,
    read_time_machine,
    seq_data_iter_random,
    seq_data_iter_sequential,
    tokenize,
)
from .timing import Timer
from .train_cnn import train_ch6
from .train_rnn import evaluate_perplexity, grad_clipping, train_ch8, train_epoch_ch8
from .train_seq2seq import predict_seq2seq, train_seq2seq
from .train_vision import train_batch_ch13, train_ch13
from .transformer import (
    AddNorm,
    DecoderBlock,
    EncoderBlock,
    PositionWiseFFN,
    TransformerDecoder,
    TransformerEncoder,
)

__version__ = "0.1.0"

__all__ = [
    # exercises
    "check",
    "exercises",
    "progress",
    # timing and metrics
    "Timer",
    "Accumulator",
    "accuracy",
    "eval_mode",
    "evaluate_accuracy",
    "evaluate_accuracy_gpu",
    "evaluate_loss",
    # plotting
    "plt",
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "show_images",
    "show_heatmaps",
    "Animator",
    "History",
    # devices and reproducibility
    "cpu",
    "gpu",
    "num_gpus",
    "try_gpu",
    "try_all_gpus",
    "set_seed",
    # quick mode
    "QUICK_FRACTION",
    "QUICK_MAX_EPOCHS",
    "is_quick",
    "quick_epochs",
    "show_mode",
    # data
    "DATA_HUB",
    "DATA_URL",
    "DownloadError",
    "data_dir",
    "download",
    "download_extract",
    "download_all",
    "BatchLoader",
    "FASHION_MNIST_LABELS",
    "get_fashion_mnist_labels",
    "get_dataloader_workers",
    "load_fashion_mnist_arrays",
    "load_data_fashion_mnist",
    "torchvision_fashion_mnist_root",
    "synthetic_data",
    "load_array",
    # linear networks and classifiers
    "linreg",
    "squared_loss",
    "sgd",
    "train_epoch_ch3",
    "train_ch3",
    "predict_ch3",
    # convolutional networks
    "corr2d",
    "Residual",
    "resnet18",
    "layer_summary",
    "train_ch6",
    # fitting a training step into memory
    "available_memory",
    "saved_activation_bytes",
    "checkpointed_forward",
    # optimisation
    "annotate",
    "Trajectory",
    "train_2d",
    "show_trace_2d",
    "get_data_ch11",
    "LossCurve",
    "train_ch11",
    "train_concise_ch11",
    # text and recurrent networks
    "read_time_machine",
    "tokenize",
    "count_corpus",
    "Vocab",
    "load_corpus_time_machine",
    "seq_data_iter_random",
    "seq_data_iter_sequential",
    "SeqDataLoader",
    "load_data_time_machine",
    "HELDOUT_TOKENS",
    "RNNModelScratch",
    "RNNModel",
    "predict_ch8",
    "grad_clipping",
    "train_epoch_ch8",
    "train_ch8",
    "evaluate_perplexity",
    # computer vision
    "train_batch_ch13",
    "train_ch13",
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
    # sequence to sequence
    "read_data_nmt",
    "preprocess_nmt",
    "tokenize_nmt",
    "show_list_len_pair_hist",
    "truncate_pad",
    "build_array_nmt",
    "load_data_nmt",
    "Encoder",
    "Decoder",
    "EncoderDecoder",
    "Seq2SeqEncoder",
    "Seq2SeqDecoder",
    "sequence_mask",
    "MaskedSoftmaxCELoss",
    "train_seq2seq",
    "predict_seq2seq",
    "predict_seq2seq_beam",
    "bleu",
    # attention and the Transformer
    "masked_softmax",
    "AdditiveAttention",
    "DotProductAttention",
    "AttentionDecoder",
    "Seq2SeqAttentionDecoder",
    "transpose_qkv",
    "transpose_output",
    "MultiHeadAttention",
    "PositionalEncoding",
    "PositionWiseFFN",
    "AddNorm",
    "EncoderBlock",
    "TransformerEncoder",
    "DecoderBlock",
    "TransformerDecoder",
]
