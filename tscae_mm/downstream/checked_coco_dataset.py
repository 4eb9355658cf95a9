"""MMDetection's ``CocoDataset`` that checks ``classes`` against the json's
categories when it is built (:mod:`tscae_mm.datasets.class_checks`).
Imported, and registered in mmdet's ``DATASETS``, only where MMDetection is
installed (:mod:`.registration`)."""
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from ..datasets.class_checks import check_coco_classes


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` (same arguments) whose ``metainfo['classes']`` must
    be categories of the annotation json, in the json's order (the order in
    which mmdet numbers them).

    Raises:
        ClassMismatchError: a class is not a category, or the order differs
            (the message lists the json's categories).
    """

    def load_data_list(self):
        coco_api = self.COCOAPI

        def checked_coco(path):
            coco = coco_api(path)
            categories = [
                coco.cats[cat_id]['name'] for cat_id in coco.get_cat_ids()
            ]
            check_coco_classes(type(self).__name__, self.metainfo['classes'],
                               categories, self.ann_file)
            return coco

        # CocoDataset reads the json through self.COCOAPI: check it there
        self.COCOAPI = checked_coco
        try:
            return super().load_data_list()
        finally:
            del self.COCOAPI
