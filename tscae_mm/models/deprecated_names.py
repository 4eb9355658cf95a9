"""Names of the TSCAE heads before they carried the method's prefix.

``TokenContrastHead`` and ``GlobalConsistencyHead`` (tscae_mm 0.1) are now
:class:`TSCAETokenContrastHead` and :class:`TSCAEGlobalConsistencyHead`. The
old names stay registered for one release: a config that uses them builds
the same module (same weights, same checkpoint keys) and logs a deprecation
warning naming the new type.
"""
import logging

from mmengine.logging import print_log
from mmpretrain.registry import MODELS

from .global_consistency import TSCAEGlobalConsistencyHead
from .token_contrast import TSCAETokenContrastHead


def _warn(old: str, new: str) -> None:
    print_log(
        f"type='{old}' is deprecated and will be removed in tscae_mm 0.3: "
        f"write type='{new}' (the same module).",
        logger='current',
        level=logging.WARNING)


@MODELS.register_module()
class TokenContrastHead(TSCAETokenContrastHead):
    """Deprecated name of :class:`TSCAETokenContrastHead`."""

    def __init__(self, *args, **kwargs) -> None:
        _warn('TokenContrastHead', 'TSCAETokenContrastHead')
        super().__init__(*args, **kwargs)


@MODELS.register_module()
class GlobalConsistencyHead(TSCAEGlobalConsistencyHead):
    """Deprecated name of :class:`TSCAEGlobalConsistencyHead`."""

    def __init__(self, *args, **kwargs) -> None:
        _warn('GlobalConsistencyHead', 'TSCAEGlobalConsistencyHead')
        super().__init__(*args, **kwargs)
