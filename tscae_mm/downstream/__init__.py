"""Downstream transfer of the TSCAE encoder.

Importing this package registers ``TSCAEViT`` and ``ViTFeaturePyramid`` in
MMDetection's and MMSegmentation's ``MODELS`` (each skipped when that toolbox
is not installed) and the layer-decay constructor in MMEngine's
``OPTIM_WRAPPER_CONSTRUCTORS``.
"""
from .layer_decay import (
                          BackboneLayerDecayOptimWrapperConstructor,
                          model_layer_depth,
)
from .registration import register_downstream_backbones

REGISTERED_TOOLBOXES = register_downstream_backbones()

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'model_layer_depth',
    'register_downstream_backbones', 'REGISTERED_TOOLBOXES'
]
