"""Two-process DDP training on the CPU gloo backend: the replicas must stay identical."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dnsp.ops import bicubic_upscale, degrade, gaussian_blur2d
from dnsp.train.config import load_config
from dnsp.train.data import TrainData
from dnsp.train.trainer import Trainer

WORLD = 2


def _data() -> TrainData:
    g = torch.Generator().manual_seed(0)
    hr = gaussian_blur2d(torch.rand(40, 1, 24, 24, generator=g), 1.5)
    hr = (hr - hr.amin()) / (hr.amax() - hr.amin())
    lr = bicubic_upscale(degrade(hr, 2), 2).float()
    return TrainData(lr, hr, lr[:2], hr[:2], sharp=hr[:3], smooth=hr[3:6])


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(WORLD),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    cfg = load_config(None, [
        "model.name=edsr", "model.params={n_blocks: 2, n_feats: 8}", "loss.variant=AP",
        "loss.reduction=mean", "loss.alpha=1e-4", "loss.beta=1e-3", "loss.gamma=1e-6",
        "optim.batch_size=8", "optim.epochs=1", "optim.lr=1e-3", "run.device=cpu",
        "run.tensorboard=false", "run.progress=false", f"run.out_dir={out}/run",
    ])
    seen: list[torch.Tensor] = []

    def record(trainer: Trainer, step: int) -> None:
        assert dist.is_initialized() and dist.get_world_size() == WORLD
        seen.append(torch.tensor(step))

    trainer = Trainer(cfg, _data(), quiet=True, on_step=record)
    trainer.fit()
    torch.save({"model": trainer.model.state_dict(), "filters": trainer.crit.filters.detach(),
                "steps": len(seen)}, Path(out) / f"rank{rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_two_process_gloo_replicas_stay_identical(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    assert r0["steps"] == r1["steps"] == 5  # 40 patches, global batch 8 -> 4 per process
    for key, value in r0["model"].items():
        assert torch.equal(value, r1["model"][key]), key
    assert torch.equal(r0["filters"], r1["filters"])
    # the replicas trained (they moved away from the common initialisation)
    torch.manual_seed(0)
    from dnsp.nets import build_network

    init = build_network("edsr", n_blocks=2, n_feats=8).state_dict()
    assert not torch.equal(init["head.weight"], r0["model"]["head.weight"])
    # only rank 0 wrote the run's files
    assert (tmp_path / "run" / "last.pt").is_file()
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 2
