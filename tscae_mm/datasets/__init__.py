"""Data pieces of TSCAE: the mask transform, degradations and safe image
loading (transforms/), and per-sample seeding of the data loader
(:mod:`.seeded`: ``SeededSampler`` with the ``SeededDataset`` wrapper)."""
from .seeded import SampleKey, SeededDataset, SeededSampler
from .transforms import (
    ComplementaryMaskGenerator,
    ImageDecodeError,
    ImageDegradation,
    LoadImageFromFileSafe,
    decode_image,
    pop_skipped_images,
)

__all__ = [
    'ComplementaryMaskGenerator', 'ImageDegradation', 'ImageDecodeError',
    'LoadImageFromFileSafe', 'SampleKey', 'SeededDataset', 'SeededSampler',
    'decode_image', 'pop_skipped_images'
]
