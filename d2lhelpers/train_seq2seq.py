"""Training encoder-decoder models: `train_seq2seq`.

`train_seq2seq` trains with Adam, the masked loss, teacher forcing and
gradient clipping as the book does, but prints the loss per real (not padded)
target token; the book's printed figure is that number divided by `num_steps`
(d2l-en issue 2076), so it prints both. Translating with a trained model:
`predict_seq2seq` and `predict_seq2seq_beam` (decoding.py).
Introduced in 11_modern_rnn.ipynb; reused by the attention chapter.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ._reporting import Report
from .gradients import grad_clipping
from .history import History
from .metrics import Accumulator
from .seq2seq import MaskedSoftmaxCELoss
from .text import Vocab

__all__ = ["train_seq2seq"]


def _xavier_init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
    if isinstance(m, nn.GRU):
        for name, param in m.named_parameters():
            if "weight" in name:
                nn.init.xavier_uniform_(param)


def train_seq2seq(
    net: nn.Module,
    data_iter: Iterable,
    lr: float,
    num_epochs: int,
    tgt_vocab: Vocab,
    device: torch.device | str,
) -> History:
    """Train an encoder-decoder on (X, X_valid_len, Y, Y_valid_len) minibatches.

    X, Y: (batch_size, num_steps). Like the book: Xavier init of the Linear and
    GRU weights (so a second call starts again), Adam, `MaskedSoftmaxCELoss`,
    teacher forcing (decoder input `<bos>` then Y without its last token),
    `l.sum().backward()`, gradients clipped to norm 1. Plots the loss every 10
    epochs (every tenth of the run when shorter, every epoch below 20; always
    the last). Prints the loss per real target token of the last epoch, the
    book's figure (that loss divided by num_steps) and tokens/sec over all
    epochs. Quick mode: a tenth of the epochs (at least 10), and the line says so.
    Returns a `History`: 'loss' and 'book_loss' per epoch, 'tokens_per_sec',
    'seconds' (training), 'wall_time' and 'device'.
    """
    device = torch.device(device)
    report = Report(num_epochs, ylabel="loss per token", device=device, share=True)
    net.apply(_xavier_init_weights)
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss = MaskedSoftmaxCELoss()
    net.train()
    for epoch in range(report.epochs):
        report.timer.start()
        metric = Accumulator(2)  # sum of the per-token losses, number of real tokens
        for batch in data_iter:
            optimizer.zero_grad()
            X, X_valid_len, Y, Y_valid_len = (x.to(device) for x in batch)
            num_steps = Y.shape[1]
            bos = torch.full((Y.shape[0], 1), tgt_vocab["<bos>"], dtype=Y.dtype, device=device)
            dec_input = torch.cat([bos, Y[:, :-1]], 1)  # teacher forcing
            Y_hat, _ = net(X, dec_input, X_valid_len)
            l = loss(Y_hat, Y, Y_valid_len)  # (batch_size,): summed loss / num_steps
            l.sum().backward()
            grad_clipping(net, 1)
            optimizer.step()
            metric.add(l.detach().sum().item() * num_steps, Y_valid_len.sum().item())
        report.timer.stop()
        report.trained_on(metric[1], epoch, "data_iter")
        per_token = metric[0] / metric[1]
        report.record(loss=per_token, book_loss=per_token / num_steps)
        if report.epoch_due(epoch):
            report.plot(epoch + 1, [per_token])
    throughput = report.finish("tokens", str(device))
    return report.close(
        f"loss {per_token:.3f} per real token "
        f"(the book prints this / num_steps = {per_token / num_steps:.4f}), {throughput}"
    )
