"""What MMEngine lacks for long TSCAE runs: runners (atomic checkpoints,
clear resume), hooks, optimizer pieces, the FSDP strategy and config
checks."""
from ..models.utils import SyncBatchNormAnyDevice
from .config_checks import (
    ConfigMismatchError,
    check_runner_config,
    check_seeded_loader,
    check_training_config,
    check_tscae_config,
)
from .hooks import (
    GlobalBatchLossHook,
    NonFiniteLossError,
    NonFiniteLossHook,
    ReproducibleRandomnessHook,
    SkippedImagesHook,
    TSCAECollapseMonitorHook,
)
from .optimizers import (
    BackboneLayerDecayOptimWrapperConstructor,
    CPUAmpOptimWrapper,
    DeviceAmpOptimWrapper,
    model_layer_depth,
)
from .runners import (
    CheckpointMismatchError,
    ReliableFlexibleRunner,
    ReliableRunner,
)
from .strategies import TSCAEFSDPStrategy, transformer_block_wrap_policy

__all__ = [
    'ConfigMismatchError', 'check_seeded_loader', 'check_training_config',
    'check_tscae_config', 'check_runner_config', 'GlobalBatchLossHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'ReproducibleRandomnessHook',
    'SkippedImagesHook', 'TSCAECollapseMonitorHook',
    'CheckpointMismatchError', 'ReliableRunner', 'SyncBatchNormAnyDevice',
    'ReliableFlexibleRunner', 'TSCAEFSDPStrategy',
    'transformer_block_wrap_policy', 'CPUAmpOptimWrapper',
    'DeviceAmpOptimWrapper',
    'BackboneLayerDecayOptimWrapperConstructor', 'model_layer_depth'
]
