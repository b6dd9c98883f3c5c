"""The training loop of DNSP (paper Sec. IV-A; SPEC sections 1-2).

Responsibilities are split into small pieces:

* building: :func:`dnsp.devices.resolve_device`, :func:`seed_everything`, :func:`build_model`,
  :func:`build_loss`, :func:`build_optimizer` (Adam with the learnable sharpness filters in
  their own parameter group), :class:`Objective` (network + loss in one module, so that DDP
  averages the gradients of both);
* batching: :func:`epoch_batches` (a fixed-seed shuffled order per epoch, sharded per process);
* validation: :func:`validate` (per-slice PSNR/SSIM of :mod:`dnsp.metrics` on whole slices);
* checkpoints and logs: :mod:`dnsp.train.checkpoint`, :mod:`dnsp.train.logs`;
* :class:`Trainer` ties them together: epochs, best/last checkpoints, exact resume, Ctrl-C.

Precision: on CUDA the network runs under bf16 autocast (``run.amp: auto``); the loss, and so
the SVD of the low-rank prior, is evaluated in float32 on the upcast prediction.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnsp.data.augment import random_dihedral
from dnsp.devices import resolve_device
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path
from dnsp.train.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from dnsp.train.config import (
    TrainConfig,
    config_to_dict,
    save_config,
)
from dnsp.train.data import TrainData
from dnsp.train.ddp import all_reduce_sum, barrier, cleanup_distributed, init_distributed
from dnsp.train.logs import RunLogger
from dnsp.train.parts import (
    Objective,
    baseline_metrics,
    build_loss,
    build_model,
    build_optimizer,
    deterministic_mode,
    epoch_batches,
    lr_factor,
    seed_everything,
    validate,
)
from dnsp.train.run_state import (
    Progress,
    StopFlag,
    TrainingDiverged,
    TrainingInterrupted,
    TrainResult,
    with_defaults,
)

_LOG = logging.getLogger(__name__)

__all__ = [
    "Objective",
    "TrainResult",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "build_loss",
    "build_model",
    "build_optimizer",
    "epoch_batches",
    "lr_factor",
    "seed_everything",
    "train",
    "validate",
]

#: Sections of the config that must match when a run is resumed.
_RESUME_FIXED = ("model", "loss", "data")


class Trainer:
    """Train a network with a DNSP loss according to a :class:`TrainConfig`.

    Args:
        cfg: The validated configuration.
        data: Training/validation tensors (see :func:`dnsp.train.data.load_train_data`).
        resume: Continue from ``run.out_dir/last.pt`` (model, filters, optimiser, RNG and the
            position inside the epoch are restored, so the result equals an uninterrupted run
            under the same seed).
        quiet: No progress bar and no per-epoch line.
        on_step: Called as ``on_step(trainer, step)`` after every optimiser step (hooks for
            tests and notebooks; :meth:`request_stop` may be called from it).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        data: TrainData,
        *,
        resume: bool = False,
        quiet: bool = False,
        on_step: Callable[[Trainer, int], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.data = data
        self.resume = resume
        self.quiet = quiet
        self.on_step = on_step
        self.out_dir = Path(cfg.run.out_dir)
        self._stop = StopFlag()

    def request_stop(self) -> None:
        """Ask the loop to stop cleanly after the current step (same as one Ctrl-C)."""
        self._stop.requested = True

    # -- setup ----------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.cfg
        device = resolve_device(cfg.run.device, option="run.device")
        self.info = init_distributed(device.type)
        if self.info.distributed and device.type == "cuda":
            device = torch.device("cuda", self.info.local_rank)
        self.device = device
        if cfg.run.amp == "bf16" and device.type != "cuda":
            raise InputError(f"run.amp is 'bf16' but the run uses {device.type}; bf16 autocast "
                             "is for CUDA devices (use run.amp=auto or off)")
        self.bf16 = device.type == "cuda" and cfg.run.amp in ("auto", "bf16")
        if cfg.optim.batch_size % self.info.world_size:
            raise InputError(f"optim.batch_size {cfg.optim.batch_size} is not divisible by the "
                             f"{self.info.world_size} processes")
        seed_everything(cfg.run.seed)
        self.model = build_model(cfg.model)
        if self.model.spatial_dims != self.data.spatial_dims:
            raise InputError(
                f"network {cfg.model.name} is {self.model.spatial_dims}-D but the data are "
                f"{self.data.spatial_dims}-D (3-D networks need (N, 1, D, H, W) patches)"
            )
        if hasattr(self.model, "fit_to_data"):
            self.model.fit_to_data(self.data.train_targets)
        self.crit = build_loss(cfg.loss, self.data, seed=cfg.run.seed)
        # learnable filters move the critical beta: check again after each epoch
        self._watch_beta = (not self._warn_unbounded_loss()
                            and getattr(self.crit, "sharpness_filters", None) is not None)
        self.model.to(device)
        self.crit.to(device)
        self.objective: nn.Module = Objective(self.model, self.crit, self.bf16)
        self.optimizer = build_optimizer(self.model, self.crit, cfg.optim)
        self.progress = Progress()
        if self.resume:
            self._load_resume_state()
        if self.info.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            unused = cfg.loss.variant in ("LS", "AP") and cfg.loss.beta == 0 and cfg.loss.gamma == 0
            self.objective = DDP(
                self.objective,
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=unused,
            )
        self.train_x = self.data.train_inputs.to(device)
        self.train_y = self.data.train_targets.to(device)

    def _warn_unbounded_loss(self, epoch: int | None = None) -> bool:
        """One stderr line when beta makes the loss unbounded below on the training patches.

        Called at set-up and, for learnable filters (whose gain, and so the critical beta, can
        change while training), after every epoch until it has warned once.

        Args:
            epoch: The epoch just finished (None: at set-up).

        Returns:
            True when beta is above the critical value.
        """
        limit = getattr(self.crit, "critical_beta", None)
        height, width = self.data.train_targets.shape[-2:]
        beta_max = limit(int(height), int(width)) if limit is not None else None
        above = beta_max is not None and self.cfg.loss.beta > beta_max
        if above and self.info.is_main:
            when = ("" if epoch is None else
                    f"after epoch {epoch} the learned filters have grown and ")
            hint = ("; loss.filter_norm=unit bounds the filters"
                    if self.cfg.loss.filter_norm == "none" else "")
            _LOG.warning(
                  f"warning: {when}loss.beta={self.cfg.loss.beta:g} is above {beta_max:.3g}, "
                  f"the largest value for which the loss (reduction '{self.cfg.loss.reduction}', "
                  f"{height}x{width} patches) is bounded below: the network can lower it without "
                  "limit by amplifying high frequencies, and training may collapse "
                  f"(DNSPLoss.critical_beta, docs/priors.md{hint})")
        return above

    def _load_resume_state(self) -> None:
        path = self.out_dir / "last.pt"
        if not path.is_file():
            raise InputError(f"--resume: no checkpoint {path} to continue from")
        ckpt = load_checkpoint(path)
        mine = config_to_dict(self.cfg)
        theirs = with_defaults(ckpt["config"])
        for section in _RESUME_FIXED:
            if theirs.get(section) != mine[section]:
                raise InputError(
                    f"--resume: the '{section}' section differs from the checkpoint's "
                    f"({theirs.get(section)} vs {mine[section]})"
                )
        self.model.load_state_dict(ckpt["model"])
        self.crit.load_state_dict(ckpt["loss"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        restore_rng_state(ckpt["rng"])
        self.progress = Progress(**ckpt["progress"])

    # -- checkpoints ----------------------------------------------------------------------
    def _payload(self) -> dict[str, Any]:
        p = self.progress
        return {
            "network": {"name": self.cfg.model.name, "params": dict(self.cfg.model.params)},
            "model": self.model.state_dict(),
            "loss": self.crit.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": capture_rng_state(),
            "progress": {
                "epoch": p.epoch, "batch": p.batch, "step": p.step, "sums": dict(p.sums),
                "seen": p.seen, "seconds": p.seconds, "best_value": p.best_value,
                "best_epoch": p.best_epoch,
            },
            "config": config_to_dict(self.cfg),
        }

    def _save(self, name: str) -> Path:
        path = self.out_dir / name
        if self.info.is_main:
            save_checkpoint(path, self._payload())
        barrier(self.info)
        return path

    # -- loop -----------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Run (or continue) the training; returns the history and the best epoch.

        Raises:
            TrainingInterrupted: After Ctrl-C or :meth:`request_stop`, once ``last.pt`` holds
                the state at the last finished step.
            TrainingDiverged: If the loss becomes NaN or infinite.
        """
        cfg = self.cfg
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._stop.requested = False
        had_group = torch.distributed.is_available() and torch.distributed.is_initialized()
        with deterministic_mode(cfg.run.deterministic):
            try:
                self._setup()
                logger = RunLogger(
                    self.out_dir, tensorboard=cfg.run.tensorboard, enabled=self.info.is_main,
                    keep_epochs=self.progress.epoch if self.resume else None,
                )
                if self.info.is_main:
                    save_config(cfg, self.out_dir / "config.yml")
                self._stop.install()
                try:
                    self._loop(logger)
                finally:
                    self._stop.uninstall()
                    logger.close()
            finally:
                if not had_group:
                    cleanup_distributed()
        return TrainResult(
            self.out_dir, self.progress.epoch, self.progress.step, self.progress.best_value,
            self.progress.best_epoch, list(logger.rows),
        )

    def _loop(self, logger: RunLogger) -> None:
        cfg, p = self.cfg, self.progress
        n_train = self.train_x.shape[0]
        n_batches = len(epoch_batches(n_train, cfg.optim.batch_size, 0, cfg.run.seed, self.info))
        if self.info.is_main and not (self.resume and p.epoch > 0):
            base = baseline_metrics(self.data.val_inputs, self.data.val_targets)
            self._write_json("baseline.json", {"method": "input (bicubic)", **base})
        show = (not self.quiet and cfg.run.progress and self.info.is_main
                and sys.stderr.isatty())
        from tqdm import tqdm

        bar = tqdm(total=n_batches * cfg.optim.epochs, initial=p.epoch * n_batches + p.batch,
                   disable=not show, unit="step", dynamic_ncols=True)
        try:
            while p.epoch < cfg.optim.epochs:
                self._train_epoch(n_batches, bar)
                row = self._end_epoch()
                logger.log_epoch(row)
                if self._watch_beta and self._warn_unbounded_loss(epoch=p.epoch):
                    self._watch_beta = False
                if not self.quiet and self.info.is_main:
                    msg = " ".join(f"{k}={_short(v)}" for k, v in row.items())
                    (bar.write if show else _LOG.info)(msg)
        finally:
            bar.close()
        if self.info.is_main:
            self._write_json("summary.json", {
                "epochs": p.epoch, "steps": p.step, "best_metric": cfg.run.metric,
                "best_value": p.best_value, "best_epoch": p.best_epoch,
                "network": cfg.model.name, "variant": cfg.loss.variant,
            })

    def _train_epoch(self, n_batches: int, bar: Any) -> None:
        cfg, p = self.cfg, self.progress
        batches = epoch_batches(self.train_x.shape[0], cfg.optim.batch_size, p.epoch,
                                cfg.run.seed, self.info)
        self.objective.train()
        crit = self.crit
        t0 = time.perf_counter()
        for b in range(p.batch, len(batches)):
            idx = batches[b].to(self.device)
            x, y = self.train_x[idx], self.train_y[idx]
            if cfg.data.augment:  # seeded by the step: a resumed run draws the same transforms
                gen = torch.Generator().manual_seed(cfg.run.seed * 1_000_003 + p.step)
                x, y = random_dihedral(x, y, gen)
            loss = self.objective(x, y)
            self._set_lr(lr_factor(cfg.optim.schedule, p.step, n_batches * cfg.optim.epochs))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.optim.grad_clip is not None:
                params = [q for g in self.optimizer.param_groups for q in g["params"]]
                torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
            self.optimizer.step()
            n = x.shape[0]
            values = {"loss": float(loss.detach())}
            terms = getattr(crit, "terms", {})
            values.update({k: float(v) for k, v in terms.items() if k != "total"})
            for k, v in values.items():
                p.sums[k] = p.sums.get(k, 0.0) + v * n
            p.seen += n
            p.batch = b + 1
            p.step += 1
            bar.update(1)
            if p.step % 10 == 0:
                bar.set_postfix(loss=f"{values['loss']:.4g}", epoch=p.epoch + 1)
            if self.on_step is not None:
                self.on_step(self, p.step)
            flags = torch.tensor([float(self._stop.requested),
                                  float(not math.isfinite(values["loss"]))])
            flags = all_reduce_sum(flags, self.info)
            if flags[1] > 0:
                raise TrainingDiverged(
                    f"training diverged in epoch {p.epoch + 1}, step {p.step}: the loss is "
                    f"not finite; lower optim.lr or the prior weights"
                )
            if flags[0] > 0:
                p.seconds += time.perf_counter() - t0
                path = self._save("last.pt")
                raise TrainingInterrupted(path, p.epoch, p.batch)
        p.seconds += time.perf_counter() - t0

    def _set_lr(self, factor: float) -> None:
        opt = self.cfg.optim
        for group in self.optimizer.param_groups:
            base = opt.filter_lr if group["name"] == "filters" and opt.filter_lr else opt.lr
            group["lr"] = base * factor

    def _end_epoch(self) -> dict[str, Any]:
        cfg, p = self.cfg, self.progress
        keys = sorted(p.sums)
        sums = torch.tensor([p.sums[k] for k in keys] + [float(p.seen)], dtype=torch.float64)
        sums = all_reduce_sum(sums, self.info)
        row: dict[str, Any] = {"epoch": p.epoch + 1, "step": p.step}
        for i, k in enumerate(keys):
            row["train_loss" if k == "loss" else f"train_{k}"] = float(sums[i] / sums[-1])
        improved = False
        if (p.epoch + 1) % cfg.run.val_every == 0 or p.epoch + 1 == cfg.optim.epochs:
            met = validate(self.model, self.data.val_inputs, self.data.val_targets,
                           batch_size=cfg.run.val_batch_size, device=self.device,
                           bf16=self.bf16, info=self.info)
            row["val_psnr"], row["val_ssim"] = met["psnr"], met["ssim"]
            value = met[cfg.run.metric]
            if p.best_value is None or value > p.best_value:
                p.best_value, p.best_epoch, improved = value, p.epoch + 1, True
        row["seconds"] = p.seconds
        row["patches_per_s"] = float(sums[-1]) / p.seconds if p.seconds > 0 else float("nan")
        p.epoch += 1
        p.batch, p.sums, p.seen, p.seconds = 0, {}, 0, 0.0
        if improved:
            self._save("best.pt")
        self._save("last.pt")
        return row

    def _write_json(self, name: str, obj: dict[str, Any]) -> None:
        with atomic_path(self.out_dir / name) as tmp:
            tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _short(v: Any) -> str:
    return f"{v:.5g}" if isinstance(v, float) else str(v)


def train(
    cfg: TrainConfig,
    data: TrainData | None = None,
    *,
    resume: bool = False,
    quiet: bool = False,
) -> TrainResult:
    """Load the data of ``cfg`` (unless given) and run :class:`Trainer`."""
    if data is None:
        from dnsp.train.data import load_train_data

        data = load_train_data(cfg.data)
    return Trainer(cfg, data, resume=resume, quiet=quiet).fit()
