"""tscae_mm: TSCAE pre-training for MMPretrain, MMDetection and MMSegmentation.

Importing the package registers its transforms and models in the toolboxes'
registries and lets checkpoints written by MMEngine's Runner load under
``torch.load(weights_only=True)`` (see
:mod:`tscae_mm.utils.checkpoint_safety`), and lets configs inherit
``tscae_mm::<path>`` bases (:mod:`_tscae_mm_scope`).
"""
from _tscae_mm_scope import install as _install_config_scope

from . import datasets, downstream, engine, models, utils  # noqa: F401
from .utils import register_checkpoint_safe_globals
from .version import __version__  # noqa: F401

register_checkpoint_safe_globals()
# configs parsed from now on may inherit `tscae_mm::<path>` bases (the
# start-up hook does this before anything is imported; see _tscae_mm_scope)
_install_config_scope()
