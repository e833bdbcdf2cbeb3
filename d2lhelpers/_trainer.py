"""What the chapter trainers (`train_ch3`, `train_ch6`) share: the live epoch
plot, the per-epoch history and the one-line summary. Internal module."""

from __future__ import annotations

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
