"""NetworkMethod: bicubic pre-upsampling + network, tiled with overlap, background skipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnsp.methods.base import SRMethod
from dnsp.methods.network import (
    DEFAULT_MAX_PIXELS,
    DIHEDRAL,
    ENSEMBLE_SIZES,
    NetworkMethod,
)
from dnsp.methods.tiling import pixel_alignment, receptive_radius, tile_starts
from dnsp.nets import build_network
from dnsp.ops import bicubic_upscale


def _whole(net: torch.nn.Module, lr: np.ndarray, scale: int) -> np.ndarray:
    with torch.no_grad():
        xs = bicubic_upscale(torch.from_numpy(lr), scale)[:, None]
        return net(xs)[:, 0].clamp(0.0, 1.0).numpy()


def test_receptive_radius_counts_convolutions() -> None:
    net = build_network("edsr", n_blocks=2, n_feats=4)
    # head + 2 x 2 block convs + body conv + tail = 7 convolutions of 3x3
    assert receptive_radius(net) == 7
    assert receptive_radius(build_network("srcnn")) == 4 + 0 + 2


@pytest.mark.parametrize(("length", "tile"), [(10, 3), (10, 10), (10, 20), (7, 1), (9, 4)])
def test_tile_starts_cover_the_axis(length: int, tile: int) -> None:
    starts = tile_starts(length, tile)
    covered = np.zeros(length, bool)
    for s in starts:
        assert 0 <= s and s + min(tile, length) <= length
        covered[s:s + tile] = True
    assert covered.all()


@pytest.mark.parametrize(("length", "tile", "align"), [(10, 4, 2), (11, 6, 3), (9, 4, 4)])
def test_aligned_tile_starts_cover_the_axis(length: int, tile: int, align: int) -> None:
    starts = tile_starts(length, tile, align)
    assert all(s % align == 0 for s in starts)
    ends = [*starts[1:], length]  # the last tile runs to the end
    assert starts[0] == 0
    assert all(e - s <= tile + align - 1 for s, e in zip(starts, ends, strict=True))
    with pytest.raises(ValueError, match="not a multiple"):
        tile_starts(10, 5, 2)


def test_unshuffled_network_tiles_and_crops_exactly() -> None:
    """Space-to-depth networks: aligned tiles and head boxes give the whole-slice output."""
    torch.manual_seed(0)
    net = build_network("edsr", n_blocks=1, n_feats=4, unshuffle=3, input_skip=True).eval()
    assert pixel_alignment(net) == 3
    assert receptive_radius(net) == 5 * 3 + 2
    lr = np.random.default_rng(3).random((2, 17, 22)).astype(np.float32)
    whole = _whole(net, lr, 3)
    tiled = NetworkMethod(net, 3, max_pixels=(5 + 2 * 18) ** 2, background=None)
    assert (tiled.margin, tiled.tile) == (18, 3)
    np.testing.assert_allclose(tiled.upscale_stack(lr, 3), whole, rtol=0, atol=1e-5)
    lr = np.zeros((1, 40, 40), np.float32)
    lr[0, 17:25, 13:23] = 0.5 * np.random.default_rng(4).random((8, 10)) + 0.5
    whole = _whole(net, lr, 3)
    out = NetworkMethod(net, 3, background=0.02).upscale_stack(lr, 3)
    fg = bicubic_upscale(torch.from_numpy(lr), 3).numpy() > 0.02
    np.testing.assert_allclose(out[fg], whole[fg], rtol=0, atol=1e-5)


def test_satisfies_protocol_and_shapes(tiny_net: torch.nn.Module) -> None:
    method = NetworkMethod(tiny_net, 2, name="tiny")
    assert isinstance(method, SRMethod)
    lr = np.random.default_rng(0).random((3, 7, 5)).astype(np.float32)
    out = method.upscale_stack(lr, 2)
    assert out.shape == (3, 14, 10) and out.dtype == np.float32
    assert method.upscale_slice(lr[0]).shape == (14, 10)


def test_tiled_equals_whole_slice(tiny_net: torch.nn.Module) -> None:
    lr = np.random.default_rng(1).random((2, 19, 23)).astype(np.float32)
    whole = _whole(tiny_net, lr, 2)
    margin = receptive_radius(tiny_net)
    # tiles of 4 x 4 interior pixels: many tiles, every one with its overlap margin
    tiled = NetworkMethod(tiny_net, 2, max_pixels=(4 + 2 * margin) ** 2, background=None)
    assert tiled.tile == 4
    np.testing.assert_allclose(tiled.upscale_stack(lr, 2), whole, rtol=0, atol=1e-5)


def test_background_skipping_keeps_foreground_exact(tiny_net: torch.nn.Module) -> None:
    lr = np.zeros((1, 30, 30), np.float32)
    lr[0, 10:16, 12:20] = 0.5 * np.random.default_rng(2).random((6, 8)) + 0.5
    whole = _whole(tiny_net, lr, 2)
    method = NetworkMethod(tiny_net, 2, background=0.02)
    out = method.upscale_stack(lr, 2)
    bic = bicubic_upscale(torch.from_numpy(lr), 2).numpy()
    fg = bic > 0.02
    np.testing.assert_allclose(out[fg], whole[fg], rtol=0, atol=1e-5)
    # far from the object the bicubic image (here exactly 0) is kept
    assert np.all(out[0, :2] == bic[0, :2])
    # an empty slice never reaches the network
    empty = method.upscale_stack(np.zeros((1, 6, 6), np.float32), 2)
    assert np.all(empty == 0)


def test_wrong_scale_and_bad_arguments(tiny_net: torch.nn.Module) -> None:
    method = NetworkMethod(tiny_net, 2)
    with pytest.raises(ValueError, match="trained for x2"):
        method.upscale_stack(np.zeros((1, 4, 4), np.float32), 3)
    with pytest.raises(ValueError, match="scale"):
        NetworkMethod(tiny_net, 1)
    with pytest.raises(ValueError, match="margin"):
        NetworkMethod(tiny_net, 2, max_pixels=4)
    with pytest.raises(ValueError, match="N, h, w"):
        method.upscale_stack(np.zeros((4, 4), np.float32), 2)


def test_threads_restored(tiny_net: torch.nn.Module) -> None:
    before = torch.get_num_threads()
    NetworkMethod(tiny_net, 2, threads=1).upscale_stack(np.ones((1, 4, 4), np.float32), 2)
    assert torch.get_num_threads() == before


def test_bounding_box_grows_to_quantum() -> None:
    from dnsp.methods.tiling import bbox as _bbox

    mask = np.zeros((100, 40), bool)
    mask[50:53, 3:5] = True
    r0, r1, c0, c1 = _bbox(mask, margin=4)
    assert r0 <= 46 and r1 >= 57 and c0 == 0 and c1 >= 9
    assert (r1 - r0) % 16 == 0 and (c1 - c0) % 16 == 0
    assert 0 <= r0 < r1 <= 100 and 0 <= c0 < c1 <= 40
    assert _bbox(np.zeros((5, 5), bool), 2) is None
    assert _bbox(np.ones((5, 7), bool), 2) == (0, 5, 0, 7)  # clipped to the image


def test_out_of_range_intensities_bypass_the_network(tiny_net: torch.nn.Module) -> None:
    rng = np.random.default_rng(3)
    lr = rng.random((1, 9, 8)).astype(np.float32)
    lr[0, 4, 4] = 6.0  # far above the training range (a bright vessel above the percentile)
    lr[0, 1, 1] = -2.0
    method = NetworkMethod(tiny_net, 2, background=None)
    out = method.upscale_stack(lr, 2)
    clipped = np.clip(lr, 0, 1)
    expected = _whole(tiny_net, clipped, 2) + bicubic_upscale(
        torch.from_numpy(lr - clipped), 2).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    # in-range input is unaffected by the split, and the estimate stays in [0, 1]
    inside = method.upscale_stack(clipped, 2)
    assert inside.min() >= 0.0 and inside.max() <= 1.0
    raw = NetworkMethod(tiny_net, 2, background=None, clip=False).upscale_stack(clipped, 2)
    np.testing.assert_allclose(np.clip(raw, 0, 1), inside, rtol=0, atol=1e-6)
    np.testing.assert_allclose(method.upscale_stack(clipped, 2), _whole(tiny_net, clipped, 2),
                               rtol=0, atol=1e-5)


def test_auto_threads_follows_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from dnsp.methods.tiling import auto_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    for load, expected in [(0.0, 4), (0.7, 4), (1.9, 3), (3.9, 1), (12.0, 1)]:
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert auto_threads() == expected


def _transformed_whole(net: torch.nn.Module, lr: np.ndarray, scale: int, k: int,
                       flip: bool) -> np.ndarray:
    """Whole-slice network output of one flip/rotation of the input, mapped back."""
    with torch.no_grad():
        xs = bicubic_upscale(torch.from_numpy(lr), scale)[:, None]
        t = torch.rot90(xs, k, (2, 3))
        t = t.flip(3) if flip else t
        y = net(t)
        y = y.flip(3) if flip else y
        return torch.rot90(y, -k, (2, 3))[:, 0].numpy()


@pytest.mark.parametrize("size", [2, 4, 8])
def test_self_ensemble_averages_the_transformed_outputs(size: int) -> None:
    """Golden reference: the mean over the first K transforms of whole-slice outputs."""
    torch.manual_seed(1)
    net = build_network("edsr", n_blocks=1, n_feats=4, unshuffle=2, input_skip=True).eval()
    lr = np.random.default_rng(5).random((2, 9, 13)).astype(np.float32)
    want = np.mean([_transformed_whole(net, lr, 2, k, f) for k, f in DIHEDRAL[:size]], axis=0)
    margin = NetworkMethod(net, 2).margin
    for max_pixels in (DEFAULT_MAX_PIXELS, (4 + 2 * margin) ** 2):  # whole slice and tiled
        got = NetworkMethod(net, 2, ensemble=size, background=None, clip=False,
                            max_pixels=max_pixels).upscale_stack(lr, 2)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    # the members differ (the network is not flip-invariant), so the mean is a new image
    single = NetworkMethod(net, 2, background=None, clip=False).upscale_stack(lr, 2)
    assert np.abs(single - want).max() > 1e-4


def test_self_ensemble_of_a_symmetric_network_is_a_single_pass() -> None:
    """A network made of symmetric kernels is flip/rotation equivariant: K changes nothing."""
    net = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[[[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]]]))
    lr = np.random.default_rng(6).random((1, 8, 11)).astype(np.float32)
    outs = [NetworkMethod(net, 2, ensemble=k, background=None).upscale_stack(lr, 2)
            for k in ENSEMBLE_SIZES]
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [0, 3, 16, 2.5])
def test_self_ensemble_rejects_other_sizes(tiny_net: torch.nn.Module, size: object) -> None:
    with pytest.raises(ValueError, match="ensemble must be one of"):
        NetworkMethod(tiny_net, 2, ensemble=size)  # type: ignore[arg-type]


def test_dihedral_prefixes_are_groups() -> None:
    """The first 1, 2, 4 and 8 transforms are closed under composition (all distinct)."""
    img = torch.arange(12.0).reshape(3, 4)

    def apply(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
        x = torch.rot90(x, k, (0, 1))
        return x.flip(1) if flip else x

    for size in ENSEMBLE_SIZES:
        members = DIHEDRAL[:size]
        images = [apply(img, k, f) for k, f in members]
        assert len({tuple(m.flatten().tolist()) + tuple(m.shape) for m in images}) == size
        for k1, f1 in members:
            for k2, f2 in members:
                twice = apply(apply(img, k1, f1), k2, f2)
                assert any(twice.shape == m.shape and torch.equal(twice, m) for m in images)


def test_self_ensemble_with_background_skipping_keeps_foreground_exact() -> None:
    """Head boxes start and end on the space-to-depth grid, so flipped boxes stay on it."""
    torch.manual_seed(2)
    net = build_network("edsr", n_blocks=1, n_feats=4, unshuffle=3, input_skip=True).eval()
    lr = np.zeros((1, 40, 41), np.float32)
    lr[0, 17:25, 13:23] = 0.5 * np.random.default_rng(7).random((8, 10)) + 0.5
    want = np.mean([_transformed_whole(net, lr, 3, k, f) for k, f in DIHEDRAL], axis=0)
    out = NetworkMethod(net, 3, ensemble=8, background=0.02, clip=False).upscale_stack(lr, 3)
    fg = bicubic_upscale(torch.from_numpy(lr), 3).numpy() > 0.02
    np.testing.assert_allclose(out[fg], want[fg], rtol=0, atol=1e-5)
