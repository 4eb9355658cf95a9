import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

import tscae_mm  # noqa: F401


def smooth_image(seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (8, 8, 3)).astype(np.float32)
    import cv2
    return cv2.resize(base, (64, 64), interpolation=cv2.INTER_CUBIC).clip(
        0, 255).astype(np.uint8)


def high_freq_energy(img):
    grey = img.astype(np.float32).mean(-1)
    return np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey,
                                                                 axis=1)).mean()


@pytest.mark.parametrize('kind', ['resample', 'jpeg', 'blur', 'noise'])
def test_degradation_keeps_shape_and_dtype_and_grows_with_severity(kind):
    img = smooth_image()
    np.random.seed(0)
    errors = []
    for severity in (1, 5):
        transform = TRANSFORMS.build(
            dict(type='ImageDegradation', kind=kind, severity=severity))
        out = transform({'img': img.copy()})['img']
        assert out.shape == img.shape and out.dtype == np.uint8
        errors.append(np.abs(out.astype(float) - img).mean())
    assert errors[0] > 0 and errors[1] > errors[0], errors


def test_blur_and_resample_remove_detail_noise_adds_it():
    img = np.random.default_rng(1).integers(0, 256, (64, 64, 3)).astype(
        np.uint8)
    for kind in ('blur', 'resample'):
        out = TRANSFORMS.build(
            dict(type='ImageDegradation', kind=kind, severity=4))({
                'img': img
            })['img']
        assert high_freq_energy(out) < 0.5 * high_freq_energy(img)
    flat = np.full((64, 64, 3), 128, np.uint8)
    noisy = TRANSFORMS.build(
        dict(type='ImageDegradation', kind='noise', severity=3))({
            'img': flat
        })['img']
    assert 15 < noisy.astype(float).std() < 30


@pytest.mark.parametrize('kwargs,message', [
    (dict(kind='fog'), 'kind must be one of'),
    (dict(kind='blur', severity=0), 'severity must be an int from 1'),
    (dict(kind='blur', severity=2.5), 'severity must be an int from 1'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TRANSFORMS.build(dict(type='ImageDegradation', **kwargs))
