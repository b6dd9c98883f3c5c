"""The data-source registry, the split modules, no re-export shims, and the 3-D option."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from dnsp.data.prepare import prepare_sr_data
from dnsp.data.sources import (
    Subject,
    available_sources,
    discover,
    get_source,
    register_source,
    stem,
)
from dnsp.data.sources import base as sources_base
from dnsp.data.spec import SRDataSpec, discover_subjects
from dnsp.errors import InputError


def test_registered_sources_and_flags() -> None:
    assert available_sources() == ("bids", "brainweb", "embedded", "folder", "ixi", "pairs")
    assert get_source("pairs").paired and get_source("pairs").needs_root
    assert get_source("folder").needs_root and get_source("bids").needs_root
    assert get_source("embedded").phantom_grid and get_source("brainweb").phantom_grid
    assert not get_source("ixi").needs_root and not get_source("ixi").paired


def test_unknown_source_lists_the_valid_ones() -> None:
    valid = "bids, brainweb, embedded, folder, ixi, pairs; got 'adni'"
    with pytest.raises(ValueError, match=valid):
        get_source("adni")
    with pytest.raises(InputError, match="source must be one of bids, brainweb"):
        SRDataSpec(source="adni")


def test_register_source_rejects_bad_and_duplicate_names() -> None:
    with pytest.raises(ValueError, match="lower case"):
        register_source("IXI2")
    with pytest.raises(ValueError, match="already registered"):
        register_source("ixi")


def test_needs_root_and_paired_checks_come_from_the_registry() -> None:
    with pytest.raises(InputError, match="source 'bids' needs a root folder"):
        SRDataSpec(source="bids")
    with pytest.raises(InputError, match="the pairs source has real LR"):
        SRDataSpec(source="pairs", root="x", strip_fraction=0.5)
    with pytest.raises(InputError, match="strip_fraction applies to 2-D"):
        SRDataSpec(strip_fraction=0.5, patch_depth=4)


def test_explicit_bids_source_equals_folder_on_a_bids_tree(tmp_path: Path, make_head) -> None:
    root = tmp_path / "bids"
    for sub, ses in (("sub-01", None), ("sub-02", "ses-a")):
        anat = root / sub / (ses or "") / "anat"
        anat.mkdir(parents=True)
        name = f"{sub}_{ses}_T1w.nii.gz" if ses else f"{sub}_T1w.nii.gz"
        nib.save(nib.Nifti1Image(make_head((12, 12, 10), 1), np.eye(4)), str(anat / name))
    (root / "derivatives" / "sub-01" / "anat").mkdir(parents=True)
    nib.save(nib.Nifti1Image(make_head((12, 12, 10), 1), np.eye(4)),
             str(root / "derivatives" / "sub-01" / "anat" / "sub-01_T1w.nii.gz"))
    ids_bids = [s.id for s in discover("bids", str(root), None)]
    ids_folder = [s.id for s in discover("folder", str(root), None)]
    assert ids_bids == ids_folder == ["sub-01", "sub-02_ses-a"]


def test_suffixes_of_the_one_list_are_discovered(tmp_path: Path, make_head) -> None:
    """A folder picks up every format of dnsp.data.io.IMAGE_SUFFIXES, and nothing else."""
    img = make_head((10, 10, 8), 0)
    nib.save(nib.Nifti1Image(img, np.eye(4)), str(tmp_path / "a.nii.bz2"))
    nib.save(nib.AnalyzeImage(img, np.eye(4)), str(tmp_path / "b.hdr.gz"))
    nib.save(nib.MGHImage(img, np.eye(4)), str(tmp_path / "c.mgz"))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.nii").write_text("x")
    subjects = discover("folder", str(tmp_path), None)
    assert [s.id for s in subjects] == ["a", "b", "c"]  # b.img.gz is the data of b.hdr.gz
    for s in subjects:
        hr, lr = s.load()
        assert hr.shape == (10, 10, 8) and lr is None


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="data folder does not exist"):
        discover("folder", str(tmp_path / "nope"), None)
    with pytest.raises(InputError, match="no volumes for source 'folder'"):
        discover("folder", str(tmp_path), None)


def test_duplicate_ids_are_made_unique(tmp_path: Path, make_head) -> None:
    for name in ("IXI001_T1.nii.gz", "IXI001_T2.nii.gz"):
        nib.save(nib.Nifti1Image(make_head((10, 10, 8), 0), np.eye(4)), str(tmp_path / name))
    assert [s.id for s in discover("ixi", str(tmp_path), None)] == ["IXI001#0", "IXI001#1"]


def test_stem_keeps_names_without_volume_suffix() -> None:
    assert stem("a.nii.gz") == "a" and stem("dir/b.MNC") == "dir/b" and stem("c.txt") == "c.txt"


def test_3d_blocks_are_an_option_of_the_same_preparation() -> None:
    spec = SRDataSpec(source="embedded", patch_depth=4, patch=16, stride=16, n_slices=12,
                      max_patches=6)
    data = prepare_sr_data(spec)
    assert data.train_inputs.shape == (6, 1, 4, 16, 16)
    assert data.train_targets.shape == data.train_inputs.shape
    assert data.val_inputs.shape[1:3] == (1, 4) and data.val_inputs.dim() == 5
    assert data.sharp.shape[0] == 0 and data.meta["dims"] == 3
    assert len(data.val_subjects) == data.val_inputs.shape[0] == len(data.val_slices)
    # the 2-D preparation of the same slices: a block's middle slice is one of its inputs
    flat = prepare_sr_data(dataclasses.replace(spec, patch_depth=None, max_patches=None))
    assert flat.val_inputs.shape[2:] == data.val_inputs.shape[3:]
    torch.testing.assert_close(data.val_inputs[0, 0, 0], flat.val_inputs[0, 0])


def test_custom_source_through_prepare_sr_data(make_head, monkeypatch) -> None:
    """A source registered at run time is usable by name (one function, one registration)."""
    from dnsp.data.io import Volume

    def find(root, pattern):
        vols = [Volume(make_head((24, 26, 20), k), np.eye(4)) for k in range(4)]
        return [Subject(f"s{k}", (), (lambda v=v: (v, None))) for k, v in enumerate(vols)]

    monkeypatch.setattr(sources_base, "_REGISTRY", dict(sources_base._REGISTRY))
    register_source("memory")(find)
    spec = SRDataSpec(source="memory", n_slices=4, patch=8, stride=8, sharp_patch=8)
    assert [s.id for s in discover_subjects(spec)] == ["s0", "s1", "s2", "s3"]
    data = prepare_sr_data(spec)
    assert data.train_inputs.shape[1:] == (1, 8, 8) and data.val_subjects[0] == "s1"


def test_no_re_export_shims_left() -> None:
    """The data package's old homes (datasets.py, lowfield.py) are gone: nothing imports them."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    data = root / "src" / "dnsp" / "data"
    assert not (data / "datasets.py").exists() and not (data / "lowfield.py").exists()
    users = [p for folder in ("src", "tests", "benchmarks", "tools") for p in
             (root / folder).rglob("*.py")
             if any(f"dnsp.data.{m}" in p.read_text(encoding="utf-8")
                    for m in ("datasets", "lowfield")) and p.name != "test_sources.py"]
    assert not users
