"""The Fashion-MNIST loader against torchvision's reader, on the real data set.

Tests marked `needs_data` read Debian's copy of the real files and skip without it;
the error-path tests make their own files and run everywhere.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision.transforms import functional as TF

import d2lhelpers as d2l
from d2lhelpers.data import fashion_mnist as fm

STEMS = [f"{p}-{k}" for p in ("train", "t10k") for k in ("images-idx3-ubyte", "labels-idx1-ubyte")]

needs_data = pytest.mark.skipif(
    not all((fm.DEBIAN_DIR / f"{stem}.gz").is_file() for stem in STEMS),
    reason=f"needs the real Fashion-MNIST in {fm.DEBIAN_DIR} "
    "(sudo apt-get install dataset-fashion-mnist)",
)


@pytest.fixture(scope="module")
def torchvision_sets(tmp_path_factory):
    """torchvision's own FashionMNIST reader over the same real files."""
    raw = tmp_path_factory.mktemp("tv") / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in STEMS:
        with gzip.open(fm.DEBIAN_DIR / f"{stem}.gz") as src, open(raw / stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    root = raw.parents[1]
    train = torchvision.datasets.FashionMNIST(root, train=True, download=False)
    test = torchvision.datasets.FashionMNIST(root, train=False, download=False)
    return train, test


@needs_data
def test_arrays_equal_torchvision(torchvision_sets):
    train, test = torchvision_sets
    train_X, train_y, test_X, test_y = d2l.load_fashion_mnist_arrays()
    assert train_X.shape == (60000, 28, 28) and train_X.dtype == torch.uint8
    assert test_X.shape == (10000, 28, 28) and test_y.dtype == torch.int64
    assert torch.equal(train_X, train.data) and torch.equal(train_y, train.targets)
    assert torch.equal(test_X, test.data) and torch.equal(test_y, test.targets)


@needs_data
def test_arrays_are_loaded_once_per_process():
    assert d2l.load_fashion_mnist_arrays() is d2l.load_fashion_mnist_arrays()


@needs_data
def test_batches_match_to_tensor(torchvision_sets):
    _, test = torchvision_sets
    _, test_iter = d2l.load_data_fashion_mnist(32)
    X, y = next(iter(test_iter))
    expected = torch.stack([TF.to_tensor(test[i][0]) for i in range(32)])
    assert X.shape == (32, 1, 28, 28) and X.dtype == torch.float32
    assert torch.allclose(X, expected) and torch.equal(y, test.targets[:32])


@needs_data
def test_resize_matches_torchvision_resize():
    _, test_iter = d2l.load_data_fashion_mnist(8, resize=64)
    X, _ = next(iter(test_iter))
    raw = d2l.load_fashion_mnist_arrays()[2][:8].unsqueeze(1).float() / 255
    expected = TF.resize(
        raw, [64, 64], interpolation=TF.InterpolationMode.BILINEAR, antialias=False
    )
    assert X.shape == (8, 1, 64, 64)
    assert torch.allclose(X, expected, atol=1e-6)


@needs_data
def test_iterators_behave_like_dataloaders():
    train_iter, test_iter = d2l.load_data_fashion_mnist(256, seed=0)
    assert train_iter.batch_size == 256 and len(train_iter) == 235 and len(test_iter) == 40
    first = torch.cat([y for _, y in train_iter])
    second = torch.cat([y for _, y in train_iter])
    assert len(first) == 60000 and not torch.equal(first, second)  # reshuffled per epoch
    assert torch.equal(first.sort().values, second.sort().values)  # every example once
    again = torch.cat([y for _, y in d2l.load_data_fashion_mnist(256, seed=0)[0]])
    assert torch.equal(first, again)  # seedable
    ordered = torch.cat([y for _, y in test_iter])
    assert torch.equal(ordered, d2l.load_fashion_mnist_arrays()[3])  # test set in order


@needs_data
def test_quick_mode_uses_a_fixed_real_subset(monkeypatch):
    monkeypatch.setenv("D2L_QUICK", "1")
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    assert train_iter.num_examples == 6000 and test_iter.num_examples == 1000
    big_train, big_test = d2l.load_data_fashion_mnist(128, resize=224)
    # at 224x224 each image costs 64x more: 6000 / 64 = 93 images, but at least one batch
    assert big_train.num_examples == 128 and big_test.num_examples == 128
    mid_train, _ = d2l.load_data_fashion_mnist(128, resize=96)
    assert mid_train.num_examples == int(6000 * 28 * 28 / 96**2)  # 510
    X, y = next(iter(test_iter))
    assert torch.equal(y, d2l.load_fashion_mnist_arrays()[3][:256])  # the real first images


def test_labels_are_the_books_text_labels():
    assert d2l.get_fashion_mnist_labels(torch.tensor([0, 9, 5])) == [
        "t-shirt",
        "ankle boot",
        "sandal",
    ]


def test_a_corrupt_local_copy_is_refused(monkeypatch, tmp_path):
    folder = tmp_path / "root" / "fashion-mnist"
    folder.mkdir(parents=True)
    for stem in STEMS:
        (folder / stem).write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 12)
    with pytest.raises(ValueError, match="not the original Fashion-MNIST"):
        d2l.load_fashion_mnist_arrays(tmp_path / "root")


def test_without_any_copy_the_error_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(fm, "MIRROR", "http://127.0.0.1:9/")  # discard port: refused
    with pytest.raises(d2l.DownloadError, match="dataset-fashion-mnist"):
        d2l.load_fashion_mnist_arrays(tmp_path / "empty")
    assert not any(Path(tmp_path / "empty" / "fashion-mnist").glob("*.part"))


@pytest.fixture
def mirror_server(tmp_path):
    """A local HTTP server over a folder, standing in for the upstream mirror."""
    import functools
    import http.server
    import threading

    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@needs_data
def test_missing_files_are_downloaded_and_md5_checked(monkeypatch, tmp_path, mirror_server):
    import hashlib

    folder, url = mirror_server
    files = {}
    for stem in STEMS:
        data = (fm.DEBIAN_DIR / f"{stem}.gz").read_bytes()
        (folder / f"{stem}.gz").write_bytes(data)
        # Debian recompressed the files: its .gz MD5s stand in for upstream's here
        files[stem] = (fm._FILES[stem][0], hashlib.md5(data).hexdigest())
    monkeypatch.setattr(fm, "_FILES", files)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(fm, "MIRROR", url)
    arrays = d2l.load_fashion_mnist_arrays(tmp_path / "root")
    assert arrays[0].shape == (60000, 28, 28) and arrays[3].shape == (10000,)
    got = sorted(p.name for p in (tmp_path / "root" / "fashion-mnist").iterdir())
    assert got == sorted(f"{stem}.gz" for stem in STEMS)


def test_a_corrupt_download_is_refused_and_leaves_nothing(monkeypatch, tmp_path, mirror_server):
    folder, url = mirror_server
    for stem in STEMS:
        (folder / f"{stem}.gz").write_bytes(b"not fashion-mnist")
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(fm, "MIRROR", url)
    with pytest.raises(d2l.DownloadError, match="MD5 mismatch") as info:
        d2l.load_fashion_mnist_arrays(tmp_path / "root")
    assert "dataset-fashion-mnist" in str(info.value)
    assert list((tmp_path / "root" / "fashion-mnist").iterdir()) == []


@needs_data
def test_torchvision_root_serves_the_books_loader_offline(monkeypatch, tmp_path):
    from torchvision.datasets import mnist

    def no_network(*args, **kwargs):
        raise AssertionError("torchvision tried to download")

    monkeypatch.setattr(mnist, "download_and_extract_archive", no_network)
    root = d2l.torchvision_fashion_mnist_root(tmp_path)
    assert root == (tmp_path / "torchvision").resolve()
    train = torchvision.datasets.FashionMNIST(root=root, train=True, download=True)
    test = torchvision.datasets.FashionMNIST(root=root, train=False, download=True)
    train_X, train_y, test_X, test_y = d2l.load_fashion_mnist_arrays()
    assert torch.equal(train.data, train_X) and torch.equal(train.targets, train_y)
    assert torch.equal(test.data, test_X) and torch.equal(test.targets, test_y)
    raw = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(STEMS)  # no partial files left


@needs_data
def test_torchvision_root_is_written_once_and_repaired(tmp_path):
    raw = d2l.torchvision_fashion_mnist_root(tmp_path) / "FashionMNIST" / "raw"
    stamps = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    damaged = raw / "t10k-labels-idx1-ubyte"
    damaged.write_bytes(b"broken")
    d2l.torchvision_fashion_mnist_root(tmp_path)
    assert damaged.stat().st_size == 10008  # 8-byte header + 10,000 labels, rewritten
    for p in raw.iterdir():
        if p != damaged:
            assert p.stat().st_mtime_ns == stamps[p.name]  # good copies are not rewritten


def test_torchvision_root_refuses_a_corrupt_source(monkeypatch, tmp_path):
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for stem in STEMS:
        (folder / stem).write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 12)
    with pytest.raises(ValueError, match="not the original"):
        d2l.torchvision_fashion_mnist_root(tmp_path)
    assert not (tmp_path / "torchvision" / "FashionMNIST" / "raw").exists()
