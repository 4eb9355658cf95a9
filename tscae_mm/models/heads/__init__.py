from .global_consistency import TSCAEGlobalConsistencyHead
from .pixel_head import TSCAEPixelHead
from .token_contrast import TSCAETokenContrastHead

__all__ = [
    'TSCAEPixelHead', 'TSCAETokenContrastHead', 'TSCAEGlobalConsistencyHead'
]
