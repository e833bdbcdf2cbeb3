"""Seq2seq as the book trains it: d2lhelpers' train_seq2seq against the book's pipeline, and beam search.

Both sides train the GRU encoder-decoder of the chapter on the same data with
the same settings (load_data_nmt(64, 10): 600 pairs; embed 32, hidden 32,
2 layers, dropout 0.1; Adam, lr 0.005; 300 epochs; CPU), from the same seed
(same initial weights, the same shuffles and dropout masks), in one process:
- book: the book's Seq2SeqEncoder / Seq2SeqDecoder (context from `state[-1]`,
  so it drifts while predicting one token at a time: d2l-en issue 2134),
  MaskedSoftmaxCELoss (in-place sequence_mask, mean over num_steps),
  train_seq2seq (Xavier init, teacher forcing, `l.sum().backward()`, clipping
  to 1; its Animator left out) and greedy predict_seq2seq, rebuilt below from
  the book's published algorithm;
- d2lhelpers: d2l.Seq2SeqEncoder / Seq2SeqDecoder / EncoderDecoder with
  d2l.train_seq2seq (its Animator only records points outside IPython; its
  printed line is silenced) and d2l.predict_seq2seq.
Throughput on both sides = all training target tokens (the valid lengths) /
all time in the epochs' batch loops (the book prints the last epoch's only).
By default the two train epoch by epoch in turn in one loop (d2l.train_seq2seq
drives it; each side keeps its own RNG stream, so both train exactly as they
would alone), so that other jobs on the machine slow both sides alike;
--sequential trains the book's side and then the course's, as bench_rnn does,
and takes the course's figure from its History. Both sides'
translations are scored with d2l.bleu (k=2), which equals the book's bleu
wherever the book's is defined.
Beam search: on the d2lhelpers model after training, the time per sentence of
d2l.predict_seq2seq_beam with beam 1, 2 and 4 against greedy d2l.predict_seq2seq,
interleaved over repeats; the median per method is reported.
The cores are shared with other jobs, so every timing line gives the 1-minute
load average before and after it (this run's own threads count in it). With
more runnable threads than cores, torch's intra-op threads wait on each other
and small ops slow down many times over: compare runs made at low load, or
pass --threads 1 (it applies to both sides alike).
Goal: tokens/sec ratio d2lhelpers / book >= 1.0; mean BLEU of the four
sentences >= the book pipeline's; beam 4 at most 2x greedy per sentence.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time

import torch
from _common import machine, timed
from torch import nn

import d2lhelpers as d2l

ENGS = ["go .", "i lost .", "he's calm .", "i'm home ."]
FRAS = ["va !", "j'ai perdu .", "il est calme .", "je suis chez moi ."]

# --- the book's pipeline, rebuilt from its published algorithm ---------------------------


class BookEncoder(nn.Module):
    """Embedding, then a multi-layer GRU; returns (output, state)."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X, *args):
        emb = self.embedding(X).permute(1, 0, 2)  # (num_steps, batch_size, embed_size)
        return self.rnn(emb)


class BookDecoder(nn.Module):
    """The book's decoder: its state is the GRU state, the context is that state's top layer."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, *args):
        return enc_outputs[1]

    def forward(self, X, state):
        emb = self.embedding(X).permute(1, 0, 2)
        # the top layer of the decoder's own current state (the encoder's only at the start)
        context = state[-1].repeat(emb.shape[0], 1, 1)
        output, state = self.rnn(torch.cat((emb, context), 2), state)
        return self.dense(output).permute(1, 0, 2), state


class BookEncoderDecoder(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, enc_X, dec_X, *args):
        state = self.decoder.init_state(self.encoder(enc_X, *args), *args)
        return self.decoder(dec_X, state)


def book_sequence_mask(X, valid_len, value=0):
    """Writes `value` into X past each row's valid length (in place, as the book does)."""
    steps = torch.arange(X.size(1), dtype=torch.float32, device=X.device)
    keep = steps[None, :] < valid_len[:, None]
    X[~keep] = value
    return X


class BookMaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    """Per sequence: summed cross-entropy of the real tokens / num_steps."""

    def forward(self, pred, label, valid_len):
        weights = book_sequence_mask(torch.ones_like(label), valid_len)
        self.reduction = "none"
        unweighted = super().forward(pred.permute(0, 2, 1), label)
        return (unweighted * weights).mean(dim=1)


def book_grad_clipping(net, theta):
    params = [p for p in net.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def book_xavier(m):
    if type(m) is nn.Linear:
        nn.init.xavier_uniform_(m.weight)
    if type(m) is nn.GRU:
        for name in m._flat_weights_names:
            if "weight" in name:
                nn.init.xavier_uniform_(m._parameters[name])


class BookSeq2SeqTrainer:
    """The book's train_seq2seq, cut into its setup and one epoch, without its plot.

    The loss it would plot every 10 epochs is recorded instead; `record` holds
    (target tokens, seconds) of every epoch's batch loop.
    """

    def __init__(self, net, data_iter, lr, tgt_vocab, device):
        net.apply(book_xavier)
        net.to(device)
        self.net, self.data_iter, self.tgt_vocab, self.device = net, data_iter, tgt_vocab, device
        self.optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        self.loss = BookMaskedSoftmaxCELoss()
        net.train()
        self.record, self.plotted, self.last_loss = [], [], float("nan")

    def epoch(self):
        net, device, start = self.net, self.device, time.perf_counter()
        loss_sum, tokens = 0.0, 0.0
        for batch in self.data_iter:
            self.optimizer.zero_grad()
            X, X_valid_len, Y, Y_valid_len = [x.to(device) for x in batch]
            bos = torch.tensor([self.tgt_vocab["<bos>"]] * Y.shape[0], device=device).reshape(-1, 1)
            dec_input = torch.cat([bos, Y[:, :-1]], 1)  # teacher forcing
            Y_hat, _ = net(X, dec_input, X_valid_len)
            l = self.loss(Y_hat, Y, Y_valid_len)
            l.sum().backward()
            book_grad_clipping(net, 1)
            num_tokens = Y_valid_len.sum()
            self.optimizer.step()
            with torch.no_grad():
                loss_sum += float(l.sum())
                tokens += float(num_tokens)
        self.record.append((tokens, time.perf_counter() - start))
        self.last_loss = loss_sum / tokens  # the book's printed figure
        if len(self.record) % 10 == 0:
            self.plotted.append((len(self.record), self.last_loss))


def book_predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device):
    """Greedy decoding the book's way: eval mode, no no_grad, the decoder state fed back."""
    net.eval()
    src_tokens = src_vocab[src_sentence.lower().split(" ")] + [src_vocab["<eos>"]]
    enc_valid_len = torch.tensor([len(src_tokens)], device=device)
    src_tokens = d2l.truncate_pad(src_tokens, num_steps, src_vocab["<pad>"])
    enc_X = torch.unsqueeze(torch.tensor(src_tokens, dtype=torch.long, device=device), dim=0)
    dec_state = net.decoder.init_state(net.encoder(enc_X, enc_valid_len), enc_valid_len)
    dec_X = torch.unsqueeze(torch.tensor([tgt_vocab["<bos>"]], dtype=torch.long, device=device), 0)
    output_seq = []
    for _ in range(num_steps):
        Y, dec_state = net.decoder(dec_X, dec_state)
        dec_X = Y.argmax(dim=2)
        pred = dec_X.squeeze(dim=0).type(torch.int32).item()
        if pred == tgt_vocab["<eos>"]:
            break
        output_seq.append(pred)
    return " ".join(tgt_vocab.to_tokens(output_seq))


# --- the course's side and the measurements --------------------------------------------------


def speed(record):
    """All tokens / all seconds of a list of per-epoch (tokens, seconds)."""
    tokens, seconds = map(sum, zip(*record, strict=True))
    return tokens / seconds


def ours_train(net, data_iter, lr, epochs, tgt_vocab, device):
    """d2l.train_seq2seq with its printing silenced; returns its History."""
    with contextlib.redirect_stdout(io.StringIO()):
        return d2l.train_seq2seq(net, data_iter, lr, epochs, tgt_vocab, device)


class Interleaved:
    """The course's data iterator with one book epoch run before each of the course's epochs.

    d2l.train_seq2seq sees the same batches as it would alone; each side keeps
    its own torch RNG stream (shuffles, dropout masks), so both train exactly
    as they would one after the other. `record` holds (target tokens, seconds)
    of each of the course's passes over the data: its batch loop, what its own
    timer covers (here the timer would also cover the book's epoch).
    """

    def __init__(self, data_iter, book, book_rng):
        self.data_iter, self.book, self.book_rng, self.record = data_iter, book, book_rng, []

    def __iter__(self):
        ours_rng = torch.get_rng_state()
        torch.set_rng_state(self.book_rng)
        self.book.epoch()
        self.book_rng = torch.get_rng_state()
        torch.set_rng_state(ours_rng)
        tokens, start = 0.0, time.perf_counter()
        for batch in self.data_iter:
            tokens += float(batch[3].sum())
            yield batch
        self.record.append((tokens, time.perf_counter() - start))


def translations(predict):
    """(prediction, BLEU k=2) for each of the four sentences."""
    out = []
    for eng, fra in zip(ENGS, FRAS, strict=True):
        pred = predict(eng)
        out.append((pred, d2l.bleu(pred, fra, k=2)))
    return out


def load() -> float:
    """The 1-minute load average: this machine's cores are shared, so say how busy they were."""
    return os.getloadavg()[0]


def time_decoders(decoders, repeats):
    """Median seconds per sentence of each decoder, interleaved so that load hits all alike."""
    for fn in decoders.values():  # warm-up
        for eng in ENGS:
            fn(eng)
    samples = {name: [] for name in decoders}
    for _ in range(repeats):
        for name, fn in decoders.items():
            start = time.perf_counter()
            for eng in ENGS:
                fn(eng)
            samples[name].append((time.perf_counter() - start) / len(ENGS))
    return {name: statistics.median(s) for name, s in samples.items()}


def train_both(book_model, our_model, data_iter, lr, epochs, tgt_vocab, device, sequential):
    """Train the book's model with the book's loop and ours with d2l.train_seq2seq; print
    both losses, tokens/sec and their ratio. book_model() and our_model() build the nets
    from the same seed. Returns the two trained nets (book's, ours)."""
    loads = [load()]
    if sequential:  # bench_rnn's arrangement: the book's run, then the course's
        book_net = book_model()
        book = BookSeq2SeqTrainer(book_net, data_iter, lr, tgt_vocab, device)
        _, book_wall = timed(lambda: [book.epoch() for _ in range(epochs)])
        loads.append(load())
        net = our_model()
        history, our_wall = timed(lambda: ours_train(net, data_iter, lr, epochs, tgt_vocab, device))
        loads.append(load())
        book_speed, our_speed = speed(book.record), history["tokens_per_sec"]
        notes = {
            "book": f", {book_wall:5.1f} s wall; load average {loads[0]:.1f} -> {loads[1]:.1f}",
            "d2lhelpers": f", {our_wall:5.1f} s wall; load average {loads[1]:.1f} -> {loads[2]:.1f}",
        }
    else:  # epoch by epoch in turn, so that whatever else runs on the machine slows both alike
        book_net = book_model()
        book = BookSeq2SeqTrainer(book_net, data_iter, lr, tgt_vocab, device)
        book_rng = torch.get_rng_state()  # the book's stream, after its set-up
        net = our_model()  # the same seed: the course's stream starts where the book's did
        both = Interleaved(data_iter, book, book_rng)
        history, wall = timed(lambda: ours_train(net, both, lr, epochs, tgt_vocab, device))
        loads.append(load())
        book_speed, our_speed = speed(book.record), speed(both.record)
        note = f"; interleaved, {wall:5.1f} s wall in all, load average {loads[0]:.1f} -> {loads[1]:.1f}"
        notes = {"book": note, "d2lhelpers": note}
    num_steps = next(iter(data_iter))[2].shape[1]
    for name, loss, tps in (
        ("book", book.last_loss, book_speed),
        ("d2lhelpers", history["book_loss"][-1], our_speed),
    ):
        print(
            f"{name:11s} loss {loss:.4f} (book's figure; {loss * num_steps:.3f} per real token), "
            f"{tps:8.1f} tokens/sec{notes[name]}"
        )
    line = f"tokens/sec ratio d2lhelpers / book {our_speed / book_speed:.2f} (goal >= 1.0)"
    if not sequential:
        paired = [b[1] / o[1] for b, o in zip(book.record, both.record, strict=True)]
        line += f"; median of the per-epoch time ratios book / d2lhelpers {statistics.median(paired):.2f}"
    print(line)
    return book_net, net


def parse_args(description, epochs, repeats, repeats_help):
    """The options both training benchmarks share; drops quick mode and sets --threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--repeats", type=int, default=repeats, help=repeats_help)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    parser.add_argument(
        "--sequential", action="store_true", help="train the book's side, then the course's"
    )
    args = parser.parse_args()
    os.environ.pop("D2L_QUICK", None)  # the book's epochs, not quick mode's share
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def main() -> None:
    args = parse_args(__doc__.split("\n")[0], 300, 50, "timing repeats of the decoders")
    epochs, device = args.epochs, d2l.cpu()
    embed_size, num_hiddens, num_layers, dropout = 32, 32, 2, 0.1
    batch_size, num_steps, lr = 64, 10, 0.005
    data_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(batch_size, num_steps)
    print(
        f"machine: {machine()}; {epochs} epochs, {len(data_iter.dataset)} pairs, "
        f"vocab {len(src_vocab)} / {len(tgt_vocab)}"
    )
    sizes = (embed_size, num_hiddens, num_layers, dropout)

    def book_model():
        d2l.set_seed(0)
        return BookEncoderDecoder(
            BookEncoder(len(src_vocab), *sizes), BookDecoder(len(tgt_vocab), *sizes)
        )

    def our_model():
        d2l.set_seed(0)
        return d2l.EncoderDecoder(
            d2l.Seq2SeqEncoder(len(src_vocab), *sizes), d2l.Seq2SeqDecoder(len(tgt_vocab), *sizes)
        )

    book_net, net = train_both(
        book_model, our_model, data_iter, lr, epochs, tgt_vocab, device, args.sequential
    )

    book_tr = translations(
        lambda s: book_predict_seq2seq(book_net, s, src_vocab, tgt_vocab, num_steps, device)
    )
    our_tr = translations(
        lambda s: d2l.predict_seq2seq(net, s, src_vocab, tgt_vocab, num_steps, device)[0]
    )
    beam_tr = translations(
        lambda s: d2l.predict_seq2seq_beam(
            net, s, src_vocab, tgt_vocab, num_steps, device, beam_size=4
        )[0]
    )
    print("BLEU (k=2): book greedy | d2lhelpers greedy | d2lhelpers beam 4")
    for eng, b, o, k in zip(ENGS, book_tr, our_tr, beam_tr, strict=True):
        print(
            f"  {eng:12s} {b[0]!r:24s} {b[1]:.3f} | {o[0]!r:24s} {o[1]:.3f} "
            f"| {k[0]!r:24s} {k[1]:.3f}"
        )
    book_mean = statistics.mean(b for _, b in book_tr)
    our_mean = statistics.mean(b for _, b in our_tr)
    beam_mean = statistics.mean(b for _, b in beam_tr)
    print(
        f"mean BLEU: book {book_mean:.3f}, d2lhelpers {our_mean:.3f} "
        f"(goal >= book: {'met' if our_mean >= book_mean else 'NOT met'}), "
        f"d2lhelpers beam 4 {beam_mean:.3f}"
    )

    decoders = {
        "greedy": lambda s: d2l.predict_seq2seq(net, s, src_vocab, tgt_vocab, num_steps, device),
    }
    for k in (1, 2, 4):
        decoders[f"beam {k}"] = lambda s, k=k: d2l.predict_seq2seq_beam(
            net, s, src_vocab, tgt_vocab, num_steps, device, beam_size=k
        )
    before = load()
    times = time_decoders(decoders, args.repeats)
    greedy = times["greedy"]
    print(
        f"decoding per sentence (median of {args.repeats} x {len(ENGS)} sentences; "
        f"load average {before:.1f} -> {load():.1f}): "
        + ", ".join(f"{name} {1e3 * t:.2f} ms" for name, t in times.items())
    )
    print(
        f"beam 4 / greedy time ratio {times['beam 4'] / greedy:.2f} (goal <= 2.0); "
        f"beam 2 / greedy {times['beam 2'] / greedy:.2f}, beam 1 / greedy {times['beam 1'] / greedy:.2f}"
    )


if __name__ == "__main__":
    main()
