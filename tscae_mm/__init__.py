"""tscae_mm: TSCAE pre-training for MMPretrain, MMDetection and MMSegmentation.

Importing the package registers its transforms and models in the toolboxes'
registries and lets checkpoints written by MMEngine's Runner load under
``torch.load(weights_only=True)`` (see
:mod:`tscae_mm.utils.checkpoint_safety`).
"""
from . import datasets, downstream, engine, models, utils  # noqa: F401
from .utils import register_checkpoint_safe_globals
from .version import __version__  # noqa: F401

register_checkpoint_safe_globals()
