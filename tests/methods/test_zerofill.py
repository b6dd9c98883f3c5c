"""The zero-filled interpolation method: exact on k-space-truncated band-limited images."""

import numpy as np
import torch

from dnsp.acquisition import get_acquisition
from dnsp.methods import build_method


def test_zerofill_inverts_kspace_truncation_of_a_band_limited_stack() -> None:
    n, m = 24, 12
    rng = np.random.default_rng(0)
    spec = np.zeros((2, n, n), complex)
    ks = range(-m // 2 + 1, m // 2)
    for a in ks:
        for b in ks:
            spec[:, a % n, b % n] = rng.normal(size=2) + 1j * rng.normal(size=2)
    x = np.fft.ifft2(spec).real
    x = (x - x.min()) / (x.max() - x.min())  # in [0, 1]: nothing clipped
    lr = get_acquisition("kspace", scale=2).simulate(torch.from_numpy(x)).numpy()
    out = build_method("zerofill", 2).upscale_stack(lr.astype(np.float32), 2)
    assert out.shape == (2, n, n) and out.dtype == np.float32
    np.testing.assert_allclose(out, x, atol=1e-5)
    assert build_method("zerofill", 2, params={"clip": False}).name == "zerofill"
