"""Image loading that survives bad input: undecodable files, unusual image
formats, small images (LoadImageFromFileSafe, SeededDataset's
replacement of skipped samples)."""
import io

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.datasets.transforms import RandomResizedCrop
from PIL import Image

import tscae_mm  # noqa: F401
from tscae_mm.datasets import (
    ImageDecodeError,
    LoadImageFromFileSafe,
    SampleKey,
    SeededDataset,
    decode_image,
    pop_skipped_images,
)
from tscae_mm.datasets.transforms import loading

from reliability_runs import (
    describe,
    newest_log,
    read_records,
    run_training,
    scalar_logs,
    write_images,
    write_tiny_config,
)

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (20, 24, 3), dtype=np.uint8)


def encoded(image: Image.Image, fmt: str = 'PNG', **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def assert_bgr_uint8(img: np.ndarray, height: int = 20, width: int = 24):
    assert img.dtype == np.uint8 and img.shape == (height, width, 3)
    assert img.flags['C_CONTIGUOUS']


# Formats ------------------------------------------------------------------


def test_rgb_png_becomes_bgr():
    img = decode_image(encoded(Image.fromarray(RGB)))
    assert_bgr_uint8(img)
    assert np.array_equal(img, RGB[..., ::-1])


@pytest.mark.parametrize('mode', ['L', '1'])
def test_grayscale_is_replicated_to_three_channels(mode):
    gray = Image.fromarray(RGB[..., 0]).convert(mode)
    img = decode_image(encoded(gray))
    assert_bgr_uint8(img)
    expected = np.asarray(gray.convert('L'))
    for channel in range(3):
        assert np.array_equal(img[..., channel], expected)


def test_grayscale_jpeg_matches_opencv():
    content = encoded(Image.fromarray(RGB[..., 1]), 'JPEG', quality=95)
    img = decode_image(content)
    assert_bgr_uint8(img)
    opencv = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(img.astype(int) - opencv).max() <= 1


@pytest.mark.parametrize('mode', ['RGBA', 'LA'])
def test_alpha_is_dropped(mode):
    alpha = RNG.integers(0, 256, RGB.shape[:2], dtype=np.uint8)
    rgba = Image.fromarray(np.dstack([RGB, alpha]), 'RGBA').convert(mode)
    img = decode_image(encoded(rgba))
    assert_bgr_uint8(img)
    assert np.array_equal(img, np.asarray(rgba.convert('RGB'))[..., ::-1])


@pytest.mark.parametrize('transparency', [False, True])
def test_palette_is_expanded(transparency):
    palette = Image.fromarray(RGB).convert(
        'P', palette=Image.ADAPTIVE, colors=16)
    options = dict(transparency=0) if transparency else {}
    content = encoded(palette, **options)
    img = decode_image(content)
    assert_bgr_uint8(img)
    colours = np.asarray(palette.convert('RGB'))[..., ::-1]
    assert np.array_equal(img, colours)
    opencv = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(img, opencv)


def test_16_bit_grayscale_is_scaled_to_8_bit():
    gray16 = RNG.integers(0, 65536, RGB.shape[:2]).astype(np.uint16)
    gray16[0, :3] = (0, 65535, 257 * 100)
    ok, content = cv2.imencode('.png', gray16)
    img = decode_image(content.tobytes())
    assert_bgr_uint8(img)
    expected = np.round(gray16 / 65535 * 255).astype(np.uint8)
    assert np.array_equal(img[..., 0], expected)
    assert tuple(img[0, :3, 1]) == (0, 255, 100)


def test_16_bit_colour_keeps_its_high_bytes():
    colour16 = RNG.integers(0, 65536, RGB.shape).astype(np.uint16)
    ok, content = cv2.imencode('.png', colour16)  # written as BGR
    img = decode_image(content.tobytes())
    assert_bgr_uint8(img)
    assert np.array_equal(img, (colour16 >> 8).astype(np.uint8))


def test_cmyk_jpeg_becomes_three_channels():
    cmyk = Image.fromarray(RGB).convert('CMYK')
    img = decode_image(encoded(cmyk, 'JPEG', quality=95))
    assert_bgr_uint8(img)


def test_exif_orientation_is_applied_as_opencv_does():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    content = encoded(Image.fromarray(RGB), 'JPEG', exif=exif.tobytes())
    img = decode_image(content)
    assert_bgr_uint8(img, height=24, width=20)
    opencv = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    assert opencv.shape == img.shape


def test_float_image_is_refused_as_undecodable():
    floats = Image.fromarray(RNG.random(RGB.shape[:2]).astype(np.float32))
    with pytest.raises(ImageDecodeError, match='floating-point'):
        decode_image(encoded(floats, 'TIFF'))


def test_small_images_are_upscaled_by_the_crop(tmp_path):
    crop = RandomResizedCrop(
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic')
    for height, width in [(8, 8), (12, 20), (1, 1)]:
        path = tmp_path / f'small_{height}x{width}.png'
        Image.fromarray(RGB[:height, :width]).save(path)
        loaded = LoadImageFromFileSafe()(dict(img_path=str(path)))
        assert loaded['img'].shape == (height, width, 3)
        assert crop(loaded)['img'].shape == (32, 32, 3)


# Undecodable files --------------------------------------------------------


def bad_files(folder):
    """{name: path} of a truncated JPEG, an empty file, a text file and a
    path that does not exist."""
    good = encoded(
        Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)),
        'JPEG')
    files = {
        'truncated': (folder / 'truncated.jpg', good[:int(len(good) * 0.6)]),
        'empty': (folder / 'empty.jpg', b''),
        'not an image': (folder / 'notes.jpg', b'just some text\n'),
    }
    for path, content in files.values():
        path.write_bytes(content)
    paths = {name: path for name, (path, _) in files.items()}
    paths['missing'] = folder / 'missing.jpg'
    return paths


@pytest.fixture
def warnings_logged(monkeypatch):
    messages = []
    monkeypatch.setattr(loading, 'print_log',
                        lambda message, **kwargs: messages.append(message))
    return messages


REASONS = {
    'truncated': 'image file is truncated',
    'empty': 'the file is empty (0 bytes)',
    'not an image': 'not an image: no known image format recognises its',
    'missing': 'cannot read the file (FileNotFoundError',
}


@pytest.mark.parametrize('kind', sorted(REASONS))
def test_undecodable_file_is_skipped_with_a_warning(tmp_path, kind,
                                                    warnings_logged):
    path = bad_files(tmp_path)[kind]
    pop_skipped_images()
    assert LoadImageFromFileSafe()(dict(img_path=str(path))) is None
    assert pop_skipped_images() == [str(path)]
    (message, ) = warnings_logged
    assert message.startswith(f'Skipped image {path}: cannot decode it (')
    assert REASONS[kind] in message
    assert "on_decode_error='raise'" in message


@pytest.mark.parametrize('kind', sorted(REASONS))
def test_undecodable_file_is_fatal_when_configured(tmp_path, kind):
    path = bad_files(tmp_path)[kind]
    load = LoadImageFromFileSafe(on_decode_error='raise')
    with pytest.raises(ImageDecodeError) as refused:
        load(dict(img_path=str(path)))
    message = str(refused.value)
    assert message.startswith(f'Cannot decode image {path}: ')
    assert REASONS[kind] in message
    assert 'Remove or replace the file' in message


def test_unknown_error_policy_is_refused():
    with pytest.raises(ValueError, match="on_decode_error must be one of"):
        LoadImageFromFileSafe(on_decode_error='ignore')


def test_dataset_replaces_bad_samples_and_names_them(tmp_path):
    data_root = write_images(tmp_path / 'data', count=4)
    bad = bad_files(data_root / 'images')
    init_default_scope('mmpretrain')
    dataset = SeededDataset(
        dict(
            type='CustomDataset',
            data_root=str(data_root),
            with_label=False,
            pipeline=[
                dict(type='LoadImageFromFileSafe'),
                dict(type='PackInputs')
            ]))
    skipped = []
    for index in range(len(dataset)):
        sample = dataset[SampleKey(0, 0, index)]
        assert sample['inputs'].shape == (3, 32, 32)
        skipped += sample['data_samples'].metainfo.get('skipped_images', [])
    expected = {
        str(bad[kind])
        for kind in ('truncated', 'empty', 'not an image')
    }
    assert expected <= set(skipped)


@pytest.mark.slow
def test_training_skips_bad_images_and_counts_them(tmp_path):
    data_root = write_images(tmp_path / 'data', count=16)
    bad = bad_files(data_root / 'images')
    bad_paths = {
        str(bad[kind])
        for kind in ('truncated', 'empty', 'not an image')
    }
    config = write_tiny_config(tmp_path / 'tiny.py', data_root, epochs=1)
    proc = run_training(config, tmp_path / 'run')
    assert proc.returncode == 0, describe(proc)
    log = newest_log(tmp_path / 'run')
    for path in bad_paths:
        assert f'Skipped image {path}: cannot decode it' in log
    assert 'undecodable image(s) skipped in iteration' in log
    records = read_records(scalar_logs(tmp_path / 'run')[-1])
    assert records[-1]['skipped_images'] >= 3  # a retry may hit a bad one

    strict = write_tiny_config(
        tmp_path / 'strict.py', data_root, epochs=1, on_decode_error='raise')
    proc = run_training(strict, tmp_path / 'strict_run')
    assert proc.returncode != 0
    assert 'ImageDecodeError: Cannot decode image ' in proc.stderr
    assert any(f'Cannot decode image {path}' in proc.stderr
               for path in bad_paths)
