"""Training pipeline for LIIF models (not imported by the app).

Modules: :mod:`training.data` (patch sampling), :mod:`training.embed` (exact EDSR→RDN
initialisation and its inverse), :mod:`training.train` (the trainer and its command line),
:mod:`training.evaluate` (benchmark PSNR, halo measurement), :mod:`training.precut`
(pre-cut samples for a machine without the data). See ``training/README.md``.
"""
