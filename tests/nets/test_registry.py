"""Registry of dnsp.nets: names, errors, defaults, registration."""

from __future__ import annotations

import pytest
from torch import nn

from dnsp.nets import available_networks, build_network, network_defaults, register_network
from dnsp.nets.edsr import EDSR

EXPECTED = {"srcnn", "edsr", "edsr-small", "edsr-tiny", "dcsrn", "dcsrn2d", "lfmri"}


def test_available_networks_lists_every_network() -> None:
    names = available_networks()
    assert set(names) == EXPECTED
    assert names == sorted(names)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown network 'vdsr'") as info:
        build_network("vdsr")
    for name in EXPECTED:
        assert name in str(info.value)


def test_bad_keyword_is_value_error() -> None:
    with pytest.raises(ValueError, match="bad arguments for network 'srcnn'"):
        build_network("srcnn", n_blocks=3)


def test_defaults_and_overrides() -> None:
    assert network_defaults("edsr") == {"n_blocks": 32, "n_feats": 256, "res_scale": 0.1}
    net = build_network("EDSR-small", n_blocks=2, n_feats=8)
    assert isinstance(net, EDSR)
    assert len(net.body) == 3  # two blocks + body conv


def test_register_rejects_duplicates_and_upper_case() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_network("srcnn")(nn.Identity)
    with pytest.raises(ValueError, match="lower case"):
        register_network("Foo")(nn.Identity)
