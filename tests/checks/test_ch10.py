"""Exercises of 10_rnn: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import torch
from torch.nn import functional as F

import d2lhelpers as d2l
from d2lhelpers.checks import ch10

from .helpers import fails_with, passes, verdict


def k_step_preds(net, x, tau, k):
    """The learner's version, written as the notebook's features matrix."""
    n = len(x) - tau - k + 1
    features = torch.zeros((n, tau + k))
    for i in range(tau):
        features[:, i] = x[i : i + n]
    for i in range(tau, tau + k):
        features[:, i] = net(features[:, i - tau : i]).reshape(-1)
    return features[:, -1].detach()


def tempered(logits, y, temperature):
    return torch.exp(F.cross_entropy(logits / temperature, y))


GOOD_1 = {"k_step": k_step_preds, "mse_1": 0.0009, "ratio": 300.0, "accumulates": "B"}


def test_10_1_error_accumulation(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    passes("10.1", GOOD_1)
    fails_with("10.1", {**GOOD_1, "k_step": ch10._from_truth}, "真实观测")
    fails_with("10.1", {**GOOD_1, "k_step": ch10._one_step_short}, "差了一步")
    # the noise left at 0.2: the one-step error is the noise variance, the ratio about 7
    fails_with("10.1", {**GOOD_1, "mse_1": 0.05}, "高于默认模式的参考范围")
    fails_with("10.1", {**GOOD_1, "ratio": 7.0}, "噪声的标准差改成 0 了吗")
    fails_with("10.1", {**GOOD_1, "accumulates": "A"}, "比值")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert verdict("10.1", {**GOOD_1, "ratio": 7.0}).passed is True  # bands: default mode only


def test_10_1_the_mistakes_differ_from_the_reference_on_every_input():
    for seed in range(50):
        args = ch10._sequence_inputs(torch.Generator().manual_seed(seed))
        want = ch10._k_step_preds(*args)
        for wrong in (ch10._from_truth, ch10._one_step_short):
            assert (wrong(*args) - want).abs().max() > 1e-3, (seed, wrong.__name__)


GOOD_2 = {"sizes": (4580, 2183, 825, 400), "once": 2397, "why": "B"}


def test_10_2_vocabulary_sizes():
    passes("10.2", GOOD_2)
    passes("10.2", {**GOOD_2, "sizes": [4580, 2183, 825, 400]})
    fails_with("10.2", {**GOOD_2, "sizes": (4579, 2182, 824, 399)}, "<unk>")
    fails_with("10.2", {**GOOD_2, "sizes": (2183, 1420, 680, 362)}, "freq < min_freq")
    fails_with("10.2", {**GOOD_2, "sizes": (4583, 2186, 828, 403)}, "保留词元")
    fails_with("10.2", {**GOOD_2, "once": 763}, "两次")
    fails_with("10.2", {**GOOD_2, "why": "C"}, "停用词")
    fails_with("10.2", {**GOOD_2, "sizes": 4580}, "元组")


GOOD_5 = {"perplexity": tempered, "best_temperature": 4, "best_perplexity": 12.8, "why": "B"}


def test_10_5_tempered_perplexity():
    passes("10.5", GOOD_5)
    times = {**GOOD_5, "perplexity": lambda o, y, t: torch.exp(F.cross_entropy(o * t, y))}
    fails_with("10.5", times, "除以 τ")
    fails_with("10.5", {**GOOD_5, "perplexity": lambda o, y, t: F.cross_entropy(o / t, y)}, "指数")
    untempered = {**GOOD_5, "perplexity": lambda o, y, t: torch.exp(F.cross_entropy(o, y))}
    fails_with("10.5", untempered, "没有用上")


def test_none_and_wrong_types_give_a_verdict():
    for exercise_id in ("10.1", "10.2", "10.3", "10.4", "10.5"):
        assert verdict(exercise_id, None).passed is None
        assert verdict(exercise_id, "B").passed is False
        assert verdict(exercise_id, {}).passed is None
    assert verdict("10.1", {"k_step": lambda net, x, tau, k: None}).passed is None
    assert verdict("10.1", {"k_step": "k_step_preds"}).passed is False
    assert verdict("10.5", {"perplexity": 3.0}).passed is False
    assert verdict("10.2", {"sizes": torch.tensor([4580, 2183, 825, 400])}).passed is not None


def epoch_with(clip):
    """A train_epoch_ch8 with a theta argument; `clip(net, theta, when)` decides how it clips."""

    def train_epoch(net, train_iter, loss, updater, device, use_random_iter, theta=1):
        state = None
        for X, Y in train_iter:
            if state is None or use_random_iter:
                state = net.begin_state(batch_size=X.shape[0], device=device)
            else:
                state.detach_()
            y = Y.T.reshape(-1)
            y_hat, state = net(X, state)
            l = loss(y_hat, y.long()).mean()
            updater.zero_grad()
            clip(net, theta, "before backward")
            l.backward()
            clip(net, theta, "after backward")
            updater.step()
            clip(net, theta, "after step")
        return 1.0, 1.0

    return train_epoch


def clip_at(moment, theta_of=lambda theta: theta):
    def clip(net, theta, when):
        if when == moment and theta_of(theta) is not None:
            d2l.grad_clipping(net, theta_of(theta))

    return clip


GOOD_4 = {"epoch": epoch_with(clip_at("after backward")), "ppl_1": 7.4, "ppl_01": 9.7}
GOOD_4 |= {"slower": "B", "no_clip": "C"}


def test_10_4_the_epoch_with_theta():
    passes("10.4", GOOD_4)
    # theta ignored: always 1 (the book's value)
    fails_with(
        "10.4", {**GOOD_4, "epoch": epoch_with(clip_at("after backward", lambda t: 1))}, "theta"
    )
    # clipping that changes nothing: before backward (the gradients are zero) or after the step
    fails_with("10.4", {**GOOD_4, "epoch": epoch_with(clip_at("before backward"))}, "backward 之后")
    fails_with("10.4", {**GOOD_4, "epoch": epoch_with(clip_at("after step"))}, "backward 之后")
    # None not handled: clipping to 0 zeroes the gradient
    fails_with(
        "10.4", {**GOOD_4, "epoch": epoch_with(clip_at("after backward", lambda t: t or 0))}, "None"
    )


def test_10_4_gradients_are_large_enough_for_every_mistake_to_show():
    for seed in range(50):
        net, batches = ch10._epoch_setup(torch.Generator().manual_seed(seed))
        X, Y = batches[0]
        y_hat, _ = net(X, net.begin_state(device="cpu", batch_size=X.shape[0]))
        F.cross_entropy(y_hat, Y.T.reshape(-1)).backward()
        assert d2l.grad_clipping(net, float("inf")) > 1.5, seed  # above theta = 1 and 0.05


def test_10_4_bands_and_choices(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    good = GOOD_4
    passes("10.4", good)
    # the two runs swapped, and theta = 0.1 read as "no clipping"
    fails_with("10.4", {**good, "ppl_1": 9.7, "ppl_01": 7.4}, "高于默认模式的参考范围")
    fails_with("10.4", {**good, "ppl_01": 7.4}, "低于默认模式的参考范围")
    fails_with("10.4", {**good, "slower": "A"}, "方向")
    fails_with("10.4", {**good, "no_clip": "B"}, "种子")
    fails_with("10.4", {**good, "ppl_1": float("nan")}, "之间")


def test_10_5_bands_and_choices(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    good = GOOD_5
    passes("10.5", good)
    # temperature 1: the plain held-out perplexity of the memorising model
    fails_with("10.5", {**good, "best_temperature": 1}, "低于默认模式的参考范围")
    fails_with("10.5", {**good, "best_perplexity": 120.0}, "高于默认模式的参考范围")
    fails_with("10.5", {**good, "why": "A"}, "温度 0.5")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert verdict("10.5", {**good, "best_temperature": 1, "best_perplexity": 11.0}).passed is True


def test_10_3_five_times_the_text(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    history = d2l.History(perplexity=[20.0, 3.85], heldout_perplexity=[15.0, 8.25])
    good = {"train": history, "heldout": history, "meaning": "B"}
    passes("10.3", good)
    passes("10.3", {"train": 3.85, "heldout": 8.25, "meaning": "B"})
    # the 10,000-character run of the chapter: memorised
    memorised = d2l.History(perplexity=[20.0, 1.3], heldout_perplexity=[10.0, 120.0])
    fails_with("10.3", {**good, "train": memorised}, "低于默认模式的参考范围")
    fails_with("10.3", {**good, "heldout": memorised}, "高于默认模式的参考范围")
    fails_with("10.3", {**good, "meaning": "C"}, "更新次数")
    fails_with("10.3", {**good, "train": {"loss": [1.0]}}, "'perplexity'")
