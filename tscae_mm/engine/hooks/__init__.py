from .collapse_monitor_hook import TSCAECollapseMonitorHook
from .global_batch_loss_hook import GlobalBatchLossHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .reproducible_randomness_hook import ReproducibleRandomnessHook
from .skipped_images_hook import SkippedImagesHook

__all__ = [
    'GlobalBatchLossHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'ReproducibleRandomnessHook', 'SkippedImagesHook',
    'TSCAECollapseMonitorHook'
]
