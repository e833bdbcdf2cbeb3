"""Exercises of 11_modern_rnn: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import math

import torch
from torch import nn

from d2lhelpers.checks import ch11

from .helpers import fails_with, passes, verdict


def gru_step_torch(X, H, W_ih, W_hh, b_ih, b_hh):
    """The learner's version: nn.GRU's formula written out, gates in the order r, z, n."""
    W_ir, W_iz, W_in = W_ih.chunk(3)
    W_hr, W_hz, W_hn = W_hh.chunk(3)
    b_ir, b_iz, b_in = b_ih.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    R = torch.sigmoid(X @ W_ir.T + b_ir + H @ W_hr.T + b_hr)
    Z = torch.sigmoid(X @ W_iz.T + b_iz + H @ W_hz.T + b_hz)
    N = torch.tanh(X @ W_in.T + b_in + R * (H @ W_hn.T + b_hn))
    return (1 - Z) * N + Z * H


GOOD_1 = {"step": gru_step_torch, "why": "B"}


def test_11_1_pytorch_gru():
    passes("11.1", GOOD_1)
    fails_with("11.1", {**GOOD_1, "step": ch11._gru_cell_reset_before}, "笔记的公式")
    fails_with("11.1", {**GOOD_1, "step": ch11._gru_cell_z_first}, "r、z、n")
    fails_with("11.1", {**GOOD_1, "step": ch11._gru_cell_swapped_mix}, "凸组合")
    fails_with("11.1", {**GOOD_1, "why": "C"}, "形状完全相同")
    fails_with("11.1", {**GOOD_1, "step": lambda *args: torch.zeros(2, 2)}, "形状")


def test_11_1_the_reference_is_torch_and_the_mistakes_always_differ():
    for seed in range(50):
        args = ch11._gru_cell_inputs(torch.Generator().manual_seed(seed))
        want = ch11._gru_cell_reference(*args)
        assert torch.allclose(gru_step_torch(*args), want, atol=1e-5)
        assert torch.allclose(ch11._gru_step(*args), want, atol=1e-5)  # each mistake is one switch
        for wrong in (
            ch11._gru_cell_reset_before,
            ch11._gru_cell_z_first,
            ch11._gru_cell_swapped_mix,
        ):
            assert (wrong(*args) - want).abs().max() > 1e-3, (seed, wrong.keywords)


def gru_fixed(inputs, H, params, z=None, r=None):
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = params
    outputs = []
    for X in inputs:
        Z = torch.sigmoid(X @ W_xz + H @ W_hz + b_z) if z is None else z
        R = torch.sigmoid(X @ W_xr + H @ W_hr + b_r) if r is None else r
        H = Z * H + (1 - Z) * torch.tanh(X @ W_xh + (R * H) @ W_hh + b_h)
        outputs.append(H)
    return torch.stack(outputs)


GOOD_2 = {"gru_fixed": gru_fixed, "z0_r1": "A", "z1": "C"}


def test_11_2_fixed_gates():
    passes("11.2", GOOD_2)
    fails_with("11.2", {**GOOD_2, "gru_fixed": ch11._gru_ignores_fixing}, "没有用上")
    fails_with("11.2", {**GOOD_2, "gru_fixed": ch11._gru_swaps_fixings}, "弄反")
    fails_with("11.2", {**GOOD_2, "gru_fixed": ch11._gru_last_state_only}, "每一步")
    fails_with("11.2", {**GOOD_2, "z0_r1": "B"}, "H_{t-1} W_hh")
    fails_with("11.2", {**GOOD_2, "z1": "A"}, "候选隐状态还起作用吗")


def test_11_2_the_mistakes_always_differ_and_z0_r1_is_nn_rnn():
    for seed in range(50):
        args = ch11._gru_fixed_inputs(torch.Generator().manual_seed(seed))
        want = ch11._gru_fixed_reference(*args)
        for wrong in (ch11._gru_ignores_fixing, ch11._gru_swaps_fixings):
            assert (wrong(*args) - want).abs().max() > 1e-3, (seed, wrong.__name__)
    # the explanation's claim: Z = 0 and R = 1 is nn.RNN with the candidate's weights
    inputs, H, params, _, _ = ch11._gru_fixed_inputs(torch.Generator().manual_seed(0))
    rnn = nn.RNN(inputs.shape[2], H.shape[1])
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(params[6].T)
        rnn.weight_hh_l0.copy_(params[7].T)
        rnn.bias_ih_l0.copy_(params[8])
        rnn.bias_hh_l0.zero_()
        want, _ = rnn(inputs, H[None])
    assert torch.allclose(ch11._gru_fixed_reference(inputs, H, params, 0.0, 1.0), want, atol=1e-5)


GOOD_3 = {"uni": 0.40, "bi": 0.40, "why": "B"}


def test_11_3_fill_in_at_the_end(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    passes("11.3", GOOD_3)
    # still the centre position: the bidirectional model is far better there
    fails_with("11.3", {**GOOD_3, "bi": 0.58}, "高于默认模式的参考范围")
    fails_with("11.3", {**GOOD_3, "uni": 0.2}, "低于默认模式的参考范围")
    fails_with("11.3", {**GOOD_3, "why": "C"}, "右边还有字符吗")
    fails_with("11.3", {**GOOD_3, "uni": 40}, "0 到 1 之间")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert verdict("11.3", {**GOOD_3, "uni": 0.2}).passed is True  # bands: default mode only


GOOD_4 = {"unk_600": 237, "unk_1500": 122, "quality": "C"}


def test_11_4_unknown_words():
    passes("11.4", GOOD_4)
    passes("11.4", {**GOOD_4, "unk_600": torch.tensor(237)})
    fails_with("11.4", {**GOOD_4, "unk_600": 298}, "词元个数")
    fails_with("11.4", {**GOOD_4, "unk_600": 217}, "min_freq=2")
    fails_with("11.4", {**GOOD_4, "unk_1500": 237}, "600 对的词表")
    fails_with("11.4", {**GOOD_4, "unk_1500": 123}, "前 1,500 对")
    fails_with("11.4", {**GOOD_4, "quality": "B"}, "训练句对")


def final_score(log_probs, alpha):
    return log_probs.sum() / len(log_probs) ** alpha


GOOD_5 = {"score": final_score, "alpha_switch": 0.342, "beam": "B"}


def test_11_5_length_normalisation():
    passes("11.5", GOOD_5)
    passes("11.5", {**GOOD_5, "score": lambda lp, a: float(lp.sum()) / len(lp) ** a})
    fails_with("11.5", {**GOOD_5, "score": lambda lp, a: lp.mean()}, "指数 α 没有用上")
    fails_with("11.5", {**GOOD_5, "score": lambda lp, a: lp.sum()}, "没有除以")
    fails_with("11.5", {**GOOD_5, "alpha_switch": 0.5}, "更小的 α")
    fails_with("11.5", {**GOOD_5, "alpha_switch": 0.171}, "胜过 <eos>")
    fails_with("11.5", {**GOOD_5, "beam": "A"}, "模型的打分")


def test_11_5_the_switch_is_where_the_toy_scores_meet():
    candidates = {"<eos>": [0.1], "A <eos>": [0.5, 0.2], "A C B <eos>": [0.5, 0.3, 0.6, 0.6]}

    def best(alpha):
        scores = {k: sum(map(math.log, p)) / len(p) ** alpha for k, p in candidates.items()}
        return max(scores, key=scores.get)

    switch = math.log2(math.log(0.054) / math.log(0.1))
    assert best(switch - 0.01) == "A <eos>" and best(switch + 0.01) == "A C B <eos>"
    for seed in range(50):
        args = ch11._log_probs_and_alpha(torch.Generator().manual_seed(seed))
        want = ch11._final_score(*args)
        for wrong in (lambda lp, a: lp.sum(), lambda lp, a: lp.mean()):
            assert abs(float(wrong(*args) - want)) > 1e-3, seed


def test_none_and_wrong_types_get_a_verdict():
    for i in ("11.1", "11.2", "11.3", "11.4", "11.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
        keys = {"11.1": GOOD_1, "11.2": GOOD_2, "11.3": GOOD_3, "11.4": GOOD_4, "11.5": GOOD_5}[i]
        for key in keys:
            for odd in ("x", [1, 2], torch.zeros(2, 3), lambda *a: None):
                v = verdict(i, {**keys, key: odd})
                assert v.passed in (False, None), (i, key, odd)
