import pytest
import torch
from torch import nn

import d2lhelpers as d2l


def test_linreg_matches_nn_linear():
    torch.manual_seed(0)
    layer = nn.Linear(3, 1)
    X = torch.randn(5, 3)
    w, b = layer.weight.detach().T, layer.bias.detach()
    assert torch.allclose(d2l.linreg(X, w, b), layer(X).detach(), atol=1e-6)


def test_squared_loss_is_half_mse_and_reshapes_y():
    y_hat = torch.tensor([[1.0], [2.0], [4.0]])
    y = torch.tensor([1.0, 0.0, 1.0])
    expected = nn.MSELoss(reduction="none")(y_hat, y.reshape(-1, 1)) / 2
    assert torch.allclose(d2l.squared_loss(y_hat, y), expected)
    assert d2l.squared_loss(y_hat, y).shape == (3, 1)


def test_sgd_matches_torch_optim_sgd_on_a_summed_loss():
    torch.manual_seed(0)
    X, y = torch.randn(8, 2), torch.randn(8, 1)
    w1 = torch.randn(2, 1, requires_grad=True)
    b1 = torch.zeros(1, requires_grad=True)
    w2, b2 = w1.detach().clone().requires_grad_(), b1.detach().clone().requires_grad_()
    d2l.squared_loss(d2l.linreg(X, w1, b1), y).sum().backward()
    d2l.sgd([w1, b1], lr=0.1, batch_size=8)
    opt = torch.optim.SGD([w2, b2], lr=0.1)
    d2l.squared_loss(d2l.linreg(X, w2, b2), y).mean().backward()
    opt.step()
    assert torch.allclose(w1, w2) and torch.allclose(b1, b2)
    assert torch.count_nonzero(w1.grad) == 0  # sgd zeroes the gradients


def test_sgd_names_a_parameter_without_gradient():
    w = torch.zeros(2, 1, requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(2, 1\) has no gradient.*backward\(\)"):
        d2l.sgd([w], lr=0.1, batch_size=2)


def test_synthetic_data_follows_the_linear_model():
    torch.manual_seed(0)
    true_w, true_b = torch.tensor([2, -3.4]), 4.2
    X, y = d2l.synthetic_data(true_w, true_b, 1000)
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    residual = y.squeeze(1) - (X @ true_w + true_b)
    assert residual.abs().max() < 0.1 and abs(residual.std().item() - 0.01) < 0.002
    w_hat = torch.linalg.lstsq(torch.cat([X, torch.ones(1000, 1)], 1), y).solution
    assert torch.allclose(w_hat.squeeze(), torch.tensor([2, -3.4, 4.2]), atol=0.01)


def test_load_array_shuffles_only_for_training():
    X = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10.0)
    ordered = torch.cat([b for _, b in d2l.load_array((X, y), 4, is_train=False)])
    assert torch.equal(ordered, y)
    torch.manual_seed(1)
    shuffled = torch.cat([b for _, b in d2l.load_array((X, y), 4)])
    assert sorted(shuffled.tolist()) == y.tolist() and not torch.equal(shuffled, y)


def test_synthetic_data_accepts_the_books_column_vector():
    torch.manual_seed(0)
    true_w = torch.ones((200, 1)) * 0.01  # as in the book's weight-decay section
    X, y = d2l.synthetic_data(true_w, 0.05, 20)
    assert X.shape == (20, 200) and y.shape == (20, 1)
    assert torch.allclose(y, X @ true_w + 0.05, atol=0.05)
    with pytest.raises(ValueError, match="one weight per feature"):
        d2l.synthetic_data(torch.ones(2, 3), 0.0, 5)
