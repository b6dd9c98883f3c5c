"""The paper's figures: data helpers are checked numerically, every figure renders a PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.image import imread

from dnsp.evaluate.figures import (
    anova_interval_plot,
    auto_zoom_box,
    fig2_rank_psnr,
    fig3_laplacian_variance,
    fig8_learned_filters,
    fig9_validation_curves,
    fig15_training_fraction,
    fig_visual_comparison,
    laplacian_variance_curve,
    rank_psnr_curve,
)
from dnsp.evaluate.stats import two_way_anova


@pytest.fixture
def slice_img() -> np.ndarray:
    """A 24x28 'head': smooth disc with a textured (checkerboard) patch at rows 6-11, cols 14-19."""
    yy, xx = np.mgrid[:24, :28]
    img = np.where(np.hypot(yy - 12, xx - 14) < 10, 0.5 + 0.2 * np.cos(yy / 4.0), 0.0)
    img[6:12, 14:20] = 0.2 + 0.6 * ((yy[6:12, 14:20] + xx[6:12, 14:20]) % 2)
    return img


def _png_shape(path) -> tuple[int, ...]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(path).shape


def test_rank_psnr_curve(slice_img: np.ndarray) -> None:
    curve = rank_psnr_curve(slice_img, [1, 5, 10, 20, 24])
    # more singular values, higher PSNR, until the reconstruction is exact up to rounding
    # (> 200 dB; which of two rounding-level values is higher depends on the LAPACK build)
    exact = curve > 200
    assert np.all(np.diff(curve[~exact]) > 0) and np.all(exact[np.argmax(exact):])
    assert curve[-1] > 200  # full rank: exact up to rounding
    s = np.linalg.svd(slice_img, compute_uv=False)
    # Eckart-Young: squared error of the rank-k approximation = sum of the dropped s_i^2.
    mse = (s[5:] ** 2).sum() / slice_img.size
    assert curve[1] == pytest.approx(10 * np.log10(1 / mse), rel=1e-9)
    with pytest.raises(ValueError, match="rank"):
        rank_psnr_curve(slice_img, [25])


def test_laplacian_variance_decreases_with_blur(slice_img: np.ndarray) -> None:
    v = laplacian_variance_curve(slice_img, [0.0, 0.5, 1.0, 2.0, 3.0])
    assert np.all(np.diff(v) < 0)
    lap = (
        4 * slice_img[1:-1, 1:-1]
        - slice_img[:-2, 1:-1]
        - slice_img[2:, 1:-1]
        - slice_img[1:-1, :-2]
        - slice_img[1:-1, 2:]
    )
    assert v[0] == pytest.approx(lap.var(ddof=1), rel=1e-9)


def test_auto_zoom_box_finds_texture(slice_img: np.ndarray) -> None:
    r, c, h, w = auto_zoom_box(slice_img, 6)
    assert (h, w) == (6, 6)
    assert abs(r - 6) <= 1 and abs(c - 14) <= 1
    with pytest.raises(ValueError, match="fit"):
        auto_zoom_box(slice_img, 30)


def test_single_image_figures(slice_img: np.ndarray, tmp_path) -> None:
    assert len(_png_shape(fig2_rank_psnr(slice_img, tmp_path / "fig2.png"))) == 3
    assert (
        len(_png_shape(fig3_laplacian_variance(slice_img, tmp_path / "fig3.png", sigmas=[0, 1, 2])))
        == 3
    )
    rng = np.random.default_rng(0)
    lap = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=float)
    filters = lap + rng.normal(0, 0.1, (8, 3, 3))
    _png_shape(fig8_learned_filters(filters, slice_img, tmp_path / "fig8.png"))
    _png_shape(
        fig8_learned_filters(
            torch.tensor(filters[:2, None], dtype=torch.float32, requires_grad=True),
            slice_img,
            tmp_path / "fig8b.png",
        )
    )
    with pytest.raises(ValueError, match="filters"):
        fig8_learned_filters(np.zeros((2, 5, 5)), slice_img, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_validation_curves(tmp_path) -> None:
    ep = np.arange(1, 6)
    logs = {
        "NP": pd.DataFrame({"epoch": ep, "val_psnr": 30 + np.log(ep), "val_ssim": 0.8 + ep / 100}),
        "AP": pd.DataFrame({"epoch": ep, "val_psnr": 30.5 + np.log(ep), "val_ssim": 0.8 + ep / 99}),
    }
    csv = tmp_path / "ap.csv"
    logs["AP"].to_csv(csv, index=False)
    out = fig9_validation_curves({"NP": logs["NP"], "AP": csv}, tmp_path / "fig9.png")
    wide = _png_shape(out)
    one = _png_shape(
        fig9_validation_curves(
            pd.concat([v.assign(variant=k) for k, v in logs.items()]).drop(columns="val_ssim"),
            tmp_path / "fig9b.png",
        )
    )
    assert wide[1] > one[1]  # two panels are wider than one
    with pytest.raises(ValueError, match="val_psnr"):
        fig9_validation_curves({"NP": pd.DataFrame({"epoch": ep})}, tmp_path / "x.png")


def test_visual_comparison(slice_img: np.ndarray, tmp_path) -> None:
    rng = np.random.default_rng(1)
    outputs = {"bicubic": slice_img + rng.normal(0, 0.05, slice_img.shape), "dnsp": slice_img}
    path = fig_visual_comparison(outputs, slice_img, tmp_path / "fig11.png", title="x2")
    shape = _png_shape(path)
    assert shape[1] > shape[0]  # three panels side by side
    fig_visual_comparison(
        outputs,
        slice_img,
        tmp_path / "fig12.png",
        box=(2, 3, 8, 10),
        labels={"dnsp": "33.92/0.8902"},
    )
    with pytest.raises(ValueError, match="outside"):
        fig_visual_comparison(outputs, slice_img, tmp_path / "b.png", box=(20, 20, 8, 10))
    with pytest.raises(ValueError, match="shape"):
        fig_visual_comparison({"m": slice_img[:-1]}, slice_img, tmp_path / "b.png")


def test_training_fraction_and_anova_plots(tmp_path) -> None:
    rng = np.random.default_rng(2)
    rows = [
        {"method": m, "dataset": d, "fraction": f, "psnr": 28 + 2 * f + off + rng.normal()}
        for m, off in (("edsr", 0.0), ("dnsp", 0.5))
        for d in ("bw", "ixi")
        for f in (0.25, 0.5, 0.75, 1.0)
        for _ in range(5)
    ]
    df = pd.DataFrame(rows)
    _png_shape(fig15_training_fraction(df, tmp_path / "fig15.png"))
    _png_shape(fig15_training_fraction(df.drop(columns="dataset"), tmp_path / "fig15b.png"))
    res = two_way_anova(df)
    tall = _png_shape(anova_interval_plot(res, tmp_path / "fig10.png"))
    short = _png_shape(
        anova_interval_plot(
            res.cells[res.cells.dataset == "bw"], tmp_path / "fig10b.png", pooled=False
        )
    )
    assert tall[0] > short[0]  # one row per cell
    only = _png_shape(anova_interval_plot(res, tmp_path / "fig10c.png", order=["dnsp"]))
    assert only[0] < tall[0]  # 2 of the 4 cells
    with pytest.raises(ValueError, match="lacks"):
        anova_interval_plot(res.cells.drop(columns="ci_low_pooled"), tmp_path / "x.png")
    with pytest.raises(ValueError, match="none of the levels"):
        anova_interval_plot(res, tmp_path / "x.png", order=["srcnn"])
