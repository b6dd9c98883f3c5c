"""``dnsp upscale --list-models``: the shipped models as a readable table.

One row per model of the manifest (:func:`dnsp.methods.pretrained.available_models`):
name, scale, default mark, what it was trained on (data and contrasts, their resolution, from
the model card's *Data* line), the degradation (acquisition model) its input must follow,
its input channels, its self-ensemble size (flips/rotations averaged by default, changed
with ``--ensemble``), parameters, the measured PSNR gain over bicubic on held-out heads (the
model card's first results table) and its cost: multiply-accumulates per output pixel,
counted on the network itself (a speed measure independent of the machine; measured times
are in docs/upscale.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnsp.acquisition import (
    acquisition_class,
    acquisition_from_config,
    command_line_acquisitions,
    default_acquisition,
)
from dnsp.methods.pretrained import ModelInfo, available_models, read_manifest
from dnsp.nets import build_network
from dnsp.nets.registry import count_parameters

__all__ = ["model_rows", "models_table"]

_HEADERS = ("name", "x", "trained on", "degradation", "serves", "inputs", "ensemble", "params",
            "gain", "MAC/px")


def _card(info: ModelInfo) -> str:
    """The model's card: the manifest's ``card``, else the card of its scale (which lists
    every model of the scale, a no-prior twin included)."""
    card = info.meta.get("card") or f"MODEL_CARD_x{info.scale}.md"
    path = Path(info.path).parent / str(card)
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _trained_on(info: ModelInfo, card: str) -> str:
    """Data sets, contrasts and resolutions of the card's *Data* line."""
    training = info.meta.get("training", {})
    if isinstance(training, dict) and training.get("data"):
        return str(training["data"])
    match = re.search(r"^\* Data: (.*)$", card, flags=re.MULTILINE)
    if not match:
        return "-"
    text = match.group(1)
    names = [n for n in ("IXI", "BrainWeb", "BraTS", "chris", "Kirby", "OASIS", "HCP")
             if n.lower() in text.lower()]
    contrasts = sorted({c.upper() for c in re.findall(r"\b(T1w?|T2w?|PD|FLAIR)\b", text,
                                                       flags=re.IGNORECASE)})
    mm = sorted({m for m in re.findall(r"(\d+(?:\.\d+)?) ?mm", text)}, key=float)
    parts = [", ".join(names)] if names else []
    if contrasts:
        parts.append("/".join(contrasts))
    if mm:
        parts.append("/".join(mm) + " mm")
    return "; ".join(parts) or "-"


def _degradation(info: ModelInfo) -> str:
    acq = info.meta.get("acquisition")
    try:
        if isinstance(acq, dict):
            return acquisition_from_config(acq).describe()
        if isinstance(acq, str):
            return acq
        if info.scale >= 2:
            return default_acquisition(info.scale).describe()
    except (ValueError, TypeError, KeyError):
        return str(acq)
    return "-"


def _gain(info: ModelInfo, card: str) -> str:
    """``+4.96 dB`` from the first results table of the card that has a row for the model."""
    for line in card.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].strip("`") == info.name and cells[-1].endswith("dB"):
            return cells[-1].replace(" ", "")
    return "-"


def _macs_per_pixel(net: nn.Module, side: int, chans: int = 1) -> float:
    """Multiply-accumulates per output pixel of a 2-D network on a ``side`` square input."""
    total = 0

    def hook(mod: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            total += out.numel() * (mod.in_channels // mod.groups) * k
        elif isinstance(mod, nn.Linear):
            total += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.inference_mode():
            out = net(torch.zeros(1, chans, side, side))
    finally:
        for h in handles:
            h.remove()
    return total / float(out.shape[-1] * out.shape[-2])


def _serves(manifest: dict[str, Any]) -> dict[str, str]:
    """Model name -> the ``--acquisition`` values ``dnsp upscale`` gives it without --model:
    its own acquisition (``acquisition_defaults``), or for a scale's default ``auto`` and every
    in-plane acquisition without a model of its own at that scale. Where a k-space model
    exists, ``auto`` is split by the estimate (:mod:`dnsp.methods.by_estimate`): the default
    serves ``auto(smooth)``, the k-space model ``auto(kspace/unknown)``."""
    by_acq = manifest.get("acquisition_defaults", {})
    own: dict[str, list[str]] = {}
    for acq, by_scale in by_acq.items():
        for name in by_scale.values():
            own.setdefault(name, []).append(acq)
    in_plane = [a for a in command_line_acquisitions() if not acquisition_class(a).along_slices]
    out = {name: ",".join(sorted(acqs)) for name, acqs in own.items()}
    for scale, name in manifest.get("defaults", {}).items():
        sharp = by_acq.get("kspace", {}).get(scale)
        split = sharp is not None and sharp != name
        rest = [a for a in in_plane if scale not in by_acq.get(a, {})]
        out[name] = ",".join(["auto(smooth)" if split else "auto", *rest])
        if split:
            out[sharp] += ",auto(kspace/unknown)"
    return out


def model_rows(folder: str | None = None) -> list[tuple[str, ...]]:
    """The table's rows (strings), one per shipped model."""
    manifest = read_manifest(folder)
    defaults = {v: k for k, v in manifest.get("defaults", {}).items()}
    serves = _serves(manifest)
    rows = []
    for info in available_models(folder):
        card = _card(info)
        try:
            net = build_network(info.network, **info.network_kwargs)
            params = f"{count_parameters(net) / 1e3:.0f}k"
            side = 48 if info.network_kwargs.get("unshuffle") is None else \
                12 * int(info.network_kwargs["unshuffle"])
            chans = len(info.inputs) if info.inputs else 1
            macs = f"{_macs_per_pixel(net.eval(), side, chans) / 1e3:.0f}k" \
                if getattr(net, "spatial_dims", 2) == 2 else "-"
        except (ValueError, TypeError, RuntimeError):
            params, macs = "-", "-"
        name = info.name + (" *" if info.name in defaults else "")
        kind = info.meta.get("kind")
        rows.append((name, str(info.scale) if kind is None else f"{info.scale} ({kind})",
                     _trained_on(info, card), _degradation(info), serves.get(info.name, "-"),
                     "+".join(info.inputs) if info.inputs else "bicubic",
                     str(info.ensemble), params, _gain(info, card), macs))
    return rows


def models_table(folder: str | None = None) -> str:
    """The plain-text table printed by ``dnsp upscale --list-models``."""
    rows = model_rows(folder)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(_HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(_HEADERS, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    lines.append("* default model for its scale. serves: the --acquisition values that get "
                 "this model when --model is not given (auto(smooth), auto(kspace/unknown): "
                 "auto serves each volume by its acquisition estimate). ensemble: "
                 "flips/rotations averaged by "
                 "default (--ensemble K changes it, K times the time); gain: PSNR over bicubic "
                 "on held-out heads (model card); MAC/px: multiply-accumulates per output "
                 "pixel; details: each model's card in dnsp/infer/models/.")
    return "\n".join(lines)
