"""What the chapter trainers share around their own loops: one `Report`.

`train_ch3`, `train_ch6`, `train_ch8`, `train_seq2seq`, `train_ch11` /
`train_concise_ch11` and `train_ch13` each keep their loop (zero_grad, forward,
loss, backward, step) in their own body; what they have in common lives here,
once:

- the number of epochs actually run (`Report.epochs`: capped in quick mode);
- the live plot and its cadence: an epoch's values are plotted every epoch in
  runs of up to 19 epochs, then every tenth of the run, at most every 10 epochs
  (the book's cadence for 500 epochs of `train_ch8`), the last epoch always;
  trainers that plot within an epoch (`train_ch6`, `train_ch13`) add five points
  per epoch, the book's cadence, while every epoch is plotted;
- the `History` it returns (per-epoch lists, then run-level entries);
- the throughput, counted once (examples or tokens over the timed steps);
- the closing lines, the first of which ends with the quick-mode note
  `(quick mode: 2 of 10 epochs)` whenever the epochs were capped.

Edge cases are errors that say what to fix, raised before training where they can
be seen then: 0 epochs (`check_num_epochs`), an empty loader or, where the trainer
reads it every epoch by its length, a one-shot iterator (`check_loader`), and an
epoch that found no batch (`no_batches`: a used-up iterator).

Internal module; the trainers' docstrings say what each one prints.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence, Sized

import torch

from .animator import Animator
from .history import History
from .quick import quick_epochs, quick_share_epochs
from .timing import Devices, Timer

#: Plotted points per epoch while every epoch is plotted (the book's train_ch6 and train_ch13).
POINTS_PER_EPOCH = 5


def check_num_epochs(num_epochs: object) -> None:
    """Refuse anything but a whole number of epochs >= 1, naming what was given."""
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, numbers.Integral):
        raise TypeError(f"num_epochs must be a whole number, got {num_epochs!r}")
    if num_epochs < 1:
        raise ValueError(
            f"num_epochs must be at least 1, got {num_epochs}: a trainer with no epoch "
            "would train nothing and have nothing to report"
        )


def no_batches(name: str, epoch: int | None = None) -> ValueError:
    """The error of an epoch that saw no example: an empty loader, or a used-up iterator."""
    empty = "check the data loader (is the data set empty, or smaller than one batch?)"
    used_up = (
        "a one-shot iterator (a generator, iter(loader)) is used up after one pass; "
        "pass the loader itself or a list of batches"
    )
    if epoch is None:
        return ValueError(f"{name} gave no batches; {empty}, or {used_up}")
    if epoch == 0:
        return ValueError(f"{name} gave no batches in epoch 1; {empty}")
    return ValueError(
        f"{name} gave no batches in epoch {epoch + 1}, after some in epoch 1: {used_up}"
    )


def check_loader(data_iter: object, name: str, *, sized: bool = False) -> None:
    """Refuse, before training, a loader that has no batches (or, with `sized`, no length).

    sized: the trainer needs the number of batches (its plot cadence, its x values)
    and reads the loader again every epoch, which a one-shot iterator cannot do.
    A loader without a length passes unless `sized`; the epoch that finds it empty
    names it then (`no_batches`).
    """
    if not isinstance(data_iter, Sized):
        if sized:
            raise TypeError(
                f"{name} must have a length (a DataLoader or a list of batches), got "
                f"{type(data_iter).__name__}: a one-shot iterator (a generator, iter(loader)) "
                "is used up after one pass"
            )
        return
    if len(data_iter) == 0:
        raise ValueError(
            f"{name} has no batches; check the data loader (is the data set empty, or smaller "
            "than one batch?)"
        )


def accuracy_line(history: dict) -> str:
    """`loss 0.447, train acc 0.848, test acc 0.829`: the last epoch of a classifier."""
    loss, train_acc, test_acc = (history[k][-1] for k in ("train_loss", "train_acc", "test_acc"))
    return f"loss {loss:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}"


def plot_every(epochs: int) -> int:
    """Epochs between two plotted points: 1 for up to 19 epochs, then a tenth of the run, at most 10."""
    return max(1, min(10, epochs // 10))


def loss_sum(l: torch.Tensor, n: int) -> float:
    """Sum of per-example losses; a mean-reduced (scalar) loss is scaled back by n."""
    return float(l.sum()) if l.dim() > 0 else float(l) * n


class Report:
    """The shared part of a trainer: epochs, live plot, History, throughput, closing lines.

    num_epochs: what the caller asked for; `epochs` is what runs (quick mode caps
    it at `QUICK_MAX_EPOCHS`, or, with `share=True`, to a tenth as `train_ch8` and
    `train_seq2seq` need). legend names the plotted curves, in the order of the
    values given to `plot`. device: whose work `timer` waits for (see `Timer`).
    The x axis runs from the first plotted epoch (0 for a one-epoch run), or from
    `xstart`, to `epochs`.
    `timer` times the training steps only (the trainer starts and stops it);
    `seen` counts what they trained on (examples or tokens).
    """

    def __init__(
        self,
        num_epochs: int,
        legend: Sequence[str] = (),
        *,
        ylabel: str | None = None,
        device: Devices = None,
        share: bool = False,
        xstart: float | None = None,
        ylim: list[float] | None = None,
    ) -> None:
        check_num_epochs(num_epochs)
        self.num_epochs = num_epochs
        self.epochs = quick_share_epochs(num_epochs) if share else quick_epochs(num_epochs)
        self.every = plot_every(self.epochs)
        if xstart is not None:
            xlim = [xstart, self.epochs]
        elif self.epochs > self.every:
            xlim = [self.every, self.epochs]  # from the first plotted epoch
        else:  # one epoch, plotted in fractions: fixed, not autoscaled with margins
            xlim = [0, self.epochs]
        self.animator = Animator(
            xlabel="epoch", ylabel=ylabel, legend=list(legend), xlim=xlim, ylim=ylim
        )
        self.history = History()
        self.timer = Timer(device)  # its laps: the training steps the trainer times
        self.wall = Timer()  # everything from here to `finish`
        self.seen = 0.0

    # -- cadence
    def epoch_due(self, epoch: int) -> bool:
        """Is epoch `epoch` (0-based) plotted? Every `every` epochs, and always the last one."""
        return (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs

    def batch_due(self, epoch: int, i: int, num_batches: int) -> bool:
        """Is batch i (0-based) of `num_batches` in `epoch` plotted? Five times per epoch
        while every epoch is plotted; in longer runs the last batch of a plotted epoch."""
        if i == num_batches - 1:
            return self.epoch_due(epoch)
        return self.every == 1 and (i + 1) % max(1, num_batches // POINTS_PER_EPOCH) == 0

    def plot(self, x: float, values: Sequence[float | None]) -> None:
        """Add one point per curve at x (epochs); None leaves that curve without a point."""
        self.animator.add(x, list(values))

    # -- history
    def trained_on(self, n: float, epoch: int, name: str = "train_iter") -> None:
        """Count what epoch `epoch` trained on (examples or tokens); none at all is an error."""
        if not n:
            raise no_batches(name, epoch)
        self.seen += n

    def record(self, **values: float) -> None:
        """Append one value per key to the History's per-epoch lists."""
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)

    # -- end of the run
    def note(self) -> str:
        """' (quick mode: 2 of 10 epochs)' when quick mode capped the epochs, else ''."""
        if self.epochs < self.num_epochs:
            return f" (quick mode: {self.epochs} of {self.num_epochs} epochs)"
        return ""

    def finish(self, unit: str, device: str) -> str:
        """Store the run-level entries and return the book's throughput line.

        '{unit}_per_sec' (what was trained on, over the timed training steps,
        computed here once), 'seconds' (those steps), 'wall_time' (everything)
        and 'device'; the line reads `1234.5 examples/sec on cpu`.
        """
        seconds = self.timer.sum()
        rate = self.seen / seconds if seconds else 0.0
        self.history[f"{unit}_per_sec"] = rate
        self.history["seconds"] = seconds
        self.history["wall_time"] = self.wall.stop()
        self.history["device"] = device
        return f"{rate:.1f} {unit}/sec on {device}"

    def close(self, first_line: str, *lines: str) -> History:
        """Print the closing lines (the quick-mode note ends the first) and return the History."""
        print(first_line + self.note())
        for line in lines:
            print(line)
        return self.history
