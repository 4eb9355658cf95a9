"""Downstream transfer of the TSCAE encoder.

Importing this package registers ``TSCAEViT`` and ``ViTFeaturePyramid`` in
MMDetection's and MMSegmentation's ``MODELS`` when (and if) those toolboxes
are imported, without importing them (see
:func:`~.registration.register_downstream_backbones`), and the layer-decay
constructor in MMEngine's ``OPTIM_WRAPPER_CONSTRUCTORS``.
"""
from .layer_decay import (
    BackboneLayerDecayOptimWrapperConstructor,
    model_layer_depth,
)
from .registration import register_downstream_backbones, registered_toolboxes

register_downstream_backbones()

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'model_layer_depth',
    'register_downstream_backbones', 'registered_toolboxes'
]
