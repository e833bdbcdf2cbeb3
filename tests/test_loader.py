import pytest
import torch

from d2lhelpers import BatchLoader


def test_batches_cover_every_example_once_with_a_short_last_batch():
    X, y = torch.arange(10).reshape(10, 1), torch.arange(10)
    loader = BatchLoader((X, y), batch_size=4)
    sizes = [len(b) for _, b in loader]
    assert sizes == [4, 4, 2] and len(loader) == 3
    assert torch.equal(torch.cat([b for _, b in loader]), y)
    assert len(BatchLoader((X, y), 4, drop_last=True)) == 2


def test_transform_applies_per_batch():
    X = torch.zeros(6, 2, dtype=torch.uint8)
    loader = BatchLoader((X,), 3, transform=lambda X: (X.float() + 1,))
    for (b,) in loader:
        assert b.dtype == torch.float32 and torch.all(b == 1)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="batch_size"):
        BatchLoader((torch.zeros(3),), 0)
    with pytest.raises(ValueError, match="same number"):
        BatchLoader((torch.zeros(3), torch.zeros(4)), 2)


def test_global_seed_controls_the_order_without_a_seed():
    y = torch.arange(100)
    loader = BatchLoader((y,), 10, shuffle=True)
    torch.manual_seed(5)
    a = torch.cat([b for (b,) in loader])
    torch.manual_seed(5)
    b = torch.cat([b for (b,) in loader])
    assert torch.equal(a, b) and not torch.equal(a, y)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("transform", [None, lambda X, y: (X, y)])
def test_batches_are_copies_a_step_may_change_in_place(shuffle, transform):
    X, y = torch.arange(20.0).reshape(10, 2), torch.arange(10)
    X0, y0 = X.clone(), y.clone()
    loader = BatchLoader((X, y), 4, shuffle=shuffle, transform=transform, seed=0)
    for Xb, yb in loader:
        Xb.mul_(-1)
        yb.zero_()
    assert torch.equal(X, X0) and torch.equal(y, y0)  # the loader's data is untouched
    rows = sorted(torch.cat([Xb for Xb, _ in loader]).tolist())
    assert rows == X0.tolist()  # and the next epoch serves the original values
    assert not hasattr(loader, "tensors")  # the data itself is not handed out
