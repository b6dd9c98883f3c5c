"""Model-card sections about acquisitions: what a model was trained on, what its input must be,
and how it does on realistic acquisitions (``benchmarks/acquisition_robustness.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["degradation_lines", "input_lines", "robustness_lines", "training_stages"]


def _component(c: Mapping[str, Any]) -> str:
    parts = [str(c["name"])]
    for k, v in c.items():
        if k == "name":
            continue
        parts.append(f"{k} {v[0]:g}-{v[1]:g}" if isinstance(v, (list, tuple)) else f"{k} {v}")
    return " ".join(parts)


def degradation_lines(entry: Mapping[str, Any], scale: int) -> list[str]:
    """The card's degradation line(s) for a manifest entry (paper's, or its ``acquisition``)."""
    acq = entry.get("acquisition")
    if not acq:
        return [f"* Degradation (SPEC section 4): crop to a multiple of {scale}, Gaussian blur "
                f"sigma = {scale / 2:g} HR voxels, {scale} x {scale} block mean; network input = "
                "centre-aligned Keys bicubic (a = -0.5) upscaling; intensities / 99.9th "
                "percentile, clipped to [0, 1]."]
    comps = acq.get("components", [acq])
    weights = acq.get("weights") or [1.0] * len(comps)
    total = float(sum(weights))
    listed = "; ".join(f"{100 * w / total:.0f} % {_component(c)}"
                       for c, w in zip(comps, weights, strict=True))
    draws = entry.get("training", {}).get("acquisition_draws", 1)
    return [f"* Acquisition (docs/acquisition.md): a seeded random mixture, drawn per training "
            f"image ({draws} draws per image): {listed} (sigma in HR voxels; noise = Rician, "
            "fraction of the 99.9th percentile).",
            f"* Network input: channels {', '.join(entry.get('inputs', ['bicubic']))} "
            "(images on the HR grid, then features measured on the LR slice itself); "
            "initialised from "
            f"`{training_stages(entry.get('training', {}))[0].get('init_from')}` "
            "(new channels at zero)."]


def training_stages(training: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stages of a model's export record (``training.stages``; the record itself for a
    model trained in one go)."""
    return list(training.get("stages") or [training])


def input_lines(entry: Mapping[str, Any], scale: int) -> list[str]:
    """'What the input must be' for a model."""
    lines = ["## What the input must be", "",
             f"* A magnitude MR slice stack whose in-plane resolution is {scale} times coarser "
             "than wanted, brain or head, T1-like contrast (T1, contrast-enhanced T1, PD and "
             "FLAIR were not in training).",
             "* Intensities in any units and sign (`dnsp upscale` maps the volume by "
             "(x - min) / 99.9th percentile and back)."]
    if entry.get("acquisition"):
        lines += ["* Acquired by a low matrix (k-space truncation, with or without a vendor "
                  "window) or blurred like the paper's model, with Rician noise up to about "
                  "3 %: the network measures which from the slice itself; `dnsp upscale` "
                  "prints the acquisition it assumed and the re-acquisition consistency.",
                  "* Not for inputs that are already at full resolution: upscaling a scan "
                  "the scanner did not down-sample adds no information (figures in "
                  "docs/acquisition.md)."]
    else:
        lines += ["* Blurred like the paper's degradation (Gaussian sigma = s/2 + block "
                  "mean). On sharp low-matrix acquisitions (k-space truncation) this model "
                  "draws halos and is many dB worse than zero-filling: use the default model "
                  "there (docs/acquisition.md)."]
    return [*lines, ""]


def robustness_lines(rows: Sequence[Mapping[str, Any]], scale: int) -> list[str]:
    """Table of ``benchmarks/acquisition_robustness.py`` rows of one scale."""
    mine = [r for r in rows if int(r["scale"]) == scale]
    if not mine:
        return []
    lines = ["## Realistic acquisitions", "",
             "PSNR over the head box (dB, peak = 99.9th percentile) on heads never used in "
             "training; gain = model minus the better of bicubic and zero-filling. Command: "
             f"`python benchmarks/acquisition_robustness.py --scales {scale} --out FILE`.", "",
             "| acquisition | test set | bicubic | zero-filled | model | gain |",
             "|---|---|---|---|---|---|"]
    for r in mine:
        lines.append(f"| {r['case']} | {r['head']} | {r['bicubic']:.2f} | {r['zerofill']:.2f} "
                     f"| {r['model']:.2f} (`{r['model_name']}`) | {r['gain']:+.2f} |")
    return [*lines, ""]
