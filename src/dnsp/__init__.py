"""dnsp: deep MR brain image super-resolution with spatio-structural priors.

Implements Cherukuri, Guo, Schiff & Monga, "Deep MR Brain Image Super-Resolution Using
Spatio-Structural Priors", IEEE Trans. Image Processing 29 (2020), with the conventions of
the project's SPEC (see ``docs/``).

Layers, lowest first (a layer never imports a higher one; docs/architecture.md):
``ops`` -> ``priors`` / ``losses`` / ``acquisition`` -> ``nets`` / ``data`` / ``metrics`` ->
``methods`` -> ``train`` -> ``infer`` -> ``evaluate`` -> ``cli``.
"""

__version__ = "0.1.0"
