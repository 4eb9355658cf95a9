from .complementary_mask import ComplementaryMaskGenerator
from .degradations import ImageDegradation
from .robust_loading import ImageDecodeError, LoadImageFromFileSafe
from .seeded import SampleKey, SeededDataset, SeededSampler

__all__ = [
    'ComplementaryMaskGenerator', 'ImageDegradation', 'ImageDecodeError',
    'LoadImageFromFileSafe', 'SampleKey', 'SeededDataset', 'SeededSampler'
]
