import pytest
import torch
from torch import nn

import d2lhelpers as d2l


def _lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Flatten(), nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10),
    )  # fmt: skip


def test_layer_summary_matches_the_books_loop(capsys):
    net = _lenet()
    X = torch.rand(1, 1, 28, 28)
    rows = d2l.layer_summary(net, X)
    expected = []
    for layer in net:
        X = layer(X)
        expected.append((type(layer).__name__, str(tuple(X.shape))))
    assert [(r[1], r[2]) for r in rows[:-1]] == expected
    assert rows[-1][3] == sum(p.numel() for p in net.parameters())
    out = capsys.readouterr().out
    assert "(1, 16, 5, 5)" in out and "output shape" in out


def test_layer_summary_nested_blocks_in_order_and_restores_mode():
    net = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Dropout(), nn.Linear(8, 2))
    net.train()
    rows = d2l.layer_summary(net, torch.rand(3, 4), depth=2, show=False)
    assert rows == [
        ("0", "Sequential", "(3, 8)", 4 * 8 + 8),
        ("  0.0", "Linear", "(3, 8)", 4 * 8 + 8),
        ("  0.1", "ReLU", "(3, 8)", 0),
        ("1", "Dropout", "(3, 8)", 0),
        ("2", "Linear", "(3, 2)", 8 * 2 + 2),
        ("total", "Sequential", "(3, 2)", 58),
    ]
    assert [r[0] for r in d2l.layer_summary(net, torch.rand(3, 4), show=False)] == [
        "0", "1", "2", "total",
    ]  # fmt: skip
    assert net.training
    with pytest.raises(ValueError, match="depth must be at least 1"):
        d2l.layer_summary(net, torch.rand(3, 4), depth=0)


def test_layer_summary_shows_tuple_outputs_and_runs_in_eval_mode(capsys):
    class Split(nn.Module):
        def forward(self, X):
            return X[:, :2], X[:, 2:]

    class Join(nn.Module):
        def forward(self, pair):
            return torch.cat(pair, 1)

    net = nn.Sequential(nn.Linear(3, 5), Split(), Join(), nn.BatchNorm1d(5))
    net.train()
    before = net[3].running_mean.clone()
    rows = d2l.layer_summary(net, torch.rand(4, 3))
    assert rows[1][1:3] == ("Split", "(4, 2), (4, 3)") and rows[2][2] == "(4, 5)"
    assert torch.equal(net[3].running_mean, before)  # eval mode: statistics untouched
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["layer", "type", "output", "shape", "params"]
    assert table[1].split() == ["0", "Linear", "(4,", "5)", "20"]
    assert table[-1].split() == ["total", "Sequential", "(4,", "5)", "30"]


def test_layer_summary_counts_lazy_parameters_after_the_first_pass():
    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
    rows = d2l.layer_summary(net, torch.rand(3, 4), show=False)
    assert [r[3] for r in rows] == [4 * 8 + 8, 0, 8 * 2 + 2, 58]


def test_layer_summary_lists_a_shared_layer_under_each_of_its_names_in_order():
    shared = nn.Linear(8, 8)  # the book's tied-weights net (07, parameter sharing)
    net = nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )
    rows = d2l.layer_summary(net, torch.rand(2, 4), show=False)
    assert [r[0] for r in rows] == ["0", "1", "2", "3", "4", "5", "6", "total"]
    assert [r[1] for r in rows[:-1]] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert rows[2][3] == rows[4][3] == 8 * 8 + 8
    # the whole net counts the shared layer once, as net.parameters() does
    assert rows[-1][3] == (4 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    assert "\n" not in repr(rows) and "1 + " not in repr(rows)


def test_layer_summary_repr_is_one_line(capsys):
    rows = d2l.layer_summary(_lenet(), torch.rand(1, 1, 28, 28))
    assert repr(rows) == "LayerRows(12 layers of Sequential; output (1, 10); 61,706 parameters)"
