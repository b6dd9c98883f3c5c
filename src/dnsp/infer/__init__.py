"""User-facing super-resolution of volumes and the pretrained models shipped with dnsp.

* :mod:`dnsp.infer.network`: :class:`~dnsp.infer.network.NetworkMethod`, a trained network as
  an SR method (bicubic pre-upsampling, tiles with overlap, bounded memory);
* :mod:`dnsp.infer.pretrained`: the shipped models (``models/manifest.json``, SHA-256 verified
  at load) and loading of model files / training checkpoints;
* :mod:`dnsp.infer.upscale`: the volume and folder pipeline behind ``dnsp upscale``;
* :mod:`dnsp.infer.recipe`: training recipes of the shipped models (``configs/pretrained``);
* :mod:`dnsp.infer.measure`: measurements for the model cards.

Submodules are imported on demand so that importing :mod:`dnsp.infer` stays cheap.
"""
