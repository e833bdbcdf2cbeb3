"""Data: the hub and its cache, Fashion-MNIST, synthetic data, batch loaders.

Each module declares its names in its `__all__`; they are imported here one by
one (`name as name`, an explicit re-export) and `__all__` joins the modules'
lists (tests/test_package.py checks that the two agree).
"""

from .fashion_mnist import FASHION_MNIST_LABELS as FASHION_MNIST_LABELS
from .fashion_mnist import get_dataloader_workers as get_dataloader_workers
from .fashion_mnist import get_fashion_mnist_labels as get_fashion_mnist_labels
from .fashion_mnist import load_data_fashion_mnist as load_data_fashion_mnist
from .fashion_mnist import load_fashion_mnist_arrays as load_fashion_mnist_arrays
from .fashion_mnist import torchvision_fashion_mnist_root as torchvision_fashion_mnist_root
from .hub import DATA_HUB as DATA_HUB
from .hub import DATA_URL as DATA_URL
from .hub import DownloadError as DownloadError
from .hub import data_dir as data_dir
from .hub import download as download
from .hub import download_all as download_all
from .hub import download_extract as download_extract
from .loader import BatchLoader as BatchLoader
from .synthetic import load_array as load_array
from .synthetic import synthetic_data as synthetic_data


def _declared(*modules: str) -> list[str]:
    """The names that `modules` (modules of this package) declare in their `__all__`."""
    import importlib

    return [name for m in modules for name in importlib.import_module(f".{m}", __name__).__all__]


__all__ = _declared("hub", "fashion_mnist", "loader", "synthetic")
