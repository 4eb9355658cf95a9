"""The class checks of the private-data templates: a class list that does not
fit the annotations stops when the data set is built, with a message naming
the classes the data hold and the value to set."""
import json

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

import tscae_mm  # noqa: F401
from tscae_mm.datasets.class_checks import (
    ClassMismatchError,
    check_coco_classes,
    check_folder_classes,
    check_mask_channels,
    check_mask_values,
    mask_values,
)


def test_folder_classes_name_the_folders_found():
    check_folder_classes('D', ('cat', 'dog'), ['cat', 'dog'], 'x/train')
    check_folder_classes('D', None, ['cat', 'dog'], 'x/train')
    with pytest.raises(ClassMismatchError) as error:
        check_folder_classes('CheckedCustomDataset', ('cat', 'dog', 'fox'),
                             ['bird', 'cat', 'dog'], 'data/x/train')
    assert str(error.value) == (
        "CheckedCustomDataset: classes ('cat', 'dog', 'fox') in the config "
        "do not match the data: no folder for 'fox'; folder(s) 'bird' not "
        'in classes. Found 3 class folder(s) in data/x/train: '
        "'bird', 'cat', 'dog'. Fix: set classes = ('bird', 'cat', 'dog') in "
        'your config (the EDIT block of the template), or rename the '
        'folders.')
    with pytest.raises(ClassMismatchError, match='another order'):
        check_folder_classes('D', ('dog', 'cat'), ['cat', 'dog'], 'x')


def test_coco_classes_name_the_json_categories():
    check_coco_classes('D', ('cat', 'dog'), ['cat', 'bird', 'dog'], 'a.json')
    with pytest.raises(ClassMismatchError) as error:
        check_coco_classes('CheckedCocoDataset', ('cat', 'dog'),
                           ['aeroplane', 'bird'], 'data/annotations/t.json')
    assert str(error.value) == (
        "CheckedCocoDataset: classes ('cat', 'dog') in the config do not "
        "match the annotations: 'cat', 'dog' are not categories of "
        'data/annotations/t.json, so they have no boxes. The json\'s 2 '
        "categories, in its order: 'aeroplane', 'bird'. Fix: set classes to "
        "the categories to train on, in the json's order, e.g. classes = "
        "('aeroplane', 'bird') (the EDIT block of the template).")
    with pytest.raises(ClassMismatchError) as error:
        check_coco_classes('D', ('dog', 'cat'), ['cat', 'dog'], 'a.json')
    assert "in the order of the categories of a.json, ('cat', 'dog')" in \
        str(error.value)
    assert "classes = ('cat', 'dog')" in str(error.value)


def test_mask_values_beyond_the_classes_name_the_values_found():
    values = {'m/0.png': np.array([0, 1, 255]), 'm/1.png': np.array([0, 2])}
    check_mask_values('D', ('a', 'b', 'c'), values)
    with pytest.raises(ClassMismatchError) as error:
        check_mask_values('CheckedSegDataset', ('background', 'cat'), values,
                          checked='2 of the 2 masks')
    assert str(error.value) == (
        'CheckedSegDataset: the masks hold class indices beyond the 2 '
        "classes of the config ('background', 'cat') (indices 0 .. 1; 255 "
        'is ignored). Values found in 2 of the 2 masks: 0, 1, 2, 255. Masks '
        'with values out of range: m/1.png: 2. Fix: list one class per '
        'index in classes (at least 3 names, index 0 first, with a palette '
        'colour each), or set those pixels to 255 in the masks to ignore '
        'them. A mask pixel holds its class index (a single-channel or '
        'palette PNG, not colours).')


def test_mask_values_follow_mmseg_label_rules():
    mask = np.array([[0, 1], [3, 255]], dtype=np.uint8)
    assert mask_values(mask).tolist() == [0, 1, 3, 255]
    assert mask_values(mask, reduce_zero_label=True).tolist() == [0, 2, 255]
    assert mask_values(mask, label_map={3: 1}).tolist() == [0, 1, 255]


def test_colour_masks_are_refused():
    check_mask_channels('D', 'm.png', np.zeros((4, 4), np.uint8))
    with pytest.raises(ClassMismatchError, match='has 3 channels'):
        check_mask_channels('D', 'm.png', np.zeros((4, 4, 3), np.uint8))


def write_images(folder, names, size=(8, 8)):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new('RGB', size, (40, 80, 120)).save(folder / name)


def test_the_classification_data_set_checks_its_folders(tmp_path):
    from mmpretrain.registry import DATASETS
    for name in ('bird', 'cat'):
        write_images(tmp_path / 'train' / name, ['0.jpg'])
    ok = DATASETS.build(dict(type='CheckedCustomDataset', data_root=tmp_path,
                             data_prefix='train',
                             metainfo=dict(classes=('bird', 'cat'))))
    assert len(ok) == 2 and ok.CLASSES == ('bird', 'cat')
    with pytest.raises(ClassMismatchError, match="classes = \\('bird', "
                       "'cat'\\)"):
        DATASETS.build(dict(type='CheckedCustomDataset', data_root=tmp_path,
                            data_prefix='train',
                            metainfo=dict(classes=('cat', 'dog', 'fox'))))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        DATASETS.build(dict(type='CheckedCustomDataset', data_root=tmp_path,
                            data_prefix='nowhere',
                            metainfo=dict(classes=('cat', ))))


def test_the_detection_data_set_checks_the_json(tmp_path):
    from mmdet.registry import DATASETS
    write_images(tmp_path / 'images', ['0.jpg'], size=(64, 64))
    (tmp_path / 'train.json').write_text(json.dumps(dict(
        images=[dict(id=1, file_name='0.jpg', width=64, height=64)],
        annotations=[dict(id=1, image_id=1, category_id=2,
                          bbox=[4, 4, 40, 40], area=1600, iscrowd=0)],
        categories=[dict(id=1, name='bird'), dict(id=2, name='cat')])))
    config = dict(type='CheckedCocoDataset', data_root=str(tmp_path),
                  ann_file='train.json', data_prefix=dict(img='images/'),
                  pipeline=[])
    with DefaultScope.overwrite_default_scope('mmdet'):
        ok = DATASETS.build(dict(config, metainfo=dict(classes=('cat', ))))
        assert len(ok) == 1
        with pytest.raises(ClassMismatchError) as error:
            DATASETS.build(dict(config, metainfo=dict(classes=('cat', 'dog'))))
    assert "'dog' is not a category of" in str(error.value)
    assert "categories, in its order: 'bird', 'cat'" in str(error.value)


def write_segmentation(root, mask_value):
    write_images(root / 'images', ['0.jpg', '1.jpg'], size=(16, 16))
    (root / 'masks').mkdir()
    for name, value in (('0', 1), ('1', mask_value)):
        mask = np.zeros((16, 16), np.uint8)
        mask[4:8, 4:8] = value
        Image.fromarray(mask).save(root / 'masks' / f'{name}.png')


def test_the_segmentation_data_set_checks_the_masks(tmp_path):
    from mmseg.registry import DATASETS
    write_segmentation(tmp_path, mask_value=2)
    config = dict(
        type='CheckedSegDataset', data_root=str(tmp_path),
        data_prefix=dict(img_path='images', seg_map_path='masks'),
        metainfo=dict(classes=('background', 'cat')),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')])
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(ClassMismatchError) as error:
            DATASETS.build(config)
        assert 'Values found in 2 of the 2 masks: 0, 1, 2.' in \
            str(error.value)
        assert '1.png: 2.' in str(error.value)
        assert 'at least 3 names' in str(error.value)
        # masks the build did not read are checked when a sample is loaded
        unchecked = DATASETS.build(dict(config, max_checked_masks=0))
        assert unchecked[0]['data_samples'].gt_sem_seg.data.max() == 1
        with pytest.raises(ClassMismatchError, match='1.png: 2'):
            unchecked[1]
        three = dict(config, metainfo=dict(classes=('b', 'cat', 'dog')))
        assert len(DATASETS.build(three)) == 2
