"""The Fashion-MNIST loader against torchvision's reader of the same IDX files.

Every data test runs on generated IDX files (tests/data_fixtures.py: 1,200 training
and 400 test images in the real format) and, where Debian's package is installed,
on the real data set too; the error-path tests make their own files.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torchvision
from data_fixtures import FASHION_STEMS, real_data_or_skip, write_fashion_mnist
from torchvision.transforms import functional as TF

import d2lhelpers as d2l
from d2lhelpers.data import fashion_mnist as fm

STEMS = FASHION_STEMS


@dataclass
class FashionFiles:
    folder: Path  # where the four .gz files are
    n_train: int
    n_test: int
    files: dict  # stem -> (MD5 of the IDX bytes, MD5 of the .gz)


@pytest.fixture(params=["generated", "real"])
def fashion(request, monkeypatch, tmp_path) -> FashionFiles:
    """The files the loader finds: generated ones (always), or Debian's real copy."""
    monkeypatch.setattr(fm, "_CACHE", {})  # read this test's files, keep nothing afterwards
    if request.param == "real":
        real_data_or_skip(
            [fm.DEBIAN_DIR / f"{stem}.gz" for stem in STEMS],
            "sudo apt-get install dataset-fashion-mnist",
        )
        return FashionFiles(fm.DEBIAN_DIR, 60000, 10000, dict(fm._FILES))
    folder = tmp_path / "generated-fashion-mnist"
    files = write_fashion_mnist(folder)
    monkeypatch.setattr(fm, "DEBIAN_DIR", folder)  # found where Debian's package would be
    monkeypatch.setattr(fm, "_FILES", files)
    return FashionFiles(folder, 1200, 400, files)


@pytest.fixture
def torchvision_sets(fashion, tmp_path):
    """torchvision's own FashionMNIST reader over the same files."""
    raw = tmp_path / "tv" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in STEMS:
        with gzip.open(fashion.folder / f"{stem}.gz") as src, open(raw / stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    root = raw.parents[1]
    train = torchvision.datasets.FashionMNIST(root, train=True, download=False)
    test = torchvision.datasets.FashionMNIST(root, train=False, download=False)
    return train, test


def test_arrays_equal_torchvision(fashion, torchvision_sets):
    train, test = torchvision_sets
    train_X, train_y, test_X, test_y = d2l.load_fashion_mnist_arrays()
    assert train_X.shape == (fashion.n_train, 28, 28) and train_X.dtype == torch.uint8
    assert test_X.shape == (fashion.n_test, 28, 28) and test_y.dtype == torch.int64
    assert torch.equal(train_X, train.data) and torch.equal(train_y, train.targets)
    assert torch.equal(test_X, test.data) and torch.equal(test_y, test.targets)


def test_files_are_read_once_and_each_call_returns_its_own_copy(fashion, monkeypatch):
    reads = []
    read_idx = fm._read_idx
    monkeypatch.setattr(
        fm, "_read_idx", lambda path, stem: reads.append(stem) or read_idx(path, stem)
    )
    first = d2l.load_fashion_mnist_arrays()
    second = d2l.load_fashion_mnist_arrays()
    d2l.load_data_fashion_mnist(64)
    assert sorted(reads) == sorted(STEMS)  # the files were read once
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)
        assert a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr()


def test_a_learner_may_change_arrays_and_batches_in_place(fashion, torchvision_sets):
    """In-place edits of what the helpers hand out reach no later loader or call."""
    train, test = torchvision_sets
    for t in d2l.load_fashion_mnist_arrays():
        t.zero_()
    train_iter, test_iter = d2l.load_data_fashion_mnist(32, seed=0)
    for X, y in (next(iter(test_iter)), next(iter(train_iter))):
        X.fill_(0.5)
        y.fill_(7)
    with torch.no_grad():  # a training step that normalises its input in place
        for X, _ in d2l.load_data_fashion_mnist(100, resize=14)[1]:
            X.sub_(X.mean())
    train_X, train_y, test_X, test_y = d2l.load_fashion_mnist_arrays()
    assert torch.equal(train_X, train.data) and torch.equal(train_y, train.targets)
    assert torch.equal(test_X, test.data) and torch.equal(test_y, test.targets)
    X, y = next(iter(test_iter))  # the same loader, a second epoch
    assert torch.allclose(X, test.data[:32].unsqueeze(1) / 255) and torch.equal(
        y, test.targets[:32]
    )
    _, new_test_iter = d2l.load_data_fashion_mnist(32)
    X, y = next(iter(new_test_iter))
    assert torch.allclose(X, test.data[:32].unsqueeze(1) / 255) and torch.equal(
        y, test.targets[:32]
    )
    new_train_iter, _ = d2l.load_data_fashion_mnist(32, seed=0)
    shuffled = torch.cat([y for _, y in new_train_iter])
    assert torch.equal(shuffled.sort().values, train.targets.sort().values)


def test_batches_match_to_tensor(torchvision_sets):
    _, test = torchvision_sets
    _, test_iter = d2l.load_data_fashion_mnist(32)
    X, y = next(iter(test_iter))
    expected = torch.stack([TF.to_tensor(test[i][0]) for i in range(32)])
    assert X.shape == (32, 1, 28, 28) and X.dtype == torch.float32
    assert torch.allclose(X, expected) and torch.equal(y, test.targets[:32])


def test_resize_matches_torchvision_resize(torchvision_sets):
    _, test = torchvision_sets
    _, test_iter = d2l.load_data_fashion_mnist(8, resize=64)
    X, _ = next(iter(test_iter))
    raw = test.data[:8].unsqueeze(1).float() / 255
    expected = TF.resize(
        raw, [64, 64], interpolation=TF.InterpolationMode.BILINEAR, antialias=False
    )
    assert X.shape == (8, 1, 64, 64)
    assert torch.allclose(X, expected, atol=1e-6)


def test_iterators_behave_like_dataloaders(fashion, torchvision_sets):
    _, test = torchvision_sets
    train_iter, test_iter = d2l.load_data_fashion_mnist(256, seed=0)
    assert train_iter.batch_size == 256
    assert len(train_iter) == math.ceil(fashion.n_train / 256)  # real data: 235
    assert len(test_iter) == math.ceil(fashion.n_test / 256)  # real data: 40
    first = torch.cat([y for _, y in train_iter])
    second = torch.cat([y for _, y in train_iter])
    assert len(first) == fashion.n_train and not torch.equal(first, second)  # reshuffled
    assert torch.equal(first.sort().values, second.sort().values)  # every example once
    again = torch.cat([y for _, y in d2l.load_data_fashion_mnist(256, seed=0)[0]])
    assert torch.equal(first, again)  # seedable
    ordered = torch.cat([y for _, y in test_iter])
    assert torch.equal(ordered, test.targets)  # test set in order


def test_quick_mode_uses_a_fixed_real_subset(fashion, torchvision_sets, monkeypatch):
    _, test = torchvision_sets
    monkeypatch.setenv("D2L_QUICK", "1")
    tenth_train, tenth_test = fashion.n_train // 10, fashion.n_test // 10
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    assert (train_iter.num_examples, test_iter.num_examples) == (tenth_train, tenth_test)

    def expected(pixels: int, batch_size: int) -> int:
        # a tenth, fewer for larger images (same compute), but at least one batch
        return max(tenth_train * 28 * 28 // pixels, min(batch_size, tenth_train))

    big_train, _ = d2l.load_data_fashion_mnist(128, resize=224)
    assert big_train.num_examples == expected(224 * 224, 128)  # real data: 6000 / 64 -> 128
    mid_train, _ = d2l.load_data_fashion_mnist(128, resize=96)
    assert mid_train.num_examples == expected(96 * 96, 128)  # real data: 510
    X, y = next(iter(test_iter))
    assert torch.equal(y, test.targets[: len(y)])  # the first images of the real split


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


def test_missing_files_are_downloaded_and_md5_checked(
    fashion, monkeypatch, tmp_path, mirror_server
):
    folder, url = mirror_server
    files = {}
    for stem in STEMS:
        data = (fashion.folder / f"{stem}.gz").read_bytes()
        (folder / f"{stem}.gz").write_bytes(data)
        # these .gz files are not upstream's (Debian recompressed the real ones): their MD5s
        # stand in for upstream's here
        files[stem] = (fashion.files[stem][0], hashlib.md5(data).hexdigest())
    monkeypatch.setattr(fm, "_FILES", files)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(fm, "MIRROR", url)
    arrays = d2l.load_fashion_mnist_arrays(tmp_path / "root")
    assert arrays[0].shape == (fashion.n_train, 28, 28) and arrays[3].shape == (fashion.n_test,)
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


def test_torchvision_root_serves_the_books_loader_offline(fashion, monkeypatch, tmp_path):
    from torchvision.datasets import mnist

    def no_network(*args, **kwargs):
        raise AssertionError("torchvision tried to download")

    monkeypatch.setattr(mnist, "download_and_extract_archive", no_network)
    root = d2l.torchvision_fashion_mnist_root(tmp_path)
    assert root == (tmp_path / "torchvision").resolve()
    train = torchvision.datasets.FashionMNIST(root=root, train=True, download=True)
    test = torchvision.datasets.FashionMNIST(root=root, train=False, download=True)
    train_X, train_y, test_X, test_y = d2l.load_fashion_mnist_arrays()
    assert len(train_X) == fashion.n_train
    assert torch.equal(train.data, train_X) and torch.equal(train.targets, train_y)
    assert torch.equal(test.data, test_X) and torch.equal(test.targets, test_y)
    raw = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(STEMS)  # no partial files left


def test_torchvision_root_is_written_once_and_repaired(fashion, tmp_path):
    raw = d2l.torchvision_fashion_mnist_root(tmp_path) / "FashionMNIST" / "raw"
    stamps = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    damaged = raw / "t10k-labels-idx1-ubyte"
    damaged.write_bytes(b"broken")
    d2l.torchvision_fashion_mnist_root(tmp_path)
    assert damaged.stat().st_size == 8 + fashion.n_test  # 8-byte header + one byte a label
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
