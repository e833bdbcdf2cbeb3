"""Optimisation demos: 2-D trajectories on contour plots, and the airfoil trainers.

`train_2d` runs a hand-written update rule from (-5, -2) and prints where it
ends, `show_trace_2d` draws the path on the contour plot of the objective, and
`train_ch11` / `train_concise_ch11` fit linear regression on the standardised
airfoil data (`get_data_ch11`) with a from-scratch or a `torch.optim` optimiser.
The update rules themselves (`sgd_momentum`, `adagrad`, ...) are the chapter's
subject and stay in the notebook. Introduced in 14_optimization.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from torch import nn
from torch.utils import data

from ._reporting import Report, check_loader, no_batches
from .data import download, load_array
from .linear import linreg, squared_loss
from .metrics import eval_mode, evaluate_loss
from .plotting import plt
from .quick import is_quick

__all__ = [
    "annotate",
    "Trajectory",
    "train_2d",
    "show_trace_2d",
    "get_data_ch11",
    "LossCurve",
    "train_ch11",
    "train_concise_ch11",
]

#: The book's trainers evaluate the whole data set after every this many examples.
EVAL_EVERY = 200
#: Quick mode evaluates (and redraws the live plot) three times less often.
QUICK_EVAL_EVERY = 600


def annotate(text: str, xy: tuple[float, float], xytext: tuple[float, float]) -> None:
    """Write `text` at `xytext` with an arrow pointing at `xy` on the current axes."""
    plt.gca().annotate(text, xy=xy, xytext=xytext, arrowprops=dict(arrowstyle="->"))


class Trajectory(list):
    """The points `(x1, x2)` a 2-D optimiser visited, start included.

    A plain list of float pairs whose repr is one line (start, end, length).
    """

    def __repr__(self) -> str:
        if not self:
            return "Trajectory(0 points)"
        (a1, a2), (b1, b2) = self[0], self[-1]
        return f"Trajectory({len(self)} points, ({a1:g}, {a2:g}) -> ({b1:f}, {b2:f}))"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython: same one line
        p.text(repr(self))


def train_2d(trainer: Callable, steps: int = 20, f_grad: Callable | None = None) -> Trajectory:
    """Optimise a 2-D objective with a custom update rule, starting at (-5, -2).

    `trainer(x1, x2, s1, s2)` (or `trainer(x1, x2, s1, s2, f_grad)` when `f_grad`
    is given) returns the new `(x1, x2, s1, s2)`; s1 and s2 are the rule's state
    (momentum, sums of squares), starting at 0. Prints the last point as the book
    does (`epoch 20, x1: -0.057646, x2: -0.000073`) and returns all `steps + 1` points.
    """
    x1, x2, s1, s2 = -5, -2, 0, 0
    results = Trajectory([(float(x1), float(x2))])
    for _ in range(steps):
        if f_grad:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2, f_grad)
        else:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
        results.append((float(x1), float(x2)))
    print(f"epoch {steps}, x1: {float(x1):f}, x2: {float(x2):f}")
    return results


def show_trace_2d(f: Callable, results: Iterable, axes: Axes | None = None) -> None:
    """Draw the path `results` of a 2-D optimiser on the contour lines of `f(x1, x2)`.

    The contours cover x1 in [-5.5, 1) and x2 in [-3, 1), as in the book; `f` gets
    two (65, 40) tensors from `torch.meshgrid(..., indexing='ij')`. A new
    3.5 x 2.5 in figure is drawn unless `axes` is given.
    """
    if axes is None:
        axes = plt.figure(figsize=(3.5, 2.5)).gca()
    points = [(float(a), float(b)) for a, b in results]
    axes.plot(*zip(*points, strict=True), "-o", color="#ff7f0e")
    x1, x2 = torch.meshgrid(
        torch.arange(-5.5, 1.0, 0.1), torch.arange(-3.0, 1.0, 0.1), indexing="ij"
    )
    z = f(x1, x2)
    z = z.detach().numpy() if isinstance(z, torch.Tensor) else np.asarray(z)
    axes.contour(x1.numpy(), x2.numpy(), z, colors="#1f77b4")
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")


def get_data_ch11(batch_size: int = 10, n: int = 1500) -> tuple[data.DataLoader, int]:
    """The airfoil self-noise data, standardised, as a shuffled loader of its first n rows.

    Every column of the 1,503 x 6 table is standardised over all rows (population
    std, ddof=0, as the book's numpy code does). Batches are X (batch_size, 5) and
    y (batch_size,), the sound level. Returns `(data_iter, feature_dim)` with
    feature_dim 5. Quick mode uses the same rows: the data are small, and the
    trainers' epoch cap is what saves time.
    """
    raw = np.genfromtxt(download("airfoil"), dtype=np.float32, delimiter="\t")
    table = torch.from_numpy((raw - raw.mean(axis=0)) / raw.std(axis=0))
    data_iter = load_array((table[:n, :-1], table[:n, -1]), batch_size, is_train=True)
    return data_iter, table.shape[1] - 1


class LossCurve(tuple):
    """What `train_ch11` measured; unpacks as the book's pair `(times, losses)`.

    times: cumulative training seconds at each evaluation (evaluations excluded);
    losses: the loss on the whole data set at each evaluation. Also `.epochs`
    (the plot's x values), `.examples` (examples seen at each evaluation) and
    `.sec_per_epoch`. The repr is one line.
    """

    epochs: list[float]
    examples: list[int]
    sec_per_epoch: float

    def __new__(
        cls,
        times: list[float],
        losses: list[float],
        epochs: list[float],
        examples: list[int],
        sec_per_epoch: float,
    ) -> LossCurve:
        self = super().__new__(cls, (list(times), list(losses)))
        self.epochs, self.examples, self.sec_per_epoch = list(epochs), list(examples), sec_per_epoch
        return self

    @property
    def times(self) -> list[float]:
        """Cumulative training time in seconds at each evaluation."""
        return self[0]

    @property
    def losses(self) -> list[float]:
        """Loss on the whole data set at each evaluation."""
        return self[1]

    def __repr__(self) -> str:
        last = f"{self.losses[-1]:.3f}" if self.losses else "-"
        return (
            f"LossCurve({len(self.losses)} points, loss {last}, {self.sec_per_epoch:.3f} sec/epoch)"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython: same one line
        p.text(repr(self))


def _num_examples(data_iter: Iterable) -> int | None:
    dataset = getattr(data_iter, "dataset", None)
    return len(dataset) if dataset is not None else None


def _feature_dim(data_iter: Iterable) -> int:
    dataset = getattr(data_iter, "dataset", None)
    if dataset is not None:
        return dataset[0][0].numel()
    batch = next(iter(data_iter), None)
    if batch is None:
        raise no_batches("data_iter")
    return batch[0][0].numel()


def _full_loss(net: Callable, data_iter: Iterable, loss: Callable) -> float:
    """Mean per-example loss over all of `data_iter`; one batch when it wraps tensors."""
    dataset = getattr(data_iter, "dataset", None)
    if isinstance(dataset, data.TensorDataset) and len(dataset.tensors) == 2:
        X, y = dataset.tensors
        with eval_mode(net):
            out = net(X)
            return float(loss(out, y.reshape(out.shape)).mean())
    return evaluate_loss(net, data_iter, loss)


Step = Callable[[torch.Tensor, torch.Tensor], None]


def _fit(
    step: Step, net: Callable, loss: Callable, data_iter: Iterable, num_epochs: int, scale: float
) -> LossCurve:
    """The loop both trainers share: `step(X, y)` updates; evaluate every 200 examples.

    The loss on the whole data set is plotted every 200 examples as in the book,
    and once more at the end when the run stopped between two evaluations.
    Quick mode caps the epochs at 2 and evaluates every 600 examples: the same
    training, a third of the evaluations and live-plot redraws (which cost more
    than the training itself).
    """
    report = Report(num_epochs, ylabel="loss", xstart=0, ylim=[0.22, 0.35])
    num_examples = _num_examples(data_iter)
    eval_every = QUICK_EVAL_EVERY if is_quick() else EVAL_EVERY
    n, examples = 0, []

    def evaluate(batch_size: int) -> None:
        # the book's x value n / X.shape[0] / len(data_iter) assumes full batches
        epoch = n / num_examples if num_examples else n / batch_size / len(data_iter)  # type: ignore[arg-type]
        report.plot(epoch, (_full_loss(net, data_iter, loss) * scale,))
        examples.append(n)

    report.timer.start()
    for epoch in range(report.epochs):
        seen = n
        for X, y in data_iter:
            step(X, y)
            n += X.shape[0]
            if n % eval_every == 0:
                report.timer.stop()
                evaluate(X.shape[0])
                report.timer.start()
        report.trained_on(n - seen, epoch, "data_iter")
    report.timer.stop()
    if not examples or examples[-1] != n:
        evaluate(X.shape[0])
    sec_per_epoch = report.timer.sum() / report.epochs
    losses = report.animator.Y[0]
    report.close(f"loss: {losses[-1]:.3f}, {sec_per_epoch:.3f} sec/epoch")
    cumulative = report.timer.cumsum()
    return LossCurve(
        cumulative[: len(losses)], losses, report.animator.X[0], examples, sec_per_epoch
    )


def train_ch11(
    trainer_fn: Callable[[list[torch.Tensor], Any, dict], None],
    states: Any,
    hyperparams: dict,
    data_iter: Iterable,
    feature_dim: int,
    num_epochs: int = 2,
) -> LossCurve:
    """Fit linear regression from scratch with the update rule `trainer_fn`.

    w (feature_dim, 1) ~ N(0, 0.01^2), b (1,) = 0; the loss is the batch mean of
    `squared_loss`. `trainer_fn([w, b], states, hyperparams)` updates the
    parameters in place and zeroes their gradients. Every 200 examples (and at
    the end, if the run stops between two) the loss on the whole data set is
    added to the live plot. Prints
    `loss: 0.243, 0.013 sec/epoch` (training time only) and returns a `LossCurve`.
    Quick mode runs at most 2 epochs and evaluates every 600 examples.
    """
    check_loader(data_iter, "data_iter", sized=True)
    w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)

    def net(X: torch.Tensor) -> torch.Tensor:
        return linreg(X, w, b)

    def step(X: torch.Tensor, y: torch.Tensor) -> None:
        l = squared_loss(net(X), y).mean()
        l.backward()
        trainer_fn([w, b], states, hyperparams)

    return _fit(step, net, squared_loss, data_iter, num_epochs, 1.0)


def train_concise_ch11(
    trainer_fn: Callable[..., torch.optim.Optimizer],
    hyperparams: dict,
    data_iter: Iterable,
    num_epochs: int = 4,
) -> LossCurve:
    """Fit linear regression with `nn.Linear` and the optimiser class `trainer_fn`.

    `trainer_fn(net.parameters(), **hyperparams)` builds the optimiser (for
    example `torch.optim.SGD` with `{'lr': 0.01}`). The weight is drawn from
    N(0, 0.01^2); the loss is `nn.MSELoss`, halved when reported so that it is the
    same squared loss as `train_ch11`'s. Prints and returns as `train_ch11` does.
    Quick mode runs at most 2 epochs and evaluates every 600 examples.
    """
    check_loader(data_iter, "data_iter", sized=True)
    linear = nn.Linear(_feature_dim(data_iter), 1)  # the book hard-codes 5
    net = nn.Sequential(linear)
    nn.init.normal_(linear.weight, std=0.01)
    optimizer = trainer_fn(net.parameters(), **hyperparams)
    loss = nn.MSELoss(reduction="none")

    def step(X: torch.Tensor, y: torch.Tensor) -> None:
        optimizer.zero_grad()
        out = net(X)
        l = loss(out, y.reshape(out.shape))
        l.mean().backward()
        optimizer.step()

    # MSELoss has no factor 1/2: halve it to compare with squared_loss
    return _fit(step, net, loss, data_iter, num_epochs, 0.5)
