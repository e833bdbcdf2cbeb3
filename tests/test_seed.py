import random

import numpy as np
import pytest
import torch

from d2lhelpers import set_seed


def test_set_seed_makes_all_generators_repeatable():
    set_seed(42)
    a = (random.random(), np.random.rand(), torch.rand(3))
    set_seed(42)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    set_seed(43)
    assert not torch.equal(torch.rand(3), a[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "0"])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="non-negative int"):
        set_seed(bad)
