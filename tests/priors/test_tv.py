import pytest
import torch

from dnsp.priors import TotalVariation, total_variation


def test_golden_and_shapes() -> None:
    y = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    y[0, 0, 0, 0] = 1.0  # forward differences at (0,0): dx = -1, dy = -1
    # the three flat cells of the 2x2 grid add sqrt(eps) each
    assert total_variation(y, eps=1e-12).item() == pytest.approx(2**0.5 + 3 * 1e-6, rel=1e-9)
    assert total_variation(torch.rand(5, 8, 9)).shape == (5,)
    torch.testing.assert_close(TotalVariation()(y), total_variation(y))


def test_gradcheck_and_flat_image() -> None:
    y = torch.rand(2, 1, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(total_variation, (y,))
    flat = torch.ones(1, 1, 6, 6, requires_grad=True)
    total_variation(flat).sum().backward()
    assert torch.isfinite(flat.grad).all()


def test_bad_eps() -> None:
    with pytest.raises(ValueError, match="eps"):
        total_variation(torch.rand(1, 4, 4), eps=0.0)
