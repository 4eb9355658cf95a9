"""TSCAE's model parts, laid out as mmpretrain lays out its models: the
encoder (backbones), the teacher decoder and the dense-task feature pyramid
(necks), the pixel, token-contrast and global-consistency heads (heads), the
token regulariser (losses) and the self-supervisor that joins them
(selfsup)."""
from .backbones import TSCAEEncoderOutput, TSCAEViT
from .heads import (
    TSCAEGlobalConsistencyHead,
    TSCAEPixelHead,
    TSCAETokenContrastHead,
)
from .losses import TokenVarianceCovarianceLoss
from .necks import TSCAETeacherDecoder, ViTFeaturePyramid
from .selfsup import TSCAE

__all__ = [
    'TSCAEViT', 'TSCAEEncoderOutput', 'TSCAETeacherDecoder', 'TSCAEPixelHead',
    'TSCAETokenContrastHead', 'TSCAEGlobalConsistencyHead', 'TSCAE',
    'ViTFeaturePyramid', 'TokenVarianceCovarianceLoss'
]
