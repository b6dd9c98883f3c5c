"""Volumes, orientation, LR simulation and training data (paper Sec. IV-A, IV-E, IV-F; SPEC 3-4).

Submodules are imported on demand (``from dnsp.data.io import load_volume``) so that importing
:mod:`dnsp.data` stays cheap.
"""
