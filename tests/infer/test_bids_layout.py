"""dnsp.bids.layout and .derivatives: reading a raw dataset, labels, shards, output names.

Output names are checked against the BIDS schema (bidsschematools, the package behind the
Python ``bids-validator``): the name without its derivative entities must be a valid raw
BIDS name (``BIDSValidator.is_bids``), and the derivative name must satisfy the schema's
derivative rule for anatomical images (entities, their order, suffix, extension).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from dnsp.bids.derivatives import (
    dataset_description,
    derivative_name,
    qc_name,
    sidecar_name,
    write_dataset_description,
)
from dnsp.bids.layout import (
    BidsImage,
    find_images,
    list_participants,
    normalise_labels,
    parse_image_name,
    parse_shard,
    read_dataset_description,
    shard_labels,
)
from dnsp.bids.synthetic import make_synthetic_dataset
from dnsp.errors import InputError


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layout") / "ds"
    make_synthetic_dataset(root, ("01", "02", "10"), ("1", "2"), ("T1w", "T2w"), (8, 8, 2))
    anat = root / "sub-01" / "ses-1" / "anat"
    (anat / "sub-01_ses-1_T1w.json").write_text("{}")  # sidecars are not images
    (anat / "sub-02_ses-1_T1w.nii.gz").write_bytes(b"x")  # wrong participant: not BIDS
    (anat / "sub-01_ses-2_T1w.nii.gz").write_bytes(b"x")  # wrong session folder
    (anat / "notes.nii.gz").write_bytes(b"x")
    (anat / ".sub-01_ses-1_FLAIR.nii.gz").write_bytes(b"x")  # hidden
    (root / "sub-01" / "ses-1" / "func").mkdir()
    (root / "derivatives" / "x").mkdir(parents=True)
    (root / "sub-bad_label").mkdir()
    return root


def test_parse_image_name() -> None:
    assert parse_image_name("sub-01_ses-2_acq-fast_run-1_T1w.nii.gz") == (
        (("sub", "01"), ("ses", "2"), ("acq", "fast"), ("run", "1")), "T1w", ".nii.gz")
    assert parse_image_name("sub-01_T2w.nii") == ((("sub", "01"),), "T2w", ".nii")
    for bad in ("sub-01_T1w.json", "sub-01_ses-1_ses-2_T1w.nii.gz", "ses-1_T1w.nii.gz",
                "sub-0_1_T1w.nii.gz", "sub-01_acq-a-b_T1w.nii.gz", "sub-01.nii.gz"):
        assert parse_image_name(bad) is None, bad


def test_participants_and_images(dataset: Path) -> None:
    assert list_participants(dataset) == ["01", "02", "10"]
    images = find_images(dataset, ["01", "02", "10"])
    assert len(images) == 12
    first = images[0]
    assert isinstance(first, BidsImage)
    assert first.uri_path == "sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz"
    assert (first.subject, first.session, first.suffix, first.extension) == (
        "01", "1", "T1w", ".nii.gz")
    only = find_images(dataset, ["02"], sessions=["2"], suffixes=["T2w"])
    assert [im.uri_path for im in only] == ["sub-02/ses-2/anat/sub-02_ses-2_T2w.nii.gz"]
    assert find_images(dataset, ["01"], suffixes=["FLAIR"]) == []


def test_dataset_without_sessions(tmp_path: Path) -> None:
    make_synthetic_dataset(tmp_path / "ds", ("a1",), None, ("T1w",), (4, 4, 2))
    images = find_images(tmp_path / "ds", ["a1"])
    assert [im.uri_path for im in images] == ["sub-a1/anat/sub-a1_T1w.nii.gz"]
    assert images[0].session is None
    assert find_images(tmp_path / "ds", ["a1"], sessions=["1"]) == []


def test_labels_with_or_without_prefix() -> None:
    assert normalise_labels(["sub-02", "01", "02"], "sub") == ["01", "02"]
    assert normalise_labels(None, "sub") is None
    assert normalise_labels(["ses-pre"], "ses") == ["pre"]
    with pytest.raises(InputError, match="invalid sub label 'sub-0_1'"):
        normalise_labels(["sub-0_1"], "sub")


def test_dataset_description_required(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_dataset_description(tmp_path / "nope")
    with pytest.raises(InputError, match=r"no dataset_description\.json"):
        read_dataset_description(tmp_path)
    (tmp_path / "dataset_description.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        read_dataset_description(tmp_path)
    (tmp_path / "dataset_description.json").write_text("[1]")
    with pytest.raises(InputError, match="JSON object"):
        read_dataset_description(tmp_path)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 25])
def test_shards_partition_the_participants(n: int) -> None:
    labels = [f"{k:03d}" for k in range(20)][::-1]  # unsorted input
    parts = [shard_labels(labels, i, n) for i in range(1, n + 1)]
    assert sorted(itertools.chain.from_iterable(parts)) == sorted(labels)  # union = all
    for a, b in itertools.combinations(parts, 2):
        assert not set(a) & set(b)  # pairwise disjoint
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1  # balanced
    assert parts == [shard_labels(sorted(labels), i, n) for i in range(1, n + 1)]


def test_shard_golden_and_parse() -> None:
    assert shard_labels(["03", "01", "02", "04", "05"], 2, 2) == ["02", "04"]
    assert parse_shard("2/4") == (2, 4) and parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/2", "3/2", "1/0", "a/b", "2", "-1/2", "1/2/3", ""):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)


def _image(name: str) -> BidsImage:
    parsed = parse_image_name(name)
    assert parsed is not None
    ent = dict(parsed[0])
    folder = Path(f"sub-{ent['sub']}") / (f"ses-{ent['ses']}" if "ses" in ent else "") / "anat"
    return BidsImage(path=Path("/x") / folder / name, rel=folder / name, entities=parsed[0],
                     suffix=parsed[1], extension=parsed[2])


NAMES = {
    "sub-01_ses-1_T1w.nii.gz": "sub-01/ses-1/anat/sub-01_ses-1_res-x2_desc-dnsp_T1w.nii.gz",
    "sub-01_acq-fast_run-2_T2w.nii":
        "sub-01/anat/sub-01_acq-fast_run-2_res-x2_desc-dnsp_T2w.nii.gz",
    "sub-7_ses-a_ce-gd_rec-n4_echo-1_part-mag_FLAIR.nii.gz":
        "sub-7/ses-a/anat/sub-7_ses-a_ce-gd_rec-n4_echo-1_part-mag_res-x2_desc-dnsp_FLAIR.nii.gz",
}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_derivative_names(name: str) -> None:
    out = derivative_name(_image(name), "x2", "dnsp")
    assert out.as_posix() == NAMES[name]
    assert sidecar_name(out).name == out.name.replace(".nii.gz", ".json")
    assert qc_name(out).as_posix() == f"{out.parts[0]}/figures/" + out.name.replace(
        ".nii.gz", "_qc.png")
    with pytest.raises(InputError, match="desc- label"):
        derivative_name(_image(name), "x2", "d-1")


@pytest.mark.parametrize("name", sorted(NAMES))
def test_names_follow_the_bids_schema(name: str) -> None:
    bst_schema = pytest.importorskip("bidsschematools.schema")
    validator = pytest.importorskip("bids_validator")
    schema = bst_schema.load_schema()
    out = derivative_name(_image(name), "x2", "dnsp")
    parsed = parse_image_name(out.name)
    assert parsed is not None
    entities, suffix, ext = parsed
    # raw part: without the derivative entities the name is valid raw BIDS
    raw = "_".join(f"{k}-{v}" for k, v in entities if k not in ("res", "desc"))
    raw_path = "/" + (out.parent / f"{raw}_{suffix}{ext}").as_posix()
    assert validator.BIDSValidator().is_bids(raw_path), raw_path
    assert validator.BIDSValidator().is_bids(raw_path.replace(".nii.gz", ".json"))
    # derivative rule of the schema for anatomical images
    rule = schema.rules.files.deriv.imaging.anat_nonparametric_volumetric
    short = {schema.objects.entities[k].name: k for k in schema.rules.entities}
    long_names = [short[k] for k, _ in entities]
    assert set(long_names) <= set(rule.entities), long_names
    order = list(schema.rules.entities)
    assert long_names == sorted(long_names, key=order.index)
    assert suffix in rule.suffixes and ext in rule.extensions and ".json" in rule.extensions
    assert out.parent.name in rule.datatypes


def test_dataset_description_content_and_rules(tmp_path: Path) -> None:
    src = tmp_path / "raw"
    src.mkdir()
    inside = src / "derivatives" / "dnsp"
    desc = dataset_description({"Name": "study", "DatasetDOI": "doi:10.1/x"}, src, inside,
                               "x2 bicubic")
    assert desc["DatasetType"] == "derivative"
    assert desc["GeneratedBy"][0]["Name"] == "dnsp" and "Version" in desc["GeneratedBy"][0]
    assert desc["SourceDatasets"] == [{"URL": src.resolve().as_uri(), "DOI": "doi:10.1/x"}]
    assert desc["DatasetLinks"] == {"raw": "../../"}
    outside = dataset_description({}, src, tmp_path / "out", "x2 bicubic")
    assert outside["DatasetLinks"]["raw"] == src.resolve().as_uri()
    assert outside["Name"] == "dnsp super-resolution of raw"
    bst_schema = pytest.importorskip("bidsschematools.schema")
    schema = bst_schema.load_schema()
    for rule in ("dataset_description", "derivative_description"):
        fields = schema.rules.json.dataset[rule].fields
        required = [k for k, v in fields.items()
                    if (v if isinstance(v, str) else v.get("level")) == "required"]
        assert set(required) <= set(desc), (rule, required)
    out = tmp_path / "out"
    out.mkdir()
    assert write_dataset_description(out, outside) is True
    assert write_dataset_description(out, outside) is False  # same content: left alone
    assert json.loads((out / "dataset_description.json").read_text()) == outside
    other = dict(outside, GeneratedBy=[{"Name": "dnsp", "Description": "x4 srsw"}])
    with pytest.raises(InputError, match=r"another run \(x2 bicubic\)"):
        write_dataset_description(out, other)
