"""Downstream transfer of the TSCAE encoder.

Importing this package registers ``TSCAEViT`` and ``ViTFeaturePyramid`` in
MMDetection's and MMSegmentation's ``MODELS``, for each of them that is
installed (:func:`~.registration.register_downstream_backbones`). The
layer-decay constructor for their configs lives in
:mod:`tscae_mm.engine.optimizers` (registered in MMEngine's root
``OPTIM_WRAPPER_CONSTRUCTORS``) and is re-exported here.
"""
from ..engine.optimizers import (
    BackboneLayerDecayOptimWrapperConstructor,
    model_layer_depth,
)
from .registration import register_downstream_backbones, registered_toolboxes

register_downstream_backbones()

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'model_layer_depth',
    'register_downstream_backbones', 'registered_toolboxes'
]
