import pytest
import torch

import d2lhelpers as d2l


def test_cpu_and_gpu_devices():
    assert d2l.cpu() == torch.device("cpu")
    assert d2l.gpu(1) == torch.device("cuda:1")


def test_try_gpu_matches_what_torch_reports():
    if torch.cuda.is_available():
        assert d2l.try_gpu() == torch.device("cuda:0")
        assert d2l.num_gpus() == torch.cuda.device_count()
        assert d2l.try_gpu(d2l.num_gpus()) == torch.device("cpu")
    elif torch.backends.mps.is_available():
        assert d2l.try_gpu() == torch.device("mps")
    else:
        assert d2l.num_gpus() == 0
        assert d2l.try_gpu() == torch.device("cpu")
        assert d2l.try_gpu(3) == torch.device("cpu")
        assert d2l.try_all_gpus() == [torch.device("cpu")]


# (CUDA devices, MPS available) -> the accelerators torch would run on
SITUATIONS = {
    "two CUDA devices": ((2, False), ["cuda:0", "cuda:1"]),
    "CUDA beside MPS": ((1, True), ["cuda:0"]),
    "MPS only": ((0, True), ["mps"]),
    "nothing": ((0, False), []),
}


@pytest.mark.parametrize("situation,expected", SITUATIONS.values(), ids=SITUATIONS.keys())
def test_the_four_helpers_describe_the_same_devices(monkeypatch, situation, expected):
    n_cuda, mps = situation
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n_cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n_cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    expected = [torch.device(d) for d in expected]
    assert d2l.num_gpus() == len(expected)
    assert [d2l.gpu(i) for i in range(d2l.num_gpus())] == expected
    assert [d2l.try_gpu(i) for i in range(d2l.num_gpus())] == expected
    assert d2l.try_gpu(len(expected)) == d2l.try_gpu(-1) == torch.device("cpu")
    assert d2l.try_all_gpus() == (expected or [torch.device("cpu")])
    assert d2l.try_gpu() == (expected[0] if expected else torch.device("cpu"))
