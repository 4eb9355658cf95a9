from .complementary_mask import ComplementaryMaskGenerator
from .degradations import ImageDegradation

__all__ = ['ComplementaryMaskGenerator', 'ImageDegradation']
