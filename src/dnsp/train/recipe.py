"""Training recipe of the shipped models: several data sources, a time budget, export.

``dnsp train`` trains on one data source. The shipped models are trained on the IXI training
pool *and* the BrainWeb lower (training) slab, so this module reads a recipe file (the
committed ``configs/pretrained/*.yml``): a normal training config (sections ``model``, ``loss``,
``data``, ``optim``, ``run``; see :mod:`dnsp.train.config`) plus a ``recipe`` section::

    recipe:
      extra_sources:            # further SRDataSpec sources whose training patches are added
        - {source: brainweb, root: ../shared/data/brainweb}
      time_budget_s: 720        # stop cleanly after this much wall time (null: run all epochs)
      max_steps: null           # or after this many optimiser steps (e.g. to match another run)
      export: dnsp-edsr-ap-x2   # model name written to dnsp/infer/models (null: no export)
      default: true             # make it the default model for its scale
      serves: null              # or an acquisition name (e.g. kspace): the model that
                                # dnsp upscale --acquisition NAME uses at its scale
      card: MODEL_CARD_x2.md
      zero_tail: true           # zero the last convolution: training starts at the bicubic
                                # input (networks with input_skip), useful for short budgets
      ensemble: 8               # self-ensemble size dnsp upscale uses by default (1, 2, 4, 8)
      init_from: dnsp-edsr-ap-x2  # start from this model's weights (a shipped name or file);
                                # input channels it lacks start at zero (init_from_model)

Training patches (and the sharp/smooth patches of the sharpness measure S) of all sources
are concatenated; validation uses the main ``data`` source. The trainer (:class:`dnsp.train.
trainer.Trainer`) is used unchanged; with a time budget it stops after the step that crosses
the budget, and the last weights are exported (:func:`dnsp.methods.pretrained.save_model_file`)
with their SHA-256 recorded in ``manifest.json``. A recipe file is read with
:func:`dnsp.yamlio.read_yaml` (so it may name a ``base:`` file).

Run: ``python tools/train_recipe.py configs/pretrained/edsr-ap-x2.yml [key=value ...]``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from dnsp.acquisition import acquisition_from_config, available_acquisitions
from dnsp.checkpoint_io import read_torch_file
from dnsp.data.prepare import prepare_sr_data
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path
from dnsp.methods.network import ENSEMBLE_SIZES
from dnsp.methods.pretrained import checkpoint_spec, load_model, models_dir, save_model_file
from dnsp.nets import build_network
from dnsp.train.config import apply_overrides, config_from_dict
from dnsp.train.data import TrainData, data_spec, load_train_data
from dnsp.train.trainer import Trainer, TrainingInterrupted
from dnsp.yamlio import read_yaml

__all__ = [
    "Recipe",
    "RecipeTrainer",
    "build_recipe_data",
    "export_model",
    "init_from_model",
    "load_recipe",
    "run_recipe",
    "zero_last_conv",
]


@dataclass
class Recipe:
    """The ``recipe`` section of a recipe file (see the module docstring)."""

    extra_sources: list[dict[str, Any]] = field(default_factory=list)
    time_budget_s: float | None = None
    max_steps: int | None = None
    export: str | None = None
    default: bool = False
    serves: str | None = None
    card: str | None = None
    zero_tail: bool = False
    ensemble: int = 1
    init_from: str | None = None


def load_recipe(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> tuple[Any, Recipe]:
    """Read a recipe file: ``(TrainConfig, Recipe)``.

    Raises:
        InputError: Missing/invalid file, unknown keys or values.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"recipe file not found: {p}")
    raw = apply_overrides(read_yaml(p), overrides)
    section = raw.pop("recipe", {}) or {}
    names = {f.name for f in fields(Recipe)}
    unknown = sorted(set(section) - names)
    if unknown:
        raise InputError(f"unknown recipe keys {', '.join(unknown)}; valid: {', '.join(names)}")
    recipe = Recipe(**section)
    if recipe.ensemble not in ENSEMBLE_SIZES:
        raise InputError(f"recipe.ensemble must be one of {ENSEMBLE_SIZES}, "
                         f"got {recipe.ensemble!r}")
    if recipe.serves is not None and recipe.serves not in available_acquisitions():
        raise InputError(f"recipe.serves must be an acquisition model "
                         f"({', '.join(available_acquisitions())}), got {recipe.serves!r}")
    return config_from_dict(raw), recipe


def build_recipe_data(cfg: Any, recipe: Recipe) -> Any:
    """TrainData with the training patches of the main source and every extra source."""
    main_data = load_train_data(cfg.data)
    xs, ys = [main_data.train_inputs], [main_data.train_targets]
    sharp = [main_data.sharp] if main_data.sharp is not None else []
    smooth = [main_data.smooth] if main_data.smooth is not None else []
    base = data_spec(cfg.data)
    for extra in recipe.extra_sources:
        try:
            spec = dataclasses.replace(base, pattern=None, **dict(extra))
        except (TypeError, ValueError) as exc:
            raise InputError(f"bad extra source {extra}: {exc}") from exc
        sr = prepare_sr_data(spec, cache_dir=cfg.data.cache_dir)
        xs.append(torch.as_tensor(sr.train_inputs))
        ys.append(torch.as_tensor(sr.train_targets))
        if sr.sharp is not None and sr.smooth is not None:
            sharp.append(torch.as_tensor(sr.sharp))
            smooth.append(torch.as_tensor(sr.smooth))
    return TrainData(torch.cat(xs), torch.cat(ys), main_data.val_inputs, main_data.val_targets,
                     torch.cat(sharp) if sharp else None, torch.cat(smooth) if smooth else None)


def _write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    with atomic_path(folder / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def export_model(
    checkpoint: str | os.PathLike[str],
    name: str,
    *,
    folder: str | os.PathLike[str] | None = None,
    default: bool = False,
    serves: str | None = None,
    card: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Turn a trainer checkpoint into a shipped model file and register it in the manifest.

    Args:
        checkpoint: ``last.pt``/``best.pt`` written by the trainer.
        name: Model name (file ``<name>.pt``).
        folder: Models folder (default: the package's ``dnsp/infer/models``).
        default: Make it the default model for its scale.
        serves: Make it the model for this acquisition at its scale (manifest
            ``acquisition_defaults``: ``dnsp upscale --acquisition NAME``, and the robust
            default's k-space route for ``kspace``).
        card: File name of its model card in the same folder.
        extra: Further JSON fields stored in the manifest entry (provenance).

    Returns:
        The written model file.
    """
    root = Path(folder) if folder is not None else models_dir()
    root.mkdir(parents=True, exist_ok=True)
    ckpt = read_torch_file(checkpoint, what="checkpoint")
    network, params, scale, state = checkpoint_spec(ckpt, Path(checkpoint))
    net = build_network(network, **params)
    net.load_state_dict(state)
    data_cfg = ckpt["config"]["data"]
    meta = {"variant": ckpt["config"]["loss"]["variant"], **dict(extra or {})}
    if data_cfg.get("inputs") is not None:  # multi-channel networks: how to form their input
        meta["inputs"] = list(data_cfg["inputs"])
    if data_cfg.get("acquisition") is not None:  # what it was trained on (scale included)
        meta["acquisition"] = acquisition_from_config(data_cfg["acquisition"],
                                                      scale).to_config()
    out = root / f"{name}.pt"
    digest = save_model_file(net, network, params, scale, out, meta=meta)
    manifest_path = root / "manifest.json"
    manifest: dict[str, Any] = (json.loads(manifest_path.read_text(encoding="utf-8"))
                                if manifest_path.is_file() else {"format": 1, "models": {},
                                                                 "defaults": {}})
    entry: dict[str, Any] = {"file": out.name, "sha256": digest, "scale": scale,
                             "network": network, "network_kwargs": params, **meta}
    if card:
        entry["card"] = card
    manifest["models"][name] = entry
    if default:
        manifest.setdefault("defaults", {})[str(scale)] = name
    if serves:
        manifest.setdefault("acquisition_defaults", {}).setdefault(serves, {})[str(scale)] = name
    _write_manifest(root, manifest)
    return out


def zero_last_conv(net: torch.nn.Module) -> None:
    """Zero the weights and bias of the last 2-D convolution of ``net`` (its output layer).

    With an input skip (``y = x + tail(...)``) the network then starts as the identity on its
    bicubic input, and every update moves it away from bicubic along the loss gradient.

    Raises:
        ValueError: If ``net`` has no 2-D convolution.
    """
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise ValueError("the network has no 2-D convolution to zero")
    with torch.no_grad():
        convs[-1].weight.zero_()
        if convs[-1].bias is not None:
            convs[-1].bias.zero_()


def init_from_model(net: torch.nn.Module, source: torch.nn.Module) -> list[str]:
    """Copy ``source``'s weights into ``net`` where they fit; widen the first convolution.

    A network given more input channels than ``source`` had (e.g. the zero-filled image and
    the acquisition features beside the image) gets ``source``'s first-layer weights on its
    first input channel and zeros on the others, so it starts as exactly ``source`` on that
    channel. With space-to-depth by ``u`` (``pixel_unshuffle``), input channel ``c`` occupies
    first-layer channels ``c*u^2 .. (c+1)*u^2 - 1``.

    Returns:
        Names of the tensors that were widened.

    Raises:
        ValueError: A tensor that neither fits nor is a widened first layer.
    """
    own, theirs = net.state_dict(), source.state_dict()
    widened = []
    for key, value in theirs.items():
        if key not in own:
            raise ValueError(f"{key} of the initial model is not in the network")
        if own[key].shape == value.shape:
            own[key] = value.clone()
        elif (value.ndim == 4 and own[key].ndim == 4 and own[key].shape[0] == value.shape[0]
              and own[key].shape[2:] == value.shape[2:] and own[key].shape[1] > value.shape[1]):
            wide = torch.zeros_like(own[key])
            wide[:, : value.shape[1]] = value
            own[key] = wide
            widened.append(key)
        else:
            raise ValueError(f"{key}: shape {tuple(value.shape)} of the initial model does not "
                             f"fit {tuple(own[key].shape)}")
    net.load_state_dict(own)
    return widened


class RecipeTrainer(Trainer):
    """The trainer, with the recipe's initialisation (``init_from``, ``zero_tail``).

    Both apply to a new run only: a resumed run continues from its checkpoint.
    """

    zero_tail = False
    init_from: str | None = None

    def _setup(self) -> None:
        super()._setup()
        if self.resume:
            return
        if self.init_from:
            source, _ = load_model(self.init_from)
            try:
                init_from_model(self.model, source)
            except ValueError as exc:
                raise InputError(f"recipe.init_from {self.init_from}: {exc}") from exc
        if self.zero_tail:
            zero_last_conv(self.model)


def run_recipe(path: str | os.PathLike[str], overrides: Sequence[str] = (),
               quiet: bool = False, log: Callable[[str], None] | None = None) -> Path:
    """Train according to a recipe file, export the model if asked; returns the checkpoint.

    Args:
        path: The recipe (``configs/pretrained/*.yml``).
        overrides: Dotted ``key=value`` overrides.
        quiet: No trainer progress.
        log: Called with the lines of the run (data, training time, export).
    """
    say = log or (lambda _line: None)
    cfg, recipe = load_recipe(path, overrides)
    t_data = time.perf_counter()
    data = build_recipe_data(cfg, recipe)
    say(f"data: {data.train_inputs.shape[0]} training patches, "
          f"{data.val_inputs.shape[0]} validation slices, "
          f"{0 if data.sharp is None else data.sharp.shape[0]} sharp/smooth pairs "
        f"({time.perf_counter() - t_data:.0f} s)")
    start = time.perf_counter()
    budget = recipe.time_budget_s

    def on_step(trainer: Trainer, step: int) -> None:
        over_time = budget is not None and time.perf_counter() - start > budget
        if over_time or (recipe.max_steps is not None and step >= recipe.max_steps):
            trainer.request_stop()

    trainer = RecipeTrainer(cfg, data, quiet=quiet, on_step=on_step)
    trainer.zero_tail = recipe.zero_tail
    trainer.init_from = recipe.init_from
    stopped = False
    try:
        trainer.fit()
    except TrainingInterrupted:
        stopped = True
    seconds = time.perf_counter() - start
    ckpt = Path(cfg.run.out_dir) / "last.pt"
    steps = trainer.progress.step
    say(f"trained {steps} steps in {seconds:.0f} s"
        f"{' (budget reached)' if stopped else ''}; checkpoint {ckpt}")
    if recipe.export:
        out = export_model(ckpt, recipe.export, default=recipe.default, serves=recipe.serves,
                           card=recipe.card,
                           extra={"ensemble": recipe.ensemble, "training": {
                               "recipe": str(path), "steps": steps,
                               "seconds": round(seconds, 1),
                               "patches": int(data.train_inputs.shape[0]),
                               "batch_size": cfg.optim.batch_size,
                               "lr": cfg.optim.lr,
                               "epochs": cfg.optim.epochs,
                               "schedule": cfg.optim.schedule,
                               "augment": cfg.data.augment,
                               "strip_fraction": cfg.data.strip_fraction,
                               "acquisition_draws": cfg.data.acquisition_draws,
                               "init_from": recipe.init_from,
                               "device": str(trainer.device),
                               "torch_threads": torch.get_num_threads()}})
        say(f"exported {out}")
    return ckpt
