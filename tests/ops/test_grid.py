"""The one window-grid rule (dnsp.ops.grid.window_starts) and its two users."""

from __future__ import annotations

import pytest

from dnsp.data.patches import patch_grid
from dnsp.methods.tiling import tile_starts
from dnsp.ops.grid import window_starts


@pytest.mark.parametrize(("length", "window", "stride", "align", "expected"), [
    (10, 4, None, 1, [0, 4, 6]),
    (8, 4, None, 1, [0, 4]),
    (10, 4, 2, 1, [0, 2, 4, 6]),
    (11, 4, 3, 1, [0, 3, 6, 7]),
    (10, 4, None, 4, [0, 4]),      # the last start rounded down to 4: no duplicate
    (13, 4, None, 2, [0, 4, 8]),
    (3, 4, None, 1, [0]),
])
def test_window_starts_golden(length, window, stride, align, expected) -> None:
    assert window_starts(length, window, stride, align) == expected


def test_users_share_the_rule() -> None:
    assert tile_starts(37, 8) == window_starts(37, 8)
    assert [i for i, _ in patch_grid(37, 40, 8, 5)][::len(window_starts(40, 8, 5))] == \
        window_starts(37, 8, 5)


@pytest.mark.parametrize("bad", [(0, 4, None, 1), (10, 4, 3, 2), (10, 0, None, 1)])
def test_window_starts_refuses_bad_sizes(bad) -> None:
    with pytest.raises(ValueError):
        window_starts(*bad)
