"""Complementary masks for TSCAE: one random split of the patches per image.

The teacher sees the patches at V and the student the patches at M, the exact
complement of V, so every patch is seen by exactly one of the two passes. With
several views per image, the views' V are disjoint and cover the image.
"""
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


def _to_pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if (isinstance(value, Sequence) and len(value) == 2
            and all(isinstance(v, int) for v in value)):
        return int(value[0]), int(value[1])
    raise ValueError(f'ComplementaryMaskGenerator: {name} must be an int or a '
                     f'pair of ints (height, width), got {value!r}.')


@TRANSFORMS.register_module()
class ComplementaryMaskGenerator(BaseTransform):
    """Draw the teacher / student patch split of TSCAE.

    For an image of ``(H / p) x (W / p) = L`` patches it draws one random
    permutation of the L patch indices. The first
    ``num_visible = round(L * (1 - mask_ratio))`` indices form V, the patches
    the teacher sees; the rest form M, the patches hidden from the teacher and
    shown to the student. The number of hidden patches is the same for every
    image, so masks of a batch stack.

    With ``num_views=K > 1`` (ours, for ``TSCAE(student_targets=
    'sibling_views')``; in the spirit of EMAE's non-overlapping masks) the
    one permutation is cut into K consecutive chunks of ``num_visible``
    indices: chunk k is V_k, the patches the teacher of view k sees. The K
    sets are pairwise disjoint and, since ``K * num_visible`` must equal L,
    cover every patch exactly once, so M_k (what view k does not see) is the
    union of the other views' V. The rule: ``mask_ratio = 1 - 1 / K`` up to
    the rounding of ``num_visible`` (0.75 for K = 4, 0.5 for K = 2); other
    combinations are refused at build, naming the K that fits.

    The draw uses numpy's global random state, which MMEngine seeds per data
    loader worker, so a seeded run reproduces its masks (with one view, the
    same masks as before views existed).

    Added keys:

    - ``mask`` (np.ndarray of bool, shape ``(H / p, W / p)``, or
      ``(K, H / p, W / p)`` with ``num_views=K > 1``): ``True`` where the
      patch is hidden from the teacher (of that view; it belongs to M, the
      student's side), ``False`` where the teacher sees it (V). Pack it with
      ``dict(type='PackInputs', algorithm_keys=['mask'])``.

    Args:
        input_size (int | tuple[int, int]): Image size (after cropping) the
            model receives, as ``size`` or ``(height, width)``.
        patch_size (int): Side of a square patch in pixels; must divide both
            sides of ``input_size``.
        mask_ratio (float): Fraction of patches hidden from the teacher, in
            the open interval (0, 1). Defaults to 0.75 (paper).
        num_views (int): K, the teacher views per image, with disjoint V_k
            that cover all patches (see above). Defaults to 1: one (h, w)
            mask per image, the paper's.
    """

    def __init__(self,
                 input_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 mask_ratio: float = 0.75,
                 num_views: int = 1) -> None:
        super().__init__()
        height, width = _to_pair(input_size, 'input_size')
        if not isinstance(patch_size, int) or patch_size <= 0:
            raise ValueError('ComplementaryMaskGenerator: patch_size must be '
                             f'a positive int, got {patch_size!r}.')
        if height % patch_size or width % patch_size:
            raise ValueError(
                f'ComplementaryMaskGenerator: input_size {(height, width)} is '
                f'not divisible by patch_size {patch_size}; choose an input '
                'size that is a multiple of the patch size.')
        if not isinstance(mask_ratio, (int, float)) or not 0 < mask_ratio < 1:
            raise ValueError(
                'ComplementaryMaskGenerator: mask_ratio must lie strictly '
                f'between 0 and 1, got {mask_ratio!r}.')
        self.input_size = (height, width)
        self.patch_size = patch_size
        self.mask_ratio = float(mask_ratio)
        self.grid = (height // patch_size, width // patch_size)
        self.num_patches = self.grid[0] * self.grid[1]
        self.num_visible = int(round(self.num_patches * (1 - mask_ratio)))
        if not 0 < self.num_visible < self.num_patches:
            side = 'teacher' if self.num_visible == 0 else 'student'
            raise ValueError(
                f'ComplementaryMaskGenerator: mask_ratio {mask_ratio} leaves '
                f'no patch for the {side} out of {self.num_patches} patches '
                f'({self.grid[0]}x{self.grid[1]}); pick a ratio that leaves '
                'at least one patch on each side.')
        self.num_views = self._checked_num_views(num_views)

    def _checked_num_views(self, num_views: int) -> int:
        """K itself, if K disjoint views of ``num_visible`` patches cover
        the image exactly; otherwise an error naming the K that does."""
        if not isinstance(num_views, int) or num_views < 1:
            raise ValueError('ComplementaryMaskGenerator: num_views must be a '
                             f'positive int, got {num_views!r}.')
        if num_views == 1 or num_views * self.num_visible == self.num_patches:
            return num_views
        if self.num_patches % self.num_visible == 0:
            fits = (f'the valid num_views is '
                    f'{self.num_patches // self.num_visible} (or 1)')
        else:
            fits = ('no num_views > 1 fits; use mask_ratio = 1 - 1 / K, e.g. '
                    '0.75 for K = 4')
        raise ValueError(
            f'ComplementaryMaskGenerator: num_views={num_views} needs '
            f'num_views disjoint teacher views of {self.num_visible} patches '
            f'that together cover all {self.num_patches} patches '
            f'(num_views * {self.num_visible} == {self.num_patches}); with '
            f'mask_ratio {self.mask_ratio} {fits}.')

    def transform(self, results: dict) -> dict:
        """Add ``results['mask']``; see the class docstring."""
        permutation = np.random.permutation(self.num_patches)
        if self.num_views == 1:
            hidden_from_teacher = np.ones(self.num_patches, dtype=bool)
            hidden_from_teacher[permutation[:self.num_visible]] = False
            results['mask'] = hidden_from_teacher.reshape(self.grid)
            return results
        # view k sees the k-th chunk of num_visible indices of the permutation
        hidden_from_teacher = np.ones((self.num_views, self.num_patches),
                                      dtype=bool)
        views = np.repeat(np.arange(self.num_views), self.num_visible)
        hidden_from_teacher[views, permutation] = False
        results['mask'] = hidden_from_teacher.reshape(self.num_views,
                                                      *self.grid)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'patch_size={self.patch_size}, '
                f'mask_ratio={self.mask_ratio}, num_views={self.num_views})')
