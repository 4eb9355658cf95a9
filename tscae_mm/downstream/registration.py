"""Make the TSCAE encoder a backbone of MMDetection and MMSegmentation.

MMDetection and MMSegmentation build models from their own ``MODELS``
registries (children of MMEngine's), which do not see MMPretrain's. The same
class objects are therefore registered there as well, so a config with
``default_scope='mmdet'`` or ``'mmseg'`` can say ``type='TSCAEViT'``. The
feature pyramid is registered too, because ``TSCAEViT`` builds it under the
config's default scope.
"""
import importlib
import importlib.abc
import importlib.util
import sys
from typing import Dict, Tuple

from ..models.feature_pyramid import ViTFeaturePyramid
from ..models.tscae_vit import TSCAEViT

DOWNSTREAM_MODULES: Dict[str, type] = {
    'TSCAEViT': TSCAEViT,
    'ViTFeaturePyramid': ViTFeaturePyramid,
}
TOOLBOXES = ('mmdet', 'mmseg')


def register_into(toolbox: str) -> bool:
    """Register :data:`DOWNSTREAM_MODULES` in ``<toolbox>.registry.MODELS``.

    Args:
        toolbox (str): Package name, ``'mmdet'`` or ``'mmseg'``.

    Returns:
        bool: False when the toolbox is not installed (nothing registered),
        True otherwise. A toolbox that is installed but fails to import
        raises its own error.
    """
    if importlib.util.find_spec(toolbox) is None:
        return False
    registry = importlib.import_module(f'{toolbox}.registry').MODELS
    for name, module in DOWNSTREAM_MODULES.items():
        if registry.module_dict.get(name) is not module:
            registry.register_module(name=name, module=module)
    return True


_registered = set()


def register_downstream_backbones() -> Tuple[str, ...]:
    """Register the encoder in the dense-prediction toolboxes, without
    importing any of them.

    A toolbox whose registry is already imported is registered now; for the
    others an import hook registers the encoder right after
    ``<toolbox>.registry`` is first imported (by the toolbox's own
    ``tools/train.py``, a config's ``default_scope``, a user's import), so
    ``import tscae_mm`` never imports MMDetection or MMSegmentation itself.

    Returns:
        tuple[str]: The toolboxes registered so far
        (:func:`registered_toolboxes`).
    """
    for toolbox in TOOLBOXES:
        if sys.modules.get(f'{toolbox}.registry') is not None:
            _register_once(toolbox)
        else:
            _RegisterOnImport.watch(toolbox)
    return registered_toolboxes()


def registered_toolboxes() -> Tuple[str, ...]:
    """The toolboxes whose ``MODELS`` hold the encoder, in TOOLBOXES order."""
    return tuple(t for t in TOOLBOXES if t in _registered)


def _register_once(toolbox: str) -> None:
    if toolbox not in _registered and register_into(toolbox):
        _registered.add(toolbox)


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``<toolbox>.registry`` is about to be
    imported, it wraps that module's loader so the encoder is registered as
    soon as the module has run."""

    _watched: Dict[str, str] = {}  # module name -> toolbox
    _installed = False

    @classmethod
    def watch(cls, toolbox: str) -> None:
        cls._watched[f'{toolbox}.registry'] = toolbox
        if not cls._installed:
            sys.meta_path.insert(0, cls())
            cls._installed = True

    def find_spec(self, name, path, target=None):
        toolbox = self._watched.get(name)
        if toolbox is None:
            return None
        spec = None
        for finder in sys.meta_path:  # the finder that really has it
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(
                spec.loader, 'exec_module'):
            return spec
        del self._watched[name]
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            sys.modules[name] = module  # what register_into imports
            _register_once(toolbox)

        spec.loader.exec_module = exec_then_register
        return spec
