"""NetworkMethod with multi-channel inputs (zero-filled, bicubic, acquisition features)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnsp.acquisition import NetworkInput, get_acquisition
from dnsp.methods.network import NetworkMethod
from dnsp.nets.edsr import EDSR


def _net(channels: int) -> EDSR:
    torch.manual_seed(0)
    net = EDSR(n_blocks=2, n_feats=8, in_channels=channels, input_skip=True, unshuffle=2)
    for p in net.parameters():
        p.data.mul_(3.0)  # a network far from the identity
    return net.eval()


@pytest.fixture
def lr() -> np.ndarray:
    g = np.random.default_rng(0)
    img = np.zeros((2, 30, 26), np.float32)
    img[:, 4:26, 3:23] = 0.3 + 0.5 * g.random((2, 22, 20))
    return img


def test_whole_slice_equals_tiles_and_matches_the_network(lr: np.ndarray) -> None:
    inputs = NetworkInput(2, ("zerofill", "bicubic", "features"))
    net = _net(inputs.n_channels)
    whole = NetworkMethod(net, 2, inputs=inputs, background=None)
    tiled = NetworkMethod(net, 2, inputs=inputs, background=None, max_pixels=40 * 40)
    out = whole.upscale_stack(lr, 2)
    np.testing.assert_allclose(tiled.upscale_stack(lr, 2), out, atol=1e-5)
    with torch.inference_mode():
        ref = net(inputs(torch.from_numpy(lr)))[:, 0].clamp(0, 1).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_ensemble_and_background_run_with_channels(lr: np.ndarray) -> None:
    inputs = NetworkInput(2, ("bicubic", "features"))
    m = NetworkMethod(_net(inputs.n_channels), 2, inputs=inputs, ensemble=8)
    out = m.upscale_stack(lr, 2)
    assert out.shape == (2, 60, 52) and np.isfinite(out).all()
    single = NetworkMethod(_net(inputs.n_channels), 2, inputs=inputs).upscale_stack(lr, 2)
    assert 0 < np.abs(out - single).mean() < 0.5


def test_out_of_range_part_uses_the_first_channel(lr: np.ndarray) -> None:
    inputs = NetworkInput(2, ("zerofill", "features"))
    m = NetworkMethod(_net(inputs.n_channels), 2, inputs=inputs)
    bright = lr.copy()
    bright[0, 10, 10] = 3.0
    diff = m.upscale_stack(bright, 2) - m.upscale_stack(np.clip(bright, 0, 1), 2)
    assert diff.max() > 0.5  # the part above 1 comes back, interpolated


def test_scale_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="x3"):
        NetworkMethod(_net(1), acquisition=get_acquisition("gaussian", scale=2),
                      inputs=NetworkInput(3))


def test_model_file_with_inputs_builds_a_multichannel_method(tmp_path, lr: np.ndarray) -> None:
    from dnsp.methods import build_method
    from dnsp.methods.pretrained import save_model_file

    net = _net(4)
    path = tmp_path / "m.pt"
    save_model_file(net, "edsr", {"n_blocks": 2, "n_feats": 8, "in_channels": 4,
                                  "input_skip": True, "unshuffle": 2}, 2, path,
                    meta={"inputs": ["zerofill", "features"]})
    method = build_method(str(path), 2)
    assert method.inputs == NetworkInput(2, ("zerofill", "features"))
    assert method.upscale_stack(lr, 2).shape == (2, 60, 52)


def test_auto_consistency_projects_only_noise_free_kspace_data() -> None:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[:64, :64] / 64 - 0.5
    head = ((x / 0.4) ** 2 + (y / 0.45) ** 2 < 1).astype(np.float32)
    hr = np.stack([head * (0.5 + 0.3 * (rng.random((64, 64)) > 0.7)) for _ in range(3)])
    hr = torch.from_numpy(hr.astype(np.float32))
    inputs = NetworkInput(2, ("zerofill", "features"))
    net = _net(inputs.n_channels)
    ks = get_acquisition("kspace", scale=2)
    lr = ks.simulate(hr).numpy()
    on = NetworkMethod(net, 2, inputs=inputs, consistency="auto").upscale_stack(lr, 2)
    off = NetworkMethod(net, 2, inputs=inputs).upscale_stack(lr, 2)
    # the projected output re-acquires to the input exactly; the plain one does not
    again = ks.simulate(torch.from_numpy(on).double()).numpy()
    np.testing.assert_allclose(again, lr, atol=1e-4)
    assert np.abs(ks.simulate(torch.from_numpy(off).double()).numpy() - lr).max() > 1e-2
    blurred = get_acquisition("gaussian", scale=2).simulate(hr).numpy()
    m = NetworkMethod(net, 2, inputs=inputs, consistency="auto")
    np.testing.assert_array_equal(m.upscale_stack(blurred, 2),
                                  NetworkMethod(net, 2, inputs=inputs).upscale_stack(blurred, 2))
    with pytest.raises(ValueError, match="consistency"):
        NetworkMethod(net, 2, inputs=inputs, consistency="always")
    # decided once per volume: the copy is fixed to on/off, the network is shared
    fixed = m.for_volume(lr)
    assert fixed.consistency == "on" and fixed.net is m.net and m.consistency == "auto"
    assert m.for_volume(blurred).consistency == "off"
    assert fixed.for_volume(blurred) is fixed  # only "auto" is decided
    # "on" projects whatever the slices look like (here a batch of one blurred slice)
    forced = NetworkMethod(net, 2, inputs=inputs, consistency="on").upscale_stack(blurred[:1], 2)
    np.testing.assert_allclose(ks.simulate(torch.from_numpy(forced).double()).numpy(),
                               blurred[:1], atol=1e-4)


def test_upscale_volume_decides_the_projection_once_per_volume() -> None:
    """A batch that looks different from the volume gets the volume's decision."""
    from dnsp.infer.volume import upscale_volume

    rng = np.random.default_rng(2)
    y, x = np.mgrid[:64, :64] / 64 - 0.5
    head = ((x / 0.4) ** 2 + (y / 0.45) ** 2 < 1).astype(np.float32)
    hr = np.stack([head * (0.5 + 0.3 * (rng.random((64, 64)) > 0.7)) for _ in range(4)])
    ks = get_acquisition("kspace", scale=2)
    lr = ks.simulate(torch.from_numpy(hr.astype(np.float32))).numpy()
    # the last slice alone is a blurred one: alone in its batch it would not be projected
    lr[-1] = get_acquisition("gaussian", scale=2).simulate(torch.from_numpy(hr[-1:])).numpy()[0]
    inputs = NetworkInput(2, ("zerofill", "features"))
    m = NetworkMethod(_net(inputs.n_channels), 2, inputs=inputs, consistency="auto")
    vol = np.ascontiguousarray(lr.transpose(2, 1, 0))  # (x, y, z): axial slices along z
    out, _ = upscale_volume(vol, np.eye(4), m, 2, batch=1, plane="axial")
    last = np.ascontiguousarray(out[..., -1].T)[None]
    np.testing.assert_allclose(ks.simulate(torch.from_numpy(last).double()).numpy(),
                               lr[-1:], atol=1e-4)
