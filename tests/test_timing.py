import functools
import time

import pytest
import torch
from torch import nn

import d2lhelpers as d2l
from d2lhelpers import Timer


def test_timer_records_laps_and_sums():
    timer = Timer()
    time.sleep(0.02)
    first = timer.stop()
    timer.start()
    time.sleep(0.01)
    second = timer.stop()
    assert first >= 0.02 and second >= 0.01
    assert timer.times == [first, second]
    assert timer.sum() == pytest.approx(first + second)
    assert timer.avg() == pytest.approx((first + second) / 2)
    assert timer.cumsum() == pytest.approx([first, first + second])


def test_timer_stop_without_start_is_an_error():
    timer = Timer()
    timer.stop()
    with pytest.raises(RuntimeError, match="before Timer.start"):
        timer.stop()


def test_empty_timer_average_is_zero():
    timer = Timer()
    timer.times.clear()
    assert timer.avg() == 0.0 and timer.sum() == 0.0 and timer.cumsum() == []


@pytest.fixture
def waits(monkeypatch):
    """A machine with CUDA (initialised) and MPS, whose synchronize calls are recorded."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    available = functools.wraps(torch.backends.mps.is_available)(lambda: True)  # dynamo reads
    monkeypatch.setattr(torch.backends.mps, "is_available", available)  # its __wrapped__
    monkeypatch.setattr(
        torch.cuda, "synchronize", lambda device=None: calls.append(("cuda", device))
    )
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append(("mps", None)))
    return calls


def test_a_cpu_timer_waits_for_no_accelerator(waits):
    for device in (None, "cpu", torch.device("cpu")):
        timer = Timer(device)
        timer.stop()
    # before: torch.mps.synchronize() whenever MPS existed, torch.cuda's whenever initialised
    assert waits == []


def test_a_timer_waits_only_for_the_device_it_times(waits):
    timer = Timer("cuda:1")
    timer.stop()
    assert waits == [("cuda", torch.device("cuda:1"))] * 2  # at start and at stop
    waits.clear()
    Timer(torch.device("mps")).stop()
    assert waits == [("mps", None)] * 2
    waits.clear()
    Timer(["cuda:0", "cuda:1"]).stop()  # several GPUs (nn.DataParallel): each one
    assert [d.index for _, d in waits] == [0, 1, 0, 1]


def test_trainers_time_their_own_device(waits):
    X, y = torch.rand(8, 1, 4, 4), torch.tensor([0, 1] * 4)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    d2l.train_ch6(net, [(X, y)], [(X, y)], 1, 0.1, "cpu")
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    d2l.train_ch13(net, [(X, y)], [(X, y)], loss, trainer, 1, ["cpu"])
    assert waits == []
