"""The paper's figures, one function each, from plain arrays and tables.

Every function takes NumPy arrays / pandas DataFrames and an output path, draws with
matplotlib's Agg canvas (no display, no global pyplot state), writes a PNG atomically through
:func:`dnsp.fsutil.atomic_path` and returns the path. Figure numbers are those of the paper
(Cherukuri et al., IEEE TIP 2020): :mod:`.priors` (Figs. 2, 3, 8, 9) and :mod:`.results`
(Figs. 10-21).
"""

from dnsp.evaluate.figures._common import ZOOM_COLOUR
from dnsp.evaluate.figures.priors import (
    fig2_rank_psnr,
    fig3_laplacian_variance,
    fig8_learned_filters,
    fig9_validation_curves,
    laplacian_variance_curve,
    rank_psnr_curve,
)
from dnsp.evaluate.figures.results import (
    anova_interval_plot,
    auto_zoom_box,
    fig15_training_fraction,
    fig_visual_comparison,
)

__all__ = [
    "ZOOM_COLOUR",
    "anova_interval_plot",
    "auto_zoom_box",
    "fig2_rank_psnr",
    "fig3_laplacian_variance",
    "fig8_learned_filters",
    "fig9_validation_curves",
    "fig15_training_fraction",
    "fig_visual_comparison",
    "laplacian_variance_curve",
    "rank_psnr_curve",
]
