"""Model-based SR baselines (bicubic, LRTV, SRSW) behind the interface shared with networks.

``get_method(name, **params).upscale_stack(lr, scale)`` maps a stack of consecutive axial LR
slices ``(N, h, w)`` in [0, 1] to ``(N, h*s, w*s)`` on the centre-aligned HR grid of SPEC sec. 4.
See ``docs/baselines.md`` for the algorithms, their parameters and measured results.
"""

from dnsp.baselines.base import SRMethod, available_methods, get_method

__all__ = ["SRMethod", "available_methods", "get_method"]
