"""Image loading that survives bad files and normalises every image format.

:class:`LoadImageFromFileSafe` decodes with Pillow, which reports truncated
files (OpenCV decodes a truncated JPEG silently into a partly grey image),
and converts grayscale, RGBA, palette and 16-bit images to 3-channel 8-bit
BGR, the layout mmcv's ``LoadImageFromFile`` gives. A file that cannot be
read or decoded is skipped by default: the transform returns None, the
mmengine dataset then loads another sample (``max_refetch``) and the path is
kept for :class:`SeededDataset` / :class:`SkippedImagesHook` to report. The
reason is logged by the process that skipped the file, on every rank (MMEngine
shows only rank 0's warnings; other ranks' go to their stderr, marked
``[rank r]``).
"""
import io
import logging
import os
import sys
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.dist import get_rank, is_distributed
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS
from PIL import Image, ImageOps, UnidentifiedImageError

ON_DECODE_ERROR = ('skip', 'raise')
SIXTEEN_BIT_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I')
_skipped_in_this_process: List[str] = []


class ImageDecodeError(ValueError):
    """An image file that cannot be read or decoded."""


def pop_skipped_images() -> List[str]:
    """Paths skipped in this process since the last call, oldest first."""
    skipped = list(_skipped_in_this_process)
    _skipped_in_this_process.clear()
    return skipped


def current_rank() -> int:
    """This process's rank: the process group's, else torchrun's / MMEngine's
    ``RANK`` variable (which data loader workers inherit), else 0."""
    if is_distributed():
        return get_rank()
    return int(os.environ.get('RANK', 0))


class CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _) -> None:
        pass


def rank_logger() -> logging.Logger:
    """A logger that shows warnings on stderr on any rank."""
    logger = logging.getLogger('tscae_mm.any_rank')
    if not logger.handlers:
        handler = CurrentStderrHandler()
        handler.setFormatter(
            logging.Formatter('%(asctime)s - tscae_mm - %(levelname)s - '
                              '%(message)s', '%m/%d %H:%M:%S'))
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def warn_on_this_rank(message: str) -> None:
    """Log a warning where the user sees it, whichever rank this is.

    Rank 0 logs through MMEngine's current logger (console and log file).
    MMEngine lets other ranks show errors only, so there the warning goes to
    the process's stderr, prefixed with ``[rank r]`` (and to MMEngine's
    logger too, for a per-rank log file when one is configured).
    """
    rank = current_rank()
    print_log(message, logger='current', level=logging.WARNING)
    if rank != 0:
        rank_logger().warning(f'[rank {rank}] {message}')


def sixteen_bit_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map 0..65535 linearly (rounded) onto 0..255; any shape."""
    wide = np.clip(values, 0, 65535).astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def pil_to_bgr_uint8(image: Image.Image) -> np.ndarray:
    """Convert a decoded Pillow image to an (H, W, 3) uint8 BGR array.

    Grayscale and 1-bit images are replicated to three channels, palette
    images expanded through their palette, alpha dropped (as OpenCV and
    Pillow's ``convert('RGB')`` do), CMYK / YCbCr / LAB converted, and 16-bit
    grayscale scaled from 0..65535 to 0..255.

    Raises:
        ImageDecodeError: For modes with no defined 8-bit meaning (float).
    """
    if image.mode in SIXTEEN_BIT_MODES:
        gray = sixteen_bit_to_uint8(np.asarray(image))
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    if image.mode == 'F':
        raise ImageDecodeError('floating-point (mode F) images have no '
                               'defined 8-bit range')
    if image.mode in ('P', 'PA'):
        image = image.convert('RGBA')
    rgb = np.asarray(image.convert('RGB'))
    return np.ascontiguousarray(rgb[..., ::-1])


def decode_image(content: bytes) -> np.ndarray:
    """Decode image bytes strictly into (H, W, 3) uint8 BGR.

    The EXIF orientation is applied, as OpenCV's colour decoding does.

    Raises:
        ImageDecodeError: Empty, truncated, unidentifiable or otherwise
            undecodable content, with Pillow's reason.
    """
    if not content:
        raise ImageDecodeError('the file is empty (0 bytes)')
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            return pil_to_bgr_uint8(ImageOps.exif_transpose(image))
    except ImageDecodeError:
        raise
    except UnidentifiedImageError as error:
        raise ImageDecodeError('not an image: no known image format '
                               'recognises its content') from error
    except Exception as error:  # Pillow raises many types on bad data
        raise ImageDecodeError(f'{type(error).__name__}: {error}') from error


@TRANSFORMS.register_module()
class LoadImageFromFileSafe(BaseTransform):
    """Load an image as (H, W, 3) uint8 BGR; skip or refuse undecodable files.

    Drop-in for mmcv's ``LoadImageFromFile`` in colour mode. Required key:
    ``img_path``. Added keys: ``img`` (H, W, 3), ``img_shape`` and
    ``ori_shape`` (H, W).

    Args:
        to_float32 (bool): Return a float32 image. Defaults to False.
        on_decode_error (str): ``'skip'`` (default): warn with the path and
            the reason and return None, so the dataset loads another sample
            instead; ``'raise'``: stop with :class:`ImageDecodeError`.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 to_float32: bool = False,
                 on_decode_error: str = 'skip',
                 backend_args: Optional[dict] = None) -> None:
        super().__init__()
        if on_decode_error not in ON_DECODE_ERROR:
            raise ValueError('LoadImageFromFileSafe: on_decode_error must be '
                             f'one of {ON_DECODE_ERROR}, got '
                             f'{on_decode_error!r}.')
        self.to_float32 = to_float32
        self.on_decode_error = on_decode_error
        self.backend_args = backend_args

    def transform(self, results: dict) -> Optional[dict]:
        """Add the decoded image, or return None for a skipped file."""
        path = results['img_path']
        try:
            img = decode_image(self.read_bytes(path))
        except ImageDecodeError as error:
            return self.handle_bad_image(path, error)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def read_bytes(self, path: str) -> bytes:
        """The file's bytes; a read failure is an :class:`ImageDecodeError`."""
        try:
            return fileio.get(path, backend_args=self.backend_args)
        except OSError as error:
            raise ImageDecodeError(
                f'cannot read the file ({type(error).__name__}: '
                f'{error.strerror or error})') from error

    def handle_bad_image(self, path: str, error: ImageDecodeError) -> None:
        """Raise, or warn and remember ``path`` for the skip report."""
        if self.on_decode_error == 'raise':
            raise ImageDecodeError(
                f'Cannot decode image {path}: {error}. Remove or replace the '
                "file, or set on_decode_error='skip' in LoadImageFromFileSafe "
                'to skip undecodable images with a warning.') from error
        warn_on_this_rank(
            f'Skipped image {path}: cannot decode it ({error}); another '
            "image is used instead. Set on_decode_error='raise' in "
            'LoadImageFromFileSafe to stop on such files.')
        _skipped_in_this_process.append(str(path))
        return None

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'on_decode_error={self.on_decode_error!r}, '
                f'backend_args={self.backend_args})')
