"""tools/make_mini_voc.py: a VOCdevkit with exact boxes and masks that the
three toolboxes' VOC data sets read."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_ROOT, run_tool

TOOL = REPO_ROOT / 'tools' / 'make_mini_voc.py'
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
               'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
               'train', 'tvmonitor')
PASTED_CLASSES = {'aeroplane', 'car', 'bird', 'cat', 'dog', 'horse', 'boat'}
TRAINVAL, TEST = 6, 4


@pytest.fixture(scope='module')
def devkit(tmp_path_factory):
    out = tmp_path_factory.mktemp('mini_voc') / 'VOCdevkit'
    run_tool([
        TOOL, out, '--trainval', TRAINVAL, '--test', TEST, '--seed', 1,
        '--image-size', 80, 60
    ])
    return out


def read_ids(path):
    return path.read_text().split()


def read_objects(xml_path):
    """[(name, (xmin, ymin, xmax, ymax))] of a VOC XML file."""
    root = ET.parse(xml_path).getroot()
    return [(obj.findtext('name'),
             tuple(int(obj.find('bndbox').findtext(key))
                   for key in ('xmin', 'ymin', 'xmax', 'ymax')))
            for obj in root.findall('object')]


def all_ids(year_dir):
    return read_ids(year_dir / 'ImageSets' / 'Main' / 'trainval.txt') + (
        read_ids(year_dir / 'ImageSets' / 'Main' / 'test.txt')
        if (year_dir / 'ImageSets' / 'Main' / 'test.txt').exists() else [])


def test_layout_and_splits(devkit):
    voc07, voc12 = devkit / 'VOC2007', devkit / 'VOC2012'
    main07 = voc07 / 'ImageSets' / 'Main'
    assert len(read_ids(main07 / 'trainval.txt')) == TRAINVAL
    assert len(read_ids(main07 / 'test.txt')) == TEST
    assert (read_ids(main07 / 'train.txt') + read_ids(main07 / 'val.txt')
            == read_ids(main07 / 'trainval.txt'))
    assert not (voc12 / 'ImageSets' / 'Main' / 'test.txt').exists()
    seg12 = voc12 / 'ImageSets' / 'Segmentation'
    assert read_ids(seg12 / 'aug.txt') == read_ids(seg12 / 'train.txt')
    assert all(image_id.startswith('2012_') for image_id in all_ids(voc12))
    for year_dir in (voc07, voc12):
        for image_id in all_ids(year_dir):
            assert (year_dir / 'JPEGImages' / f'{image_id}.jpg').is_file()
            assert (year_dir / 'Annotations' / f'{image_id}.xml').is_file()
            assert (year_dir / 'SegmentationClass' /
                    f'{image_id}.png').is_file()
    aug = sorted(p.stem for p in (voc12 / 'SegmentationClassAug').iterdir())
    assert aug == sorted(all_ids(voc12))


def test_class_list_files_match_annotations(devkit):
    main07 = devkit / 'VOC2007' / 'ImageSets' / 'Main'
    for line in (main07 / 'cat_test.txt').read_text().splitlines():
        image_id, flag = line.split()
        names = {name for name, _ in read_objects(
            devkit / 'VOC2007' / 'Annotations' / f'{image_id}.xml')}
        assert (flag == '1') == ('cat' in names)


def test_boxes_are_the_extent_of_the_masks(devkit):
    """Each box is exactly the extent of its class's pixels inside it, no
    class pixel lies outside the boxes, and the aug mask is the class mask
    without the void border."""
    for year in ('2007', '2012'):
        year_dir = devkit / f'VOC{year}'
        for image_id in all_ids(year_dir):
            objects = read_objects(year_dir / 'Annotations' /
                                   f'{image_id}.xml')
            mask_png = Image.open(year_dir / 'SegmentationClass' /
                                  f'{image_id}.png')
            image = Image.open(year_dir / 'JPEGImages' / f'{image_id}.jpg')
            assert mask_png.mode == 'P' and mask_png.size == image.size
            labels = np.asarray(mask_png)
            assert objects and {n for n, _ in objects} <= PASTED_CLASSES
            inside_boxes = np.zeros_like(labels, dtype=bool)
            for name, (xmin, ymin, xmax, ymax) in objects:
                window = labels[ymin - 1:ymax, xmin - 1:xmax]
                rows, cols = np.nonzero(window == VOC_CLASSES.index(name) + 1)
                assert (rows.min(), cols.min()) == (0, 0)
                assert (rows.max(), cols.max()) == (ymax - ymin,
                                                    xmax - xmin)
                inside_boxes[ymin - 1:ymax, xmin - 1:xmax] = True
            assert set(np.unique(labels[~inside_boxes])) <= {0, 255}
            assert np.asarray(image).std() > 10  # a real photo, not a fill
            if year == '2012':
                aug = np.asarray(Image.open(year_dir / 'SegmentationClassAug'
                                            / f'{image_id}.png'))
                assert 255 not in aug
                np.testing.assert_array_equal(aug[labels != 255],
                                              labels[labels != 255])


def test_toolbox_voc_datasets_read_it(devkit):
    from mmdet.datasets import VOCDataset
    from mmpretrain.datasets import VOC
    from mmseg.datasets import PascalVOCDataset

    detection = VOCDataset(
        data_root=str(devkit),
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline=[])
    first = detection.get_data_info(0)
    xml_objects = read_objects(
        devkit / 'VOC2007' / 'Annotations' / f"{first['img_id']}.xml")
    assert len(detection) == TEST
    assert [i['bbox_label'] for i in first['instances']] == [
        VOC_CLASSES.index(name) for name, _ in xml_objects
    ]

    classification = VOC(data_root=str(devkit / 'VOC2007'), split='test')
    assert len(classification) == TEST
    assert set(classification.get_data_info(0)['gt_label']) == {
        VOC_CLASSES.index(name) for name, _ in xml_objects
    }

    segmentation = PascalVOCDataset(
        data_root=str(devkit / 'VOC2012'),
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/aug.txt',
        pipeline=[])
    assert len(segmentation) == TRAINVAL // 2


def test_refuses_objects_larger_than_the_image(tmp_path):
    proc = subprocess.run([
        sys.executable,
        str(TOOL),
        str(tmp_path / 'VOCdevkit'), '--image-size', '64', '48',
        '--object-size', '40', '60'
    ], capture_output=True, text=True)
    assert proc.returncode == 2
    assert '--object-size 40 60' in proc.stderr
    assert not (tmp_path / 'VOCdevkit').exists()
