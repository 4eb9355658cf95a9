"""Data pieces of TSCAE: the mask transform, degradations and safe image
loading (transforms/), and per-sample seeding of the data loader
(:mod:`.seeded`: ``SeededSampler`` with the ``SeededDataset`` wrapper), and
the class checks of the private-data templates (:mod:`.class_checks`,
``CheckedCustomDataset``; mmdet's and mmseg's in tscae_mm.downstream)."""
from .checked_custom_dataset import CheckedCustomDataset
from .class_checks import ClassMismatchError
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
    'CheckedCustomDataset', 'ClassMismatchError',
    'ComplementaryMaskGenerator', 'ImageDegradation', 'ImageDecodeError',
    'LoadImageFromFileSafe', 'SampleKey', 'SeededDataset', 'SeededSampler',
    'decode_image', 'pop_skipped_images'
]
