"""Acquisition models: how a low-resolution image arises from a high-resolution one.

``get_acquisition(name, **params)`` builds one; each model is one file here plus its import
line below (the import registers it). See :mod:`dnsp.acquisition.base` for the protocol.
"""

from dnsp.acquisition.base import (
    INPUT_MODES,
    Acquisition,
    SeparableOperator,
    acquisition_from_config,
    available_acquisitions,
    check_scale,
    get_acquisition,
    register_acquisition,
)
from dnsp.acquisition.gaussian import GaussianAcquisition, block_mean_matrix
from dnsp.acquisition.identity import IdentityAcquisition
from dnsp.acquisition.kspace import KSpaceAcquisition
from dnsp.acquisition.lowfield import LowFieldAcquisition
from dnsp.acquisition.mixture import MixtureAcquisition

__all__ = [
    "INPUT_MODES",
    "Acquisition",
    "GaussianAcquisition",
    "IdentityAcquisition",
    "KSpaceAcquisition",
    "LowFieldAcquisition",
    "MixtureAcquisition",
    "SeparableOperator",
    "acquisition_from_config",
    "available_acquisitions",
    "block_mean_matrix",
    "check_scale",
    "get_acquisition",
    "register_acquisition",
]
