"""SRSW: example-based super-resolution by sparse non-negative weighting (Trinh et al., 2014).

Trinh et al. (IEEE TIP 23:1882-1895, 2014) super-resolve a medical image from a library of
co-registered low/high-resolution example patches: each patch of the (interpolated) LR input
is approximated by a sparse, non-negative weighted combination of its most similar library
patches, the same weights combine the corresponding HR patches, the overlapping HR estimates
are averaged, and the result is made consistent with the LR input by back-projection.
This module writes that method from the paper's description (SPEC section 5):

1. Library (:meth:`SRSW.fit`): every training HR stack is degraded with SPEC section 4
   and bicubic-upscaled back to the HR grid (Keys, centre-aligned): the ``simulate`` and
   ``network_input`` of :class:`dnsp.acquisition.GaussianAcquisition`.
   ``patch`` x ``patch`` patches are taken on the HR grid with stride ``library_stride``;
   flat patches (standard deviation of the bicubic patch below ``min_std``) are dropped and at
   most ``max_library`` are kept (random, seeded). A library entry is the pair
   (feature f = bicubic patch minus its mean, detail d = HR patch minus bicubic patch).
   Nearest neighbours are searched in the first ``n_pca`` principal components of f with a
   k-d tree (SciPy ``cKDTree``). The library is cached on disk, keyed by a hash of every
   library parameter and of the training data.
2. Weights: for an input feature f with neighbour features F (d x k), w solves the
   non-negative lasso  min_{w >= 0} 1/2 ||f - F w||^2 + lam ||w||_1  with
   lam = ``sparsity`` * max_j (F^T f)_j (a fraction of the smallest lam giving w = 0), by
   FISTA with projection on w >= 0, batched over all patches (PyTorch).
3. HR patch = input bicubic patch + D w (the weighted library details; equivalently the
   library HR patches combined with w, plus the part of the input patch the library does
   not explain); patches on a grid of stride ``stride`` are averaged where they overlap.
4. Iterative back-projection (Irani and Peleg 1991): X <- X + U(T - D B X), U the Keys bicubic
   upscaling, ``bp_iter`` times or until the relative LR residual stops decreasing by ``bp_tol``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import cKDTree
from torch import Tensor

from dnsp.acquisition import GaussianAcquisition
from dnsp.data.embedded import PHANTOM_FIRST_SLICE, PHANTOM_SLABS, default_phantom
from dnsp.data.intensity import percentile_scale
from dnsp.data.orientation import to_axial_stack
from dnsp.fsutil import atomic_path
from dnsp.methods.base import check_lr_stack, register_method
from dnsp.methods.bicubic import bicubic_stack
from dnsp.ops import check_scale, crop_to_multiple

__all__ = [
    "SRSW",
    "default_cache_dir",
    "default_training_stacks",
    "nonnegative_sparse_weights",
]

#: Bumped whenever the library format or its construction changes (part of the cache key).
LIBRARY_VERSION = 1


def default_cache_dir() -> Path:
    """``$DNSP_CACHE_DIR/srsw`` if set, else ``$XDG_CACHE_HOME/dnsp/srsw`` (~/.cache/dnsp/srsw)."""
    env = os.environ.get("DNSP_CACHE_DIR")
    if env:
        return Path(env) / "srsw"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "dnsp" / "srsw"


def default_training_stacks() -> list[np.ndarray]:
    """The training slab of the embedded BrainWeb phantom (``PHANTOM_SLABS["train"]``).

    The phantom is scaled to [0, 1] by its 99.9th percentile (SPEC section 2) and viewed as an
    axial stack; the slab's original BrainWeb slice indices are mapped into the cropped asset.
    """
    vol = default_phantom()
    scaled, _ = percentile_scale(vol.data)
    stack = to_axial_stack(scaled, vol.affine)
    idx = [i - PHANTOM_FIRST_SLICE for i in PHANTOM_SLABS["train"]]
    if min(idx) < 0 or max(idx) >= stack.shape[0]:
        raise ValueError(f"training slab {idx[0]}..{idx[-1]} outside the phantom's "
                         f"{stack.shape[0]} slices")
    return [np.ascontiguousarray(stack[idx], dtype=np.float32)]


def nonnegative_sparse_weights(
    feats: Tensor, targets: Tensor, sparsity: float, n_iter: int = 200,
) -> Tensor:
    """Batched non-negative lasso: min_{w>=0} 1/2 ||y - F w||^2 + lam ||w||_1 (FISTA).

    Args:
        feats: Neighbour features F, (B, d, k).
        targets: Query features y, (B, d).
        sparsity: lam as a fraction of lam_max = max_j (F^T y)_j (>= 0; 0 gives plain NNLS,
            values >= 1 give w = 0).
        n_iter: FISTA iterations.

    Returns:
        Weights (B, k), all >= 0.
    """
    if sparsity < 0:
        raise ValueError(f"sparsity must be >= 0, got {sparsity}")
    if feats.ndim != 3 or targets.ndim != 2 or feats.shape[:2] != targets.shape:
        raise ValueError(f"need feats (B, d, k) and targets (B, d), got "
                         f"{tuple(feats.shape)}, {tuple(targets.shape)}")
    f64 = feats.to(torch.float64)
    gram = f64.transpose(1, 2) @ f64  # (B, k, k)
    corr = (f64.transpose(1, 2) @ targets.to(torch.float64).unsqueeze(-1)).squeeze(-1)
    lam = sparsity * corr.amax(dim=1, keepdim=True).clamp_min(0.0)
    lip = torch.linalg.eigvalsh(gram)[:, -1:].clamp_min(1e-12)
    step = 1.0 / lip
    w = torch.zeros_like(corr)
    z = w.clone()
    t = 1.0
    for _ in range(n_iter):
        g = (gram @ z.unsqueeze(-1)).squeeze(-1) - corr
        w_new = (z - step * (g + lam)).clamp_min(0.0)
        t_new = (1.0 + (1.0 + 4.0 * t * t) ** 0.5) / 2.0
        z = w_new + ((t - 1.0) / t_new) * (w_new - w)
        w, t = w_new, t_new
    return w.to(feats.dtype)


def _pad_for_grid(x: Tensor, patch: int, stride: int) -> tuple[Tensor, int, int]:
    """Replicate-pad (N, 1, H, W) at the bottom/right so that a stride grid covers it."""
    h, w = x.shape[-2:]
    hp = patch + stride * max(0, -(-(h - patch) // stride))
    wp = patch + stride * max(0, -(-(w - patch) // stride))
    hp, wp = max(hp, patch), max(wp, patch)
    padded = F.pad(x, (0, wp - w, 0, hp - h), mode="replicate")
    return padded, hp, wp


@register_method("srsw")
class SRSW:
    """Example-based SR with sparse non-negative weights (Trinh et al., IEEE TIP 2014).

    Without :meth:`fit`, the first :meth:`upscale_stack` builds (or loads from the cache) the
    default library from the training slab of the embedded BrainWeb phantom. Defaults were
    chosen on the IXI training pool at x2 (grid and scores in docs/baselines.md).

    Args:
        patch: Patch side on the HR grid (>= 2).
        k: Number of nearest library patches per input patch.
        sparsity: Weight of the l1 term as a fraction of lam_max (0 = NNLS).
        stride: Stride of the input patch grid (<= patch); ``None`` means ``scale``.
        library_stride: Stride of library patch extraction.
        max_library: Maximum number of library patches (random subset, seeded).
        min_std: Patches whose bicubic intensities have a standard deviation below this are
            flat: they are neither stored nor matched (their estimate is the bicubic patch).
        n_pca: Principal components used for the nearest-neighbour search.
        weight_iter: FISTA iterations of the weight problem.
        bp_iter: Maximum back-projection iterations (0 disables back-projection).
        bp_tol: Back-projection stops when the relative LR residual improves by less.
        batch: Input patches processed at once (memory bound).
        workers: Threads of the k-d tree query.
        seed: Seed of the library subsampling.
        cache_dir: Folder of the library cache; ``None`` = :func:`default_cache_dir`.
        use_cache: Read and write the library cache.
        clip: Clip the result to [0, 1].
    """

    name = "srsw"
    #: the back-projection and the library act on the whole stack in one call
    whole_stack = True
    #: :meth:`fit` builds the patch library from HR training stacks
    learns_from_examples = True

    def __init__(
        self, patch: int = 7, k: int = 16, sparsity: float = 0.01, stride: int | None = None,
        library_stride: int = 2, max_library: int = 200_000, min_std: float = 0.01,
        n_pca: int = 10, weight_iter: int = 200, bp_iter: int = 10, bp_tol: float = 1e-3,
        batch: int = 65536, workers: int = 1, seed: int = 0,
        cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True,
        clip: bool = True,
    ) -> None:
        for nm, val, lo in (("patch", patch, 2), ("k", k, 1), ("library_stride", library_stride, 1),
                            ("max_library", max_library, 1), ("n_pca", n_pca, 1),
                            ("weight_iter", weight_iter, 1), ("bp_iter", bp_iter, 0),
                            ("batch", batch, 1), ("workers", workers, -1)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
                raise ValueError(f"{nm} must be an integer >= {lo}, got {val!r}")
        if stride is not None and not 1 <= stride <= patch:
            raise ValueError(f"stride must be in [1, patch={patch}], got {stride!r}")
        if sparsity < 0 or min_std < 0 or bp_tol < 0:
            raise ValueError(f"sparsity, min_std and bp_tol must be >= 0, got "
                             f"{sparsity}, {min_std}, {bp_tol}")
        self.patch, self.k, self.sparsity, self.stride = int(patch), int(k), float(sparsity), stride
        self.library_stride, self.max_library = int(library_stride), int(max_library)
        self.min_std, self.n_pca, self.weight_iter = float(min_std), int(n_pca), int(weight_iter)
        self.bp_iter, self.bp_tol, self.batch = int(bp_iter), float(bp_tol), int(batch)
        self.workers, self.seed = int(workers), int(seed)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.use_cache, self.clip = bool(use_cache), bool(clip)
        self._lib: dict[str, np.ndarray] | None = None
        self._tree: cKDTree | None = None
        self._scale: int | None = None
        self._default_library = False
        self.last_weights: np.ndarray | None = None

    def __repr__(self) -> str:
        return (f"SRSW(patch={self.patch}, k={self.k}, sparsity={self.sparsity}, "
                f"stride={self.stride}, bp_iter={self.bp_iter})")

    # ------------------------------------------------------------------ library
    def _library_params(self, scale: int) -> dict[str, Any]:
        return {"version": LIBRARY_VERSION, "scale": scale, "patch": self.patch,
                "library_stride": self.library_stride, "max_library": self.max_library,
                "min_std": self.min_std, "n_pca": self.n_pca, "seed": self.seed}

    def library_key(self, hr_stacks: list[np.ndarray], scale: int) -> str:
        """SHA-256 of the library parameters and of every training stack (shape and bytes)."""
        h = hashlib.sha256(json.dumps(self._library_params(scale), sort_keys=True).encode())
        for st in hr_stacks:
            arr = np.ascontiguousarray(st, dtype=np.float32)
            h.update(repr(arr.shape).encode())
            h.update(arr.tobytes())
        return h.hexdigest()

    @property
    def library_size(self) -> int:
        """Number of library patches (0 before :meth:`fit`)."""
        return 0 if self._lib is None else int(self._lib["features"].shape[0])

    def fit(self, hr_stacks: list[np.ndarray], scale: int) -> SRSW:
        """Build (or load from the cache) the patch library from HR training stacks.

        Args:
            hr_stacks: HR stacks (N, H, W) in [0, 1] (e.g. training subjects' axial slices).
            scale: The factor the library serves.

        Returns:
            ``self``.
        """
        s = check_scale(scale, 2)
        if not hr_stacks:
            raise ValueError("hr_stacks is empty")
        stacks = [np.asarray(st, dtype=np.float32) for st in hr_stacks]
        for st in stacks:
            if st.ndim != 3 or (min(st.shape[1:]) // s) * s < self.patch:
                raise ValueError(f"each training stack must be (N, H, W) with H, W of at least "
                                 f"{self.patch} after cropping to a multiple of {s}, got "
                                 f"{st.shape}")
        cache_file = None
        if self.use_cache:
            folder = self.cache_dir or default_cache_dir()
            cache_file = folder / f"library-{self.library_key(stacks, s)}.npz"
            if cache_file.is_file():
                with np.load(cache_file) as z:
                    lib = {name: z[name] for name in z.files}
                self._set_library(lib, s)
                return self
        lib = self._build_library(stacks, s)
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cache_file) as tmp:
                np.savez(tmp, **lib)
        self._set_library(lib, s)
        return self

    def _set_library(self, lib: dict[str, np.ndarray], scale: int) -> None:
        self._lib = lib
        self._tree = cKDTree(lib["codes"])
        self._scale = scale
        self._default_library = False

    def _build_library(self, stacks: list[np.ndarray], scale: int) -> dict[str, np.ndarray]:
        p, ls = self.patch, self.library_stride
        feats, dets = [], []
        acq = GaussianAcquisition(scale)
        for st in stacks:
            hr = crop_to_multiple(torch.from_numpy(np.ascontiguousarray(st)).to(torch.float64),
                                  scale)
            up = acq.network_input(acq.simulate(hr))
            f = F.unfold(up.unsqueeze(1), p, stride=ls).transpose(1, 2).reshape(-1, p * p)
            hp = F.unfold(hr.unsqueeze(1), p, stride=ls).transpose(1, 2).reshape(-1, p * p)
            keep = f.std(dim=1) >= self.min_std
            f, hp = f[keep], hp[keep]
            dets.append((hp - f).to(torch.float32))
            feats.append((f - f.mean(dim=1, keepdim=True)).to(torch.float32))
        features = torch.cat(feats).numpy()
        details = torch.cat(dets).numpy()
        if features.shape[0] < self.k:
            raise ValueError(f"the training data give only {features.shape[0]} non-flat "
                             f"patches, fewer than k={self.k}")
        if features.shape[0] > self.max_library:
            rng = np.random.default_rng(self.seed)
            sel = np.sort(rng.choice(features.shape[0], self.max_library, replace=False))
            features, details = features[sel], details[sel]
        mean = features.mean(axis=0)
        n_comp = min(self.n_pca, p * p)
        # principal axes of the feature cloud (right singular vectors of the centred data)
        cov = np.cov((features - mean).T.astype(np.float64))
        _, evecs = np.linalg.eigh(cov)
        comps = evecs[:, ::-1][:, :n_comp].T.astype(np.float32)
        codes = ((features - mean) @ comps.T).astype(np.float32)
        return {"features": np.ascontiguousarray(features),
                "details": np.ascontiguousarray(details), "pca_mean": mean.astype(np.float32),
                "pca_components": comps, "codes": np.ascontiguousarray(codes)}

    # ------------------------------------------------------------------ inference
    def _ensure_library(self, scale: int) -> None:
        if self._lib is not None and self._scale == scale:
            return
        if self._lib is not None and not self._default_library:
            raise ValueError(f"the library was fitted for scale {self._scale}, not {scale}; "
                             "call fit() with the training data at this scale")
        self.fit(default_training_stacks(), scale)
        self._default_library = True

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale (N, h, w) -> (N, h*scale, w*scale) float32 (see :class:`SRMethod`)."""
        arr, s = check_lr_stack(lr, scale)
        self._ensure_library(s)
        x = self.patch_estimate(arr, s)
        x = self.back_project(x, arr, s)
        out = x.numpy().astype(np.float32)
        return np.clip(out, 0.0, 1.0) if self.clip else out

    def patch_estimate(self, lr: np.ndarray, scale: int) -> Tensor:
        """Steps 2-3: the averaged patch-wise HR estimate (N, h*s, w*s), float64, unclipped.

        Slices are processed in chunks of about ``batch`` patch positions to bound memory.
        """
        if self._lib is None or self._tree is None:
            raise ValueError("no patch library: call fit() first")
        up = torch.from_numpy(bicubic_stack(lr, scale)).to(torch.float64)
        st = self.stride if self.stride is not None else min(scale, self.patch)
        per_slice = max(1, (up.shape[1] // st) * (up.shape[2] // st))
        chunk = max(1, self.batch // per_slice)
        out = torch.empty_like(up)
        weights: list[np.ndarray] = []
        for start in range(0, up.shape[0], chunk):
            out[start:start + chunk] = self._estimate_chunk(up[start:start + chunk], st, weights)
        self.last_weights = np.concatenate(weights) if weights else None
        return out

    def _estimate_chunk(self, up: Tensor, st: int, weights: list[np.ndarray]) -> Tensor:
        assert self._lib is not None and self._tree is not None
        p = self.patch
        n, hh, ww = up.shape
        padded, hp, wp = _pad_for_grid(up.unsqueeze(1), p, st)
        cols = F.unfold(padded, p, stride=st)  # (n, p*p, L)
        n_pos = cols.shape[-1]
        q = cols.transpose(1, 2).reshape(-1, p * p)  # (n*L, p*p)
        det = torch.zeros_like(q)
        active = torch.nonzero(q.std(dim=1) >= self.min_std).squeeze(1)
        if active.numel():
            f = q[active] - q[active].mean(dim=1, keepdim=True)
            codes = (f.to(torch.float32).numpy() - self._lib["pca_mean"]) @ \
                self._lib["pca_components"].T
            _, nb = self._tree.query(codes, k=self.k, workers=self.workers)
            nb_t = torch.from_numpy(np.asarray(nb).reshape(active.numel(), self.k))
            feats_lib = torch.from_numpy(self._lib["features"])
            fn = feats_lib[nb_t].transpose(1, 2)  # (B, d, k)
            w = nonnegative_sparse_weights(fn, f.to(torch.float32), self.sparsity,
                                           self.weight_iter)
            dets_lib = torch.from_numpy(self._lib["details"])
            det[active] = (dets_lib[nb_t].to(torch.float64).transpose(1, 2)
                           @ w.to(torch.float64).unsqueeze(-1)).squeeze(-1)
            if not weights:  # keep one chunk's weights for inspection (tests, docs)
                weights.append(w.numpy())
        est = (q + det).reshape(n, n_pos, p * p).transpose(1, 2)
        summed = F.fold(est, (hp, wp), p, stride=st)
        count = F.fold(torch.ones_like(est[:1]), (hp, wp), p, stride=st)
        return (summed / count)[:, 0, :hh, :ww]

    def back_project(self, x: Tensor, lr: np.ndarray, scale: int) -> Tensor:
        """Step 4: iterative back-projection of the LR residual with Keys bicubic upscaling."""
        acq = GaussianAcquisition(scale)
        t = torch.from_numpy(lr).to(torch.float64)
        t_norm = max(float(torch.linalg.vector_norm(t)), 1e-12)
        prev = float("inf")
        for _ in range(self.bp_iter):
            r = t - acq.simulate(x)
            rel = float(torch.linalg.vector_norm(r)) / t_norm
            if prev - rel < self.bp_tol * prev:
                break
            prev = rel
            x = x + acq.network_input(r)
        return x
