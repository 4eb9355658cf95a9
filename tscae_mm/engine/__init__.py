"""Reliability of long runs: runner, hooks, config checks, CPU SyncBN."""
from .config_checks import (
    ConfigMismatchError,
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
)
from .runner import CheckpointMismatchError, ReliableRunner
from .sync_batchnorm import SyncBatchNormAnyDevice

__all__ = [
    'ConfigMismatchError', 'check_seeded_loader', 'check_training_config',
    'check_tscae_config', 'GlobalBatchLossHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'ReproducibleRandomnessHook', 'SkippedImagesHook',
    'CheckpointMismatchError', 'ReliableRunner', 'SyncBatchNormAnyDevice'
]
