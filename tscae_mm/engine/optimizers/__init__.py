from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .device_amp_optim_wrapper import DeviceAmpOptimWrapper
from .layer_decay_optim_wrapper_constructor import (
    BackboneLayerDecayOptimWrapperConstructor,
    model_layer_depth,
)

__all__ = [
    'CPUAmpOptimWrapper', 'DeviceAmpOptimWrapper',
    'BackboneLayerDecayOptimWrapperConstructor',
    'model_layer_depth'
]
