"""User-facing super-resolution of volumes: the pipeline behind ``dnsp upscale``.

* :mod:`dnsp.infer.upscale`: volume and folder upscaling with any SR method of
  :mod:`dnsp.methods` (built by :func:`dnsp.methods.build_method`; the shipped models live in
  :mod:`dnsp.methods.pretrained`, their weights in ``dnsp/infer/models``).

Training recipes of the shipped models are in :mod:`dnsp.train.recipe`, model-card
measurements in :mod:`dnsp.evaluate.measure`: ``infer`` never imports ``train``.
Submodules are imported on demand so that importing :mod:`dnsp.infer` stays cheap.
"""
