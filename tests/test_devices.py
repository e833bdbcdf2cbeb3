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


def test_try_gpu_falls_back_to_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert d2l.try_gpu() == torch.device("cpu")
    assert d2l.try_all_gpus() == [torch.device("cpu")]
    assert d2l.num_gpus() == 0


def test_mps_is_used_when_cuda_is_absent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert d2l.try_gpu() == torch.device("mps")
    assert d2l.try_gpu(1) == torch.device("cpu")
    assert d2l.try_all_gpus() == [torch.device("mps")]
    assert d2l.num_gpus() == 1
