"""The DNSP priors on an output image Y (paper Secs. II-III).

* :func:`smoothed_rank` R_delta(Y), the low-rank prior (Eqs. 2-4);
* :func:`laplacian_variance` V(Y), the fixed sharpness prior (Eqs. 5, 21);
* :func:`filter_variance` V_mod(Y), the learnable sharpness prior (Eq. 8);
* :func:`sharpness_measure` S(Theta_L) on sharp/smooth patches (Eq. 9);
* :func:`total_variation`, the TV regulariser of the TVLR ablation (Table V).
"""

from dnsp.priors.rank import SmoothedRank, smoothed_rank
from dnsp.priors.sharpness import (
    FILTER_NORMS,
    LaplacianVariance,
    SharpnessFilters,
    filter_variance,
    laplacian_variance,
    max_filter_gain,
    sharpness_gram,
    sharpness_measure,
    sharpness_measure_from_gram,
)
from dnsp.priors.tv import TotalVariation, total_variation

__all__ = [
    "FILTER_NORMS",
    "LaplacianVariance",
    "SharpnessFilters",
    "SmoothedRank",
    "TotalVariation",
    "filter_variance",
    "laplacian_variance",
    "max_filter_gain",
    "sharpness_gram",
    "sharpness_measure",
    "sharpness_measure_from_gram",
    "smoothed_rank",
    "total_variation",
]
