"""tscae_mm: TSCAE pre-training for MMPretrain, MMDetection and MMSegmentation.

Importing the package registers its transforms, models and engine pieces in
the toolboxes' registries (the encoder also in MMDetection's and
MMSegmentation's, where installed) and lets checkpoints written by
MMEngine's Runner load under ``torch.load(weights_only=True)`` (see
:mod:`tscae_mm.utils.compat`). Nothing else runs at import.
"""
from . import (  # noqa: F401
    datasets,
    downstream,
    engine,
    evaluation,
    models,
    utils,
    visualization,
)
from .utils import register_checkpoint_safe_globals
from .version import __version__  # noqa: F401

register_checkpoint_safe_globals()
