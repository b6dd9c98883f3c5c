import pytest
import torch

from dnsp.ops import filter2d_valid, laplacian, singular_values, total_variation


def test_laplacian_shape_and_impulse() -> None:
    y = torch.zeros(2, 1, 7, 9)
    y[:, :, 3, 4] = 1.0
    out = laplacian(y)
    assert out.shape == (2, 1, 5, 7)
    assert out[0, 0, 2, 3].item() == 4.0 and out.sum().item() == 0.0


def test_filter2d_valid_rejects_bad_bank() -> None:
    with pytest.raises(ValueError, match="filters"):
        filter2d_valid(torch.rand(1, 1, 5, 5), torch.rand(2, 2, 3, 3))


def test_singular_values_dtype() -> None:
    y = torch.rand(3, 6, 4, dtype=torch.float64)
    s = singular_values(y)
    assert s.shape == (3, 4) and s.dtype == torch.float64
    assert singular_values(y.to(torch.bfloat16)).dtype == torch.float32


def test_total_variation_anisotropic() -> None:
    y = torch.tensor([[0.0, 1.0], [2.0, 4.0]])
    assert total_variation(y, isotropic=False).item() == 3.0  # |2-0| + |1-0|
