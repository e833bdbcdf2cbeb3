"""What the chapter trainers (`train_ch3`, `train_ch6`, `train_ch13`) share: the live
epoch plot, the per-epoch history, the summary lines and the loss sum. Internal module."""

from __future__ import annotations

import torch

from .animator import Animator
from .history import History
from .quick import is_quick

_KEYS = ("train_loss", "train_acc", "test_acc")


def epoch_animator(epochs: int) -> Animator:
    """A live plot of train loss, train acc and test acc against the epoch."""
    return Animator(
        xlabel="epoch",
        xlim=[1, epochs] if epochs > 1 else None,
        legend=["train loss", "train acc", "test acc"],
    )


def new_history() -> History:
    """History(train_loss=[], train_acc=[], test_acc=[]), filled by `record`."""
    return History({key: [] for key in _KEYS})


def record(history: dict, train_loss: float, train_acc: float, test_acc: float) -> None:
    """Append one epoch's measurements to `history`."""
    for key, value in zip(_KEYS, (train_loss, train_acc, test_acc), strict=True):
        history[key].append(value)


def print_summary(history: dict, num_epochs: int) -> None:
    """Print `loss 0.447, train acc 0.848, test acc 0.829`, noting a quick-mode cap."""
    epochs = len(history["train_loss"])
    if not epochs:
        return
    note = (
        f" (quick mode: {epochs} of {num_epochs} epochs)"
        if is_quick() and epochs < num_epochs
        else ""
    )
    loss, train_acc, test_acc = (history[key][-1] for key in _KEYS)
    print(f"loss {loss:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}{note}")


def loss_sum(l: torch.Tensor, n: int) -> float:
    """Sum of per-example losses; a mean-reduced (scalar) loss is scaled back by n."""
    return float(l.sum()) if l.dim() > 0 else float(l) * n


def finish(
    history: History, num_epochs: int, num_examples: float, timer, wall, device: str
) -> None:
    """Add the run-level entries to `history` and print the book's two closing lines.

    'examples_per_sec' counts the training steps `timer` measured, as the book does;
    'wall_time' is everything since `wall` started.
    """
    history["examples_per_sec"] = num_examples / timer.sum() if timer.sum() else 0.0
    history["wall_time"] = wall.stop()
    history["device"] = device
    print_summary(history, num_epochs)
    if len(history["train_loss"]):
        print(f"{history['examples_per_sec']:.1f} examples/sec on {device}")
