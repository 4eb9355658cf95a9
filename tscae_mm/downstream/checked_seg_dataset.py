"""MMSegmentation's ``BaseSegDataset`` that checks the masks' class indices
against ``classes`` (:mod:`tscae_mm.datasets.class_checks`): up to
``max_checked_masks`` masks, spread over the data set, when it is built,
and every sample's target after the pipeline. Imported, and registered in
mmseg's ``DATASETS``, only where MMSegmentation is installed
(:mod:`.registration`)."""
import io

import numpy as np
from mmengine.fileio import get
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

from ..datasets.class_checks import (
    check_mask_channels,
    check_mask_values,
    mask_values,
)


def read_mask(path: str, backend_args=None) -> np.ndarray:
    """A label mask as stored: palette PNGs give their indices."""
    return np.asarray(Image.open(io.BytesIO(get(path, backend_args))))


@DATASETS.register_module()
class CheckedSegDataset(BaseSegDataset):
    """``BaseSegDataset`` (same arguments) whose masks may hold only the
    indices of ``classes`` (``0 .. len(classes) - 1``) and
    ``ignore_index``.

    Args:
        max_checked_masks (int): How many masks (spread evenly over the data
            set) are read when the data set is built; 0 checks none then.
            Every sample is checked after its pipeline as well.
        **kwargs: ``BaseSegDataset`` arguments.

    Raises:
        ClassMismatchError: a mask holds an index beyond the classes, or
            has colour channels (the message names the values found and
            the files).
    """

    def __init__(self, *args, max_checked_masks: int = 200, **kwargs):
        self.max_checked_masks = max_checked_masks
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        data_list = super().load_data_list()
        count = min(self.max_checked_masks, len(data_list))
        if count:
            picked = np.linspace(0, len(data_list) - 1, count).round()
            values = {}
            for index in sorted(set(picked.astype(int))):
                info = data_list[index]
                mask = read_mask(info['seg_map_path'], self.backend_args)
                check_mask_channels(type(self).__name__,
                                    info['seg_map_path'], mask)
                values[info['seg_map_path']] = mask_values(
                    mask, self.reduce_zero_label, self.label_map)
            check_mask_values(
                type(self).__name__, self._metainfo['classes'], values,
                self.ignore_index,
                checked=f'{len(values)} of the {len(data_list)} masks')
        return data_list

    def prepare_data(self, idx):
        """The pipeline's output, its target checked against the classes
        (a mask that the build-time check did not read)."""
        data = super().prepare_data(idx)
        sample = data.get('data_samples') if isinstance(data, dict) else None
        seg = getattr(sample, 'gt_sem_seg', None)
        if seg is not None:
            values = seg.data.unique().cpu().numpy()
            limit = len(self._metainfo['classes'])
            if ((values >= limit) & (values != self.ignore_index)).any():
                check_mask_values(
                    type(self).__name__, self._metainfo['classes'],
                    {self.get_data_info(idx)['seg_map_path']: values},
                    self.ignore_index)
        return data
