"""Training on an accelerator: `train_ch6` (chapter 6, convolutional networks).

Introduced in 08_cnn.ipynb; reused by 09_modern_cnn.ipynb.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ._trainer import epoch_animator, new_history, print_summary, record
from .memory import StepPlan, map_large_blocks, plan_step, release_memory
from .metrics import Accumulator, accuracy, evaluate_accuracy_gpu
from .quick import is_quick, quick_epochs
from .timing import Timer

__all__ = ["train_ch6"]

_ESTIMATE_AFTER = 10  # batches timed for the full-mode CPU estimate (after one warm-up batch)


def _xavier(m: nn.Module) -> None:
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)


def train_ch6(
    net: nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    num_epochs: int,
    lr: float,
    device: torch.device,
    *,
    memory_budget: int | None = None,
) -> dict:
    """Train a classifier on `device` with SGD and cross-entropy, as the book does.

    As in the book, the weights of every `nn.Linear` and `nn.Conv2d` are first
    re-initialised with Xavier-uniform (biases keep PyTorch's default).
    On the CPU a convolutional net trains in the channels-last memory layout
    (faster with oneDNN; the values are the same) and is handed back in the
    usual layout.
    Draws train loss/acc five times per epoch and test acc per epoch. Prints
    `loss 0.470, train acc 0.823, test acc 0.772` and `N examples/sec on cpu`,
    where N counts whole epochs of wall time: data loading, training and
    evaluation. In full mode on a CPU it first prints an estimate of the total
    time, measured on the first batches. In quick mode the epochs are capped.
    On the CPU, when one step on the first batch would keep more activations
    than `memory_budget` bytes (default: about a quarter of the memory still
    available, container limits included, e.g. Binder's 2 GB), the step is run in a way that
    gives the same update (up to float rounding; dropout masks are drawn per
    micro-batch) with less memory, and says so in one printed line:
    micro-batches with gradient accumulation, or, for nets with BatchNorm,
    activation checkpointing (see `d2lhelpers.memory`); evaluation then runs on
    smaller chunks of each test batch (the same accuracy), and from then on large
    freed blocks go back to the system at once, for the rest of the process
    (`map_large_blocks`). `memory_budget` applies on the CPU only. Gradients are
    freed at the end.
    Returns {'train_loss', 'train_acc', 'test_acc'} (per epoch), 'examples_per_sec'
    and 'device'.
    """
    epochs = quick_epochs(num_epochs)
    device = torch.device(device)
    net.apply(_xavier)
    net.to(device)
    channels_last = device.type == "cpu" and any(isinstance(m, nn.Conv2d) for m in net.modules())
    if channels_last:
        net.to(memory_format=torch.channels_last)
    try:
        return _train(
            net, train_iter, test_iter, num_epochs, epochs, lr, device, channels_last, memory_budget
        )
    finally:
        for p in net.parameters():
            p.grad = None  # a finished model should not keep a second copy of its weights' size
        release_memory()
        if channels_last:
            net.to(memory_format=torch.contiguous_format)


def _step(net, loss, X, y, plan: StepPlan) -> tuple[torch.Tensor, float]:
    """Forward and backward on batch X (B, ...); returns y_hat (B, q) and the mean loss.

    The batch runs whole, or as the plan's micro-batches (gradient accumulation:
    chunk k's mean loss is weighted by B_k / B, so the gradients add up to the batch's).
    """
    size = plan.micro_batch or X.shape[0]
    y_hats, total = [], 0.0
    for X_k, y_k in zip(X.split(size), y.split(size), strict=True):
        with plan.context():
            y_hat_k = net(X_k)
        l = loss(y_hat_k, y_k) * (X_k.shape[0] / X.shape[0])
        l.backward()
        y_hats.append(y_hat_k.detach())
        total += float(l.detach())
    return (y_hats[0] if len(y_hats) == 1 else torch.cat(y_hats)), total


def _train(
    net, train_iter, test_iter, num_epochs, epochs, lr, device, channels_last, memory_budget
) -> dict:
    """The epochs of `train_ch6`, on a net already initialised and on `device`."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    animator = epoch_animator(epochs)
    history = new_history()
    timer, num_batches, num_examples = Timer(), len(train_iter), 0
    # full mode on a CPU: estimate the total time from batches 1..estimate_at
    estimate_at = min(_ESTIMATE_AFTER, num_batches - 1)
    estimate = device.type == "cpu" and not is_quick() and estimate_at > 0
    plan = None
    for epoch in range(epochs):
        metric = Accumulator(3)  # sum of losses, correct predictions, examples
        net.train()
        timer.start()
        batch_timer = Timer()
        for i, (X, y) in enumerate(train_iter):
            if i == 1:
                batch_timer.start()  # skip the first (warm-up) batch
            X, y = X.to(device), y.to(device)
            if channels_last and X.dim() == 4:
                X = X.contiguous(memory_format=torch.channels_last)  # (B, C, H, W), NHWC in memory
            if plan is None:
                plan = plan_step(net, X, memory_budget) if device.type == "cpu" else StepPlan()
                if plan.reason:
                    print(plan.reason)
                    map_large_blocks()  # memory is tight: no fragmentation creeping up
            optimizer.zero_grad()
            y_hat, l = _step(net, loss, X, y, plan)
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
            train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
            if (i + 1) % max(1, num_batches // 5) == 0 or i == num_batches - 1:
                animator.add(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
            if epoch == 0 and i == estimate_at and estimate:
                per_batch = batch_timer.stop() / estimate_at
                minutes = per_batch * num_batches * epochs * 1.1 / 60  # +10% for evaluation
                print(
                    f"estimated training time on cpu: roughly {minutes:.1f} min for {epochs} epochs "
                    f"({per_batch:.2f} s per batch, from the first batches; other busy programs "
                    f"slow it down); set D2L_QUICK=1 or use a GPU to go faster"
                )
        test_acc = evaluate_accuracy_gpu(net, (plan or StepPlan()).chunked(test_iter), device)
        timer.stop()
        num_examples += metric[2]
        animator.add(epoch + 1, (None, None, test_acc))
        record(history, train_l, train_acc, test_acc)
    speed = num_examples / timer.sum() if timer.sum() else 0.0
    history["examples_per_sec"] = speed
    history["device"] = str(device)
    print_summary(history, num_epochs)
    if epochs:
        print(f"{speed:.1f} examples/sec on {device}")
    return history
