"""Training and greedy prediction for encoder-decoder models: `train_seq2seq`, `predict_seq2seq`.

`train_seq2seq` trains with Adam, the masked loss, teacher forcing and
gradient clipping as the book does, but prints the loss per real (not padded)
target token; the book's printed figure is that number divided by `num_steps`
(d2l-en issue 2076), so it prints both. `predict_seq2seq` decodes greedily in
eval mode without gradients and gives the net back in its previous mode.
Introduced in 11_modern_rnn.ipynb; reused by the attention chapter.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .animator import Animator
from .history import History
from .metrics import Accumulator, eval_mode
from .nmt import truncate_pad
from .quick import quick_share_epochs
from .seq2seq import MaskedSoftmaxCELoss
from .text import Vocab
from .timing import Timer
from .train_rnn import grad_clipping

__all__ = ["train_seq2seq", "predict_seq2seq"]


def _xavier_init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
    if isinstance(m, nn.GRU):
        for name, param in m.named_parameters():
            if "weight" in name:
                nn.init.xavier_uniform_(param)


def train_seq2seq(
    net: nn.Module, data_iter: Iterable, lr: float, num_epochs: int, tgt_vocab: Vocab, device
) -> History:
    """Train an encoder-decoder on (X, X_valid_len, Y, Y_valid_len) minibatches.

    X, Y: (batch_size, num_steps). Like the book: Xavier init of the Linear and
    GRU weights (so a second call starts again), Adam, `MaskedSoftmaxCELoss`,
    teacher forcing (decoder input `<bos>` then Y without its last token),
    `l.sum().backward()`, gradients clipped to norm 1. Plots the loss every 10
    epochs (every tenth of the run when shorter). Prints the loss per real
    target token of the last epoch, the book's figure (that loss divided by
    num_steps) and tokens/sec over all epochs. Quick mode: a tenth of the epochs.
    Returns a `History`: 'loss' and 'book_loss' per epoch, 'tokens_per_sec',
    'seconds', 'device'.
    """
    epochs = quick_share_epochs(num_epochs)
    device = torch.device(device)
    net.apply(_xavier_init_weights)
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss = MaskedSoftmaxCELoss()
    step = max(1, min(10, epochs // 10))
    animator = Animator(
        xlabel="epoch", ylabel="loss per token", xlim=[step, epochs] if epochs > step else None
    )
    history = History(loss=[], book_loss=[])
    total_tokens, total_seconds, num_steps = 0.0, 0.0, 1
    net.train()
    for epoch in range(epochs):
        timer = Timer()
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
            metric.add(float(l.detach().sum()) * num_steps, float(Y_valid_len.sum()))
        total_seconds += timer.stop()
        total_tokens += metric[1]
        per_token = metric[0] / metric[1]
        history["loss"].append(per_token)
        history["book_loss"].append(per_token / num_steps)
        if (epoch + 1) % step == 0:
            animator.add(epoch + 1, [per_token])
    history["tokens_per_sec"] = total_tokens / total_seconds if total_seconds else 0.0
    history["seconds"] = total_seconds
    history["device"] = str(device)
    print(
        f"loss {history['loss'][-1]:.3f} per real token "
        f"(the book prints this / num_steps = {history['book_loss'][-1]:.4f}), "
        f"{history['tokens_per_sec']:.1f} tokens/sec on {device}"
    )
    return history


def _source_indices(src_sentence: str, src_vocab: Vocab, num_steps: int) -> tuple[list[int], int]:
    src_tokens = src_vocab[src_sentence.lower().split(" ")] + [src_vocab["<eos>"]]
    return truncate_pad(src_tokens, num_steps, src_vocab["<pad>"]), min(len(src_tokens), num_steps)


def predict_seq2seq(
    net: nn.Module,
    src_sentence: str,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    num_steps: int,
    device,
    save_attention_weights: bool = False,
) -> tuple[str, list]:
    """Translate one sentence greedily, at most `num_steps` tokens, stopping at `<eos>`.

    Eval mode (no dropout) and no gradients; every module gets its mode back.
    Returns (translation, attention weights of each step when
    `save_attention_weights`, else []). A source longer than `num_steps` is
    cut and its valid length is `num_steps` (the book's stays longer).
    """
    device = torch.device(device)
    src, valid = _source_indices(src_sentence, src_vocab, num_steps)
    with eval_mode(net):
        enc_valid_len = torch.tensor([valid], device=device)
        enc_X = torch.tensor(src, dtype=torch.long, device=device).unsqueeze(0)  # (1, num_steps)
        enc_outputs = net.encoder(enc_X, enc_valid_len)
        dec_state = net.decoder.init_state(enc_outputs, enc_valid_len)
        dec_X = torch.tensor([[tgt_vocab["<bos>"]]], dtype=torch.long, device=device)  # (1, 1)
        output_seq, attention_weight_seq = [], []
        for _ in range(num_steps):
            Y, dec_state = net.decoder(dec_X, dec_state)
            dec_X = Y.argmax(dim=2)
            pred = int(dec_X.squeeze(0).item())
            if save_attention_weights:
                attention_weight_seq.append(net.decoder.attention_weights)
            if pred == tgt_vocab["<eos>"]:
                break
            output_seq.append(pred)
    return " ".join(tgt_vocab.to_tokens(output_seq)), attention_weight_seq
