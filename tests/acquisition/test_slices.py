"""The thick-slice acquisition model ``slices``: registry, config round trip, simulate along
one axis, operator and adjoint, network input, geometry, bad parameters."""

import numpy as np
import pytest
import torch

from dnsp.acquisition import SliceAcquisition, acquisition_from_config, get_acquisition
from dnsp.ops.slice_profile import fine_positions


def test_registered_and_round_trips(tmp_path) -> None:
    acq = get_acquisition("slices", thickness=3.0, spacing=4.0, profile="gaussian",
                          fine_spacing=0.8)
    assert isinstance(acq, SliceAcquisition)
    assert acq.ratio == pytest.approx(5.0) and acq.width == pytest.approx(3.75)
    assert acquisition_from_config(acq.to_config()) == acq
    assert acquisition_from_config(acq.to_config(), scale=1) == acq
    assert "every 4 mm" in acq.describe()


def test_simulate_block_mean_along_chosen_axis() -> None:
    x = torch.arange(2 * 12 * 3, dtype=torch.float64).reshape(2, 12, 3)
    acq = get_acquisition("slices", thickness=4, axis=1)
    got = acq.simulate(x)
    assert got.shape == (2, 3, 3)
    torch.testing.assert_close(got, x.reshape(2, 3, 4, 3).mean(2))


def test_simulate_mean_and_gaps() -> None:
    x = torch.full((5, 30), 0.25, dtype=torch.float64)
    acq = get_acquisition("slices", thickness=1.0, spacing=3.0)  # 2 mm gaps
    torch.testing.assert_close(acq.simulate(x), torch.full((5, 10), 0.25, dtype=torch.float64))
    # a 1 mm slice every 3 mm samples the centre voxel of each block only
    y = torch.arange(30, dtype=torch.float64)[None]
    torch.testing.assert_close(acq.simulate(y)[0], torch.arange(1, 30, 3, dtype=torch.float64))


def test_operator_matches_simulate_and_adjoint() -> None:
    acq = get_acquisition("slices", thickness=2.6, spacing=2.6, profile="gaussian", axis=-2)
    x = torch.rand(3, 21, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    op = acq.operator(21, 8, torch.float64)
    torch.testing.assert_close(op.forward(x), acq.simulate(x))
    y = torch.rand_like(op.forward(x))
    torch.testing.assert_close((op.forward(x) * y).sum(), (x * op.adjoint(y)).sum())
    with pytest.raises(ValueError, match="image axes"):
        get_acquisition("slices", thickness=2, axis=0).operator(4, 4)


def test_network_input_is_bspline_on_fine_grid() -> None:
    acq = get_acquisition("slices", thickness=2.5)
    lr = torch.linspace(0, 1, 8, dtype=torch.float64)[None]
    up = acq.network_input(lr)
    assert up.shape == (1, 20)
    # a linear ramp is reproduced by the cubic B-spline away from the ends (the reflecting
    # border bends it, decaying by 0.27 per sample)
    pos = fine_positions(8, 2.5)
    inner = (pos > 2.5) & (pos < 4.5)
    np.testing.assert_allclose(up[0].numpy()[inner], pos[inner] / 7, atol=2e-4)


def test_affines_need_one_axis_and_size() -> None:
    acq = get_acquisition("slices", thickness=4)
    a = np.diag([1.0, 1.0, 4.0, 1.0])
    fine = acq.hr_affine(a, (2,), size=10)
    np.testing.assert_allclose(acq.lr_affine(fine, (2,), size=40), a)
    with pytest.raises(ValueError, match="exactly one voxel axis"):
        acq.lr_affine(a, (0, 1))


def test_profile_file(tmp_path) -> None:
    f = tmp_path / "profile.txt"
    f.write_text("-2 0\n-1.0 1\n1.0 1\n2 0\n")
    acq = get_acquisition("slices", thickness=2.0, profile=str(f))
    assert acq.profile_kind() == "sampled"
    np.testing.assert_allclose(acq.axis_matrix(12).sum(1), 1.0)


@pytest.mark.parametrize("params,match", [
    ({"thickness": 0}, "thickness must be a number > 0"),
    ({"thickness": 2, "spacing": -1}, "spacing must be a number > 0"),
    ({"thickness": 2, "fine_spacing": 3}, "finer than the HR grid"),
    ({"thickness": 2, "profile": "sinc"}, "unknown slice profile 'sinc'"),
    ({"thickness": 2, "scale": 2}, "scale 1"),
    ({"thickness": 2, "axis": 1.5}, "axis must be an integer"),
    ({"thickness": 2, "blur": 1}, "slices"),
])
def test_bad_parameters(params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_acquisition("slices", **params)


def test_too_short_axis() -> None:
    with pytest.raises(ValueError, match="holds no slice"):
        get_acquisition("slices", thickness=5).simulate(torch.zeros(2, 3))
