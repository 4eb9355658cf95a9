from .complementary_mask import ComplementaryMaskGenerator
from .degradations import ImageDegradation
from .loading import (
    ImageDecodeError,
    LoadImageFromFileSafe,
    decode_image,
    pop_skipped_images,
)

__all__ = [
    'ComplementaryMaskGenerator', 'ImageDegradation', 'ImageDecodeError',
    'LoadImageFromFileSafe', 'decode_image', 'pop_skipped_images'
]
