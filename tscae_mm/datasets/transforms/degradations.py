"""Image-quality degradations for the paper's robustness study."""
from typing import Dict, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

# Severity levels 1..5 (ours, in the spirit of ImageNet-C), per kind.
SEVERITIES: Dict[str, Sequence[float]] = {
    # down-sample factor, then back up to the original size (bicubic)
    'resample': (2, 3, 4, 6, 8),
    # JPEG re-compression quality
    'jpeg': (50, 30, 20, 10, 5),
    # Gaussian blur sigma in pixels
    'blur': (0.5, 1., 1.5, 2., 3.),
    # additive Gaussian noise std in 8-bit grey levels
    'noise': (8., 16., 24., 32., 48.),
}


@TRANSFORMS.register_module()
class ImageDegradation(BaseTransform):
    """Lower the quality of ``results['img']`` (uint8, H x W x C).

    Put it right after ``LoadImageFromFile`` so the crop sees the degraded
    source image, as when pre-training images are of poor quality.

    Kinds and what ``severity`` (1 = mild .. 5 = strong) sets:

    - ``'resample'``: down-sample by a factor 2, 3, 4, 6, 8 (area), then
      up-sample back to the original size (bicubic);
    - ``'jpeg'``: re-encode as JPEG at quality 50, 30, 20, 10, 5;
    - ``'blur'``: Gaussian blur, sigma 0.5, 1, 1.5, 2, 3 pixels;
    - ``'noise'``: additive Gaussian noise, std 8, 16, 24, 32, 48 grey levels
      (numpy's global random state, like the other pipeline transforms).

    Args:
        kind (str): One of the kinds above.
        severity (int): 1..5.
    """

    def __init__(self, kind: str, severity: int = 3) -> None:
        super().__init__()
        if kind not in SEVERITIES:
            raise ValueError(f'ImageDegradation: kind must be one of '
                             f'{sorted(SEVERITIES)}, got {kind!r}.')
        if severity not in range(1, 6):
            raise ValueError('ImageDegradation: severity must be an int from '
                             f'1 (mild) to 5 (strong), got {severity!r}.')
        self.kind = kind
        self.severity = severity
        self.level = SEVERITIES[kind][severity - 1]

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError('ImageDegradation expects a uint8 image, got '
                            f"{img.dtype} ({results.get('img_path', '')}).")
        results['img'] = getattr(self, f'_{self.kind}')(img)
        return results

    def _resample(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        small = (max(1, round(w / self.level)), max(1, round(h / self.level)))
        down = cv2.resize(img, small, interpolation=cv2.INTER_AREA)
        return cv2.resize(down, (w, h), interpolation=cv2.INTER_CUBIC)

    def _jpeg(self, img: np.ndarray) -> np.ndarray:
        ok, encoded = cv2.imencode(
            '.jpg', img, [int(cv2.IMWRITE_JPEG_QUALITY), int(self.level)])
        if not ok:
            raise RuntimeError('ImageDegradation: JPEG encoding failed.')
        return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED).reshape(img.shape)

    def _blur(self, img: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(img, (0, 0), sigmaX=self.level)

    def _noise(self, img: np.ndarray) -> np.ndarray:
        noise = np.random.normal(0., self.level, img.shape)
        return np.clip(img + noise, 0, 255).astype(np.uint8)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(kind={self.kind!r}, '
                f'severity={self.severity})')
