import pytest
import torch
import torch.nn.functional as F
from torch import nn

import d2lhelpers as d2l


@pytest.mark.parametrize("shape,kernel", [((3, 3), (2, 2)), ((6, 8), (1, 2)), ((5, 7), (3, 2))])
def test_corr2d_matches_conv2d(shape, kernel):
    torch.manual_seed(0)
    X, K = torch.randn(shape), torch.randn(kernel)
    expected = F.conv2d(X[None, None], K[None, None])[0, 0]
    assert torch.allclose(d2l.corr2d(X, K), expected, atol=1e-5)


def test_corr2d_hand_example_and_errors():
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert torch.equal(d2l.corr2d(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))
    with pytest.raises(ValueError, match="2-D"):
        d2l.corr2d(X[None], K)
    with pytest.raises(ValueError, match="larger than the input"):
        d2l.corr2d(K, X)


def _bn(X, bn):
    """Batch norm in training mode, written out: batch statistics, biased variance."""
    mean = X.mean(dim=(0, 2, 3), keepdim=True)
    var = X.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    w, b = bn.weight[None, :, None, None], bn.bias[None, :, None, None]
    return w * (X - mean) / torch.sqrt(var + bn.eps) + b


def _residual_reference(blk, X, strides):
    """The book's block from the formula: relu(bn2(conv2(relu(bn1(conv1 X)))) + shortcut(X))."""
    Y = F.conv2d(X, blk.conv1.weight, blk.conv1.bias, stride=strides, padding=1)
    Y = F.relu(_bn(Y, blk.bn1))
    Y = _bn(F.conv2d(Y, blk.conv2.weight, blk.conv2.bias, padding=1), blk.bn2)
    if blk.conv3 is not None:
        X = F.conv2d(X, blk.conv3.weight, blk.conv3.bias, stride=strides)
    return F.relu(Y + X)


@pytest.mark.parametrize(
    "args,out_shape",
    [((3, 3), (4, 3, 6, 6)), ((3, 6, True, 2), (4, 6, 3, 3)), ((3, 6, True), (4, 6, 6, 6))],
)
def test_residual_matches_the_formula(args, out_shape):
    torch.manual_seed(0)
    blk = d2l.Residual(*args)
    with torch.no_grad():  # BatchNorm's affine parameters away from 1 and 0
        for bn in (blk.bn1, blk.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    X = torch.randn(4, 3, 6, 6)
    Y = blk(X)
    assert Y.shape == out_shape
    strides = args[3] if len(args) > 3 else 1
    with torch.no_grad():
        expected = _residual_reference(blk, X, strides)
    assert torch.allclose(Y, expected, atol=1e-5)
    assert (Y == 0).any() and (Y >= 0).all()  # the final ReLU clips some sums
    # in eval mode the running statistics are used, as by nn.BatchNorm2d itself
    blk.eval()
    with torch.no_grad():
        Y_eval = blk(X)
        Y_seq = blk.bn2(blk.conv2(F.relu(blk.bn1(blk.conv1(X)))))
        shortcut = blk.conv3(X) if blk.conv3 is not None else X
    assert torch.allclose(Y_eval, F.relu(Y_seq + shortcut), atol=1e-6)


def test_residual_without_1x1_needs_matching_channels():
    with pytest.raises(RuntimeError):
        d2l.Residual(3, 6)(torch.rand(1, 3, 6, 6))


def _resnet18_reference(net, X):
    """The book's ResNet-18 step by step: stem, four stages of two blocks (the first block of
    stages 2-4 halves the resolution through a 1x1 shortcut), global average pooling, fc."""
    stem_conv, stem_bn = net[0], net[1]
    Y = F.relu(_bn(F.conv2d(X, stem_conv.weight, stem_conv.bias, padding=1), stem_bn))
    for stage in range(1, 5):
        for i, blk in enumerate(getattr(net, f"resnet_block{stage}")):
            Y = _residual_reference(blk, Y, strides=2 if stage > 1 and i == 0 else 1)
    Y = Y.mean(dim=(2, 3))
    return Y @ net.fc[1].weight.T + net.fc[1].bias


def test_resnet18_matches_the_books_architecture():
    torch.manual_seed(0)
    net = d2l.resnet18(10)
    X = torch.rand(2, 1, 32, 32)
    Y = net(X)
    assert Y.shape == (2, 10)
    with torch.no_grad():
        assert torch.allclose(Y, _resnet18_reference(net, X), atol=1e-4)
    assert d2l.resnet18(5, in_channels=3)(torch.rand(1, 3, 32, 32)).shape == (1, 5)
    # the layout the book prints: channels and strides of every block
    blocks = [m for m in net.modules() if isinstance(m, d2l.Residual)]
    assert [(b.conv1.in_channels, b.conv1.out_channels, b.conv1.stride[0]) for b in blocks] == [
        (64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1),
        (128, 256, 2), (256, 256, 1), (256, 512, 2), (512, 512, 1),
    ]  # fmt: skip
    assert [b.conv3 is not None for b in blocks] == [False, False] + [True, False] * 3
    # stem + 8 residual blocks; parameters counted independently of the code under test
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 8 * 2 + 3  # three 1x1 shortcuts
    assert sum(p.numel() for p in net.parameters()) == 11_175_818
