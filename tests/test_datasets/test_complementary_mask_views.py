"""ComplementaryMaskGenerator(num_views=K): K teacher views per image whose
visible sets are disjoint and cover the image (sibling-view targets)."""
import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

import tscae_mm  # noqa: F401


def build(**kwargs):
    cfg = dict(type='ComplementaryMaskGenerator', input_size=32, patch_size=4)
    cfg.update(kwargs)
    return TRANSFORMS.build(cfg)


@pytest.mark.parametrize('input_size,patch_size,ratio,views,num_visible', [
    (32, 4, 0.75, 4, 16),
    (224, 16, 0.75, 4, 49),
    (32, 8, 0.5, 2, 8),
    ((32, 48), 8, 0.75, 4, 6),
])
def test_views_are_disjoint_and_cover_every_patch(input_size, patch_size,
                                                  ratio, views, num_visible):
    transform = build(input_size=input_size, patch_size=patch_size,
                      mask_ratio=ratio, num_views=views)
    h, w = (input_size, ) * 2 if isinstance(input_size, int) else input_size
    for _ in range(5):
        mask = transform({})['mask']
        assert mask.shape == (views, h // patch_size, w // patch_size)
        assert mask.dtype == bool
        visible = ~mask.reshape(views, -1)
        assert (visible.sum(axis=1) == num_visible).all()  # |V_k| each
        # every patch is visible to exactly one view: disjoint and covering
        assert (visible.sum(axis=0) == 1).all()


def test_views_are_chunks_of_one_permutation_under_seed():
    transform = build(num_views=4)
    np.random.seed(5)
    mask = transform({})['mask'].reshape(4, -1)
    np.random.seed(5)
    permutation = np.random.permutation(64)
    for k in range(4):
        assert set(np.flatnonzero(~mask[k])) == set(
            permutation[16 * k:16 * (k + 1)])
    np.random.seed(5)
    np.testing.assert_array_equal(transform({})['mask'].reshape(4, -1), mask)
    assert (transform({})['mask'].reshape(4, -1) != mask).any()


def test_one_view_is_the_single_mask_as_before():
    np.random.seed(2)
    single = build()({})['mask']
    np.random.seed(2)
    assert np.array_equal(build(num_views=1)({})['mask'], single)
    assert single.shape == (8, 8)


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_views=3), 'the valid num_views is 4'),
    (dict(num_views=2), 'the valid num_views is 4'),
    (dict(mask_ratio=0.5, num_views=4), 'the valid num_views is 2'),
    (dict(mask_ratio=0.7, num_views=3), 'no num_views > 1 fits'),
    (dict(num_views=0), 'positive int'),
    (dict(num_views=2.), 'positive int'),
])
def test_views_that_cannot_tile_the_image_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)
