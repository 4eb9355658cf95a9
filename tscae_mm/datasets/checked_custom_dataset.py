"""mmpretrain's ``CustomDataset`` that checks ``classes`` against the class
folders when it is built (:mod:`.class_checks`)."""
import os.path as osp

from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.custom import find_folders
from mmpretrain.registry import DATASETS

from .class_checks import check_folder_classes


@DATASETS.register_module()
class CheckedCustomDataset(CustomDataset):
    """``CustomDataset`` (same arguments) whose ``metainfo['classes']``, when
    given, must be the class folders' names in sorted order, the order in
    which ``CustomDataset`` numbers them.

    Raises:
        FileNotFoundError: the image folder does not exist.
        ClassMismatchError: the classes are not the folders (the message
            names the folders found and the ``classes`` to set).
    """

    def load_data_list(self):
        if not self.ann_file:  # one folder per class
            if not osp.isdir(self.img_prefix):
                raise FileNotFoundError(
                    f'{type(self).__name__}: the image folder '
                    f'{self.img_prefix} does not exist (data_root '
                    f'{self.data_root!r} + data_prefix). Set data_root to '
                    'the folder that holds train/ and val/ with one '
                    'sub-folder of images per class.')
            folders, _ = find_folders(self.img_prefix)
            check_folder_classes(type(self).__name__,
                                 self._metainfo.get('classes'), folders,
                                 self.img_prefix)
        return super().load_data_list()
