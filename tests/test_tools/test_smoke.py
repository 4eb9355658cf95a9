"""The pinned stack imports, and mmcv's compiled ops run."""
import importlib

import pytest
import torch


def test_mmcv_nms_keeps_the_best_of_overlapping_boxes():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    kept_boxes, kept = nms(boxes, scores, iou_threshold=0.5)
    assert kept.tolist() == [0, 2]
    torch.testing.assert_close(kept_boxes[:, 4], torch.tensor([0.9, 0.7]))


@pytest.mark.parametrize('package',
                         ['mmdet', 'mmseg', 'mmpretrain', 'tscae_mm'])
def test_package_imports(package):
    assert importlib.import_module(package).__version__
