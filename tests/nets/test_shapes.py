"""Shapes, parameter counts and basic behaviour of every network (SPEC section 5)."""

from __future__ import annotations

import pytest
import torch

from dnsp.nets import build_network, count_parameters
from dnsp.nets.tissue import N_CLASSES


def _conv(cin: int, cout: int, k: int, dims: int = 2, bias: bool = True) -> int:
    return cin * cout * k**dims + (cout if bias else 0)


def _edsr_count(blocks: int, feats: int) -> int:
    return (_conv(1, feats, 3) + blocks * 2 * _conv(feats, feats, 3) + _conv(feats, feats, 3)
            + _conv(feats, 1, 3))


def _dcsrn_count(k: int, units: int, dims: int) -> int:
    total = _conv(1, 2 * k, 3, dims)
    ch = 2 * k
    for _ in range(units):
        total += 2 * ch + _conv(ch, k, 3, dims, bias=False)  # BN affine + conv
        ch += k
    return total + _conv(ch, 1, 1, dims)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("srcnn", _conv(1, 64, 9) + _conv(64, 32, 1) + _conv(32, 1, 5)),
        ("edsr", _edsr_count(32, 256)),
        ("edsr-small", _edsr_count(16, 64)),
        ("edsr-tiny", _edsr_count(8, 32)),
        ("dcsrn", _dcsrn_count(24, 4, 3)),
        ("dcsrn2d", _dcsrn_count(24, 4, 2)),
        ("lfmri", _conv(4, 64, 3) + 5 * _conv(64, 64, 3) + _conv(64, 1, 3)),
    ],
)
def test_parameter_counts(name: str, expected: int) -> None:
    assert count_parameters(build_network(name)) == expected


def test_paper_edsr_size() -> None:
    # 32 blocks x 256 filters without upsampler: about 38.4 M parameters.
    assert count_parameters(build_network("edsr")) == 38_360_065


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("srcnn", {}),
        ("edsr", {"n_blocks": 2, "n_feats": 8}),
        ("edsr-tiny", {"input_skip": True}),
        ("edsr", {"n_blocks": 2, "n_feats": 8, "unshuffle": 3, "input_skip": True}),
        ("dcsrn2d", {"growth": 4}),
    ],
)
def test_2d_shapes_and_gradients(name: str, kwargs: dict) -> None:
    torch.manual_seed(0)
    net = build_network(name, **kwargs)
    assert net.spatial_dims == 2
    x = torch.rand(3, 1, 24, 20, requires_grad=True)
    y = net(x)
    assert y.shape == (3, 1, 24, 20)
    y.square().mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert x.grad is not None


def test_dcsrn_3d_shape() -> None:
    torch.manual_seed(0)
    net = build_network("dcsrn", growth=4)
    assert net.spatial_dims == 3
    y = net(torch.rand(2, 1, 8, 16, 16))
    assert y.shape == (2, 1, 8, 16, 16)
    with pytest.raises(ValueError, match="5-D input"):
        net(torch.rand(2, 1, 16, 16))


def test_input_skip_identity_at_zero_weights() -> None:
    net = build_network("edsr", n_blocks=1, n_feats=4, input_skip=True)
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    x = torch.rand(2, 1, 12, 12)
    assert torch.equal(net(x), x)


def test_edsr_unshuffle_is_space_to_depth() -> None:
    """With u = 2 the network sees the four polyphase components of the input as channels."""
    net = build_network("edsr", n_blocks=0, n_feats=4, unshuffle=2)
    assert net.head.in_channels == 4 and net.tail.out_channels == 4
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    with torch.no_grad():  # head copies channel k to feature k, the body adds 0, tail copies back
        for k in range(4):
            net.head.weight[k, k, 1, 1] = 1.0
            net.tail.weight[k, k, 1, 1] = 1.0
    x = torch.rand(2, 1, 7, 10)  # odd height: padded, then cropped
    torch.testing.assert_close(net(x), x)
    with pytest.raises(ValueError, match="unshuffle >= 1"):
        build_network("edsr", n_blocks=1, n_feats=4, unshuffle=0)


def test_srcnn_validation() -> None:
    with pytest.raises(ValueError, match="odd"):
        build_network("srcnn", kernels=(9, 2, 5))
    with pytest.raises(ValueError, match="padding_mode"):
        build_network("srcnn", padding_mode="circularish")


def _three_tissue_image(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    img = torch.zeros(4, 1, 32, 32)
    img[:, :, 4:28, 4:12] = 0.3
    img[:, :, 4:28, 12:20] = 0.6
    img[:, :, 4:28, 20:28] = 0.9
    return (img + 0.02 * torch.randn(img.shape, generator=g)).clamp(0, 1)


def test_lfmri_needs_fit_then_maps_shape() -> None:
    torch.manual_seed(0)
    net = build_network("lfmri", n_feats=8, depth=2)
    x = _three_tissue_image()
    with pytest.raises(RuntimeError, match="not fitted"):
        net(x)
    gmm = net.fit_to_data(x)
    assert gmm.means == pytest.approx([0.3, 0.6, 0.9], abs=0.02)
    y = net(x)
    assert y.shape == x.shape
    # tissue buffers are part of the state dict (checkpoints carry the fitted model)
    clone = build_network("lfmri", n_feats=8, depth=2)
    clone.load_state_dict(net.state_dict())
    assert torch.equal(clone(x), y)


def test_tissue_probabilities() -> None:
    net = build_network("lfmri", n_feats=4, depth=1)
    x = _three_tissue_image()
    net.fit_to_data(x)
    p = net.tissue(x)
    assert p.shape == (4, N_CLASSES, 32, 32)
    fg = x[:, 0] > net.tissue.threshold
    assert torch.allclose(p.sum(1)[fg], torch.ones(()), atol=1e-5)
    assert torch.all(p.sum(1)[~fg] == 0)
    # the middle strip is assigned to the middle class
    assert (p[:, 1, 8:24, 14:18] > 0.9).float().mean() > 0.95
