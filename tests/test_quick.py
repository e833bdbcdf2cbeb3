import pytest

import d2lhelpers as d2l


@pytest.mark.parametrize(
    "value,expected", [("1", True), ("yes", True), ("0", False), ("", False), ("off", False)]
)
def test_is_quick_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("D2L_QUICK", value)
    assert d2l.is_quick() is expected


def test_quick_epochs_caps_only_in_quick_mode(monkeypatch):
    assert d2l.quick_epochs(10) == 10
    monkeypatch.setenv("D2L_QUICK", "1")
    assert d2l.quick_epochs(10) == d2l.QUICK_MAX_EPOCHS == 2
    assert d2l.quick_epochs(1) == 1


def test_show_mode_prints_one_line(monkeypatch, capsys):
    assert d2l.show_mode() is False
    assert "full mode" in capsys.readouterr().out
    monkeypatch.setenv("D2L_QUICK", "1")
    assert d2l.show_mode() is True
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "6,000/60,000" in out and "2 epochs" in out


def test_quick_share_epochs_keeps_a_tenth_but_at_least_ten(monkeypatch):
    from d2lhelpers.quick import quick_share_epochs

    assert quick_share_epochs(500) == 500
    monkeypatch.setenv("D2L_QUICK", "1")
    assert [quick_share_epochs(n) for n in (500, 300, 30, 5)] == [50, 30, 10, 5]
