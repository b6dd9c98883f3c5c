"""Low-field simulation of paper Sec. IV-E (SPEC sec. 4): now part of the acquisition models.

The implementation lives in :mod:`dnsp.acquisition.lowfield` (the ``lowfield`` acquisition
model and the volume-level functions); the names below stay importable from here.
"""

from __future__ import annotations

from dnsp.acquisition.lowfield import (
    LowFieldResult,
    background_mask,
    estimate_noise_sigma,
    simulate_low_field,
)

__all__ = ["LowFieldResult", "background_mask", "estimate_noise_sigma", "simulate_low_field"]
