"""The optimisation helpers against the book's printed traces, pandas and least squares."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from data_fixtures import real_data_or_skip, write_airfoil
from matplotlib.text import Annotation

import d2lhelpers as d2l
from d2lhelpers.data import hub

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


# The book's 2-D update rules (chapter 11 of d2l-zh), with the globals they read.
def gd_2d(x1, x2, s1, s2, f_grad):  # f = x1^2 + 2 x2^2, eta 0.1
    g1, g2 = f_grad(x1, x2)
    return (x1 - 0.1 * g1, x2 - 0.1 * g2, 0, 0)


def f_2d_grad(x1, x2):
    return (2 * x1, 4 * x2)


def ill_gd(eta):  # f = 0.1 x1^2 + 2 x2^2
    return lambda x1, x2, s1, s2: (x1 - eta * 0.2 * x1, x2 - eta * 4 * x2, 0, 0)


def momentum(eta, beta):
    def momentum_2d(x1, x2, v1, v2):
        v1 = beta * v1 + 0.2 * x1
        v2 = beta * v2 + 4 * x2
        return x1 - eta * v1, x2 - eta * v2, v1, v2

    return momentum_2d


def adagrad(eta):
    def adagrad_2d(x1, x2, s1, s2):
        eps = 1e-6
        g1, g2 = 0.2 * x1, 4 * x2
        s1 += g1**2
        s2 += g2**2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
        return x1, x2, s1, s2

    return adagrad_2d


def rmsprop(eta, gamma):
    def rmsprop_2d(x1, x2, s1, s2):
        g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6
        s1 = gamma * s1 + (1 - gamma) * g1**2
        s2 = gamma * s2 + (1 - gamma) * g2**2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
        return x1, x2, s1, s2

    return rmsprop_2d


# (trainer, f_grad, the line the book printed); source: shared/reference/chapters-10-15.md, 14
BOOK_TRACES = {
    "gd": (gd_2d, f_2d_grad, "epoch 20, x1: -0.057646, x2: -0.000073"),
    "gd eta 0.4": (ill_gd(0.4), None, "epoch 20, x1: -0.943467, x2: -0.000073"),
    "gd eta 0.6": (ill_gd(0.6), None, "epoch 20, x1: -0.387814, x2: -1673.365109"),
    "momentum 0.5": (momentum(0.6, 0.5), None, "epoch 20, x1: 0.007188, x2: 0.002553"),
    "momentum 0.25": (momentum(0.6, 0.25), None, "epoch 20, x1: -0.126340, x2: -0.186632"),
    "adagrad 0.4": (adagrad(0.4), None, "epoch 20, x1: -2.382563, x2: -0.158591"),
    "adagrad 2": (adagrad(2), None, "epoch 20, x1: -0.002295, x2: -0.000000"),
    "rmsprop": (rmsprop(0.4, 0.9), None, "epoch 20, x1: -0.010599, x2: 0.000000"),
}


@pytest.mark.parametrize("name", list(BOOK_TRACES))
def test_train_2d_prints_the_books_trace(name, capsys):
    trainer, f_grad, printed = BOOK_TRACES[name]
    results = d2l.train_2d(trainer, f_grad=f_grad)
    assert capsys.readouterr().out == printed + "\n"
    assert len(results) == 21 and results[0] == (-5.0, -2.0)
    x1, x2 = (float(v) for v in printed.replace(",", "").split()[3::2])
    assert results[-1] == pytest.approx((x1, x2), abs=1e-6)


def test_train_2d_counts_steps_and_has_a_one_line_repr(capsys):
    results = d2l.train_2d(gd_2d, steps=50, f_grad=f_2d_grad)
    assert capsys.readouterr().out.startswith("epoch 50, ")
    assert len(results) == 51 and isinstance(results, list)
    assert "\n" not in repr(results) and repr(results).startswith("Trajectory(51 points")
    # a plain gradient step on x1^2 + 2 x2^2 from (-5, -2): x1 shrinks by 0.8 each step
    assert results[50][0] == pytest.approx(-5 * 0.8**50)


def test_show_trace_2d_draws_the_path_on_the_books_contour_grid():
    fig, ax = d2l.plt.subplots()
    results = [(-5.0, -2.0), (-4.0, -1.2), (-3.2, -0.72)]
    out = d2l.show_trace_2d(lambda x1, x2: x1**2 + 2 * x2**2, results, axes=ax)
    assert out is None
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [-5.0, -4.0, -3.2]
    assert list(line.get_ydata()) == [-2.0, -1.2, -0.72]
    assert ax.collections, "no contour lines were drawn"
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
    d2l.plt.close(fig)


def test_annotate_points_an_arrow_at_xy_on_the_current_axes():
    fig = d2l.plt.figure()
    ax = fig.gca()
    assert d2l.annotate("saddle point", (0, -0.2), (-0.52, -5.0)) is None
    (note,) = [c for c in ax.get_children() if isinstance(c, Annotation)]
    assert note.get_text() == "saddle point" and note.xy == (0, -0.2)
    assert note.arrow_patch is not None
    d2l.plt.close(fig)


def _standardise_with_pandas(path) -> pd.DataFrame:
    """The reference: pandas, float64, population std (ddof=0) as the book's numpy code."""
    table = pd.read_csv(path, sep="\t", header=None)
    return (table - table.mean()) / table.std(ddof=0)


def _all_rows(data_iter) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = data_iter.dataset.tensors
    return X, y


@pytest.fixture
def tiny_airfoil(monkeypatch, tmp_path):
    """A small tab-separated file registered as 'airfoil' in a file:// mirror."""
    rng = np.random.default_rng(0)
    table = rng.normal(loc=[1000, 5, 0.1, 40, 0.01, 120], scale=[500, 3, 0.05, 10, 0.005, 6],
                       size=(37, 6))  # fmt: skip
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    path = mirror / "airfoil_self_noise.dat"
    path.write_text("\n".join("\t".join(f"{v:.6g}" for v in row) for row in table) + "\n")
    sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
    monkeypatch.setitem(hub.DATA_HUB, "airfoil", (hub.DATA_URL + path.name, sha1))
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    return path


def test_get_data_ch11_standardises_every_column_like_pandas(tiny_airfoil):
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=4, n=30)
    assert feature_dim == 5
    X, y = _all_rows(data_iter)
    assert X.shape == (30, 5) and y.shape == (30,) and X.dtype == torch.float32
    expected = torch.tensor(_standardise_with_pandas(tiny_airfoil).to_numpy(), dtype=torch.float32)
    assert torch.allclose(X, expected[:30, :5], atol=1e-5)
    assert torch.allclose(y, expected[:30, 5], atol=1e-5)
    Xb, yb = next(iter(data_iter))
    assert Xb.shape == (4, 5) and yb.shape == (4,)


@pytest.fixture(params=["generated", "real"])
def airfoil(request, monkeypatch, tmp_path):
    """The airfoil table get_data_ch11 reads: a generated one of the same shape (1,503 x 6,
    about half the variance linear; tests/data_fixtures.py), or the book's file where the
    offline copy exists. Checks against the book's printed losses run on the real one only."""
    if request.param == "real":
        real_data_or_skip([SHARED / "airfoil_self_noise.dat"], "the offline copy in ../shared/data")
        monkeypatch.setenv("D2L_DATA_URL", SHARED.as_uri())
        return SHARED / "airfoil_self_noise.dat"
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    path = mirror / "airfoil_self_noise.dat"
    sha1 = write_airfoil(path)
    monkeypatch.setitem(hub.DATA_HUB, "airfoil", (hub.DATA_URL + path.name, sha1))
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    return path


def test_get_data_ch11_on_the_airfoil_table(airfoil, monkeypatch):
    data_iter, feature_dim = d2l.get_data_ch11()
    X, y = _all_rows(data_iter)
    assert feature_dim == 5 and X.shape == (1500, 5) and y.shape == (1500,)
    reference = _standardise_with_pandas(airfoil)
    assert len(reference) == 1503  # standardised over all rows, then the first 1,500 kept
    expected = torch.tensor(reference.to_numpy(), dtype=torch.float32)
    assert torch.allclose(X, expected[:1500, :5], atol=1e-4)  # float32 statistics
    assert torch.allclose(y, expected[:1500, 5], atol=1e-4)
    assert len(data_iter) == 150  # batches of 10
    monkeypatch.setenv("D2L_QUICK", "1")  # quick mode keeps the data; only epochs are capped
    quick_iter, _ = d2l.get_data_ch11()
    assert len(quick_iter.dataset) == 1500


def _least_squares_loss(data_iter) -> float:
    """The smallest mean squared loss / 2 any w, b can reach (torch.linalg.lstsq)."""
    X, y = _all_rows(data_iter)
    A = torch.cat([X, torch.ones(len(X), 1)], 1).double()
    sol = torch.linalg.lstsq(A, y.double()[:, None]).solution
    return float(((A @ sol - y.double()[:, None]) ** 2).mean() / 2)


def sgd(params, states, hyperparams):  # the book's chapter-11 rule
    for p in params:
        p.data.sub_(hyperparams["lr"] * p.grad)
        p.grad.data.zero_()


LINE = re.compile(r"^loss: \d\.\d{3}, \d+\.\d{3} sec/epoch\n$")


def test_train_ch11_descends_to_the_least_squares_loss(airfoil, capsys):
    torch.manual_seed(0)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    result = d2l.train_ch11(sgd, None, {"lr": 0.05}, data_iter, feature_dim)
    assert LINE.match(capsys.readouterr().out)
    times, losses = result  # unpacks as the book's (timer.cumsum(), animator.Y[0])
    assert len(times) == len(losses) == 15  # every 200 of 2 x 1,500 examples
    assert result.examples == list(range(200, 3001, 200))
    assert result.epochs[-1] == pytest.approx(3000 / 1500)
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))
    best = _least_squares_loss(data_iter)
    assert losses[0] > losses[-1] >= best - 1e-6
    assert losses[-1] - best < 0.01
    assert "\n" not in repr(result) and repr(result).startswith("LossCurve(15 points")


def test_train_ch11_gradient_descent_uses_whole_batches(airfoil, capsys):
    torch.manual_seed(0)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=1500)
    times, losses = d2l.train_ch11(sgd, None, {"lr": 1}, data_iter, feature_dim, 10)
    assert len(losses) == 5  # n = 3000, 6000, ... are the multiples of 200
    assert losses[-1] < losses[0] and losses[-1] >= _least_squares_loss(data_iter) - 1e-6
    if airfoil.parent == SHARED:  # the book's file
        assert abs(losses[-1] - 0.243) < 0.01  # book: 0.243


def test_train_concise_ch11_ends_near_the_books_loss(airfoil, capsys):
    torch.manual_seed(0)
    data_iter, _ = d2l.get_data_ch11(batch_size=10)
    result = d2l.train_concise_ch11(torch.optim.SGD, {"lr": 0.01}, data_iter)
    assert LINE.match(capsys.readouterr().out)
    times, losses = result
    assert len(losses) == 30  # 4 epochs
    assert losses[0] > losses[-1]
    best = _least_squares_loss(data_iter)
    assert best - 1e-6 <= losses[-1] < best + 0.01
    if airfoil.parent == SHARED:  # the book's file
        assert abs(losses[-1] - 0.243) < 0.005  # the book's concise minibatch SGD: 0.243


def test_quick_mode_caps_the_epochs(airfoil, monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    result = d2l.train_ch11(sgd, None, {"lr": 0.05}, data_iter, feature_dim, num_epochs=10)
    assert result.epochs[-1] == pytest.approx(2.0)
    assert result.examples == [600, 1200, 1800, 2400, 3000]  # a third of the evaluations
    result = d2l.train_concise_ch11(torch.optim.SGD, {"lr": 0.01}, data_iter)
    assert result.epochs[-1] == pytest.approx(2.0) and len(result.losses) == 5


def test_the_whole_data_loss_equals_evaluate_loss_over_the_batches():
    from d2lhelpers.optimization import _full_loss

    torch.manual_seed(0)
    X, y = torch.randn(37, 5), torch.randn(37)
    data_iter = d2l.load_array((X, y), batch_size=4)
    net = torch.nn.Linear(5, 1)
    loss = torch.nn.MSELoss(reduction="none")
    expected = d2l.evaluate_loss(net, data_iter, loss)
    assert _full_loss(net, data_iter, loss) == pytest.approx(expected)  # one batch
    assert _full_loss(net, list(data_iter), loss) == pytest.approx(expected)  # batch by batch
