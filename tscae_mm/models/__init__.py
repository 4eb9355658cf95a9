from .deprecated_names import GlobalConsistencyHead, TokenContrastHead
from .feature_pyramid import ViTFeaturePyramid
from .global_consistency import TSCAEGlobalConsistencyHead
from .pixel_head import TSCAEPixelHead
from .teacher_decoder import TSCAETeacherDecoder
from .token_contrast import TSCAETokenContrastHead
from .tscae import TSCAE
from .tscae_vit import TSCAEEncoderOutput, TSCAEViT
from .variance_covariance import TokenVarianceCovarianceLoss

__all__ = [
    'TSCAEViT', 'TSCAEEncoderOutput', 'TSCAETeacherDecoder', 'TSCAEPixelHead',
    'TSCAETokenContrastHead', 'TSCAEGlobalConsistencyHead', 'TSCAE',
    'ViTFeaturePyramid',
    'TokenVarianceCovarianceLoss', 'TokenContrastHead', 'GlobalConsistencyHead'
]
