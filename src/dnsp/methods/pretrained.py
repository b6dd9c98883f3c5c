"""Pretrained networks shipped inside the package, and loading of trainer checkpoints.

The folder ``dnsp/infer/models`` (package data, kept where ``dnsp upscale`` has always found
it) holds one weights file per model, a model card per scale and
``manifest.json``::

    {"format": 1,
     "defaults": {"2": "dnsp-edsr-ap-x2", ...},
     "models": {"dnsp-edsr-ap-x2": {"file": "...pt", "sha256": "...", "scale": 2,
                                     "network": "edsr", "network_kwargs": {...},
                                     "card": "MODEL_CARD_x2.md", ...}}}

The SHA-256 of a shipped file is checked before it is deserialised; a mismatch is an
:class:`~dnsp.errors.InputError` (corrupted or modified installation). Nothing is ever
downloaded. Weights are read by :func:`dnsp.checkpoint_io.read_torch_file`
(``torch.load(weights_only=True)``: no pickled code).

A *model file* (shipped, or written by :func:`save_model_file`) is a dict with ``format``
``"dnsp-model/1"``, ``network``, ``network_kwargs``, ``scale`` and ``state_dict``. A *trainer
checkpoint* (``dnsp train``) is a dict with the network weights under ``model`` (or
``state_dict``) and the run's configuration under ``config`` (``model.name``,
``model.params``, ``data.scale``); both are accepted by :func:`load_model`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnsp.acquisition import Acquisition
from dnsp.checkpoint_io import read_torch_file
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path
from dnsp.nets import build_network

__all__ = [
    "MODEL_FORMAT",
    "ModelInfo",
    "available_models",
    "checkpoint_spec",
    "default_model",
    "file_sha256",
    "load_model",
    "models_dir",
    "read_manifest",
    "resolve_model",
    "save_model_file",
]

MODEL_FORMAT = "dnsp-model/1"
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ModelInfo:
    """What is known about a network before and after loading it.

    Attributes:
        name: Registry name, or the file name for a checkpoint given by path.
        path: The weights file.
        scale: Upscaling factor the network was trained for.
        network: Name in :func:`dnsp.nets.available_networks`.
        network_kwargs: Constructor arguments of the network.
        sha256: Expected checksum (``None`` for a checkpoint given by path).
        meta: Further manifest fields (variant, training data, card file name, ...).
    """

    name: str
    path: Path
    scale: int
    network: str
    network_kwargs: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ensemble(self) -> int:
        """Self-ensemble size ``dnsp upscale`` uses by default (manifest field, else 1)."""
        return int(self.meta.get("ensemble", 1))

    @property
    def inputs(self) -> list[str] | None:
        """The network's input channels (manifest field ``inputs``; ``None``: one bicubic)."""
        chans = self.meta.get("inputs")
        return None if chans is None else [str(c) for c in chans]


def models_dir() -> Path:
    """Folder of the shipped models inside the installed package."""
    return Path(str(resources.files("dnsp") / "infer" / "models"))


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``folder`` (the shipped models by default).

    Raises:
        InputError: If the manifest is missing or malformed.
    """
    root = Path(folder) if folder is not None else models_dir()
    path = root / _MANIFEST
    if not path.is_file():
        raise InputError(f"no model manifest found at {path}; the installation is incomplete")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"model manifest {path} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise InputError(f"model manifest {path} has no 'models' mapping")
    return manifest


def _info_from_entry(name: str, entry: Mapping[str, Any], root: Path) -> ModelInfo:
    try:
        return ModelInfo(
            name=name,
            path=root / str(entry["file"]),
            scale=int(entry["scale"]),
            network=str(entry["network"]),
            network_kwargs=dict(entry.get("network_kwargs", {})),
            sha256=str(entry["sha256"]).lower(),
            meta={k: v for k, v in entry.items()
                  if k not in ("file", "scale", "network", "network_kwargs", "sha256")},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"manifest entry for model {name!r} is malformed: {exc}") from exc


def available_models(folder: str | os.PathLike[str] | None = None) -> list[ModelInfo]:
    """Every model listed in the manifest, sorted by name."""
    root = Path(folder) if folder is not None else models_dir()
    manifest = read_manifest(root)
    return [_info_from_entry(n, e, root) for n, e in sorted(manifest["models"].items())]


def default_model(scale: int, folder: str | os.PathLike[str] | None = None,
                  acquisition: Acquisition | None = None) -> str:
    """Name of the default shipped model for ``scale``, or for a named acquisition.

    The manifest's ``defaults`` map a scale to the robust default (trained on a mixture of
    acquisitions); its ``acquisition_defaults`` map an acquisition name and a scale to the
    model trained for that acquisition (``gaussian``: the paper models). An acquisition
    without a model of its own (e.g. ``kspace``) gets the robust default.

    Raises:
        InputError: If no shipped model exists for this scale.
    """
    root = Path(folder) if folder is not None else models_dir()
    if not (root / _MANIFEST).is_file():
        raise InputError(f"no pretrained model for x{scale}: no shipped models are installed "
                         f"({root / _MANIFEST} is missing); use --model or --method")
    manifest = read_manifest(root)
    defaults = manifest.get("defaults", {})
    if acquisition is not None:
        own = (manifest.get("acquisition_defaults", {}).get(acquisition.name) or {})
        if str(int(scale)) in own:
            return str(own[str(int(scale))])
    name = defaults.get(str(int(scale)))
    if name is None:
        have = ", ".join(f"x{k}" for k in sorted(defaults)) or "none"
        raise InputError(
            f"no pretrained model for x{scale} (shipped: {have}); pass --model CHECKPOINT "
            "or --method bicubic|lrtv|srsw"
        )
    return str(name)


def resolve_model(name_or_path: str, folder: str | os.PathLike[str] | None = None) -> ModelInfo:
    """Find a model by registry name, or describe a checkpoint file given by path.

    Raises:
        InputError: If ``name_or_path`` is neither a shipped model nor an existing file.
    """
    root = Path(folder) if folder is not None else models_dir()
    path = Path(name_or_path)
    if not (root / _MANIFEST).is_file():  # a checkpoint needs no shipped manifest
        if path.is_file():
            return _describe_checkpoint(path)
        raise InputError(f"unknown model {name_or_path!r}: not an existing file, and no "
                         f"shipped models are installed ({root / _MANIFEST} is missing)")
    manifest = read_manifest(root)
    if name_or_path in manifest["models"]:
        return _info_from_entry(name_or_path, manifest["models"][name_or_path], root)
    if path.is_file():
        return _describe_checkpoint(path)
    if path.exists():
        raise InputError(f"model path is not a file: {path}")
    names = ", ".join(sorted(manifest["models"])) or "none"
    raise InputError(
        f"unknown model {name_or_path!r}: not a shipped model ({names}) nor an existing file"
    )


def checkpoint_spec(obj: Any, path: Path) -> tuple[str, dict[str, Any], int, Mapping[str, Any]]:
    """(network, kwargs, scale, state_dict) of a model file or a trainer checkpoint.

    The one reader of what dnsp's torch files hold (the file itself is read by
    :func:`dnsp.checkpoint_io.read_torch_file`): serving, export and the tools use it.

    Raises:
        InputError: Not a dnsp model file or checkpoint, or an incomplete one.
    """
    if not isinstance(obj, Mapping):
        raise InputError(f"{path} is not a dnsp model file or training checkpoint")
    if obj.get("format") == MODEL_FORMAT:
        try:
            return (str(obj["network"]), dict(obj.get("network_kwargs", {})),
                    int(obj["scale"]), obj["state_dict"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"model file {path} is malformed: {exc}") from exc
    state = None
    for key in ("model", "state_dict", "model_state", "net"):
        if isinstance(obj.get(key), Mapping):
            state = obj[key]
            break
    config = obj.get("config")
    if state is None or not isinstance(config, Mapping):
        raise InputError(
            f"{path} is not a dnsp model file or training checkpoint (no weights and config)"
        )
    try:  # the trainer writes the network it built under "network"; older files: the config
        model_cfg = (obj["network"] if isinstance(obj.get("network"), Mapping)
                     else config["model"])
        network = str(model_cfg["name"])
        kwargs = dict(model_cfg.get("params") or {})
        scale = int(config["data"]["scale"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"checkpoint {path} has an incomplete config: {exc}") from exc
    return network, kwargs, scale, state


def _inputs_of(obj: Mapping[str, Any]) -> list[str] | None:
    """Input channels stored in a model file (``meta.inputs``) or a checkpoint's config."""
    meta = obj.get("meta") if isinstance(obj.get("meta"), Mapping) else {}
    data = obj.get("config", {}).get("data") if isinstance(obj.get("config"), Mapping) else None
    chans = meta.get("inputs") if meta.get("inputs") is not None else (
        data.get("inputs") if isinstance(data, Mapping) else None)
    return None if chans is None else [str(c) for c in chans]


def _describe_checkpoint(path: Path) -> ModelInfo:
    obj = read_torch_file(path, what="model file")
    network, kwargs, scale, _ = checkpoint_spec(obj, path)
    meta: dict[str, Any] = {"source": "checkpoint"}
    if isinstance(obj, Mapping) and _inputs_of(obj) is not None:
        meta["inputs"] = _inputs_of(obj)
    return ModelInfo(name=path.name, path=path, scale=scale, network=network,
                     network_kwargs=kwargs, sha256=None, meta=meta)


def _build(network: str, kwargs: Mapping[str, Any], state: Mapping[str, Any], path: Path
           ) -> nn.Module:
    try:
        net = build_network(network, **dict(kwargs))
    except ValueError as exc:
        raise InputError(f"model {path} names an unusable network: {exc}") from exc
    if getattr(net, "spatial_dims", 2) != 2:
        raise InputError(f"model {path} is a {net.spatial_dims}-D network; upscale needs 2-D")
    try:
        net.load_state_dict(dict(state), strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"weights in {path} do not fit network {network!r}: {first}") from exc
    return net.eval()


def load_model(
    name_or_path: str, folder: str | os.PathLike[str] | None = None
) -> tuple[nn.Module, ModelInfo]:
    """Load a shipped model (checksum verified first) or a model/checkpoint file.

    Args:
        name_or_path: A name from :func:`available_models`, or a path to a file written by
            :func:`save_model_file` or by the trainer.
        folder: Models folder to use instead of the shipped one (tests, custom registries).

    Returns:
        ``(network in eval mode on the CPU, its ModelInfo)``.

    Raises:
        InputError: Unknown name, missing file, checksum mismatch, unreadable or
            incompatible weights.
    """
    info = resolve_model(name_or_path, folder)
    if info.sha256 is not None:
        if not info.path.is_file():
            raise InputError(f"weights of model {info.name!r} are missing: {info.path}")
        actual = file_sha256(info.path)
        if actual != info.sha256:
            raise InputError(
                f"checksum mismatch for model {info.name!r} ({info.path.name}: expected sha256 "
                f"{info.sha256[:12]}..., got {actual[:12]}...); the file is corrupted or was "
                "modified: reinstall dnsp"
            )
    obj = read_torch_file(info.path, what="model file")
    network, kwargs, scale, state = checkpoint_spec(obj, info.path)
    if info.sha256 is not None and (network != info.network or scale != info.scale):
        raise InputError(f"model {info.name!r}: weights file disagrees with the manifest")
    return _build(network, kwargs, state, info.path), info


def save_model_file(
    net: nn.Module,
    network: str,
    network_kwargs: Mapping[str, Any],
    scale: int,
    path: str | os.PathLike[str],
    meta: Mapping[str, Any] | None = None,
) -> str:
    """Write a network as a standalone model file (atomically) and return its SHA-256.

    Args:
        net: The trained network.
        network: Its registry name.
        network_kwargs: Its constructor arguments.
        scale: The upscaling factor it was trained for.
        path: Output file (``.pt``).
        meta: Extra JSON-compatible fields stored in the file (provenance).

    Returns:
        The hex SHA-256 of the written file (to put in a manifest).
    """
    payload = {
        "format": MODEL_FORMAT,
        "network": str(network),
        "network_kwargs": dict(network_kwargs),
        "scale": int(scale),
        "state_dict": {k: v.detach().to("cpu", torch.float32).contiguous()
                       for k, v in net.state_dict().items()},
        "meta": dict(meta or {}),
    }
    out = Path(path)
    with atomic_path(out) as tmp:
        torch.save(payload, str(tmp))
    return file_sha256(out)
