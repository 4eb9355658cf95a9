import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

import tscae_mm  # noqa: F401


def build(**kwargs):
    cfg = dict(type='ComplementaryMaskGenerator', input_size=32, patch_size=4)
    cfg.update(kwargs)
    return TRANSFORMS.build(cfg)


@pytest.mark.parametrize('input_size,patch_size,ratio,num_hidden', [
    (224, 16, 0.75, 147),
    (32, 4, 0.75, 48),
    ((32, 48), 8, 0.5, 12),
    (32, 4, 0.9, 58),
])
def test_mask_counts_are_complementary_and_fixed(input_size, patch_size,
                                                  ratio, num_hidden):
    transform = build(
        input_size=input_size, patch_size=patch_size, mask_ratio=ratio)
    for _ in range(5):
        mask = transform({})['mask']
        h, w = ((input_size, ) * 2
                if isinstance(input_size, int) else input_size)
        assert mask.shape == (h // patch_size, w // patch_size)
        assert mask.dtype == bool
        assert mask.sum() == num_hidden  # M: hidden from the teacher
        assert (~mask).sum() == mask.size - num_hidden  # V: the complement


def test_masks_vary_and_reproduce_under_seed():
    transform = build()
    np.random.seed(3)
    first = [transform({})['mask'] for _ in range(4)]
    np.random.seed(3)
    second = [transform({})['mask'] for _ in range(4)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any((first[0] != m).any() for m in first[1:])


def test_every_patch_is_hidden_sometimes_and_seen_sometimes():
    transform = build(mask_ratio=0.75)
    np.random.seed(0)
    hidden_rate = np.mean([transform({})['mask'] for _ in range(400)], axis=0)
    assert np.all(hidden_rate > 0.6) and np.all(hidden_rate < 0.9)


@pytest.mark.parametrize('kwargs,message', [
    (dict(mask_ratio=0.), 'strictly between 0 and 1'),
    (dict(mask_ratio=1.), 'strictly between 0 and 1'),
    (dict(mask_ratio=-0.2), 'strictly between 0 and 1'),
    (dict(mask_ratio=0.999), 'no patch for the teacher'),
    (dict(mask_ratio=0.001), 'no patch for the student'),
    (dict(input_size=30), 'not divisible by patch_size 4'),
    (dict(patch_size=0), 'positive int'),
    (dict(input_size=(32, 32, 3)), 'input_size must be'),
])
def test_bad_values_raise_at_build(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)
