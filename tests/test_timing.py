import time

import pytest

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
