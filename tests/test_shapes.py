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
    assert [r[0].strip() for r in rows] == ["0", "0.0", "0.1", "1", "2", "total"]
    assert rows[1][2] == "(3, 8)" and rows[-1][2] == "(3, 2)"
    assert net.training


def test_layer_summary_counts_lazy_parameters_after_the_first_pass():
    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
    rows = d2l.layer_summary(net, torch.rand(3, 4), show=False)
    assert [r[3] for r in rows] == [4 * 8 + 8, 0, 8 * 2 + 2, 58]
