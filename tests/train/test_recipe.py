"""Recipe files, export of trainer checkpoints into a model registry, and model cards."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnsp.acquisition import get_acquisition
from dnsp.errors import InputError
from dnsp.evaluate.measure import SINGLE_PASS, write_card
from dnsp.methods.pretrained import default_model, load_model, read_manifest
from dnsp.train.recipe import export_model, load_recipe

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_committed_recipes_are_valid(scale: int) -> None:
    cfg, recipe = load_recipe(REPO / "configs" / "pretrained" / f"edsr-ap-x{scale}.yml")
    assert cfg.data.scale == scale and cfg.loss.variant == "AP"
    assert recipe.export == f"dnsp-edsr-ap-x{scale}" and recipe.default
    assert recipe.extra_sources[0]["source"] == "brainweb"
    cfg_np, _ = load_recipe(REPO / "configs" / "pretrained" / f"edsr-ap-x{scale}.yml",
                            ["loss.variant=NP"])
    assert cfg_np.loss.variant == "NP"


def test_recipe_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_recipe(tmp_path / "none.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("recipe: {budget: 3}\n")
    with pytest.raises(InputError, match="unknown recipe keys budget"):
        load_recipe(bad)
    bad.write_text("recipe: {ensemble: 3}\n")
    with pytest.raises(InputError, match="ensemble must be one of"):
        load_recipe(bad)
    bad.write_text("recipe: {serves: kspac}\n")
    with pytest.raises(InputError, match=r"serves must be an acquisition model .*kspace"):
        load_recipe(bad)


def test_kspace_recipe_serves_kspace() -> None:
    cfg, recipe = load_recipe(REPO / "configs" / "pretrained" / "edsr-ks-x2.yml")
    assert recipe.serves == "kspace" and not recipe.default
    assert recipe.init_from == "dnsp-edsr-mix-x2" and cfg.data.scale == 2
    names = {c["name"] for c in cfg.data.acquisition["components"]}
    assert names == {"kspace"}  # k-space acquisitions only


def _checkpoint(path: Path, net: torch.nn.Module, kwargs: dict, scale: int, variant: str
                ) -> Path:
    """A trainer-like checkpoint of ``net`` (what export_model reads)."""
    torch.save({"network": {"name": "edsr", "params": kwargs}, "model": net.state_dict(),
                "config": {"data": {"scale": scale}, "loss": {"variant": variant}}}, path)
    return path


def test_export_checkpoint_and_card(tmp_path: Path, tiny_net: torch.nn.Module,
                                    tiny_kwargs: dict) -> None:
    ckpt = _checkpoint(tmp_path / "last.pt", tiny_net, tiny_kwargs, 2, "AP")
    folder = tmp_path / "models"
    export_model(ckpt, "m-x2", folder=folder, default=True, card="MODEL_CARD_x2.md",
                 extra={"training": {"steps": 3, "recipe": "r.yml", "patches": 10}})
    assert default_model(2, folder) == "m-x2"
    export_model(ckpt, "m-ks-x2", folder=folder, serves="kspace")
    kspace = get_acquisition("kspace", scale=2)
    assert default_model(2, folder, acquisition=kspace) == "m-ks-x2"
    assert default_model(2, folder) == "m-x2"  # serving an acquisition is not the default
    net, info = load_model("m-x2", folder)
    assert info.meta["variant"] == "AP" and info.meta["training"]["steps"] == 3
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                 tiny_net.state_dict().values(), strict=True))
    report = {"x2": {"ixi-test": {
        "bicubic": {"psnr": 20.0, "ssim": 0.7, "psnr_masked": 18.0},
        "m-x2": {"psnr": 23.5, "ssim": 0.8, "psnr_masked": 21.0}}}}
    card = write_card(2, report, folder).read_text()
    assert "+3.50 dB" in card and "`m-x2` (default)" in card
    assert "priors' effect was not measured" in card
    assert "`data.augment`" not in card and "`data.strip_fraction`" not in card

    _checkpoint(ckpt, tiny_net, tiny_kwargs, 2, "NP")
    export_model(ckpt, "m-np-x2", folder=folder,
                 extra={"training": {"steps": 3, "epochs": 7, "schedule": "cosine", "lr": 0.001}})
    report["x2"]["ixi-test"]["m-np-x2"] = {"psnr": 23.75, "ssim": 0.8, "psnr_masked": 21.0}
    card = write_card(2, report, folder).read_text()
    assert "AP minus NP (PSNR): `m-x2` minus `m-np-x2`: ixi-test -0.25 dB." in card
    assert "`m-x2` (default)" in card and "`m-np-x2` | NP" in card
    assert read_manifest(folder)["models"]["m-x2"]["card"] == "MODEL_CARD_x2.md"


def test_card_pairs_each_ap_model_with_its_np_twin_and_lists_stages(
        tmp_path: Path, tiny_net: torch.nn.Module, tiny_kwargs: dict) -> None:
    folder = tmp_path / "models"
    stages = [{"lr": 5e-4, "epochs": 2, "steps": 6, "init_from": "m-ap-x2", "val_psnr": 25.11},
              {"lr": 2e-4, "epochs": 4, "steps": 12, "init_from": "m-mix-x2", "val_psnr": 25.3,
               "recipe": "ft.yml"}]
    for name, variant, training in (
            ("m-ap-x2", "AP", {"steps": 3}), ("m-np-x2", "NP", {"steps": 3}),
            ("m-mix-np-x2", "NP", {"steps": 6}),
            ("m-mix-x2", "AP", {"steps": 18, "batch_size": 16, "stages": stages})):
        ckpt = _checkpoint(tmp_path / f"{name}.pt", tiny_net, tiny_kwargs, 2, variant)
        export_model(ckpt, name, folder=folder, default=name == "m-mix-x2",
                     extra={"training": training})
    res = {"bicubic": {"psnr": 20.0, "ssim": 0.7, "psnr_masked": 18.0}}
    for name, psnr in (("m-ap-x2", 25.0), ("m-np-x2", 25.5), ("m-mix-x2", 24.0),
                       ("m-mix-np-x2", 23.0)):
        res[name] = {"psnr": psnr, "ssim": 0.8, "psnr_masked": 21.0}
    card = write_card(2, {"x2": {"mr-gd": res}}, folder).read_text()
    assert ("`m-mix-x2` minus `m-mix-np-x2`: mr-gd +1.00 dB (not like for like: `m-mix-x2` "
            "trained 18 steps, `m-mix-np-x2` 6); `m-ap-x2` minus `m-np-x2`: mr-gd -0.50 dB."
            in card)
    assert "Adam, batch 16, 2 stages: lr 0.0005" in card
    assert "started from `m-mix-x2` (`recipe.init_from`), recipe `ft.yml`, validation PSNR " \
           "25.30 dB after it." in card


def test_card_reports_the_self_ensemble(tmp_path: Path, tiny_net: torch.nn.Module,
                                        tiny_kwargs: dict) -> None:
    ckpt = _checkpoint(tmp_path / "last.pt", tiny_net, tiny_kwargs, 4, "AP")
    folder = tmp_path / "models"
    export_model(ckpt, "m-x4", folder=folder, default=True,
                 extra={"ensemble": 8, "training": {"augment": True, "patches": 5,
                                                    "strip_fraction": 0.25}})
    _, info = load_model("m-x4", folder)
    assert info.ensemble == 8
    report = {"x4": {"mr-gd": {
        "bicubic": {"psnr": 20.0, "ssim": 0.7, "psnr_masked": 18.0},
        "m-x4": {"psnr": 23.6, "ssim": 0.8, "psnr_masked": 21.0},
        f"m-x4{SINGLE_PASS}": {"psnr": 23.2, "ssim": 0.8, "psnr_masked": 21.0}}}}
    card = write_card(4, report, folder).read_text()
    assert "averaged over 8 flips/rotations" in card and "`--ensemble 8`" in card
    assert "5 patches; 25% of the training images added again with a synthetic skull" in card
    assert "; each pair flipped/rotated" in card and "`data.augment`" in card
    assert f"| m-x4{SINGLE_PASS} | 23.20 |" in card
    # the target verdict is about the default (ensembled) inference
    assert "**met on every test set** by `m-x4`; measured gains mr-gd +3.60 dB" in card

    # a second model of the scale with one pass, serving a named acquisition
    export_model(ckpt, "m-ks-x4", folder=folder, serves="kspace", extra={"ensemble": 1})
    report["x4"]["mr-gd"]["m-ks-x4"] = {"psnr": 22.0, "ssim": 0.8, "psnr_masked": 20.0}
    card = write_card(4, report, folder).read_text()
    assert ("one network pass, except the models averaged over flips/rotations of each slice "
            "(self-ensemble: `m-x4` over 8)") in card
    assert "`m-ks-x4` serves `--acquisition kspace` and the default's k-space route" in card


def test_zero_last_conv_starts_at_the_input(tiny_net: torch.nn.Module) -> None:
    from dnsp.train.recipe import zero_last_conv

    x = torch.rand(2, 1, 9, 7)
    zero_last_conv(tiny_net)
    with torch.no_grad():
        assert torch.equal(tiny_net(x), x)
    with pytest.raises(ValueError, match="no 2-D convolution"):
        zero_last_conv(torch.nn.Linear(2, 2))


def test_init_from_model_widens_the_first_layer() -> None:
    from dnsp.nets.edsr import EDSR
    from dnsp.train.recipe import init_from_model

    torch.manual_seed(0)
    src = EDSR(n_blocks=1, n_feats=4, input_skip=True, unshuffle=2).eval()
    dst = EDSR(n_blocks=1, n_feats=4, in_channels=3, input_skip=True, unshuffle=2).eval()
    assert init_from_model(dst, src) == ["head.weight"]
    x = torch.rand(2, 1, 8, 8)
    extra = torch.rand(2, 2, 8, 8)
    with torch.no_grad():  # the new channels start with zero weights: same output as src
        torch.testing.assert_close(dst(torch.cat([x, extra], 1)), src(x))
    with pytest.raises(ValueError, match="does not fit"):
        init_from_model(EDSR(n_blocks=1, n_feats=8, unshuffle=2), src)
