"""Multi-process (multi-GPU, multi-node) training with torch DistributedDataParallel.

Launch with torchrun, which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``::

    torchrun --nproc_per_node 4 -m dnsp.cli train --config configs/train/edsr_ap_ixi_x2.yml
    torchrun --nnodes 2 --node_rank R --nproc_per_node 8 --master_addr HOST -m dnsp.cli train ...

The trainer detects these variables and initialises the process group itself: NCCL when the
run uses CUDA (one GPU per process, ``cuda:LOCAL_RANK``), gloo on the CPU. The network *and*
the loss module (the learnable sharpness filters) are wrapped together in one DDP module, so
the gradients of both are averaged across processes and every replica stays identical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = [
    "DistInfo",
    "all_reduce_sum",
    "barrier",
    "cleanup_distributed",
    "dist_from_env",
    "init_distributed",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job (a single process has rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the process that writes files)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group with more than one process is in use."""
        return self.world_size > 1


def dist_from_env() -> tuple[int, int, int] | None:
    """``(rank, world_size, local_rank)`` from torchrun's variables, or None when absent."""
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return None
    world = int(os.environ["WORLD_SIZE"])
    if world < 2:
        return None
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    return rank, world, local


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group described by the environment (no-op for a single process).

    Args:
        device_type: ``"cuda"`` selects NCCL, anything else gloo.

    Returns:
        This process's :class:`DistInfo`.
    """
    env = dist_from_env()
    if env is None:
        return DistInfo()
    rank, world, local = env
    backend = "nccl" if device_type == "cuda" else "gloo"
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local, backend=backend)


def cleanup_distributed() -> None:
    """Leave the process group if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: Tensor, info: DistInfo) -> Tensor:
    """Sum ``t`` over all processes (in place, returned); identity for a single process."""
    if info.distributed:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op for a single process)."""
    if info.distributed:
        dist.barrier()
