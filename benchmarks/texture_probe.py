"""Why does the default model invent texture on real scans? Probes on native scans (issue 28).

The default ``dnsp-edsr-mix-x2`` sees two measured features of each LR slice as constant
input channels (``spectral``, ``background``; :mod:`dnsp.acquisition.estimate`). This probe
upscales ``--slices`` central slices of a native scan with the default model while

* overriding the ``background`` feature (the network's only noise cue) with fixed values;
* adding white Rician-like (Gaussian, clipped at 0) noise of a given level to the input;

and prints the invented-texture score (:func:`dnsp.metrics.invented_texture`) of each, next
to cubic spline's, together with the features measured on the slices.

Run: ``OMP_NUM_THREADS=1 python benchmarks/texture_probe.py --scan chris_t1 --slices 6``
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from native_texture import SCALE, cubic_spline_upscale, scans

import dnsp.acquisition.inputs as inputs_module
from dnsp.acquisition import acquisition_features, estimation_sample
from dnsp.data.io import load_volume
from dnsp.data.orientation import to_plane_stack
from dnsp.data.slicing import central_slices
from dnsp.infer.volume import intensity_map, resolve_plane
from dnsp.methods import build_method
from dnsp.metrics import flat_tissue_mask, invented_texture
from dnsp.paths import shared_data_root


@contextmanager
def features_overridden(index: int, value: float | None) -> Iterator[None]:
    """Within the block, the network input's feature ``index`` is ``value`` (None: measured)."""
    original: Callable[[np.ndarray], np.ndarray] = inputs_module.acquisition_features

    def patched(lr: np.ndarray) -> np.ndarray:
        f = original(lr)
        if value is not None:
            f = f.copy()
            f[index] = value
        return f

    inputs_module.acquisition_features = patched  # type: ignore[assignment]
    try:
        yield
    finally:
        inputs_module.acquisition_features = original  # type: ignore[assignment]


def main() -> None:
    """Print the probe's scores."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scan", default="chris_t1", help="a scan name of native_texture.py")
    ap.add_argument("--slices", type=int, default=6)
    ap.add_argument("--background", type=float, nargs="*", default=[0.1, 0.35, 0.6, 0.9])
    ap.add_argument("--noise", type=float, nargs="*", default=[0.01, 0.02, 0.03])
    args = ap.parse_args()
    torch.set_num_threads(1)
    path = next(p for n, p in scans(shared_data_root()).items() if n.startswith(args.scan))
    vol = load_volume(path)
    data = np.asarray(vol.data, dtype=np.float32)
    axes = resolve_plane(vol.affine, "auto").axes
    offset, factor = intensity_map(data)
    norm = ((to_plane_stack(data, axes).astype(np.float64) - offset) / factor).astype(np.float32)
    lr = np.ascontiguousarray(norm[central_slices(norm, args.slices)])
    method = build_method(None, SCALE, threads=1)
    method = method.for_volume(np.clip(estimation_sample(norm), 0, 1))  # type: ignore[attr-defined]
    feats = np.median([acquisition_features(s) for s in lr], axis=0)
    mask = flat_tissue_mask(lr)
    print(f"{args.scan}: measured features spectral/detail/background "
          f"{feats[0]:.2f}/{feats[1]:.2f}/{feats[2]:.2f}; projection {method.consistency}")
    cubic = invented_texture(lr, cubic_spline_upscale(lr, SCALE), SCALE, mask).score
    print(f"cubic spline: {cubic:.3f}")
    for value in [None, *args.background]:
        with features_overridden(2, value):
            sr = method.upscale_stack(lr, SCALE)
        score = invented_texture(lr, sr, SCALE, mask).score
        label = "measured" if value is None else f"{value:.2f}"
        print(f"default, background feature {label:8s}: {score:.3f} ({score / cubic:.1f}x cubic)")
    rng = np.random.default_rng(0)
    for level in args.noise:
        noisy = np.abs(lr + level * rng.standard_normal(lr.shape)).astype(np.float32)
        n_feats = np.median([acquisition_features(s) for s in noisy], axis=0)
        sr = method.upscale_stack(noisy, SCALE)
        cub = invented_texture(noisy, cubic_spline_upscale(noisy, SCALE), SCALE, mask).score
        score = invented_texture(noisy, sr, SCALE, mask).score
        print(f"input + {100 * level:.0f}% white noise (background feature {n_feats[2]:.2f}): "
              f"default {score:.3f}, cubic spline {cub:.3f} ({score / cub:.1f}x)")


if __name__ == "__main__":
    main()
