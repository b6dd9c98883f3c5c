"""Every SR method behind one interface and one builder (docs/architecture.md, "Methods").

``build_method(spec, scale, ...)`` builds any method: a registered one (``bicubic``, ``lrtv``,
``srsw``: :func:`get_method`), a shipped model or a model/checkpoint file (a
:class:`~dnsp.methods.network.NetworkMethod`). Every method maps a stack of consecutive axial
LR slices ``(N, h, w)`` in [0, 1] to ``(N, h*s, w*s)`` on the centre-aligned HR grid of SPEC
section 4 (:class:`SRMethod`), and declares its capabilities as class attributes
(:data:`CAPABILITIES`). One method per module:

* :mod:`.bicubic`, :mod:`.lrtv` (with :mod:`.svt`), :mod:`.srsw`: the model-based baselines
  (``docs/baselines.md``);
* :mod:`.network`: a trained 2-D network, tiled, on the acquisition's network input;
* :mod:`.pretrained`: the shipped models (SHA-256 verified) and model/checkpoint files.
"""

# the registry line: each module registers its method with @register_method
from dnsp.methods import bicubic, lrtv, srsw, zerofill  # noqa: F401
from dnsp.methods.base import (
    CAPABILITIES,
    SRMethod,
    available_methods,
    check_lr_stack,
    get_method,
    has_capability,
    register_method,
)
from dnsp.methods.build import MODEL_PREFIX, build_method

__all__ = [
    "CAPABILITIES",
    "MODEL_PREFIX",
    "SRMethod",
    "available_methods",
    "build_method",
    "check_lr_stack",
    "get_method",
    "has_capability",
    "register_method",
]
