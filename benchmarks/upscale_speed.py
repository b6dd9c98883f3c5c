"""Speed and peak memory of ``dnsp upscale`` on a whole 1 mm head at x2 (issue 7, item 3).

Compares, in the same run and on the same volume:

* ``dnsp``: the default shipped model through the user pipeline, as ``dnsp upscale`` builds
  it (the noise and flat gates, the range floor)
  (:func:`dnsp.infer.upscale.upscale_file`: load, scale, axial slices, network, save NIfTI);
* ``dnsp-sr-only``: the same without file input/output (:func:`upscale_volume`);
* ``scipy-cubic``: :func:`scipy.ndimage.zoom` with ``order=3`` by (s, s, 1) in-plane.

Each case runs in a fresh Python process so that its peak resident memory (``ru_maxrss`` of
the child) is its own. The volume is the BrainWeb phantom of ``../shared/data`` (181 x 217 x
181, 1 mm), or the embedded phantom (181 x 217 x 106) when the shared data are absent. The
machine's load average is printed: on a shared CPU, wall time depends on other users; CPU time
(user + system) of the child is reported as well.

Usage: ``python benchmarks/upscale_speed.py [--scale 2] [--model NAME] [--repeats 1]
[--ensemble K] [--input VOLUME] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dnsp.paths import shared_data_root

REPO = Path(__file__).resolve().parents[1]
SHARED_HEAD = shared_data_root() / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz"

_CHILD = r"""
import json, resource, sys, time
case, src, dst, scale, model, threads, method, ensemble = sys.argv[1:9]
scale = int(scale)
t_import = time.perf_counter()
import numpy as np
import torch
if threads != "default":
    torch.set_num_threads(int(threads))
from dnsp.data.io import load_volume
info = {"case": case, "torch_threads": torch.get_num_threads()}
if case == "scipy-cubic":
    from scipy import ndimage
    from dnsp.data.orientation import axial_axes
    vol = load_volume(src)
    zoom = [1.0, 1.0, 1.0]
    row, col, _ = axial_axes(vol.affine)
    zoom[row] = zoom[col] = scale
    t0 = time.perf_counter(); c0 = time.process_time()
    out = ndimage.zoom(vol.data, zoom, order=3)
    info["shape_in"], info["shape_out"] = list(vol.data.shape), list(out.shape)
else:
    from dnsp.infer.upscale import upscale_file, upscale_volume
    from dnsp.methods import MODEL_PREFIX, build_method
    from dnsp.methods.tiling import auto_threads
    if method != "none":  # as dnsp upscale --method: bicubic unclipped
        method = build_method(method, params={"clip": False} if method == "bicubic" else None)
    else:
        from dnsp.ops.band_gate import shipped_gates
        # as dnsp upscale without --acquisition: both gates and the range floor
        method = build_method(None if model == "default" else MODEL_PREFIX + model, scale,
                              device="cpu",
                              threads=auto_threads() if threads == "default" else int(threads),
                              ensemble=None if ensemble == "default" else int(ensemble),
                              keep_range=True, **shipped_gates(named=False))
    info["method"] = method.name
    if case == "dnsp":
        t0 = time.perf_counter(); c0 = time.process_time()
        upscale_file(src, dst, method, scale, progress=False)
    else:
        vol = load_volume(src)
        t0 = time.perf_counter(); c0 = time.process_time()
        out, _ = upscale_volume(vol.data, vol.affine, method, scale)
        info["shape_in"], info["shape_out"] = list(vol.data.shape), list(out.shape)
info["wall_s"] = time.perf_counter() - t0
info["cpu_s"] = time.process_time() - c0
info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps(info))
"""


def _head() -> Path:
    if SHARED_HEAD.is_file():
        return SHARED_HEAD.resolve()
    from dnsp.data.embedded import phantom_path

    return phantom_path()


def synthetic_volume(shape: tuple[int, int, int], folder: Path) -> Path:
    """A smooth random RAS float32 volume of ``shape`` (1 mm) written as NIfTI in ``folder``."""
    import nibabel as nib
    import numpy as np

    rng = np.random.default_rng(0)
    data = np.empty(shape, np.float32)
    xx, yy = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]),
                         indexing="ij")
    head = (xx**2 + yy**2 < 0.8).astype(np.float32)
    for k in range(shape[2]):
        data[:, :, k] = head * (500.0 + 100.0 * rng.random(shape[:2], dtype=np.float32))
    path = folder / "synthetic.nii"
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))
    return path


def run_case(case: str, src: Path, scale: int, model: str, threads: str,
             method: str = "none", ensemble: str = "default") -> dict:
    """Run one case in a child process and return its measurements."""
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "out.nii.gz"
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, case, str(src), str(dst), str(scale), model, threads,
             method, ensemble],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"case {case} failed:\n{proc.stderr}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        if dst.exists():
            info["output_mb"] = dst.stat().st_size / 2**20
    return info


def main() -> int:
    """Run the benchmark and print one line per case (and optional JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", default="default")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cases", nargs="+", default=["scipy-cubic", "dnsp-sr-only", "dnsp"])
    parser.add_argument("--ensemble", default="default",
                        help="self-ensemble size 1|2|4|8 of the network (default: the model's)")
    parser.add_argument("--method", default="none",
                        help="bicubic|lrtv|srsw instead of the network (memory checks)")
    parser.add_argument("--synthetic", default=None, metavar="XxYxZ",
                        help="use a synthetic volume of this shape (e.g. 512x512x300)")
    parser.add_argument("--input", default=None, type=Path,
                        help="time this volume instead (e.g. a native scan, which the default "
                        "serves with the k-space model and its projection)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    if args.input is not None:
        src = args.input.resolve()
    elif args.synthetic:
        shape = tuple(int(v) for v in args.synthetic.lower().split("x"))
        src = synthetic_volume(shape, Path(tmp.name))  # type: ignore[arg-type]
    else:
        src = _head()
    print(f"volume: {src}  scale: x{args.scale}  cpus: {os.cpu_count()}  "
          f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    results = []
    for rep in range(args.repeats):
        for case in args.cases:
            info = run_case(case, src, args.scale, args.model, args.threads, args.method,
                            args.ensemble)
            info["repeat"] = rep
            results.append(info)
            print(f"{case:13s} wall {info['wall_s']:7.1f} s  cpu {info['cpu_s']:7.1f} s  "
                  f"peak RSS {info['peak_rss_mb']:7.0f} MB  "
                  f"{info.get('method', '')} {info.get('shape_out', '')}", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    tmp.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps({"volume": str(src), "results": results,
                                               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                     time.gmtime())},
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
