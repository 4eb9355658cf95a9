"""tscae_mm: TSCAE pre-training for MMPretrain, MMDetection and MMSegmentation.

Importing the package registers its transforms and models in the toolboxes'
registries.
"""
from . import datasets, models  # noqa: F401
from .version import __version__  # noqa: F401
