"""The one place every SR method is built: a registered method, a shipped model, a file.

:func:`build_method` serves ``dnsp upscale``, ``dnsp evaluate`` and ``dnsp reproduce`` alike:

* a registered name (:func:`~dnsp.methods.base.available_methods`: ``bicubic``, ``lrtv``,
  ``srsw``) -> that method, constructed with ``params``;
* a shipped model name, or the path of a model file / trainer checkpoint (optionally written
  ``model:NAME_OR_PATH``) -> a :class:`~dnsp.methods.network.NetworkMethod`;
* ``None`` -> the robust default for the scale: a :class:`~dnsp.methods.by_estimate.ByEstimate`
  that serves each volume with the default shipped model (smooth band limits) or the model for
  k-space acquisitions, projected onto the data (k-space and unknown estimates); with
  ``given``, the shipped model for the named acquisition.

The acquisition model (:mod:`dnsp.acquisition`) says how a network's input is formed from
LR; it defaults to :func:`dnsp.acquisition.default_acquisition` at ``scale`` (the paper's
``gaussian``: bicubic pre-upsampling).
Registered pairs pass ``get_acquisition("identity")`` (scale 1).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dnsp.acquisition import Acquisition, NetworkInput, default_acquisition, get_acquisition
from dnsp.devices import resolve_device
from dnsp.errors import InputError
from dnsp.methods.base import SRMethod, available_methods, get_method
from dnsp.methods.by_estimate import ByEstimate
from dnsp.methods.network import DEFAULT_MAX_PIXELS, ENSEMBLE_SIZES, NetworkMethod
from dnsp.methods.pretrained import available_models, default_model, load_model, models_dir
from dnsp.ops import check_scale

__all__ = ["MODEL_PREFIX", "build_method"]

#: Prefix that marks a method text as a model name or file (``model:dnsp-edsr-ap-x2``).
MODEL_PREFIX = "model:"


def _shipped_names(folder: str | os.PathLike[str] | None) -> list[str]:
    root = Path(folder) if folder is not None else models_dir()
    if not (root / "manifest.json").is_file():
        return []
    return [info.name for info in available_models(root)]


def _unknown(spec: str, folder: str | os.PathLike[str] | None) -> InputError:
    shipped = ", ".join(_shipped_names(folder)) or "none installed"
    return InputError(
        f"unknown SR method {spec!r}; valid: {', '.join(available_methods())}, a shipped "
        f"model ({shipped}) or the path of a model file or checkpoint"
    )


def _acquisition(scale: int | None, acquisition: Acquisition | None) -> Acquisition:
    if acquisition is not None:
        if scale is not None and scale != acquisition.scale:
            raise InputError(f"scale {scale} differs from the acquisition's scale "
                             f"{acquisition.scale} ({acquisition.name})")
        return acquisition
    try:
        return default_acquisition(check_scale(scale, 2))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def build_method(
    spec: str | None,
    scale: int | None = None,
    *,
    acquisition: Acquisition | None = None,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    device: str | torch.device | None = "cpu",
    threads: int | None = None,
    max_pixels: int | None = None,
    ensemble: int | None = None,
    models_folder: str | os.PathLike[str] | None = None,
    given: bool = False,
    gate: float = 0.0,
    flat: float = 0.0,
    keep_range: bool = False,
) -> SRMethod:
    """Build the SR method named by ``spec`` (see the module docstring).

    Args:
        spec: Registered method name (case-insensitive), shipped model name, model/checkpoint
            path (either optionally prefixed ``model:``), or ``None`` for the robust default
            of ``scale`` (module docstring).
        scale: Integer factor >= 2; may be left out when ``acquisition`` is given.
        acquisition: Acquisition model of the LR input (networks only); default: the paper's
            ``gaussian`` at ``scale``.
        name: Name the method reports (default: the method's or the model's own).
        params: Constructor keywords of a registered method (e.g. ``{"clip": False}``).
        device: Device of a network (:func:`dnsp.devices.resolve_device`: ``auto``, ``cpu``,
            ``cuda``, ``cuda:N``, ``mps``).
        threads: Torch threads of a network (``None``: torch's setting).
        max_pixels: Tile area bound of a network (``None``: 1024 x 1024).
        ensemble: Self-ensemble size of a network (1, 2, 4, 8; ``None``: the model's own
            setting, manifest field ``ensemble``; 1 for checkpoints).
        models_folder: Use this models folder instead of the shipped one.
        given: ``acquisition`` is what the user says the input is (not a default): with
            ``spec=None`` the shipped model for that acquisition is taken
            (:func:`~dnsp.methods.pretrained.default_model`), and a linear one is the
            network's data-consistency projection, weighted by the input's noise.
        gate: Strength of a network's out-of-band noise gate (0: off;
            :data:`dnsp.ops.band_gate.DEFAULT_GATE` for ``dnsp upscale``).
        flat: Edge contrast of a network's flat gate (0: off;
            :data:`dnsp.ops.band_gate.DEFAULT_FLAT_GATE` for ``dnsp upscale``).
        keep_range: Keep a network's output at or above the input's minimum.

    Returns:
        An :class:`~dnsp.methods.base.SRMethod`.

    Raises:
        InputError: An unknown method or model (the message lists the valid ones), no default
            model for the scale, a model trained for another scale, a checksum mismatch, an
            unavailable device, a bad ``ensemble`` size or scale.
    """
    text = spec.strip() if isinstance(spec, str) else spec
    key = text.lower() if text is not None else None
    if key is not None and key in available_methods():
        method = get_method(key, **dict(params or {}))
        if name is not None:
            method.name = name
        return method
    if params:
        raise InputError(f"params are for the registered methods "
                         f"({', '.join(available_methods())}), not for the network {spec!r}")
    acq = _acquisition(scale, acquisition)
    if ensemble is not None and ensemble not in ENSEMBLE_SIZES:
        raise InputError(f"--ensemble must be one of {', '.join(map(str, ENSEMBLE_SIZES))}, "
                         f"got {ensemble}")
    options: dict[str, Any] = {"device": device, "threads": threads, "max_pixels": max_pixels,
                               "ensemble": ensemble, "gate": gate, "flat": flat,
                               "keep_range": keep_range}
    if text is None:
        model = default_model(acq.scale, models_folder, acquisition=acq if given else None)
        if not given and acq.scale > 1:
            return _by_estimate(model, acq, name, models_folder, options)
    elif text.startswith(MODEL_PREFIX):
        model = text[len(MODEL_PREFIX):]
    elif Path(text).exists() or text in _shipped_names(models_folder):
        model = text
    else:
        raise _unknown(text, models_folder)
    return _network(model, acq, given, name, models_folder, options)


def _by_estimate(model: str, acq: Acquisition, name: str | None,
                 models_folder: str | os.PathLike[str] | None, options: dict[str, Any]
                 ) -> SRMethod:
    """The robust default: ``model`` for smooth band limits and the k-space model projected
    onto k-space data for the rest (:class:`ByEstimate`); ``model`` alone (with its own
    projection rule) where no k-space model is shipped for the scale: at x3 and x4 the
    estimator reads some blurred heads as unknown, which the k-space reading would not undo."""
    kspace = get_acquisition("kspace", scale=acq.scale)
    sharp_model = default_model(acq.scale, models_folder, acquisition=kspace)
    smooth = _network(model, acq, False, None, models_folder, options)
    if sharp_model == model or smooth.inputs is None:
        smooth.name = name or smooth.name  # no second load of the same network
        return smooth
    sharp = _network(sharp_model, kspace, True, None, models_folder, options)
    return ByEstimate(smooth, sharp, name=name)


def _network(model: str, acq: Acquisition, given: bool, name: str | None,
             models_folder: str | os.PathLike[str] | None, options: dict[str, Any]
             ) -> NetworkMethod:
    """The :class:`NetworkMethod` of a shipped model or file for the acquisition ``acq``."""
    net, info = load_model(model, models_folder)
    if acq.scale > 1 and info.scale != acq.scale:
        raise InputError(
            f"model {info.name!r} was trained for x{info.scale}; use --scale {info.scale} "
            "or choose another model"
        )
    inputs = None if info.inputs is None else NetworkInput(acq.scale, tuple(info.inputs))
    projector = acq if given and acq.linear and acq.scale > 1 else None
    if projector is not None and info.inputs is None:
        # a single-input network is fed as it was trained (bicubic), whatever the data's
        # acquisition: the given model is the projection's
        acq = default_acquisition(acq.scale)
    ensemble = options["ensemble"]
    return NetworkMethod(net, acquisition=acq, name=name or info.name,
                         device=resolve_device(options["device"], option="--device"),
                         max_pixels=options["max_pixels"] or DEFAULT_MAX_PIXELS,
                         threads=options["threads"],
                         ensemble=ensemble if ensemble is not None else info.ensemble,
                         inputs=inputs,
                         # models trained on several acquisitions: project onto k-space data;
                         # a given linear acquisition: onto its own data, weighted by noise
                         consistency=("auto" if info.meta.get("acquisition") or projector
                                      else "off"),
                         projector=projector, gate=options["gate"],
                         flat=options["flat"], keep_range=options["keep_range"])
