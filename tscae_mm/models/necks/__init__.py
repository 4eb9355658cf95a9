from .feature_pyramid import ViTFeaturePyramid
from .teacher_decoder import TSCAETeacherDecoder

__all__ = ['TSCAETeacherDecoder', 'ViTFeaturePyramid']
