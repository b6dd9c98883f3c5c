"""Acquisition models: how a low-resolution image arises from a high-resolution one.

``get_acquisition(name, **params)`` builds one; each model is one file here plus its import
line below (the import registers it). See :mod:`dnsp.acquisition.base` for the protocol.
"""

from dnsp.acquisition.base import (
    DEFAULT_ACQUISITION,
    INPUT_MODES,
    Acquisition,
    SeparableOperator,
    acquisition_class,
    acquisition_from_config,
    available_acquisitions,
    command_line_acquisitions,
    default_acquisition,
    get_acquisition,
    projection_damping,
    register_acquisition,
)
from dnsp.acquisition.estimate import (
    FEATURE_NAMES,
    N_ESTIMATE,
    AcquisitionEstimate,
    acquisition_features,
    estimate_acquisition,
    estimate_volume,
    estimation_sample,
)
from dnsp.acquisition.gaussian import GaussianAcquisition, block_mean_matrix
from dnsp.acquisition.identity import IdentityAcquisition
from dnsp.acquisition.inputs import CHANNELS, NetworkInput
from dnsp.acquisition.kspace import KSpaceAcquisition
from dnsp.acquisition.lowfield import LowFieldAcquisition
from dnsp.acquisition.mixture import MixtureAcquisition
from dnsp.acquisition.slices import SliceAcquisition as SliceAcquisition  # thick slices
from dnsp.ops.scale import check_scale

__all__ = [
    "CHANNELS",
    "DEFAULT_ACQUISITION",
    "FEATURE_NAMES",
    "INPUT_MODES",
    "N_ESTIMATE",
    "Acquisition",
    "AcquisitionEstimate",
    "GaussianAcquisition",
    "IdentityAcquisition",
    "KSpaceAcquisition",
    "LowFieldAcquisition",
    "MixtureAcquisition",
    "NetworkInput",
    "SeparableOperator",
    "acquisition_class",
    "acquisition_features",
    "acquisition_from_config",
    "available_acquisitions",
    "block_mean_matrix",
    "check_scale",
    "command_line_acquisitions",
    "default_acquisition",
    "estimate_acquisition",
    "estimate_volume",
    "estimation_sample",
    "get_acquisition",
    "projection_damping",
    "register_acquisition",
]
