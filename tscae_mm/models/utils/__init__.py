from .pretrained_check import (
    PretrainedEncoderError,
    checked_pretrained_init,
    pretrained_init_cfg,
)
from .sync_batchnorm import SyncBatchNormAnyDevice
from .token_indices import complementary_indices, gather_tokens

__all__ = [
    'complementary_indices', 'gather_tokens', 'PretrainedEncoderError',
    'checked_pretrained_init', 'pretrained_init_cfg', 'SyncBatchNormAnyDevice'
]
