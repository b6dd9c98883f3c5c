"""The BrainWeb T1 phantom shipped inside the package (offline default data).

See ``dnsp/assets/README.md`` for the source, the crop and the citations (Collins et al. 1998;
Kwan et al. 1999).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dnsp.data.io import Volume, load_volume

__all__ = [
    "PHANTOM_FILE",
    "PHANTOM_FIRST_SLICE",
    "PHANTOM_SLABS",
    "default_phantom",
    "phantom_path",
]

PHANTOM_FILE = "brainweb_t1_pn3_rf20.nii.bz2"
#: Index, in the original 181-slice BrainWeb grid, of the first axial slice kept in the asset.
PHANTOM_FIRST_SLICE = 33
#: Axial slabs (original BrainWeb slice indices, world z = index - 72 mm) used by the
#: single-phantom split: lower training slab, validation slab, upper test slab. Training and
#: test are 20 slices apart.
PHANTOM_SLABS: dict[str, tuple[int, ...]] = {
    "train": tuple(range(36, 76)),
    "val": tuple(range(81, 91)),
    "test": tuple(range(96, 136)),
}


def phantom_path() -> Path:
    """Path of the embedded phantom file inside the installed package."""
    return Path(str(resources.files("dnsp") / "assets" / PHANTOM_FILE))


def default_phantom() -> Volume:
    """Load the embedded BrainWeb T1 phantom (181 x 217 x 106 voxels, 1 mm, RAS, float32)."""
    vol = load_volume(phantom_path())
    vol.meta["name"] = "brainweb_t1_icbm_normal_1mm_pn3_rf20"
    return vol
