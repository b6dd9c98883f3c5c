"""Training-time augmentation: flips/rotations of patch pairs and synthetic skull stripping.

A brain slice has no preferred in-plane orientation that a scan is guaranteed to share with the
training data (left-right mirror images, rotated field of view), so shipped models are trained
on patch pairs transformed by a random element of the dihedral group D4 (the 8 flips/rotations;
the augmentation EDSR uses, Lim et al. 2017). Input and target get the same transform, which
commutes with the degradation of SPEC section 4 when the patch side is a multiple of the scale.

Many scans that users super-resolve are skull-stripped: brain tissue ends in a hard step to
zero that unstripped training heads never show. :func:`synthetic_skull_strip` makes such HR
images from whole heads (the head mask eroded by a random, spatially varying depth); the data
layer degrades them like any HR image (``SRDataSpec.strip_fraction``).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from dnsp.data.slicing import FG_THRESHOLD
from dnsp.ops.dihedral import N_DIHEDRAL, dihedral_transform

__all__ = ["N_DIHEDRAL", "dihedral_transform", "random_dihedral", "synthetic_skull_strip"]

STRIP_DEPTH = (0.05, 0.2)
"""Range of the mean cut depth, as a fraction of the head's equivalent radius (about 4 to
17 mm into an adult head of radius 85 mm: scalp and skull, sometimes cortex)."""


def synthetic_skull_strip(
    image: np.ndarray,
    rng: np.random.Generator,
    depth: tuple[float, float] = STRIP_DEPTH,
    roughness: float = 0.4,
    threshold: float = FG_THRESHOLD,
) -> np.ndarray:
    """Zero everything outside an eroded head mask, as brain extraction does.

    The head is the filled foreground ``image > threshold``; a pixel is kept when its
    distance to the head's outline exceeds ``d * (1 + roughness * n)``, where ``d`` is drawn
    uniformly from ``depth`` (times the equivalent radius ``sqrt(area / pi)``) and ``n`` is
    unit-variance Gaussian noise smoothed over a quarter of the radius, so the cut wanders
    through scalp, skull and cortex like a real extraction. The largest kept component is
    returned; the step from tissue to 0 stays hard.

    Args:
        image: One HR slice ``(H, W)``, intensities in [0, 1].
        rng: Random generator (one draw of the depth and of the noise field).
        depth: ``(low, high)`` fractions of the equivalent radius, ``0 <= low <= high``.
        roughness: Relative amplitude of the depth variation, >= 0.
        threshold: Foreground threshold on the [0, 1] intensities.

    Returns:
        The stripped slice, same shape and dtype; a copy of ``image`` when it has no
        foreground or the cut would remove all of it.

    Raises:
        ValueError: If ``image`` is not 2-D or the ranges are invalid.
    """
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    if not 0 <= depth[0] <= depth[1] or roughness < 0:
        raise ValueError(f"need 0 <= depth[0] <= depth[1] and roughness >= 0, got {depth}, "
                         f"{roughness}")
    head = ndimage.binary_fill_holes(image > threshold)
    if not head.any():
        return image.copy()
    labels, n = ndimage.label(head)
    if n > 1:
        head = labels == 1 + int(np.argmax(ndimage.sum_labels(head, labels, range(1, n + 1))))
    radius = float(np.sqrt(head.sum() / np.pi))
    dist = ndimage.distance_transform_edt(head)
    noise = ndimage.gaussian_filter(rng.standard_normal(image.shape), sigma=max(radius / 4, 1.0))
    noise /= float(noise.std()) or 1.0
    cut = rng.uniform(depth[0], depth[1]) * radius * (1.0 + roughness * noise)
    keep = dist > np.maximum(cut, 0.5)
    labels, n = ndimage.label(keep)
    if n == 0:
        return image.copy()
    sizes = ndimage.sum_labels(keep, labels, range(1, n + 1))
    keep = ndimage.binary_fill_holes(labels == 1 + int(np.argmax(sizes)))
    return np.where(keep, image, 0).astype(image.dtype, copy=False)


def random_dihedral(
    x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply one random D4 element per sample, the same to input and target.

    Args:
        x: Input patches ``(B, ..., P, P)`` (square in the last two axes).
        y: Target patches of the same shape, except that ``x`` may have more channels
            (axis 1) than ``y``.
        generator: CPU generator for the draw (seeded by the trainer per step, so a resumed
            run sees the same transforms).

    Returns:
        ``(x', y')`` with sample ``b`` of both transformed by the same element.

    Raises:
        ValueError: If the shapes differ or the patches are not square.
    """
    if x.shape[0] != y.shape[0] or x.shape[2:] != y.shape[2:] or x.ndim != y.ndim:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    if x.ndim < 3 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"patches must be square, (B, ..., P, P); got shape {tuple(x.shape)}")
    draw = torch.randint(0, N_DIHEDRAL, (x.shape[0],), generator=generator).to(x.device)
    x_out, y_out = torch.empty_like(x), torch.empty_like(y)
    for index in range(N_DIHEDRAL):
        sel = draw == index
        if bool(sel.any()):
            x_out[sel] = dihedral_transform(x[sel], index)
            y_out[sel] = dihedral_transform(y[sel], index)
    return x_out, y_out
