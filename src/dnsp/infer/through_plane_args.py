"""The ``dnsp upscale`` options of through-plane SR, without heavy imports (fast ``--help``).

:func:`add_through_plane_arguments` declares them; :func:`dnsp.infer.through_plane.
run_through_plane` runs them. See docs/through_plane.md.
"""

from __future__ import annotations

import argparse

__all__ = ["DEFAULT_PROFILE", "DEFAULT_TIME_BUDGET", "add_through_plane_arguments"]

#: Seconds of per-volume adaptation by default.
DEFAULT_TIME_BUDGET = 120.0
#: Profile assumed when none is given: ``rect`` is the safer guess (docs/through_plane.md: a
#: Gaussian scan restored as rect loses 0.7-0.85 dB of gain, still +1.5 dB over B-spline; a
#: rect scan restored as Gaussian loses 0.9-1.3 dB, leaving +0.4 to +0.9 dB).
DEFAULT_PROFILE = "rect"


def add_through_plane_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--through-plane``, ``--target-spacing``, ``--slice-thickness``, ``--profile``
    and ``--time-budget`` on ``dnsp upscale``'s parser."""
    group = parser.add_argument_group("thick-slice scans (docs/through_plane.md)")
    group.add_argument("--through-plane", action="store_true",
                       help="restore the thick slice axis (largest spacing) with the "
                       "self-adapting through-plane network; with --scale the in-plane axes "
                       "are upscaled first (an isotropic volume)")
    group.add_argument("--target-spacing", type=float, default=None, metavar="MM",
                       help="output spacing along the slice axis (default: in-plane spacing)")
    group.add_argument("--slice-thickness", type=float, default=None, metavar="MM",
                       help="slice thickness (default: the slice spacing; thinner: gaps)")
    group.add_argument("--profile", default=None, metavar="rect|gaussian|FILE",
                       help=f"slice profile: rect, gaussian (FWHM = thickness) or a text file "
                       f"of samples (default {DEFAULT_PROFILE}; docs/through_plane.md)")
    group.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET, metavar="S",
                       help=f"seconds of per-volume adaptation (default {DEFAULT_TIME_BUDGET:g};"
                       " 0: the pretrained network only)")
