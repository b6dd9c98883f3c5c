"""prepare_sr_data / load_eval_slices on tiny synthetic sources, the phantom and IXI."""

from __future__ import annotations

import dataclasses

import nibabel as nib
import numpy as np
import pytest
import torch

from dnsp.data.cache import cache_key
from dnsp.data.degradation import bicubic_upscale_slices, degrade_slices
from dnsp.data.embedded import PHANTOM_SLABS, default_phantom
from dnsp.data.intensity import percentile_scale
from dnsp.data.orientation import to_axial_stack
from dnsp.data.prepare import load_eval_slices, prepare_sr_data
from dnsp.data.spec import SRDataSpec, discover_subjects
from dnsp.errors import InputError


@pytest.fixture
def folder(make_ixi_folder):
    return make_ixi_folder(6, (26, 21, 23))


def _spec(root, **kw):
    base = dict(source="ixi", root=str(root), scale=2, n_slices=6, patch=8, stride=4,
                sharp_patch=8)
    base.update(kw)
    return SRDataSpec(**base)


def test_ixi_layout_split_and_tensors(folder):
    spec = _spec(folder, val_fraction=0.34)
    data = prepare_sr_data(spec)
    # 6 subjects: pool = first 3 (val = last 1 of them), test = last 3
    assert data.meta["train_subject_ids"] == ["IXI000-XX-0", "IXI001-XX-1"]
    assert data.meta["val_subject_ids"] == ["IXI002-XX-2"]
    assert data.train_inputs.dtype == torch.float32
    assert data.train_inputs.shape[1:] == (1, 8, 8)
    assert data.train_inputs.shape == data.train_targets.shape
    # PSR: axial rows = axis 0 (26), cols = axis 2 (23 -> 22), slices = axis 1
    assert data.val_targets.shape == (6, 1, 26, 22)
    assert data.val_subjects == ["IXI002-XX-2"] * 6 and len(data.val_slices) == 6
    assert data.sharp.shape[1:] == (1, 8, 8) and data.sharp.shape == data.smooth.shape
    assert 0 < data.sharp.shape[0] <= 12
    assert float(data.train_targets.max()) <= 1.0 and float(data.train_targets.min()) >= 0.0
    # validation inputs are bicubic(degrade(HR)) of the same slices
    hr = data.val_targets[:, 0].numpy()
    ref = bicubic_upscale_slices(degrade_slices(hr, 2), 2)
    np.testing.assert_allclose(data.val_inputs[:, 0].numpy(), ref, atol=1e-6)
    # the HR validation slices are the selected axial slices of the scaled volume
    vol = nib.load(str(folder / "IXI002-XX-2_T1.nii.gz"))
    scaled, _ = percentile_scale(vol.get_fdata())
    stack = to_axial_stack(scaled, vol.affine)
    np.testing.assert_allclose(hr[0], stack[data.val_slices[0], :26, :22], atol=1e-6)


def test_eval_slices_are_test_subjects(folder):
    spec = _spec(folder)
    hr, lr, subjects, ids = load_eval_slices(spec)
    assert sorted(set(subjects)) == ["IXI003-XX-3", "IXI004-XX-4", "IXI005-XX-5"]
    assert hr.shape == (18, 26, 22) and lr.shape == (18, 13, 11)
    np.testing.assert_allclose(lr, degrade_slices(hr, 2), atol=1e-6)
    assert ids[:6] == sorted(ids[:6])


def test_training_fraction_is_seeded_and_nested_in_pool(folder):
    full = prepare_sr_data(_spec(folder, val_fraction=0.0))
    quarter = prepare_sr_data(_spec(folder, val_fraction=0.0, train_fraction=0.25))
    again = prepare_sr_data(_spec(folder, val_fraction=0.0, train_fraction=0.25))
    other = prepare_sr_data(_spec(folder, val_fraction=0.0, train_fraction=0.25, seed=1))
    assert full.meta["n_train_images"] == 18 and quarter.meta["n_train_images"] == 4
    pairs = list(zip(quarter.train_subjects, quarter.train_slices, strict=True))
    assert pairs == list(zip(again.train_subjects, again.train_slices, strict=True))
    assert pairs != list(zip(other.train_subjects, other.train_slices, strict=True))
    assert set(pairs) <= set(zip(full.train_subjects, full.train_slices, strict=True))
    assert torch.equal(quarter.train_inputs, again.train_inputs)
    assert quarter.train_inputs.shape[0] < full.train_inputs.shape[0]
    capped = prepare_sr_data(_spec(folder, val_fraction=0.0, max_patches=10))
    assert capped.train_inputs.shape[0] == 10


def test_strip_fraction_adds_stripped_copies_only(folder):
    plain = prepare_sr_data(_spec(folder, val_fraction=0.34))
    strip = prepare_sr_data(_spec(folder, val_fraction=0.34, strip_fraction=0.5))
    assert plain.meta["n_stripped_images"] == 0 and strip.meta["n_stripped_images"] == 6
    assert strip.train_inputs.shape[0] > plain.train_inputs.shape[0]
    # every plain pair is still there; the priors' sharp/smooth sets and validation unchanged
    rows = {tuple(y.flatten().tolist()) for y in strip.train_targets}
    assert all(tuple(y.flatten().tolist()) in rows for y in plain.train_targets)
    assert torch.equal(plain.sharp, strip.sharp) and torch.equal(plain.val_inputs, strip.val_inputs)
    # the added targets are cut to 0 where the heads had tissue: more zero pixels overall
    assert (strip.train_targets == 0).float().mean() > (plain.train_targets == 0).float().mean()
    with pytest.raises(ValueError, match="strip_fraction"):
        _spec(folder, strip_fraction=1.5)
    with pytest.raises(ValueError, match="pairs"):
        SRDataSpec(source="pairs", root=str(folder), strip_fraction=0.5)


def test_cache_roundtrip_and_key(folder, tmp_path):
    spec = _spec(folder)
    cache = tmp_path / "cache"
    a = prepare_sr_data(spec, cache_dir=cache)
    files = list(cache.glob("srdata-ixi-x2-*.pt"))
    assert len(files) == 1
    b = prepare_sr_data(spec, cache_dir=cache)
    assert torch.equal(a.train_inputs, b.train_inputs) and a.val_slices == b.val_slices
    keys = {cache_key(spec)}
    for change in (dict(stride=5), dict(scale=3), dict(seed=1), dict(train_fraction=0.5),
                   dict(patch=10), dict(max_patches=5), dict(val_fraction=0.0),
                   dict(strip_fraction=0.5)):
        keys.add(cache_key(dataclasses.replace(spec, **change)))
    assert len(keys) == 9
    # touching an input file changes the key
    f = sorted(folder.iterdir())[0]
    before = cache_key(spec)
    f.write_bytes(f.read_bytes())
    import os

    os.utime(f, ns=(1, 1))
    assert cache_key(spec) != before


def test_folder_bids_and_single_volume(tmp_path, make_head):
    root = tmp_path / "bids"
    for k in range(2):
        anat = root / f"sub-{k:02d}" / "anat"
        anat.mkdir(parents=True)
        nib.save(nib.Nifti1Image(make_head((20, 22, 18), k), np.eye(4)),
                 str(anat / f"sub-{k:02d}_T1w.nii.gz"))
        nib.save(nib.Nifti1Image(make_head((20, 22, 18), k), np.eye(4)),
                 str(anat / f"sub-{k:02d}_T2w.nii.gz"))
    (root / "derivatives").mkdir()
    spec = SRDataSpec(source="folder", root=str(root), n_slices=4, patch=8, stride=8,
                      sharp_patch=8, val_fraction=0.0)
    assert [s.id for s in discover_subjects(spec)] == ["sub-00", "sub-01"]
    data = prepare_sr_data(spec)
    assert set(data.train_subjects) == {"sub-00"}
    # one volume: lower training slab, upper test slab >= 10 slices apart
    single = tmp_path / "single"
    single.mkdir()
    nib.save(nib.Nifti1Image(make_head((16, 18, 40), 3), np.eye(4)), str(single / "a.nii"))
    spec1 = dataclasses.replace(spec, root=str(single), n_slices=8)
    d1 = prepare_sr_data(spec1)
    _, _, _, test_ids = load_eval_slices(spec1)
    assert min(test_ids) - max(d1.train_slices) - 1 >= 10
    assert len(test_ids) == 8


def test_pairs_source_uses_lr_without_bicubic(tmp_path, make_head):
    root = tmp_path / "pairs"
    (root / "hr").mkdir(parents=True)
    (root / "lr").mkdir()
    for k in range(2):
        hr = make_head((20, 20, 12), k)
        lr = (0.5 * hr + 3.0).astype(np.float32)
        nib.save(nib.Nifti1Image(hr, np.eye(4)), str(root / "hr" / f"s{k}.nii.gz"))
        nib.save(nib.Nifti1Image(lr, np.eye(4)), str(root / "lr" / f"s{k}.nii.gz"))
    spec = SRDataSpec(source="pairs", root=str(root), n_slices=4, patch=8, stride=4,
                      sharp_patch=8, val_fraction=0.0)
    data = prepare_sr_data(spec)
    hr, lr, _, _ = load_eval_slices(spec)
    assert lr.shape == hr.shape  # no downsampling for registered pairs
    lr_vol = nib.load(str(root / "lr" / "s1.nii.gz")).get_fdata()
    ref, _ = percentile_scale(lr_vol)
    assert data.train_inputs.shape == data.train_targets.shape
    assert not torch.allclose(data.train_inputs, data.train_targets)
    np.testing.assert_allclose(lr[0], to_axial_stack(ref, np.eye(4))[_first(spec)], atol=1e-6)
    (root / "lr" / "s1.nii.gz").unlink()
    with pytest.raises(InputError, match="unpaired"):
        prepare_sr_data(spec)


def _first(spec):
    _, _, _, ids = load_eval_slices(spec)
    return ids[0]


def test_bad_sources(tmp_path):
    with pytest.raises(InputError):
        prepare_sr_data(SRDataSpec(source="folder", root=str(tmp_path / "nope")))
    with pytest.raises(InputError):
        prepare_sr_data(SRDataSpec(source="folder", root=str(tmp_path)))
    with pytest.raises(ValueError):
        SRDataSpec(source="adni", root="x")
    with pytest.raises(ValueError):
        SRDataSpec(scale=1)
    with pytest.raises(ValueError):
        SRDataSpec(train_fraction=0.0)


def test_embedded_phantom_and_its_slabs():
    vol = default_phantom()
    assert vol.shape == (181, 217, 106)
    np.testing.assert_allclose(vol.affine[:3, 3], [-90, -126, -39])
    spec = SRDataSpec(source="embedded", max_patches=64)
    data = prepare_sr_data(spec)
    first = 33
    assert data.train_slices == [i - first for i in PHANTOM_SLABS["train"]]
    assert data.val_slices == [i - first for i in PHANTOM_SLABS["val"]]
    hr, lr, _, ids = load_eval_slices(spec)
    assert ids == [i - first for i in PHANTOM_SLABS["test"]]
    assert hr.shape == (40, 216, 180) and lr.shape == (40, 108, 90)
    assert data.train_inputs.shape == (64, 1, 40, 40)
    assert data.sharp.shape[1:] == (1, 40, 40) and data.sharp.shape[0] >= 30


@pytest.mark.data
def test_brainweb_full_phantom_matches_embedded_slabs(shared_data):
    spec = SRDataSpec(source="brainweb", root=str(shared_data / "brainweb"), val_fraction=0.0)
    hr, _, _, ids = load_eval_slices(spec)
    assert ids == list(PHANTOM_SLABS["test"])
    ehr, _, _, _ = load_eval_slices(SRDataSpec(source="embedded", val_fraction=0.0))
    # same voxels; only the 99.9th-percentile factor differs (the asset is a z-crop)
    ok = (hr < 0.99) & (ehr < 0.99)
    ratio = float(np.median(hr[ok & (hr > 0.2)] / ehr[ok & (hr > 0.2)]))
    np.testing.assert_allclose(hr[ok], ehr[ok] * ratio, atol=1e-5)


@pytest.mark.data
def test_ixi_real_split(shared_data):
    spec = SRDataSpec(source="ixi", root=str(shared_data / "ixi-t1-2mm"), max_patches=256)
    subjects = [s.id for s in discover_subjects(spec)]
    assert len(subjects) == 40 and subjects == sorted(subjects)
    data = prepare_sr_data(spec)
    assert data.meta["train_subject_ids"] == subjects[:18]
    assert data.meta["val_subject_ids"] == subjects[18:20]
    assert data.val_targets.shape == (80, 1, 120, 90)
    assert data.meta["n_train_images"] == 18 * 40
