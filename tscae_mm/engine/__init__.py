"""Reliability of long runs: runner, hooks, config checks, CPU SyncBN."""
from .config_checks import (
    ConfigMismatchError,
    check_seeded_loader,
    check_training_config,
    check_tscae_config,
)
from .flexible_runner import ReliableFlexibleRunner
from .fsdp_strategy import TSCAEFSDPStrategy, transformer_block_wrap_policy
from .hooks import (
    GlobalBatchLossHook,
    NonFiniteLossError,
    NonFiniteLossHook,
    ReproducibleRandomnessHook,
    SkippedImagesHook,
)
from .runner import CheckpointMismatchError, ReliableRunner
from .sync_batchnorm import SyncBatchNormAnyDevice

__all__ = [
    'ConfigMismatchError', 'check_seeded_loader', 'check_training_config',
    'check_tscae_config', 'GlobalBatchLossHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'ReproducibleRandomnessHook', 'SkippedImagesHook',
    'CheckpointMismatchError', 'ReliableRunner', 'SyncBatchNormAnyDevice',
    'ReliableFlexibleRunner', 'TSCAEFSDPStrategy',
    'transformer_block_wrap_policy'
]
