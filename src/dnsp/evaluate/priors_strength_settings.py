"""The settings of the priors-strength study: its runs, conditions, budget section, and the
step of its calibration (:func:`next_multiplier`). See :mod:`dnsp.evaluate.priors_strength`."""


from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dnsp.errors import InputError
from dnsp.evaluate.priors_strength_stats import (
    level_name,
)

#: Columns of ``results/runs.csv`` (one row per finished run).
__all__ = ["PRIMARY", "RUN_COLUMNS", "Condition", "StrengthRun", "StrengthSettings",
           "next_multiplier"]

RUN_COLUMNS: tuple[str, ...] = (
    "run", "dataset", "condition", "degradation", "capacity", "params", "variant", "level",
    "nominal", "multiplier", "alpha", "beta", "beta_c", "seed", "steps", "train_seconds",
    "status", "psnr", "ssim", "psnr_brain", "ssim_brain", "hfen", "n_slices", "grad_ratio",
    "grad_ratio_last", "rank_out", "rank_hr", "lapvar_out", "lapvar_hr",
)
PRIMARY = "full"


@dataclass(frozen=True)
class StrengthRun:
    """One run: a variant at one strength level, condition and seed (NP: level ``none``)."""

    dataset: str
    condition: str
    degradation: str
    capacity: str
    variant: str
    level: str
    seed: int

    @property
    def name(self) -> str:
        """Run id used in file names and in ``runs.csv``."""
        return (f"{self.dataset}-{self.condition}-{self.capacity}-{self.variant}-{self.level}"
                f"-s{self.seed}")


@dataclass(frozen=True)
class Condition:
    """Where runs are trained: a degradation plus dotted training overrides."""

    name: str
    degradation: str
    train: dict[str, Any]


@dataclass(frozen=True)
class StrengthSettings:
    """The budget's ``strength`` section, checked."""

    capacity: dict[str, Any]
    variants: list[str]
    levels: list[float]
    seeds: list[int]
    target_half_width: float | None
    max_seeds: int
    grad_every: int
    stat_patch: int
    pilot_steps: int
    pilot_tolerance: float
    max_pilots: int
    beta_c_margin: float
    above_beta_c: float | None
    primary: Condition
    secondary_levels: list[str]
    secondary: list[Condition]

    @classmethod
    def from_section(cls, d: dict[str, Any], where: str) -> StrengthSettings:
        """Read a ``strength`` section (the keys of the class), with one-line errors."""
        def need(key: str) -> Any:
            if key not in d:
                raise InputError(f"{where}: the strength section needs {key!r}")
            return d[key]

        cap = dict(need("capacity"))
        if "name" not in cap or "params" not in cap:
            raise InputError(f"{where}: strength.capacity needs a name and params")
        levels = [float(x) for x in need("levels")]
        if not levels or any(not 0 < x < 1 for x in levels):
            raise InputError(f"{where}: strength.levels must be ratios in (0, 1), got {levels}")
        variants = [str(v) for v in need("variants")]
        if "NP" in variants or not variants:
            raise InputError(f"{where}: strength.variants lists the prior variants (not NP)")
        tol = float(d.get("pilot_tolerance", 1.25))
        margin = float(d.get("beta_c_margin", 0.9))
        if tol <= 1 or not 0 < margin <= 1:
            raise InputError(f"{where}: pilot_tolerance must be > 1 and beta_c_margin in (0, 1]")
        prim = dict(d.get("primary") or {})
        sec = dict(d.get("secondary") or {})
        above = d.get("above_beta_c")
        return cls(
            capacity=cap, variants=variants, levels=sorted(levels),
            seeds=[int(s) for s in need("seeds")],
            target_half_width=(None if d.get("target_half_width") is None
                               else float(d["target_half_width"])),
            max_seeds=int(d.get("max_seeds", len(need("seeds")))),
            grad_every=int(d.get("grad_every", 50)), stat_patch=int(d.get("stat_patch", 40)),
            pilot_steps=int(need("pilot_steps")), pilot_tolerance=tol,
            max_pilots=int(d.get("max_pilots", 5)), beta_c_margin=margin,
            above_beta_c=None if above is None else float(above),
            primary=Condition(PRIMARY, str(prim.get("degradation", "gaussian")),
                              dict(prim.get("train") or {})),
            secondary_levels=[str(x) if x == "best" else level_name(float(x))
                              for x in sec.get("levels", [])],
            secondary=[Condition(str(c["name"]), str(c.get("degradation", "gaussian")),
                                 dict(c.get("train") or {})) for c in sec.get("conditions", [])],
        )


# ---------------------------------------------------------------------------------------------
# calibration


def next_multiplier(points: list[tuple[float, float]], target: float,
                    m_max: float = math.inf) -> float:
    """The next weight factor to try for a gradient ratio ``target``.

    The ratio grows with the factor, roughly as a power law; ``points`` are the (factor,
    measured ratio) pairs so far. With none, 1 (the paper's weights). With two points
    bracketing the target, log-log interpolation between them; else a power-law step from
    the nearest point, with the exponent of its two nearest neighbours (clipped to
    [0.3, 1.5]) or 1. Never above ``m_max``.

    Args:
        points: (multiplier, ratio) pairs; non-finite or non-positive ratios are ignored.
        target: Wanted ratio (> 0).
        m_max: Largest factor allowed (beta_c).

    Returns:
        The factor to try next.
    """
    if not target > 0:
        raise ValueError(f"target must be > 0, got {target!r}")
    pts = sorted((m, r) for m, r in points if m > 0 and math.isfinite(r) and r > 0)
    if not pts:
        return min(1.0, m_max)
    lt = math.log(target)
    below = [p for p in pts if p[1] <= target]
    above = [p for p in pts if p[1] > target]
    if below and above:
        (m1, r1), (m2, r2) = max(below, key=lambda p: p[1]), min(above, key=lambda p: p[1])
        if r2 > r1 and m1 != m2:
            t = (lt - math.log(r1)) / (math.log(r2) - math.log(r1))
            return min(math.exp(math.log(m1) + t * (math.log(m2) - math.log(m1))), m_max)
    near = sorted(pts, key=lambda p: abs(math.log(p[1]) - lt))
    m0, r0 = near[0]
    slope = 1.0
    if len(near) > 1:
        (ma, ra), (mb, rb) = near[0], near[1]
        if ma != mb and ra != rb:
            slope = (math.log(rb) - math.log(ra)) / (math.log(mb) - math.log(ma))
            slope = float(np.clip(slope, 0.3, 1.5))
    return min(math.exp(math.log(m0) + (lt - math.log(r0)) / slope), m_max)


