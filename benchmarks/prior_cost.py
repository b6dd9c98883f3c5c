"""Training-step cost of every DNSP variant relative to NP (no prior).

One Adam step (forward, loss, backward, update) of a small EDSR-like network on a batch of
64 patches of 40x40, for NP, LR, FS, LS, AP and TVLR. Variants are timed round-robin so
that background load affects all alike; the reported figure is the median step time and
its ratio to NP measured in the same run. Targets (issue 2): LR <= 1.10x, AP <= 1.20x.

Usage:
    python benchmarks/prior_cost.py [--device cpu|cuda] [--net edsr-tiny] [--steps 5]
        [--rounds 3] [--threads N] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from dnsp.losses import VARIANTS, DNSPLoss
from dnsp.nets import build_network


def _step_time(net: torch.nn.Module, crit: DNSPLoss, opt: torch.optim.Optimizer,
               x: torch.Tensor, y: torch.Tensor, steps: int, amp: bool) -> float:
    device = x.device
    times = []
    for _ in range(steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = net(x)
        loss = crit(out, y)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--net", default="edsr-tiny")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--patch", type=int, default=40)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    amp = device.type == "cuda"
    x = torch.rand(args.batch, 1, args.patch, args.patch, device=device)
    y = torch.rand(args.batch, 1, args.patch, args.patch, device=device)
    sharp = torch.rand(700, 1, 40, 40, device=device)  # about the N_T of the IXI pool
    smooth = 0.1 * torch.rand(700, 1, 40, 40, device=device)
    setups = {}
    for v in VARIANTS:
        net = build_network(args.net).to(device)
        crit = DNSPLoss(v, sharp=sharp, smooth=smooth).to(device)
        groups = [{"params": net.parameters()}]
        if list(crit.parameters()):
            groups.append({"params": crit.parameters()})
        opt = torch.optim.Adam(groups, lr=1e-4)
        _step_time(net, crit, opt, x, y, 2, amp)  # warm-up
        setups[v] = (net, crit, opt)
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for v in VARIANTS:
            samples[v].append(_step_time(*setups[v], x, y, args.steps, amp))
    med = {v: statistics.median(s) for v, s in samples.items()}
    lines = [
        f"prior_cost: net={args.net} batch={args.batch} patch={args.patch} device={device} "
        f"threads={torch.get_num_threads()} amp_bf16={amp} torch={torch.__version__} "
        f"cpu={platform.processor() or platform.machine()}",
        "",
        "| variant | step time (ms) | ratio to NP |",
        "|---|---|---|",
    ]
    for v in VARIANTS:
        lines.append(f"| {v} | {1000 * med[v]:.1f} | {med[v] / med['NP']:.3f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
