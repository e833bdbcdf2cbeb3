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


@pytest.mark.parametrize(
    "args,out_shape",
    [((3, 3), (4, 3, 6, 6)), ((3, 6, True, 2), (4, 6, 3, 3))],
)
def test_residual_shapes(args, out_shape):
    blk = d2l.Residual(*args)
    assert blk(torch.rand(4, 3, 6, 6)).shape == out_shape


def test_residual_without_1x1_needs_matching_channels():
    with pytest.raises(RuntimeError):
        d2l.Residual(3, 6)(torch.rand(1, 3, 6, 6))


def test_resnet18_shapes_and_size():
    net = d2l.resnet18(10)
    assert net(torch.rand(2, 1, 96, 96)).shape == (2, 10)
    assert d2l.resnet18(5, in_channels=3)(torch.rand(1, 3, 32, 32)).shape == (1, 5)
    # stem + 8 residual blocks; parameters counted independently of the code under test
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 8 * 2 + 3  # three 1x1 shortcuts
    assert sum(p.numel() for p in net.parameters()) == 11_175_818
