"""Data: the hub and its cache, Fashion-MNIST, synthetic data, batch loaders."""

from .fashion_mnist import (
    FASHION_MNIST_LABELS,
    get_dataloader_workers,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    load_fashion_mnist_arrays,
    torchvision_fashion_mnist_root,
)
from .hub import (
    DATA_HUB,
    DATA_URL,
    DownloadError,
    data_dir,
    download,
    download_all,
    download_extract,
)
from .loader import BatchLoader
from .synthetic import load_array, synthetic_data

__all__ = [
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
]
