"""Make the TSCAE encoder a backbone of MMDetection and MMSegmentation.

MMDetection and MMSegmentation build models from their own ``MODELS``
registries (children of MMEngine's), which do not see MMPretrain's. The same
class objects are therefore registered there as well, so a config with
``default_scope='mmdet'`` or ``'mmseg'`` can say ``type='TSCAEViT'``. The
feature pyramid is registered too, because ``TSCAEViT`` builds it under the
config's default scope.

Registration imports ``<toolbox>.registry`` of each installed toolbox (for
MMDetection, ``import mmpretrain.models`` has done so already); a toolbox
that is not installed is skipped.
"""
import importlib
import importlib.util
from typing import Dict, Tuple

from ..models import TSCAEViT, ViTFeaturePyramid

DOWNSTREAM_MODULES: Dict[str, type] = {
    'TSCAEViT': TSCAEViT,
    'ViTFeaturePyramid': ViTFeaturePyramid,
}
TOOLBOXES = ('mmdet', 'mmseg')
# data sets that check the config's classes against the annotations
# (tscae_mm.datasets.class_checks): their modules subclass the toolbox's
# data set and register it in the toolbox's DATASETS when imported
CHECKED_DATASET_MODULES: Dict[str, str] = {
    'mmdet': 'checked_coco_dataset',
    'mmseg': 'checked_seg_dataset',
}

_registered = set()


def register_into(toolbox: str) -> bool:
    """Register :data:`DOWNSTREAM_MODULES` in ``<toolbox>.registry.MODELS``
    and the toolbox's class-checked data set (``CheckedCocoDataset``,
    ``CheckedSegDataset``) in its ``DATASETS``.

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
    importlib.import_module(f'{__package__}.{CHECKED_DATASET_MODULES[toolbox]}')
    return True


def register_downstream_backbones() -> Tuple[str, ...]:
    """Register the encoder in every installed dense-prediction toolbox.

    Returns:
        tuple[str]: The toolboxes registered (:func:`registered_toolboxes`).
    """
    for toolbox in TOOLBOXES:
        if toolbox not in _registered and register_into(toolbox):
            _registered.add(toolbox)
    return registered_toolboxes()


def registered_toolboxes() -> Tuple[str, ...]:
    """The toolboxes whose ``MODELS`` hold the encoder, in TOOLBOXES order."""
    return tuple(t for t in TOOLBOXES if t in _registered)
